/**
 * Process-level restarts (issue #8 cases 1, 5, 8 and 10; issue #10: the artwork priors): a real server process on a real data directory, killed,
 * tampered with and started again, as `npm run server` runs it.
 */
import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { artwork, type MarqueeEvent } from '@marquee/core';
import { plantRows, prefill, startServerProcess, type ServerProcess } from '@marquee/server/testing';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { makeEvent } from './helpers.ts';

const ADMIN = 'restart-test-admin-token';
const dirs: string[] = [];
const running: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.kill()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'marquee-restart-'));
  dirs.push(d);
  return d;
}
async function start(dataDir: string, env: Record<string, string> = {}) {
  const s = await startServerProcess({ DATA_DIR: dataDir, WRITE_KEYS: 'wk', ADMIN_TOKEN: ADMIN, ...env }, { timeoutMs: 60_000 });
  running.push(s);
  // The start-up summary follows the "listening" line: wait for its last line (bounded).
  for (let i = 0; i < 100 && !/started in/.test(s.output()); i++) await new Promise((r) => setTimeout(r, 50));
  return s;
}
const count = async (s: ServerProcess) =>
  ((await (await fetch(`${s.url}/v1/admin/events/count`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { count: number }).count;
const send = (s: ServerProcess, events: unknown[]) =>
  fetch(`${s.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk' }, body: JSON.stringify({ events }) });

describe('server process restarts', () => {
  it('case 1: starts on a store holding unreadable rows, quarantines them, and takes no new ones', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    await store.append(Array.from({ length: 5 }, () => makeEvent()), Date.now());
    await store.close();
    // What the API stored before the fix: a lone surrogate, written as the JSON escape. DuckDB cannot read it back.
    const poisoned = JSON.stringify({ ...makeEvent(), sessionId: 'x\ud800' });
    expect(poisoned).toContain('\\ud800');
    await plantRows(dir, [poisoned, '{"id": "truncated', JSON.stringify({ ...makeEvent(), ts: 'yesterday' })]);

    const server = await start(dir);
    expect(server.output()).toMatch(/moved 3 unreadable rows to the quarantine table/);
    expect(await count(server)).toBe(5);
    const res = await send(server, [makeEvent(), { ...makeEvent(), titleId: '\udfff' }]);
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
    await server.stop();

    const again = await start(dir);
    expect(again.output()).not.toMatch(/quarantine/);
    expect(await count(again)).toBe(6);
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
    await again.stop();
    const reopened = await DuckDbEventStore.open(dir, { log: () => {} });
    expect(await reopened.query('SELECT reason, count(*)::INTEGER AS n FROM quarantine GROUP BY reason ORDER BY reason')).toEqual([
      { reason: 'malformed JSON', n: 2 },
      { reason: 'ts is not an integer', n: 1 },
    ]);
    await reopened.close();
  }, 120_000);

  it('case 8: says so when acknowledged events are missing after a cut write-ahead log', async () => {
    const dir = await tempDir();
    const server = await start(dir);
    for (let i = 0; i < 20; i++) {
      const res = await send(server, Array.from({ length: 500 }, () => makeEvent()));
      expect((await res.json()).accepted).toBe(500);
    }
    expect(await count(server)).toBe(10_000);
    await server.kill(); // no checkpoint: the acknowledged events are in the WAL only
    const wal = join(dir, 'events.duckdb.wal');
    const size = (await stat(wal)).size;
    expect(size).toBeGreaterThan(0);
    await truncate(wal, Math.floor(size / 2));

    const again = await start(dir);
    const stored = await count(again);
    expect(stored).toBeLessThan(10_000);
    expect(again.output()).toMatch(/replaying \d+ bytes of write-ahead log/);
    expect(again.output()).toContain(`${10_000 - stored} acknowledged events are missing: 10000 were stored before, ${stored} are now`);
  }, 120_000);

  it('case 5: memory per stored event stays small at start (ids and aggregates not one JS object per event)', async () => {
    // DuckDB's buffer pool is capped (DUCKDB_MEMORY_LIMIT, 512MB by default) and fills with whatever the background
    // followers read: capped low here, so the RSS left over is what the server keeps per event in JS.
    const cap = { DUCKDB_MEMORY_LIMIT: '96MB' };
    const empty = await start(await tempDir(), cap);
    const baseMb = empty.rssMb()!;
    await empty.stop();
    const dir = await tempDir();
    // Large enough that the fixed memory the start leaves behind (DuckDB's capped buffers and the allocator's pools
    // after the typed copy and the rollups catch up, ~130-170 MB measured) does not pass for per-event memory.
    const N = 900_000;
    await prefill(dir, N);
    const full = await start(dir, cap);
    expect(full.output()).toMatch(new RegExp(`events stored: ${N}; events replayed: ${N / 2}`));
    // Measured at rest: after start the typed copy and the analytics rollups follow the store in the background
    // (DuckDB's buffers grow while they run), so wait until /readyz says nothing is left to roll up.
    for (let i = 0; i < 1800; i++) {
      const ready = (await (await fetch(`${full.url}/readyz`)).json()) as { analytics?: { eventsNotRolledUp: number | null } };
      if (ready.analytics?.eventsNotRolledUp === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const perEvent = ((full.rssMb()! - baseMb) * 2 ** 20) / N;
    // Before: ~700-900 bytes per stored event (one JS string per id, every engagement event in one array).
    console.log(`case 5: ${perEvent.toFixed(0)} bytes of RSS per stored event`);
    expect(perEvent).toBeLessThan(300);
    // The ids are really there: a resend of nothing new is still deduplicated after the restart.
    expect((await (await send(full, [makeEvent()])).json()).accepted).toBe(1);
  }, 400_000);

  it('publishes the same artwork priors after a restart as before it (counts rebuilt from the store)', async () => {
    const dir = await tempDir();
    const first = await start(dir);
    const t0 = Date.now() - 3_600_000;
    const events: unknown[] = [];
    // 30 viewers see t0001 with one of two artworks; a third of them play it, for 20 minutes (a quality play) or 1.
    // The propensities are uneven, so each impression's weight in the population fit (1 / (K x propensity)) is
    // not 1: a replay that lost them (or a live path that ignored them) would publish other history weights.
    for (let i = 0; i < 30; i++) {
      const base = { sessionId: `s${i}`, userId: `u${i}`, anonymousId: undefined, titleId: 't0001' };
      const ts = t0 + i * 10_000;
      const artwork = { artworkId: `t0001-a${1 + (i % 2)}`, propensity: i % 2 ? 0.2 : 0.8 };
      events.push(makeEvent({ ...base, type: 'impression', row: 'Top', position: 1, ts, artwork } as Partial<MarqueeEvent>));
      if (i % 3 === 0) {
        const watched = i % 2 === 0 ? 1200 : 60;
        events.push(makeEvent({ ...base, type: 'play_start', ts: ts + 1000 } as Partial<MarqueeEvent>));
        events.push(makeEvent({ ...base, type: 'pause', ts: ts + 1000 + watched * 1000, position: watched, duration: 6000 } as Partial<MarqueeEvent>));
      }
    }
    expect((await send(first, events)).status).toBe(200);
    const priors = async (s: ServerProcess) => artwork.ArtworkPriorsSchema.parse(await (await fetch(`${s.url}/v1/artwork/priors`)).json());
    const before = await priors(first);
    expect(before.impressions).toBe(30);
    expect(before.artworks.reduce((n, a) => n + a.plays, 0)).toBe(10);
    expect(before.artworks.reduce((n, a) => n + a.qualityPlays, 0)).toBe(5);
    // Stop once the typed copy (and the rollups behind it) has every event, so the replay reads the copy's
    // columns, propensity included, rather than the raw JSON a fresh commit is replayed from.
    await expect
      .poll(async () => ((await (await fetch(`${first.url}/readyz`)).json()) as { analytics?: { eventsNotRolledUp: number | null } }).analytics?.eventsNotRolledUp, { timeout: 30_000 })
      .toBe(0);
    await first.stop();

    const again = await start(dir);
    const after = await priors(again);
    const byArtwork = (p: typeof before) => [...p.artworks].sort((a, b) => a.artworkId.localeCompare(b.artworkId));
    expect(byArtwork(after)).toEqual(byArtwork(before));
    expect(after.impressions).toBe(before.impressions);
    expect(after.rewards).toBe(before.rewards);
    // The history-context weights come back too: the same rows in the same order fit the same regression.
    expect(before.context?.impressions).toBe(30);
    expect(after.context).toEqual(before.context);
    // Same counts, same version: a device holding the priors from before the restart does not refetch them.
    expect(after.version).toBe(before.version);
  }, 120_000);

  it('case 10: prints no secret at start, and answers an oversized body with 413, not a broken pipe', async () => {
    const server = await start(await tempDir());
    expect(server.output()).not.toContain(ADMIN);
    expect(server.output()).toMatch(/ADMIN_TOKEN=<set, \d+ chars>/);
    const big = Buffer.alloc(8 * 1024 * 1024, 'x');
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        await new Promise<number | string>((resolve) => {
          const req = request(`${server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk', 'content-length': big.length } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
          req.end(big);
        }),
      );
    }
    expect(statuses).toEqual([413, 413, 413, 413, 413]);
  }, 120_000);
});
