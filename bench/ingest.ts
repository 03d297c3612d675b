/**
 * `npm run bench:ingest [-- --json] [-- --events N] [-- --concurrency C] [-- --stored N]`
 *
 * `--stored N` first fills the server's store with N valid events (in SQL, straight into DuckDB), starts the server
 * once on it (`first_startup_s`: no snapshot of the aggregates yet, every row replayed) and stops it cleanly (which
 * writes the snapshot), then measures the restart (`startup_s`, spawn to listening, the ids, the snapshot and the
 * rows past it included) and its
 * resident memory once started and at rest, after the background catch-ups (`rss_per_event_bytes` = RSS at rest / N),
 * before the same load.
 *
 * Loads a fresh API server (own process, free loopback port, temporary DuckDB) with concurrent batch posts, then
 * measures the store alone taking the same rows in-process with the same dedup guarantee. The ratio of the two
 * says how much HTTP, JSON and validation cost on top of the store. A benchmark, not a test: numbers vary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { quantile, SCHEMA_VERSION, uuidv7, type MarqueeEvent } from '@marquee/core';
import { DuckDbEventStore } from '@marquee/server';
import { prefill, startServerProcess } from '@marquee/server/testing';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '8' },
    stored: { type: 'string', default: '0' },
  },
});
const STORED = Number(args.stored);
const TOTAL = Number(args.events);
const CONCURRENCY = Number(args.concurrency);
const BATCH_SIZES = [100, 500];
const log = (...a: unknown[]) => console.error(...a);

function makeEvents(n: number): MarqueeEvent[] {
  const types = ['impression', 'play_start', 'progress', 'complete'] as const;
  return Array.from({ length: n }, (_, i) => {
    const type = types[i % types.length];
    const common = { id: uuidv7(), ts: Date.now(), schemaVersion: SCHEMA_VERSION, sessionId: `s${i % 997}`, userId: `u${i % 5000}`, titleId: `t${i % 2000}` };
    if (type === 'impression') return { ...common, type, row: 'Top Picks', position: i % 40, artwork: { artworkId: `a${i % 5}`, propensity: 0.2 } };
    if (type === 'play_start') return { ...common, type };
    return { ...common, type, position: i % 3600, duration: 3600 };
  }) as MarqueeEvent[];
}

// node:http with keep-alive: the load generator shares this 2-core machine with the server, and fetch (undici)
// costs several times more CPU per request.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function post(url: string, body: string): Promise<{ status: number; json: { accepted: number } }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}


/** Runs `jobs` with at most `concurrency` in flight. */
async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++, job = jobs[i]; job; i = next++, job = jobs[i]) out[i] = await job();
    }),
  );
  return out;
}

const dataDir = await mkdtemp(join(tmpdir(), 'marquee-bench-'));
let startup: { startup_s: number; first_startup_s: number | null; rss_after_start_mb: number | null; rss_at_rest_mb: number | null; rss_per_event_bytes: number | null } | null = null;
if (STORED > 0) {
  log(`filling the store with ${STORED} events...`);
  const t = performance.now();
  await prefill(join(dataDir, 'server'), STORED);
  log(`filled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const serverEnv = { DATA_DIR: join(dataDir, 'server'), WRITE_KEYS: 'bench' };
let firstStartupS: number | null = null;
if (STORED > 0) {
  // The first start on a store filled behind the server's back has no snapshot of the aggregates: it replays every
  // row (reported as first_startup_s). A clean stop writes the snapshot; the start measured is the restart after it.
  const spawnedFirst = performance.now();
  const first = await startServerProcess(serverEnv, { timeoutMs: 600_000 });
  firstStartupS = +((performance.now() - spawnedFirst) / 1000).toFixed(2);
  for (let i = 0; i < 100 && !/started in/.test(first.output()); i++) await new Promise((r) => setTimeout(r, 50));
  log(`first start (no snapshot): ${firstStartupS} s; server: ${first.output().match(/started in [^\n]*/)?.[0] ?? '(no start-up line)'}`);
  await first.stop();
  log(`  ${first.output().match(/aggregates: snapshot[^\n]*written[^\n]*/g)?.at(-1) ?? '(no snapshot written)'}`);
}
const spawned = performance.now();
const server = await startServerProcess(serverEnv, { timeoutMs: 600_000 });
if (STORED > 0) {
  const startupS = (performance.now() - spawned) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // let the start-up garbage go before reading RSS
  const rss = server.rssMb();
  // At rest: after start the analytics rollups catch up in the background (DuckDB's buffers grow while they run, and
  // the server hands them back when they are done), so wait until /readyz says nothing is left to roll up.
  for (let i = 0; i < 6000; i++) {
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { analytics?: { eventsNotRolledUp: number | null } };
    if (ready.analytics?.eventsNotRolledUp === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000)); // the memory hand-back follows the catch-up
  const rest = server.rssMb();
  startup = {
    startup_s: +startupS.toFixed(2),
    first_startup_s: firstStartupS,
    rss_after_start_mb: rss === undefined ? null : Math.round(rss),
    rss_at_rest_mb: rest === undefined ? null : Math.round(rest),
    rss_per_event_bytes: rest === undefined ? null : Math.round((rest * 2 ** 20) / STORED),
  };
  log(`start-up on ${STORED} stored events: ${startup.startup_s} s; RSS ${startup.rss_after_start_mb} MB after start, ${startup.rss_at_rest_mb} MB at rest = ${startup.rss_per_event_bytes} bytes per stored event`);
  for (let i = 0; i < 100 && !/started in/.test(server.output()); i++) await new Promise((r) => setTimeout(r, 50));
  log(`  server: ${server.output().match(/started in [^\n]*/)?.[0] ?? '(no start-up line)'}`);
}
const results: Record<string, { events_per_s: number; p50_ms: number; p99_ms: number; server_cpu_us_per_event: number | null }> = {};
let sent = 0;
let accepted = 0;
const allEvents: MarqueeEvent[][] = [];
try {
  for (const size of BATCH_SIZES) {
    const events = makeEvents(TOTAL);
    allEvents.push(events);
    const bodies: string[] = [];
    for (let i = 0; i < events.length; i += size) bodies.push(JSON.stringify({ writeKey: 'bench', events: events.slice(i, i + size) }));
    const latencies: number[] = [];
    const cpuBefore = server.cpuSeconds();
    const t0 = performance.now();
    await pool(
      bodies.map((body) => async () => {
        const start = performance.now();
        // A reused keep-alive socket can be closed under us; resending is safe since the server deduplicates.
        const { status, json: r } = await post(`${server.url}/v1/events`, body).catch(() => post(`${server.url}/v1/events`, body));
        if (status !== 200) throw new Error(`HTTP ${status}: ${JSON.stringify(r)}`);
        latencies.push(performance.now() - start);
        accepted += r.accepted;
      }),
      CONCURRENCY,
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpuAfter = server.cpuSeconds();
    sent += events.length;
    latencies.sort((a, b) => a - b);
    const row = {
      events_per_s: Math.round(events.length / seconds),
      p50_ms: +quantile(latencies, 0.5).toFixed(2),
      p99_ms: +quantile(latencies, 0.99).toFixed(2),
      // The server's CPU time (all its threads) per event: what a rate measured on a shared machine cannot say.
      server_cpu_us_per_event: cpuBefore === undefined || cpuAfter === undefined ? null : +(((cpuAfter - cpuBefore) * 1e6) / events.length).toFixed(1),
    };
    results[`batch${size}`] = row;
    log(`HTTP, batches of ${size}: ${row.events_per_s} events/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, server CPU ${row.server_cpu_us_per_event} us per event`);
  }
  const countRes = await fetch(`${server.url}/v1/admin/events/count`, { headers: { authorization: 'Bearer dev-admin-token' } });
  const stored = ((await countRes.json()) as { count: number }).count;
  const peak = server.peakRssMb();
  await server.stop();
  agent.destroy();

  // The store alone: same rows, same batch sizes and concurrency, same dedup (no HTTP, JSON or validation).
  const store = await DuckDbEventStore.open(join(dataDir, 'alone'));
  const aloneRates: number[] = [];
  /** CPU time of this process (JS and DuckDB's threads) per row, microseconds. */
  const aloneCpu: number[] = [];
  for (const [k, size] of BATCH_SIZES.entries()) {
    const events = allEvents[k] ?? [];
    const batches: MarqueeEvent[][] = [];
    for (let i = 0; i < events.length; i += size) batches.push(events.slice(i, i + size));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pool(batches.map((b) => () => store.append(b, Date.now())), CONCURRENCY);
    const rate = events.length / ((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    const cpuPerRow = (cpu.user + cpu.system) / events.length;
    aloneRates.push(rate);
    aloneCpu.push(cpuPerRow);
    log(`store alone, batches of ${size}: ${Math.round(rate)} rows/s, CPU ${cpuPerRow.toFixed(1)} us per row`);
  }
  await store.close();

  const httpRate = Math.min(...Object.values(results).map((r) => r.events_per_s));
  const aloneRate = Math.round(Math.min(...aloneRates));
  const summary = {
    events_per_s: httpRate,
    p99_ms: Math.max(...Object.values(results).map((r) => r.p99_ms)),
    store_alone_per_s: aloneRate,
    store_alone_cpu_us_per_row: +Math.max(...aloneCpu).toFixed(1),
    ratio: +(httpRate / aloneRate).toFixed(3),
    sent,
    stored,
    server_peak_rss_mb: peak === undefined ? null : Math.round(peak),
    stored_before: STORED,
    ...(startup ?? {}),
    by_batch_size: results,
  };
  log(`\nevents/s ${summary.events_per_s} (slowest batch size), store alone ${summary.store_alone_per_s}/s, ratio ${summary.ratio}`);
  log(`sent ${sent}, accepted ${accepted}, stored ${stored}${STORED ? ` (${STORED} before)` : ''}${sent + STORED === stored ? ' (match)' : ' (MISMATCH)'}; server peak RSS ${summary.server_peak_rss_mb} MB`);
  if (args.json) console.log(JSON.stringify(summary));
  if (sent + STORED !== stored) process.exitCode = 1;
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
