import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import { makeEvent } from './helpers.ts';

const dirs: string[] = [];
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'marquee-store-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('DuckDbEventStore', () => {
  it('applies every migration once and records it', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir);
    expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    await store.close();
    const reopened = await DuckDbEventStore.open(dir);
    expect(await reopened.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    await reopened.close();
  });

  it('keeps events and their uniqueness across a reopen', async () => {
    const dir = await tempDir();
    const events = Array.from({ length: 50 }, () => makeEvent());
    const store = await DuckDbEventStore.open(dir);
    expect(await store.append(events, Date.now())).toMatchObject({ accepted: 50, duplicates: 0 });
    await store.close();

    const reopened = await DuckDbEventStore.open(dir);
    expect(await reopened.append(events.slice(0, 10), Date.now())).toMatchObject({ accepted: 0, duplicates: 10, fresh: [] });
    expect(await reopened.count()).toBe(50);
    await reopened.close();
  });

  it('stores each id once when the same events race in concurrent appends', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    const events = Array.from({ length: 200 }, () => makeEvent());
    const results = await Promise.all([
      store.append(events, 1),
      store.append(events.slice(50), 2),
      store.append([...events.slice(0, 20), ...events.slice(0, 20)], 3),
    ]);
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(200);
    expect(results.reduce((n, r) => n + r.accepted + r.duplicates, 0)).toBe(200 + 150 + 40);
    expect(await store.count()).toBe(200);
    await store.close();
  });

  it('keeps the columns analytics need and the full event as JSON', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    const e = makeEvent({ type: 'impression', titleId: 't9', row: 'Top Picks', position: 2, artwork: { artworkId: 'a3', propensity: 0.5 } } as never);
    await store.append([e], 1234);
    const [row] = await store.query('SELECT type, title_id, artwork_id, propensity, received_at, payload FROM events_v');
    expect(row).toMatchObject({ type: 'impression', title_id: 't9', artwork_id: 'a3', propensity: 0.5, received_at: 1234n });
    expect(JSON.parse(row.payload as string)).toEqual(e);
    await store.close();
  });

  it('refuses appends after close', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    await store.close();
    await expect(store.append([makeEvent()], 1)).rejects.toThrow(/closed/);
  });
});

describe('DuckDbEventStore start-up replay', () => {
  it('streams the same engagement rows as it stored, in arrival order, across a reopen', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    const events = [
      makeEvent({ type: 'play_start', titleId: 'a', anonymousId: 'anon-9' } as never),
      makeEvent({ type: 'impression', titleId: 'b', row: 'r', position: 0 } as never),
      makeEvent({ type: 'complete', titleId: 'c', userId: 'member-1', position: 10, duration: 10 } as never),
    ];
    await store.append(events.slice(0, 2), 1000);
    await store.append(events.slice(2), 2000);
    await store.close();
    const reopened = await DuckDbEventStore.open(dir, { log: () => {} });
    const rows = [];
    for await (const chunk of reopened.scanEngagement(['play_start', 'complete'])) rows.push(...chunk);
    expect(rows).toEqual([
      { type: 'play_start', titleId: 'a', memberId: 'anon-9', ts: events[0].ts, receivedAt: 1000 },
      { type: 'complete', titleId: 'c', memberId: 'member-1', ts: events[2].ts, receivedAt: 2000 },
    ]);
    await reopened.close();
  });
});
