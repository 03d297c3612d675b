/**
 * `npm run bench:dashboard [-- --json] [-- --events 1000000] [-- --runs 3] [-- --from DATA_DIR]`
 *
 * How long the analytics dashboard takes to load with a store of `--events` events (grow-store.ts), in Chromium:
 * from navigation to every section drawn (`window.dashboard.readyMs`), the admin token already in the tab's
 * session. The API runs as its own process on the data directory (its analytics rollups catch up in the background
 * after it starts: that wait is reported apart, before the first visit); the demo is built and served by `vite preview`. The first visit is reported apart (cold DuckDB
 * caches), then the median of `--runs` reloads.
 *
 * A benchmark, not a test. Human text on stderr; `--json` prints one JSON line last.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { quantile } from '@marquee/core';
import { DuckDbEventStore } from '@marquee/server';
import { startServerProcess } from '@marquee/server/testing';
import { copyDataDir, growSyntheticStore } from './grow-store.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    /** A data directory to start from (copied, left as it is) instead of growing one: the same store for several runs. */
    from: { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);
const PREVIEW_PORT = Number(process.env.DEMO_PREVIEW_PORT ?? 4191);
const origin = `http://127.0.0.1:${PREVIEW_PORT}`;

const dataDir = await mkdtemp(join(tmpdir(), 'marquee-bench-dashboard-'));
const store = await DuckDbEventStore.open(dataDir);
const stored = args.from ? await copyDataDir(args.from, store) : await growSyntheticStore(store, Number(args.events), log);
await store.close();
execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'demo/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
let t = performance.now();
const api = await startServerProcess({ DATA_DIR: dataDir, CORS_ORIGINS: origin, ADMIN_TOKEN: 'bench-admin' }, { timeoutMs: 600_000 });
log(`API up on ${stored.toLocaleString('en-US')} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
// The server rolls its analytics up in the background after it starts (the grown rows are new to it): the wait is
// reported apart, the loads measured after it, as a dashboard opened on a running server finds it.
t = performance.now();
for (;;) {
  const ready = (await (await fetch(`${api.url}/readyz`)).json()) as { analytics?: { eventsNotRolledUp: number | null } };
  if (ready.analytics?.eventsNotRolledUp === 0) break;
  await new Promise((r) => setTimeout(r, 200));
}
const catchUpS = (performance.now() - t) / 1000;
log(`analytics rolled up in the background in ${catchUpS.toFixed(1)} s`);
const preview = spawn(process.execPath, ['node_modules/vite/bin/vite.js', 'preview', '--config', 'demo/vite.config.ts', '--port', String(PREVIEW_PORT), '--strictPort'], { cwd: ROOT, stdio: 'ignore' });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });
try {
  for (let i = 0; i < 100 && !(await fetch(origin).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.addInitScript(() => sessionStorage.setItem('marquee.adminToken', 'bench-admin'));
  let sections: Record<string, string> = {};
  const visit = async () => {
    await page.goto(`${origin}/dashboard.html?api=${encodeURIComponent(api.url)}`);
    await page.waitForFunction(() => window.dashboard?.readyMs !== null, undefined, { timeout: 120_000 });
    const d = await page.evaluate(() => window.dashboard);
    // An empty state is drawn too (e.g. trending when no title has k members in the last week of the history).
    const failed = Object.entries(d.sections).filter(([, v]) => v === 'error' || v === 'loading');
    if (failed.length) throw new Error(`sections failed: ${JSON.stringify(failed)}`);
    sections = d.sections;
    return d.readyMs!;
  };
  const first = await visit();
  const times: number[] = [];
  for (let i = 0; i < Number(args.runs); i++) times.push(await visit());
  times.sort((a, b) => a - b);
  const median = quantile(times, 0.5);
  log(`dashboard with ${stored.toLocaleString('en-US')} events: first load ${first} ms, then median ${median} ms (${times.join(', ')}) (target <= 1000 ms); sections: ${JSON.stringify(sections)}`);
  if (args.json) console.log(JSON.stringify({ events: stored, background_catch_up_s: +catchUpS.toFixed(1), first_load_ms: first, load_p50_ms: median, loads_ms: times, sections }));
} finally {
  await browser.close();
  preview.kill();
  await api.stop();
  await rm(dataDir, { recursive: true, force: true });
}
