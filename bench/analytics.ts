/**
 * `npm run bench:analytics [-- --json] [-- --events 5000000] [-- --runs 5] [-- --from DATA_DIR | --dir DATA_DIR]`
 *
 * Analytics query latency at a given store size, in process (app.request, no sockets). A file-backed DuckDB store in
 * a temporary directory is filled to `--events` (grow-store.ts: the synthetic world's history, then copies with
 * other members). The analytics rollups are built once (timed: "catch-up"); then each route is
 * requested `--runs` times with the default range (the whole history) and the median and worst times reported.
 * With `--dir`, the store lives in DATA_DIR and is kept: filled on the first run, reused (with its typed copy and
 * rollups, upgraded by any new migration) on the next, so a 5M-event store is grown and caught up once.
 *
 * A benchmark, not a test: numbers depend on the machine. Human text on stderr; `--json` prints one JSON line last.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { quantile } from '@marquee/core';
import { AnalyticsService, Catalog, createApp, DuckDbEventStore } from '@marquee/server';
import { copyDataDir, growSyntheticStore } from './grow-store.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '5000000' },
    runs: { type: 'string', default: '5' },
    /** A data directory to start from (copied, left as it is) instead of growing one: the same store for several runs. */
    from: { type: 'string' },
    /** A data directory to keep: filled when empty, then reused as it is (typed copy and rollups included). */
    dir: { type: 'string' },
  },
});
const target = Number(args.events);
const runs = Number(args.runs);
const log = (s: string) => process.stderr.write(`${s}\n`);

const dir = args.dir ?? (await mkdtemp(join(tmpdir(), 'marquee-bench-analytics-')));
let store = await DuckDbEventStore.open(dir);
try {
  const kept = args.dir ? await store.count() : 0;
  const stored = kept > 0 ? kept : args.from ? await copyDataDir(args.from, store) : await growSyntheticStore(store, target, log);
  // The copies were written straight into DuckDB: reopening gives them their id words, as the server's next start
  // would; then the store's typed copy catches up on all of them (as after the upgrade to migration 50).
  await store.close();
  let t = performance.now();
  store = await DuckDbEventStore.open(dir);
  log(`store reopened in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await store.typedEvents();
  const typedS = (performance.now() - t) / 1000;
  log(`typed copy of ${stored.toLocaleString('en-US')} events: ${typedS.toFixed(1)} s`);

  const analytics = new AnalyticsService({ store, catalog: Catalog.synthetic().titles, log });
  t = performance.now();
  await analytics.refresh();
  const catchUpS = (performance.now() - t) / 1000;
  log(`analytics catch-up (rollups of ${stored.toLocaleString('en-US')} events from the typed copy): ${catchUpS.toFixed(1)} s`);

  const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], analytics });
  const routes = ['titles', 'titles?by=genre', 'daily', 'take-rates', 'artwork', 'trending', 'live'];
  const byRoute: Record<string, { p50_ms: number; max_ms: number }> = {};
  for (const route of routes) {
    const times: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const s = performance.now();
      const res = await app.request(`/v1/admin/analytics/${route}`, { headers: { authorization: 'Bearer admin' } });
      if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
      await res.json();
      if (i > 0) times.push(performance.now() - s); // the first request warms DuckDB's caches
    }
    times.sort((a, b) => a - b);
    byRoute[route] = { p50_ms: +quantile(times, 0.5).toFixed(1), max_ms: +times.at(-1)!.toFixed(1) };
    log(`  ${route.padEnd(16)} p50 ${byRoute[route].p50_ms} ms, max ${byRoute[route].max_ms} ms`);
  }
  const worst = Math.max(...Object.values(byRoute).map((r) => r.p50_ms));
  log(`slowest route p50: ${worst} ms (target <= 300 ms)`);
  if (args.json) console.log(JSON.stringify({ events: stored, typed_copy_s: +typedS.toFixed(1), catch_up_s: +catchUpS.toFixed(1), runs, slowest_p50_ms: worst, by_route: byRoute }));
} finally {
  await store.close();
  if (!args.dir) await rm(dir, { recursive: true, force: true });
}
