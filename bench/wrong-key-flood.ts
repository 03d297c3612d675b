/**
 * `npm run bench:flood [-- --json] [-- --seconds 5] [-- --flooders 16]`
 *
 * What a flood of requests with an unknown write key does to everyone else (issue 8, case 9). One API process
 * (own port, temporary DuckDB, default limits); "other clients" post small batches the way the SDK does
 * (`text/plain`, the key in the body, 20 events per request, each client waiting for its answer before the next)
 * from 127.0.0.1, and their latency is measured in phases of `--seconds`:
 *
 * - `none`: no flood;
 * - `header_key`: flooders send 64 KiB bodies with an unknown key in `x-marquee-key` (answered 401 before the body
 *   is read);
 * - `body_key`: flooders send 1 MiB bodies (the largest accepted) with an unknown key only in the body, so the
 *   server has to read and parse each before it can say 401.
 *
 * Flooders connect from other loopback addresses (127.0.0.2, 127.0.0.3, ...), one per flooder, as separate
 * machines would: the per-address bucket of the 127.0.0.1 clients is not theirs. They run in a worker thread, so
 * sending their bodies does not delay the measured clients' own event loop (they still share the machine's cores
 * with the server). A benchmark, not a test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { SCHEMA_VERSION, WRITE_KEY_HEADER, quantile, uuidv7, type MarqueeEvent } from '@marquee/core';
import { startServerProcess } from '@marquee/server/testing';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    flooders: { type: 'string', default: '16' },
    clients: { type: 'string', default: '4' },
  },
});
const PHASE_MS = Number(args.seconds) * 1000;
const FLOODERS = Number(args.flooders);
const CLIENTS = Number(args.clients);
const BATCH = 20;
const log = (...a: unknown[]) => console.error(...a);

interface Sent {
  status: number;
  ms: number;
}

function post(agent: Agent, url: string, headers: Record<string, string>, body: string | Buffer): Promise<Sent> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    });
    // A flooder's socket may be closed by the server before its whole body is sent: counted, not fatal.
    req.on('error', () => resolve({ status: 0, ms: performance.now() - start }));
    req.end(body);
  });
}

function events(n: number): MarqueeEvent[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: uuidv7(), ts: now, schemaVersion: SCHEMA_VERSION, sessionId: `s${i % 97}`, userId: `u${i % 500}`, titleId: `t${i % 200}`,
    type: 'play_start' as const,
  }));
}

/** A body of about `bytes` that is valid JSON with an unknown key: the server must parse it to find the key. */
function floodBody(bytes: number, withKey: boolean): Buffer {
  const one = JSON.stringify(events(1)[0]);
  const n = Math.floor((bytes - 100) / (one.length + 1));
  return Buffer.from(JSON.stringify({ ...(withKey ? { writeKey: 'not-a-key' } : {}), events: Array.from({ length: n }, () => JSON.parse(one)) }));
}


/** The flooders' loop, as plain JavaScript for a worker thread: posts `body` until `until` (epoch ms). */
const FLOODER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { url, headers, body, flooders, until } = workerData;
const statuses = {};
let count = 0;
function post(agent) {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(Buffer.from(body));
  });
}
Promise.all(Array.from({ length: flooders }, async (_, i) => {
  const agent = new Agent({ keepAlive: true, localAddress: '127.0.0.' + (2 + i) });
  while (Date.now() < until) {
    const s = await post(agent);
    statuses[s] = (statuses[s] || 0) + 1;
    count++;
  }
  agent.destroy();
})).then(() => parentPort.postMessage({ statuses, count }));
`;

function flood(headers: Record<string, string>, body: Buffer, until: number): Promise<{ statuses: Record<string, number>; count: number }> {
  const worker = new Worker(FLOODER_SOURCE, { eval: true, workerData: { url, headers, body, flooders: FLOODERS, until } });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { statuses: Record<string, number>; count: number }) => resolve(m));
    worker.once('error', reject);
  });
}

const dataDir = await mkdtemp(join(tmpdir(), 'marquee-flood-'));
const server = await startServerProcess({ DATA_DIR: dataDir, WRITE_KEYS: 'bench' });
const url = `${server.url}/v1/events`;
type Phase = 'none' | 'header_key' | 'body_key';
const phases: Phase[] = ['none', 'header_key', 'body_key', 'none'];
const results: { phase: Phase; clients_p50_ms: number; clients_p99_ms: number; clients_requests: number; clients_failed: number; flood_requests_per_s: number; flood_statuses: Record<string, number> }[] = [];
const headerBody = floodBody(64 * 1024, false);
const bodyKeyBody = floodBody(1024 * 1024 - 1024, true);

try {
  for (const phase of phases) {
    const until = performance.now() + PHASE_MS;
    const cpuBefore = server.cpuSeconds();
    const latencies: number[] = [];
    let failed = 0;
    const clientAgent = new Agent({ keepAlive: true, localAddress: '127.0.0.1' });
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const body = JSON.stringify({ writeKey: 'bench', events: events(BATCH) });
        const r = await post(clientAgent, url, { 'content-type': 'text/plain;charset=UTF-8' }, body);
        if (r.status === 200) latencies.push(r.ms);
        else failed++;
      }
    });
    const untilEpoch = Date.now() + PHASE_MS;
    const flooding =
      phase === 'none'
        ? Promise.resolve({ statuses: {}, count: 0 })
        : phase === 'header_key'
          ? flood({ 'content-type': 'application/json', [WRITE_KEY_HEADER]: 'not-a-key' }, headerBody, untilEpoch)
          : flood({ 'content-type': 'application/json' }, bodyKeyBody, untilEpoch);
    await Promise.all(clients);
    const { statuses: floodStatuses, count: floodCount } = await flooding;
    clientAgent.destroy();
    const cpuAfter = server.cpuSeconds();
    latencies.sort((a, b) => a - b);
    const row = {
      phase,
      clients_p50_ms: +(latencies.length ? quantile(latencies, 0.5) : NaN).toFixed(1),
      clients_p99_ms: +(latencies.length ? quantile(latencies, 0.99) : NaN).toFixed(1),
      clients_requests: latencies.length,
      clients_failed: failed,
      flood_requests_per_s: Math.round(floodCount / (PHASE_MS / 1000)),
      flood_statuses: floodStatuses,
      // The server's CPU use over the phase (100 = one core): what the flood costs the server itself.
      server_cpu_pct: cpuBefore === undefined || cpuAfter === undefined ? null : Math.round(((cpuAfter - cpuBefore) / (PHASE_MS / 1000)) * 100),
    };
    results.push(row);
    log(`${phase.padEnd(10)} other clients p50 ${row.clients_p50_ms} ms, p99 ${row.clients_p99_ms} ms (${row.clients_requests} answered, ${failed} failed); flood ${row.flood_requests_per_s} requests/s ${JSON.stringify(floodStatuses)}; server CPU ${row.server_cpu_pct}%`);
  }
  if (args.json) console.log(JSON.stringify({ clients: CLIENTS, flooders: FLOODERS, batch: BATCH, phases: results }));
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
