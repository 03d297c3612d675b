/**
 * A commit that fails (disk full, I/O error) must not half-store a request: the client hears 503 with Retry-After,
 * nothing of the request is stored or remembered as stored, the live aggregates do not count it, and the resend
 * after the store recovers is stored once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IngestResponseSchema } from '@marquee/core';
import { createApp } from '../src/app.ts';
import { Catalog } from '../src/catalog.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { makeEvent } from './helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('a failed commit', () => {
  it('answers 503, stores nothing of the request, and the resend after recovery is stored exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'marquee-commit-'));
    dirs.push(dir);
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    const aggregates = new LiveAggregates();
    const catalog = Catalog.synthetic({ titles: 50 });
    const app = createApp({
      store, writeKeys: ['wk'], adminToken: 'a', corsOrigins: [], candidates: new CandidateService(catalog, aggregates),
    });
    const send = (events: unknown[]) =>
      app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk' }, body: JSON.stringify({ events }) });

    const before = [makeEvent({ titleId: 't001' }), makeEvent({ titleId: 't002' })];
    expect((await send(before)).status).toBe(200);

    // The store's write statement (one INSERT per commit group) fails the next commit, as a full disk would.
    const insert = (store as unknown as { insert: { run(): Promise<unknown> } }).insert;
    const failing = vi.spyOn(insert, 'run').mockRejectedValueOnce(new Error('IO Error: No space left on device'));
    const batch = [makeEvent({ titleId: 't003' }), makeEvent({ titleId: 't003', type: 'complete', position: 10, duration: 10 } as never), makeEvent({ titleId: 't004' })];
    const failed = await send(batch);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(failing).toHaveBeenCalledTimes(1);
    expect(await store.count()).toBe(2);
    expect(aggregates.playsOf('t003')).toBe(0);

    // Recovered: the SDK resends the same batch; every event is new to the store, none a duplicate.
    const resent = await send(batch);
    expect(resent.status).toBe(200);
    expect(IngestResponseSchema.parse(await resent.json())).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    expect(await store.count()).toBe(5);
    expect(aggregates.playsOf('t003')).toBe(1); // one member: counted once, however many events
    // And once more: duplicates, nothing stored twice.
    expect(IngestResponseSchema.parse(await (await send(batch)).json())).toEqual({ accepted: 0, duplicates: 3, rejected: [] });

    expect(new Set(await store.ids(100))).toEqual(new Set([...before, ...batch].map((e) => e.id)));
    await store.close();
    const reopened = await DuckDbEventStore.open(dir, { log: () => {} });
    expect(await reopened.count()).toBe(5);
    await reopened.close();
  });
});
