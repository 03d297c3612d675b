/**
 * `npm run bench:node [-- --json] [-- --runs N] [-- --backends wasm,cpu,webgpu] [-- --scoring wasm]`: the on-device path
 * in Node, per tfjs backend (with `--scoring`, a mixed plan: the re-rank's catalog scoring on that backend), with the SDK's own encoder, scorer, rankers and page code (the same `benchmarkPath` the browser
 * bench runs in the worker) and the default benchmark model (bench/.artifacts, trained once).
 *
 * Each backend runs in a child process of its own, so a cold start is cold: start the backend, load the model from
 * disk, build the first page (encode 200 events, score and rank 5,000 candidates, compose rows). Then the timed
 * workloads, p50/p95, kernels launched per operation (tf.profile) and, on webgpu, GPU kernel time (tf.time) beside
 * wall time. wasm here is the trainer's Node setup (initNodeBackend: SIMD, plus the repo's faster MatMul and Gather
 * kernels), not the browser's stock wasm kernels. webgpu needs a `navigator.gpu`: the optional `webgpu` npm package
 * (Dawn) and a Vulkan driver; without them it is reported as skipped, with the reason.
 *
 * With two or more backends (and no `--scoring`), one more child starts them all, runs the SDK's probe workload on
 * each (`probeRankingPath`, the switch cost, core's `choosePlan`: the plan auto would take on this machine), then
 * times the re-rank after a play under every configuration (encoder on one backend, catalog scoring on any) in one
 * interleaved loop of max(30, 3 x runs) rounds: `plans` (p50/p95 each), `best_configuration` and `auto_vs_best`, the
 * chosen plan's p50 over the best's from the same loop (target <= 1.1x).
 *
 * Children are started as this process was (`process.execArgv` and script), so a bundle of this file runs the same
 * way as `tsx bench/node.ts` (bench/gpu/ carries such a bundle to a GPU server).
 *
 * A benchmark, not a test: numbers vary with the machine. Human text goes to stderr; `--json` prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, BackendNameSchema, choosePlan, composePage, rankCandidates, PathBenchmarkSchema, ProbeResultSchema, type BackendName, type OperationTimings, type PathBenchmark, type ProbeResult } from '@marquee/core';
import { z } from 'zod';
import type { LoadedModel } from '@marquee/model';
import { ROOT, ensureBenchModel } from './bench-model.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'wasm,cpu,webgpu' },
    child: { type: 'string' },
    /**
     * Internal: the child that starts every backend of --backends, runs the probe workload on each (auto's choice),
     * then times the re-rank after a play under every configuration, interleaved.
     */
    plans: { type: 'boolean', default: false },
    /** A mixed backend plan: catalog scoring of the re-rank workload on this backend, the encoder on each of --backends. */
    scoring: { type: 'string' },
    /**
     * Internal: a webgpu child's cold start with the first page's pipelines compiled (compile-only, on a stand-in of
     * the model) while the model loads, as the worker does on a hardware adapter; cold start only, no timed workloads.
     */
    warmup: { type: 'boolean', default: false },
  },
});
const log = (...a: unknown[]) => console.error(...a);

/** warmup_ms: with --warmup, the pipeline warm-up from its start to its last pipeline compiled (beside the model load). */
const ColdStartSchema = z.object({ backend_ms: z.number(), model_ms: z.number(), first_page_ms: z.number(), cold_start_ms: z.number(), warmup_ms: z.number().optional() });
const ChildResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), cold: ColdStartSchema, path: PathBenchmarkSchema.optional() }),
  z.object({ ok: z.literal(false), skipped: z.string() }),
]);
type ChildResult = z.infer<typeof ChildResultSchema>;
/** The plans child's answer: auto's probe, and every configuration's re-rank after a play from one interleaved loop. */
const PlanTimingSchema = z.object({ update: BackendNameSchema, scoring: BackendNameSchema, p50: z.number(), p95: z.number() });
const PlansResultSchema = z.object({ probe: ProbeResultSchema, plans: z.array(PlanTimingSchema) });
type PlansResult = z.infer<typeof PlansResultSchema>;

if (args.child) {
  process.stdout.write(JSON.stringify(await runChild(args.child as NodeBackend, Number(args.runs), args.scoring as NodeBackend | undefined, args.warmup!)) + '\n');
  process.exit(0); // the webgpu device keeps Node alive otherwise
} else if (args.plans) {
  process.stdout.write(JSON.stringify(await runPlans(args.backends!.split(',') as NodeBackend[], Number(args.runs))) + '\n');
  process.exit(0);
} else {
  await runParent();
}

type NodeBackend = 'wasm' | 'cpu' | 'webgpu';

async function runChild(backend: NodeBackend, runs: number, scoring: NodeBackend | undefined, warmup: boolean): Promise<ChildResult> {
  const t0 = performance.now();
  const tf = await import('@tensorflow/tfjs-core');
  const { initNodeBackend, loadModelDir, readManifest } = await import('@marquee/model/node');
  try {
    if (scoring && scoring !== backend) {
      // Started first, so the encoder's backend (started next) is current, as in the worker under a mixed plan.
      await initNodeBackend(scoring);
      if (tf.getBackend() !== scoring) return { ok: false, skipped: `scoring backend ${scoring} did not start (got ${tf.getBackend()})` };
    }
    await initNodeBackend(backend);
  } catch (err) {
    return { ok: false, skipped: (err as Error).message };
  }
  if (tf.getBackend() !== backend) return { ok: false, skipped: `${backend} did not start (got ${tf.getBackend()})` };
  if (warmup && backend !== 'webgpu') return { ok: false, skipped: 'the pipeline warm-up is webgpu\'s (tfjs-backend-webgpu\'s compile-only mode)' };
  const { IncrementalEncoder } = await import('../packages/sdk/src/encoder.ts');
  const { benchmarkPath } = await import('../packages/sdk/src/bench.ts');
  /** The first page's tensor work: 200 events encoded, 5,000 candidates scored (what a warm-up compiles ahead). */
  const firstPageScores = (model: LoadedModel) => {
    const V = model.config.numItems;
    const enc = new IncrementalEncoder(model);
    enc.update(Array.from({ length: Math.min(200, model.config.maxLen) }, (_, i) => ({ item: 1 + ((i * 37) % V), event: 2, frac: 1 })));
    const u = enc.embedding()!;
    const table = model.itemEmbeddings();
    const idx = Int32Array.from({ length: 5000 }, (_, i) => 1 + ((i * 13) % V));
    const scores = tf.tidy(() => tf.reshape(tf.matMul(tf.gather(table, idx), tf.reshape(u, [-1, 1])), [-1]));
    tf.dispose([u, table]);
    enc.dispose();
    return { scores, idx };
  };
  const t1 = performance.now();
  const dir = ensureBenchModel(log);
  let warmupMs: number | undefined;
  // Started before the model's files are read: the stand-in needs only the manifest, as in the worker during a download.
  const warm = warmup
    ? (async () => {
        const { standInModel } = await import('@marquee/model');
        const { compileOnly, pipelinesCompiled } = await import('../packages/sdk/src/warm-up.ts');
        const standIn = await standInModel(readManifest(dir));
        compileOnly(() => firstPageScores(standIn).scores).dispose();
        await pipelinesCompiled();
        standIn.dispose();
        warmupMs = performance.now() - t1;
      })()
    : Promise.resolve();
  const [model] = await Promise.all([loadModelDir(dir), warm]);
  const t2 = performance.now();
  // The first page, cold: 200 events encoded, 5,000 candidates scored and blended, rows composed.
  const { scores: s, idx } = firstPageScores(model);
  const scores = await s.data();
  s.dispose();
  const ranked = rankCandidates(Array.from(idx, (row, k) => ({ titleId: `c${k}`, modelScore: scores[k], popularity: row })));
  composePage(ranked.map((r) => ({ ...r, sources: [{ source: 'trending' }] })), [], () => ({ name: 'x', genres: ['drama'] }));
  const t3 = performance.now();
  const r2 = (x: number) => Math.round(x * 10) / 10;
  const cold = { backend_ms: r2(t1 - t0), model_ms: r2(t2 - t1), first_page_ms: r2(t3 - t2), cold_start_ms: r2(t3 - t0), ...(warmupMs === undefined ? {} : { warmup_ms: r2(warmupMs) }) };
  if (warmup) {
    model.dispose();
    return { ok: true, cold };
  }
  const path = await benchmarkPath(model, runs, scoring);
  model.dispose();
  return { ok: true, cold, path };
}

/** What auto would choose here: every backend started in one process, the SDK's probe workload on each. */
async function runProbe(names: NodeBackend[]): Promise<ProbeResult> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initNodeBackend } = await import('@marquee/model/node');
  const { probeRankingPath } = await import('../packages/sdk/src/probe.ts');
  const { measureSwitches } = await import('../packages/sdk/src/scorer.ts');
  const operations: Partial<Record<BackendName, OperationTimings>> = {};
  const tried: Extract<ProbeResult, { ok: true }>['tried'] = [];
  for (const name of names) {
    try {
      await initNodeBackend(name);
      if (tf.getBackend() !== name) throw new Error(`${name} did not start (got ${tf.getBackend()})`);
      const p = await probeRankingPath();
      operations[name] = { rerankMs: +p.rerankMs.toFixed(3), updateMs: +p.updateMs.toFixed(3), scoreMs: +p.scoreMs.toFixed(3) };
      tried.push({ name, ok: true });
    } catch (err) {
      tried.push({ name, ok: false, reason: (err as Error).message });
    }
  }
  const measured = names.filter((n) => operations[n]);
  if (measured.length === 0) return { ok: false, error: `no backend started: ${tried.map((t) => `${t.name} (${t.reason})`).join(', ')}` };
  const switchMs = measureSwitches(measured);
  return { ok: true, operations, switchMs, plan: choosePlan(operations, switchMs), tried };
}

/**
 * Auto's choice (the probe), then the re-rank after a play under every configuration (the encoder on one started
 * backend, the catalog scoring on any), all in this one process and timed interleaved, so the chosen plan and the best
 * are compared on the same runs. Judged from separate processes, a mixed plan's cost had to be estimated as one run's
 * update plus another's re-rank less its update: one noisy update (5.3 ms against the usual 1.4) made a plan auto
 * rightly passed over look 1.26x faster.
 */
async function runPlans(names: NodeBackend[], runs: number): Promise<PlansResult> {
  const probe = await runProbe(names);
  if (!probe.ok) return { probe, plans: [] };
  const tf = await import('@tensorflow/tfjs-core');
  const { loadModelDir } = await import('@marquee/model/node');
  const { playWorkload, timeEach } = await import('../packages/sdk/src/bench.ts');
  const started = BACKEND_NAMES.filter((b) => probe.operations[b]);
  const workloads: Record<string, () => Promise<unknown>> = {};
  const dispose: (() => void)[] = [];
  for (const update of started) {
    await tf.setBackend(update);
    const model = await loadModelDir(ensureBenchModel(log)); // its weights on `update`
    dispose.push(() => model.dispose());
    for (const scoring of started) {
      const play = await playWorkload(model, scoring);
      dispose.push(() => play.dispose());
      // tfjs switches to a started backend at once: the encoder runs on `update`, as in a worker under this plan.
      workloads[`${update}>${scoring}`] = () => (void tf.setBackend(update), play.rerank1k());
    }
  }
  const timed = await timeEach(Math.max(30, 3 * runs), workloads);
  dispose.forEach((fn) => fn());
  const plans = Object.entries(timed).map(([key, t]) => {
    const [update, scoring] = key.split('>') as [BackendName, BackendName];
    return { update, scoring, ...t };
  });
  return { probe, plans };
}

/**
 * Why a child failed, in one line: Node ends an uncaught error's stderr with its own version ("Node.js v20.20.2"),
 * so the last line says nothing; take the error's own line (the last line naming an error), else the last line.
 */
function childFailure(err: unknown): string {
  const text = ((err as { stderr?: string }).stderr || (err as Error).message || '').trim();
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^Node\.js v\d/.test(l) && !l.startsWith('at '));
  return lines.findLast((l) => /error|exception|failed/i.test(l)) ?? lines.at(-1) ?? 'failed';
}

/** One child process: `node [this process's flags] THIS_SCRIPT ...args`, its last stdout line. */
function child(childArgs: string[]): string {
  const script = process.argv[1];
  if (!script) throw new Error('bench:node: no script path to start children with');
  const out = execFileSync(process.execPath, [...process.execArgv, script, ...childArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 24 });
  const last = out.trim().split('\n').at(-1);
  if (!last) throw new Error(`child ${childArgs.join(' ')} printed nothing`);
  return last;
}

async function runParent(): Promise<void> {
  ensureBenchModel(log);
  const backends: Record<string, { cold: z.infer<typeof ColdStartSchema>; path: PathBenchmark; cold_warmup?: z.infer<typeof ColdStartSchema> }> = {};
  const skipped: Record<string, string> = {};
  for (const name of args.backends!.split(',')) {
    log(`${name}: running…`);
    let out: string;
    try {
      out = child(['--child', name, '--runs', args.runs!, ...(args.scoring ? ['--scoring', args.scoring] : [])]);
    } catch (err) {
      skipped[name] = `child failed: ${childFailure(err)}`;
      log(`${name}: ${skipped[name]}`);
      continue;
    }
    const r = ChildResultSchema.parse(JSON.parse(out));
    if (!r.ok) {
      skipped[name] = r.skipped;
      log(`${name}: skipped: ${r.skipped}`);
      continue;
    }
    backends[name] = { cold: r.cold, path: r.path! };
    log(describe(name, r.cold, r.path!));
  }
  if (backends.webgpu && !args.scoring) {
    // The same cold start with the first page's pipelines compiled while the model loads: the worker does it on a
    // hardware adapter only (core's adapterKind), so a GPU session judges it from these two cold starts.
    try {
      const r = ChildResultSchema.parse(JSON.parse(child(['--child', 'webgpu', '--warmup'])));
      if (r.ok) {
        backends.webgpu.cold_warmup = r.cold;
        const c = r.cold;
        log(`webgpu cold start with the pipeline warm-up ${c.cold_start_ms} (backend ${c.backend_ms}, model ${c.model_ms} beside a warm-up of ${c.warmup_ms}, first page ${c.first_page_ms}); without: first page ${backends.webgpu.cold.first_page_ms}`);
      } else skipped['webgpu-warmup'] = r.skipped;
    } catch (err) {
      skipped['webgpu-warmup'] = `child failed: ${childFailure(err)}`;
    }
  }
  let auto: ReturnType<typeof autoAgainstBest> | { auto_error: string } | null = null;
  if (Object.keys(backends).length > 1 && !args.scoring) {
    try {
      auto = autoAgainstBest(Object.keys(backends));
    } catch (err) {
      // The backends' own figures still count: report them with the reason auto could not be judged.
      auto = { auto_error: childFailure(err) };
      log(`auto: ${auto.auto_error}`);
    }
  }
  if (args.json) console.log(JSON.stringify({ backends, skipped, runs: Number(args.runs), scoring: args.scoring ?? null, ...auto }));
}

/**
 * The plan the probe chooses here and its re-rank after a play, against the best configuration's, both from one
 * interleaved loop over every configuration (runPlans): the target is auto within 1.1x of the best.
 */
function autoAgainstBest(names: string[]) {
  log(`probe and every configuration (${names.join(', ')} in one process): running…`);
  const { probe, plans } = PlansResultSchema.parse(JSON.parse(child(['--plans', '--backends', names.join(','), '--runs', args.runs!])));
  if (!probe.ok) {
    log(`probe failed: ${probe.error}`);
    return { auto_probe: probe };
  }
  const { plan } = probe;
  const best = plans.reduce((a, b) => (b.p50 < a.p50 ? b : a));
  const auto = plans.find((p) => p.update === plan.update && p.scoring === plan.scoring);
  const autoVsBest = auto ? +(auto.p50 / best.p50).toFixed(3) : null;
  log(`auto: the probe chose update on ${plan.update}, scoring on ${plan.scoring} (probe: ${JSON.stringify(probe.operations)}, switch ${probe.switchMs} ms); ` +
    `re-rank after a play, p50 ms of one interleaved loop: ${plans.map((p) => `${p.update}>${p.scoring} ${p.p50}`).join(', ')}; auto ${autoVsBest}x the best (target <= 1.1x)`);
  return { auto_probe: probe, plans, auto_path_ms: auto?.p50 ?? null, best_configuration: { update: best.update, scoring: best.scoring, ms: best.p50 }, auto_vs_best: autoVsBest };
}

function describe(name: string, cold: z.infer<typeof ColdStartSchema>, p: PathBenchmark): string {
  const pc = (x: { p50: number; p95: number }) => `${x.p50} / ${x.p95}`;
  const lines = [
    `${name} (p50 / p95 ms)`,
    `  cold start ${cold.cold_start_ms} (backend ${cold.backend_ms}, model ${cold.model_ms}, first page ${cold.first_page_ms})`,
    `  encode 50 ${pc(p.encode50)}   encode 200 ${pc(p.encode200)}   update 1 ${pc(p.update1)}`,
    `  scores 1k ${pc(p.scores1k)}   10k ${pc(p.scores10k)}   100k ${pc(p.scores100k)}`,
    `  rank, JS blend 1k ${pc(p.rank1k)}   10k ${pc(p.rank10k)}   100k ${pc(p.rank100k)}`,
    `  rank, tensor top-${p.rankTopK} 1k ${pc(p.rankTensor1k)}   10k ${pc(p.rankTensor10k)}   100k ${pc(p.rankTensor100k)}`,
    `  the ranker alone (scores already made) 10k ${pc(p.rankerAlone10k)}   100k ${pc(p.rankerAlone100k)}`,
    ...(p.rankerAloneTfjsTopK10k && p.rankerAloneTfjsTopK100k ? [`  the ranker alone with tfjs's top-k instead 10k ${pc(p.rankerAloneTfjsTopK10k)}   100k ${pc(p.rankerAloneTfjsTopK100k)}`] : []),
    `  tensor ranking equals the JS blend (top ${p.rankTopK} at 1k, 10k, 100k): ${p.rankTensorEqualsJs ? 'yes' : 'NO'}`,
    `  target rank <= 1.2 x scores + 1 ms: 10k ${p.rankTensor10k.p50 <= 1.2 * p.scores10k.p50 + 1 ? 'met' : 'missed'}, 100k ${p.rankTensor100k.p50 <= 1.2 * p.scores100k.p50 + 1 ? 'met' : 'missed'}`,
    `  re-rank 1k after a play (update on ${p.backend}, scores on ${p.scoringBackend}, JS blend) ${pc(p.rerank1k)}`,
    `  page 5k ${pc(p.page5k)}`,
    `  kernel launches: encode 200 ${p.kernels.encode200.launches}, update 1 ${p.kernels.update1.launches}, tensor rank 10k ${p.kernels.rankTensor10k.launches}`,
  ];
  if (p.gpuKernelMs) lines.push(`  GPU kernel ms: ${JSON.stringify(p.gpuKernelMs)}`);
  if (p.gpuTimerError) lines.push(`  GPU kernel time unavailable: ${p.gpuTimerError}`);
  return lines.join('\n');
}
