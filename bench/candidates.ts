/**
 * `npm run bench:candidates [-- --json] [-- --requests N] [-- --titles N] [-- --preload N]`
 *
 * Candidate generation latency (POST /v1/candidates) on a 10,000-title catalog while events stream in. In-process:
 * createApp with a MemoryEventStore and a CandidateService whose registry holds an untrained d=64 model over 8,000
 * of the titles (the 2,000 newest are cold: embedded from metadata only). The app is preloaded with ~200k synthetic
 * engagement events (play_start, progress, pause, complete) through POST /v1/events; then the measured loop posts a
 * batch of 100 further events, then one candidate request (a member's recent history, an embedding near it,
 * limit 1000), and so on. Only the candidate requests are timed (request to response body read), warm-up excluded;
 * the server's own `tookMs` (generation alone) is reported beside it.
 *
 * A benchmark, not a test: numbers depend on the machine. Human text goes to stderr; `--json` prints one JSON line
 * `{"titles", "p50_ms", "p99_ms", ...}` last on stdout.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { quantile, SeededRandom, type MarqueeEvent } from '@marquee/core';
import { createWorld, simulateEvents } from '@marquee/core/synthetic';
import { randomModelArtifact } from '@marquee/model/testing';
import { CandidateService, Catalog, createApp, LiveAggregates, MemoryEventStore, ModelRegistry, toMarqueeEvent } from '@marquee/server';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    titles: { type: 'string', default: '10000' },
    cold: { type: 'string', default: '2000' },
    preload: { type: 'string', default: '200000' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '100' },
    batch: { type: 'string', default: '100' },
    limit: { type: 'string', default: '1000' },
    dim: { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
  },
});
const TITLES = Number(args.titles);
const COLD = Number(args.cold);
const PRELOAD = Number(args.preload);
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const BATCH = Number(args.batch);
const LIMIT = Number(args.limit);
const DIM = Number(args.dim);
const SEED = Number(args.seed);
const WRITE_KEY = 'bench-key';
const log = (...a: unknown[]) => console.error(...a);

const r2 = (x: number) => Math.round(x * 100) / 100;


const dir = await mkdtemp(join(tmpdir(), 'marquee-bench-cand-'));
try {
  // The catalog is the synthetic world's (same seed, same title count), so the world's events name its titles.
  const t0 = performance.now();
  const catalog = Catalog.synthetic({ seed: SEED, titles: TITLES });
  const coldIds = new Set(catalog.newest.slice(0, COLD).map((t) => t.id));
  const known = catalog.titles.filter((t) => !coldIds.has(t.id));
  const { manifest, files } = await randomModelArtifact(known, { dim: DIM, maxLen: 200, layers: 2, heads: 2 });
  const artifact = join(dir, 'artifact');
  await mkdir(artifact);
  for (const [path, bytes] of files) await writeFile(join(artifact, path), bytes);
  await writeFile(join(artifact, 'manifest.json'), JSON.stringify(manifest));
  const registry = new ModelRegistry(join(dir, 'models'));
  await registry.publish(artifact);
  const aggregates = new LiveAggregates();
  const service = new CandidateService(catalog, aggregates, registry);
  const index = await service.refresh();
  if (!index) throw new Error('the model did not load');
  log(`catalog ${catalog.titles.length} titles; model ${index.version} (d=${index.dim}, untrained) over ${known.length}, ${index.cold.size} cold; ${((performance.now() - t0) / 1000).toFixed(1)}s`);

  const app = createApp({ store: new MemoryEventStore(), writeKeys: [WRITE_KEY], adminToken: 'bench-admin', corsOrigins: [], candidates: service, models: registry,
    // The synthetic world's history is older than the default 30-day ts window.
    limits: { tsPastMs: Number.MAX_SAFE_INTEGER } });

  // Engagement events of the synthetic world, member after member, as the SDK would send them.
  const world = createWorld({ seed: SEED, titles: TITLES, members: 5000 });
  const stream = (function* (): Generator<MarqueeEvent> {
    for (const e of simulateEvents(world)) if (e.type !== 'impression') yield toMarqueeEvent(e);
  })();
  const members: string[] = [];
  const take = (n: number): MarqueeEvent[] => {
    const out: MarqueeEvent[] = [];
    for (let i = 0; i < n; i++) {
      const r = stream.next();
      if (r.done) break;
      const m = r.value.userId!;
      if (members[members.length - 1] !== m) members.push(m);
      out.push(r.value);
    }
    return out;
  };
  const postEvents = async (events: MarqueeEvent[]) => {
    const res = await app.request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey: WRITE_KEY, events }),
    });
    const body = (await res.json()) as { accepted: number; rejected: unknown[] };
    if (res.status !== 200 || body.rejected.length) throw new Error(`POST /v1/events: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body.accepted;
  };

  const p0 = performance.now();
  let preloaded = 0;
  while (preloaded < PRELOAD) {
    const batch = take(Math.min(1000, PRELOAD - preloaded));
    if (!batch.length) break;
    preloaded += await postEvents(batch);
  }
  log(`preloaded ${preloaded} events (${members.length} members) through POST /v1/events in ${((performance.now() - p0) / 1000).toFixed(1)}s; ` +
    `aggregates observed ${aggregates.observed}, ${aggregates.popular(1e9).length} titles played`);

  // Requests: a member's recent titles (0-20 of them) and an embedding near their mean (what a device would send).
  const mix = new SeededRandom(SEED * 7919 + 13);
  const rand = () => mix.next();
  const unit = (v: Float32Array) => {
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n) || 1;
    return Array.from(v, (x) => x / n);
  };
  const makeRequest = () => {
    const member = members[Math.floor(rand() * members.length)] ?? '';
    const recent = aggregates.recentOf(member);
    const k = Math.floor(rand() * (Math.min(20, recent.length) + 1));
    const recentTitleIds = recent.slice(recent.length - k);
    const e = new Float32Array(index.dim);
    for (const id of recentTitleIds) {
      const v = index.vector(id);
      if (v) v.forEach((x, j) => (e[j] = (e[j] ?? 0) + x));
    }
    e.forEach((x, j) => (e[j] = x + (rand() - 0.5) * 0.5));
    return JSON.stringify({ userId: member, recentTitleIds, userEmbedding: unit(e), limit: LIMIT });
  };

  const total: number[] = [];
  const server: number[] = [];
  const sizes: number[] = [];
  const sourceTags = new Map<string, number>();
  let ingested = 0;
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const batch = take(BATCH);
    if (batch.length) ingested += await postEvents(batch);
    const body = makeRequest();
    const s = performance.now();
    const res = await app.request('/v1/candidates', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': WRITE_KEY }, body });
    const text = await res.text();
    const ms = performance.now() - s;
    if (res.status !== 200) throw new Error(`POST /v1/candidates: ${res.status} ${text.slice(0, 300)}`);
    if (i < WARMUP) continue;
    const out = JSON.parse(text) as { candidates: { sources: { source: string }[] }[]; tookMs: number };
    total.push(ms);
    server.push(out.tookMs);
    sizes.push(out.candidates.length);
    for (const c of out.candidates) for (const t of c.sources) sourceTags.set(t.source, (sourceTags.get(t.source) ?? 0) + 1);
    if ((i + 1) % 200 === 0) log(`  ${i + 1 - WARMUP}/${REQUESTS} requests`);
  }
  total.sort((a, b) => a - b);
  server.sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const result = {
    titles: catalog.titles.length,
    p50_ms: r2(quantile(total, 0.5)),
    p99_ms: r2(quantile(total, 0.99)),
    max_ms: r2(total.at(-1) ?? NaN),
    mean_ms: r2(mean(total)),
    server_p50_ms: r2(quantile(server, 0.5)),
    server_p99_ms: r2(quantile(server, 0.99)),
    requests: total.length,
    limit: LIMIT,
    candidates_min: Math.min(...sizes),
    candidates_mean: r2(mean(sizes)),
    sources: Object.fromEntries([...sourceTags].sort((a, b) => b[1] - a[1])),
    cold_titles: index.cold.size,
    dim: index.dim,
    preloaded_events: preloaded,
    ingested_during: ingested,
  };
  log(`\ncandidates for ${result.titles} titles (${result.cold_titles} cold), limit ${LIMIT}, ${result.requests} requests (+${WARMUP} warm-up), ` +
    `each after a POST of ${BATCH} events (${ingested} ingested while measuring, ${preloaded} preloaded):`);
  log(`  request to response: p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  max ${result.max_ms} ms  mean ${result.mean_ms} ms`);
  log(`  generation (server tookMs): p50 ${result.server_p50_ms} ms  p99 ${result.server_p99_ms} ms`);
  log(`  candidates per response: min ${result.candidates_min}, mean ${result.candidates_mean}`);
  log(`  source tags seen: ${Object.entries(result.sources).map(([s, n]) => `${s} ${n}`).join(', ')}`);
  if (args.json) console.log(JSON.stringify(result));
} finally {
  await rm(dir, { recursive: true, force: true });
}
