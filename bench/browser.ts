/**
 * `npm run bench:browser [-- --json]`: the on-device path in headless Chromium, per tfjs backend.
 *
 * Builds the demo, starts an API with a default-config model trained on the synthetic world (cached in
 * bench/.artifacts), serves the demo with `vite preview`, and for each backend opens a fresh browser profile:
 * cold start to the first personalized page, then the worker's own timings (encode 50/200 events, update after one
 * event, rank 1k/10k candidates, a whole page, the artwork choice of a 50-card page). Then the same with the automatic backend choice, and the size of
 * the main-thread SDK bundle. A benchmark, not a test: numbers vary with the machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync } from 'node:zlib';
import { chromium, type Browser } from '@playwright/test';
import { build } from 'vite';
import { PathBenchmarkSchema, type PathBenchmark } from '@marquee/core';
import { ModelRegistry } from '@marquee/server';
import { startServerProcess } from '@marquee/server/testing';
import { ROOT, ensureBenchModel } from './bench-model.ts';

const { values: args } = parseArgs({
  options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '20' }, backends: { type: 'string', default: 'webgpu,webgl,wasm,cpu' } },
});
const BACKENDS = args.backends!.split(',');
const log = (...a: unknown[]) => console.error(...a);

// 1. A model with the default configuration (maxLen 200, d 64), trained briefly on the synthetic world.
const MODEL_DIR = ensureBenchModel(log);

// 2. The main-thread SDK, bundled and minified as an app would ship it (the worker is a separate file).
const lib = (await build({
  configFile: false,
  logLevel: 'silent',
  build: { lib: { entry: join(ROOT, 'packages/sdk/src/index.ts'), formats: ['es'], fileName: 'sdk' }, write: false, minify: true },
})) as { output: { type: string; isEntry?: boolean; code?: string; fileName: string }[] }[];
const entry = lib[0]?.output.find((o) => o.type === 'chunk' && o.isEntry)!;
const mainBundleBrotli = brotliCompressSync(Buffer.from(entry.code!)).byteLength;
log(`main-thread SDK bundle: ${entry.code!.length} bytes minified, ${mainBundleBrotli} bytes brotli`);

// 3. API with the model, and the built demo.
execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'demo/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
const dataDir = await mkdtemp(join(tmpdir(), 'marquee-bench-browser-'));
const { version } = await new ModelRegistry(join(dataDir, 'models')).publish(MODEL_DIR);
const PREVIEW_PORT = 4190; // not the e2e tests' 4173, so both can run
const origin = `http://127.0.0.1:${PREVIEW_PORT}`;
const api = await startServerProcess({ DATA_DIR: dataDir, CORS_ORIGINS: origin });
const preview = spawn(process.execPath, ['node_modules/vite/bin/vite.js', 'preview', '--config', 'demo/vite.config.ts', '--port', String(PREVIEW_PORT), '--strictPort'], {
  cwd: ROOT,
  stdio: 'ignore',
});
for (let i = 0; i < 100; i++) {
  if (await fetch(origin).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}

// A browser per visit: a crash on one backend (SwiftShader can lose its device) must not end the others.
const launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

type LongTask = Window['demo']['longTaskLog'][number];
interface BackendResult {
  cold_start_ms: number;
  warm_start_ms: number;
  encode50_p50_ms: number;
  encode200_p50_ms: number;
  update1_p50_ms: number;
  rank1k_p50_ms: number;
  rank1k_p95_ms: number;
  rank10k_p50_ms: number;
  rank10k_p95_ms: number;
  rank100k_p50_ms: number;
  scores10k_p50_ms: number;
  scores100k_p50_ms: number;
  rank_tensor10k_p50_ms: number;
  rank_tensor100k_p50_ms: number;
  page5k_p50_ms: number;
  artwork50_p50_ms: number;
  artwork50_p95_ms: number;
  kernels: PathBenchmark['kernels'];
  long_tasks: number;
  /** Each long task of the visit (first load, then the reload), with the browser's attribution. */
  long_task_log: LongTask[];
}

async function visit(query: string): Promise<{ result?: BackendResult; backend: string; timings?: Record<string, number>; longTasks: number }> {
  const browser = await launch();
  try {
    return await measure(browser, query);
  } finally {
    await browser.close();
  }
}

async function measure(browser: Browser, query: string): Promise<{ result?: BackendResult; backend: string; timings?: Record<string, number>; longTasks: number }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && log(`  [page] ${m.text()}`));
  page.on('crash', () => log('  [page] crashed'));
  const url = `${origin}/?api=${encodeURIComponent(api.url)}&${query}`;
  await page.goto(url);
  await page.waitForFunction(() => window.demo?.firstPersonalizedMs != null, null, { timeout: 120_000 });
  const cold = await page.evaluate(() => window.demo.firstPersonalizedMs!);
  let report = await page.evaluate(() => window.marquee.backend());
  let longTasks = await page.evaluate(() => window.demo.longTasks);
  const longTaskLog: LongTask[] = await page.evaluate(() => window.demo.longTaskLog);
  if (report.chosenBy === 'provisional') {
    // Automatic choice on a first run: wait for the measurement beside it, which the next visit uses.
    await page.waitForFunction(async () => (await window.marquee.backend()).nextRun !== undefined, null, { timeout: 180_000, polling: 500 });
  }
  // A later visit: model and backend choice come from this profile's caches.
  await page.reload();
  await page.waitForFunction(() => window.demo?.firstPersonalizedMs != null, null, { timeout: 60_000 });
  const warm = await page.evaluate(() => window.demo.firstPersonalizedMs!);
  report = await page.evaluate(() => window.marquee.backend());
  const t = PathBenchmarkSchema.parse(await page.evaluate((runs) => window.marquee.benchmark(runs), Number(args.runs)));
  longTasks += await page.evaluate(() => window.demo.longTasks);
  longTaskLog.push(...(await page.evaluate(() => window.demo.longTaskLog)));
  return {
    backend: report.name,
    timings: report.timings as Record<string, number> | undefined,
    longTasks,
    result: {
      cold_start_ms: cold,
      warm_start_ms: warm,
      encode50_p50_ms: t.encode50.p50,
      encode200_p50_ms: t.encode200.p50,
      update1_p50_ms: t.update1.p50,
      rank1k_p50_ms: t.rank1k.p50,
      rank1k_p95_ms: t.rank1k.p95,
      rank10k_p50_ms: t.rank10k.p50,
      rank10k_p95_ms: t.rank10k.p95,
      rank100k_p50_ms: t.rank100k.p50,
      scores10k_p50_ms: t.scores10k.p50,
      scores100k_p50_ms: t.scores100k.p50,
      rank_tensor10k_p50_ms: t.rankTensor10k.p50,
      rank_tensor100k_p50_ms: t.rankTensor100k.p50,
      page5k_p50_ms: t.page5k.p50,
      artwork50_p50_ms: t.artwork50.p50,
      artwork50_p95_ms: t.artwork50.p95,
      kernels: t.kernels,
      long_tasks: longTasks,
      long_task_log: longTaskLog,
    },
  };
}

const backends: Record<string, BackendResult> = {};
let longTasks = 0;
try {
  for (const name of BACKENDS) {
    try {
      const v = await visit(`backends=${name}&choice=first`);
      if (v.backend !== name) {
        log(`${name}: not available (got ${v.backend})`);
        continue;
      }
      backends[name] = v.result!;
      longTasks += v.longTasks;
      log(`${name}: ${JSON.stringify(v.result)}`);
    } catch (err) {
      log(`${name}: failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const auto = await visit('');
  longTasks += auto.longTasks;
  // The ranking path the choice is about: update after one event plus re-rank of 1,000 candidates.
  const path = (r: BackendResult) => r.update1_p50_ms + r.rank1k_p50_ms;
  const fastest = Object.entries(backends).sort((a, b) => path(a[1]) - path(b[1]))[0];
  const autoPath = path(auto.result!);
  const summary = {
    backends,
    auto: auto.backend,
    auto_probe_ms: auto.timings,
    auto_path_ms: +autoPath.toFixed(3),
    fastest: fastest?.[0],
    auto_vs_fastest: fastest ? +(autoPath / path(fastest[1])).toFixed(3) : null,
    auto_result: auto.result,
    long_tasks: longTasks,
    main_bundle_brotli_bytes: mainBundleBrotli,
    model: version,
  };
  log(`\nauto chose ${auto.backend}; fastest measured: ${fastest?.[0]}; auto path ${autoPath.toFixed(2)} ms (${summary.auto_vs_fastest}x the fastest)`);
  log(`long tasks: ${longTasks}; main-thread SDK ${mainBundleBrotli} B brotli`);
  if (args.json) console.log(JSON.stringify(summary));
} finally {
  preview.kill();
  await api.stop();
  await rm(dataDir, { recursive: true, force: true });
}
