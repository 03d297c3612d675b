/**
 * Latency of the on-device path with the model in use, for `npm run bench:browser` (in the worker) and
 * `npm run bench:node` (in Node, same code): encode a history from scratch, update it after one event, score N
 * candidates, rank them with the JS blend and on the device, and build a whole page; plus the kernels each
 * operation launches (tf.profile) and, on webgpu, the GPU's own kernel time (tf.time); the re-rank after a play
 * under the worker's backend plan (update here, catalog scoring on the plan's backend); and the artwork choice of a
 * 50-card page (pure JS, the same workload as bench:artwork's in Node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { artwork, composePage, quantile, rankCandidates, type KernelCount, type PathBenchmark, type Percentiles, type RankInput } from '@marquee/core';
import type { LoadedModel } from '@marquee/model';
import { IncrementalEncoder, type Token } from './encoder.ts';
import { TensorRanker } from './ranker.ts';
import { CatalogScorer } from './scorer.ts';

export type { PathBenchmark, Percentiles };

/** How many of the ranked candidates the tensor-side ranker hands to JavaScript (a page's worth and more). */
const TOP_K = 100;

/**
 * Up to `runs` timed runs of each of `fns` after one warm-up each, interleaved (a, b, a, b...) so that what they are
 * compared on (scores against the ranking that follows them) sees the same GC, heap and machine load; stopping early
 * after 3 rounds once 10 s are spent (slow software backends). Each run is also a user-timing measure
 * (`bench NAME`, with `label` after it), so a performance trace shows what ran inside it (a GC...).
 */
export async function timeEach<K extends string>(runs: number, fns: Record<K, () => Promise<unknown>>, label = ''): Promise<Record<K, Percentiles>> {
  const names = Object.keys(fns) as K[];
  for (const name of names) await fns[name](); // warm: kernels compiled, buffers allocated
  const xs = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const start = performance.now();
  for (let i = 0; i < runs && (i < 3 || performance.now() - start < 10_000); i++) {
    for (const name of names) {
      const t0 = performance.now();
      await fns[name]();
      xs[name].push(performance.now() - t0);
      performance.measure(`bench ${name}${label}`, { start: t0 });
    }
  }
  const at = (sorted: number[], q: number) => +quantile(sorted, q).toFixed(3);
  return Object.fromEntries(
    names.map((name) => {
      const sorted = xs[name].sort((a, b) => a - b);
      return [name, { p50: at(sorted, 0.5), p95: at(sorted, 0.95) }];
    }),
  ) as Record<K, Percentiles>;
}

async function time(name: string, runs: number, fn: () => Promise<unknown>): Promise<Percentiles> {
  return (await timeEach(runs, { [name]: fn }))[name] as Percentiles;
}

async function countKernels(fn: () => Promise<unknown>): Promise<KernelCount> {
  const info = await tf.profile(async () => {
    await fn();
    return [];
  });
  // Launches: kernels this backend registers (an op's wrapper record, such as fusedMatMul's gradient scope, is not
  // one), less Reshape, which changes a tensor's shape without running anything (on webgl a packed reshape can).
  const backend = tf.getBackend();
  const ms: Record<string, number> = {};
  for (const k of info.kernels) if (typeof k.kernelTimeMs === 'number') ms[k.name] = +((ms[k.name] ?? 0) + k.kernelTimeMs).toFixed(3);
  return { kernels: info.kernels.length, launches: info.kernels.filter((k) => k.name !== 'Reshape' && tf.getKernel(k.name, backend)).length, ms };
}

/** GPU time of the kernels `launch` starts (it returns what to read and dispose afterwards). */
async function gpuMs(launch: () => tf.Tensor | null): Promise<number> {
  let out: tf.Tensor | null = null;
  const info = await tf.time(() => {
    out = launch();
  });
  if (out) {
    await (out as tf.Tensor).data();
    (out as tf.Tensor).dispose();
  }
  return kernelMs(info);
}

function kernelMs(info: tf.TimingInfo): number {
  if (typeof info.kernelMs !== 'number') throw new Error(`no GPU kernel time: ${info.kernelMs.error}`);
  return +info.kernelMs.toFixed(3);
}

/** A history of `n` plays of a model with `V` items. */
const benchTokens = (n: number, V: number): Token[] => Array.from({ length: n }, (_, i) => ({ item: 1 + ((i * 37) % V), event: 2 + (i % 2), frac: 1 + (i % 5) }));
/** N candidates: rows of the item table (repeating past V). */
const candidateRows = (n: number, V: number) => Int32Array.from({ length: n }, (_, i) => 1 + ((i * 13) % V));
/** Their ranking inputs: popularity from the row, trending on every third. */
const rankInputs = (idx: Int32Array) => Array.from(idx, (row, k): RankInput => ({ titleId: `c${k}`, popularity: row, trending: k % 3 === 0 ? k % 17 : undefined }));

/**
 * The re-rank after a play, as a page runs it under a backend plan: one new play on top of a cached history of
 * (up to) 199 (`update1`: one position computed, the user vector read), then scores of 1,000 candidates by the page's
 * own scorer on `scoringBackend` and the JS blend (`rerank1k`). The encoder runs on the current backend, where the
 * model's weights are.
 */
export async function playWorkload(model: LoadedModel, scoringBackend: string = tf.getBackend()) {
  const V = model.config.numItems;
  const enc = new IncrementalEncoder(model);
  const base = benchTokens(Math.min(200, model.config.maxLen) - 1, V);
  enc.update(base);
  let flip = 0;
  const step = () => enc.update([...base, { item: 1 + (flip++ % V), event: 2, frac: 1 }]);
  const update1 = async () => {
    step();
    const u = enc.embedding()!;
    await u.data();
    u.dispose();
  };
  const itemIds = Array.from({ length: V }, (_, i) => model.itemId(i + 1));
  const scorer = await CatalogScorer.create(model, itemIds.map((id) => ({ id, genres: [], year: NaN })), scoringBackend);
  const rows = candidateRows(1000, V);
  const ids = Array.from(rows, (row) => model.itemId(row));
  const inputs = rankInputs(rows);
  const rerank1k = async () => {
    await update1();
    const u = enc.embedding()!;
    const s = await scorer.score(u, ids);
    u.dispose();
    return rankCandidates(inputs.map((x, k) => ({ ...x, modelScore: s[k] })));
  };
  return {
    encoder: enc,
    step,
    update1,
    rerank1k,
    scoringBackend: scorer.backend,
    dispose() {
      enc.dispose();
      scorer.dispose();
    },
  };
}

/** `scoringBackend`: where the worker's backend plan scores the catalog, when not on the current backend. */
export async function benchmarkPath(model: LoadedModel, runs = 20, scoringBackend: string = tf.getBackend()): Promise<PathBenchmark> {
  const V = model.config.numItems;
  const tokens = (n: number) => benchTokens(n, V);
  const table = model.itemEmbeddings(); // [V+1, d], normalised
  const d = table.shape[1]; // dim, plus the score-bias column with itemBias

  const encodeFresh = (n: number) => async () => {
    const enc = new IncrementalEncoder(model);
    enc.update(tokens(n).slice(-model.config.maxLen));
    const u = enc.embedding()!;
    await u.data();
    u.dispose();
    enc.dispose();
  };

  // N candidates: rows of the item table (repeating past V), popularity from the row, trending on every third.
  const sets = new Map<number, { idx: Int32Array; inputs: RankInput[]; ranker: TensorRanker; tfjsTopK: TensorRanker }>();
  const candidates = (n: number) => {
    let s = sets.get(n);
    if (!s) {
      const idx = candidateRows(n, V);
      const inputs = rankInputs(idx);
      // The ranker (and its prior on the device) is built once per candidate set, as a page keeps it between re-ranks.
      s = { idx, inputs, ranker: new TensorRanker(inputs), tfjsTopK: new TensorRanker(inputs, { topK: 'tfjs' }) };
      sets.set(n, s);
    }
    return s;
  };
  const scoreTensor = (user: tf.Tensor1D, idx: Int32Array) =>
    tf.tidy(() => tf.reshape(tf.matMul(tf.gather(table, idx), tf.reshape(user, [d, 1])), [-1]) as tf.Tensor1D);
  const scores = async (user: tf.Tensor1D, n: number) => {
    const s = scoreTensor(user, candidates(n).idx);
    const out = await s.data();
    s.dispose();
    return out;
  };
  const rankJs = async (user: tf.Tensor1D, n: number) => {
    const c = candidates(n);
    const s = await scores(user, n);
    return rankCandidates(c.inputs.map((x, k) => ({ ...x, modelScore: s[k] })));
  };
  const rankTensor = async (user: tf.Tensor1D, n: number) => {
    const c = candidates(n);
    const s = scoreTensor(user, c.idx);
    try {
      return await c.ranker.rank(s, TOP_K);
    } finally {
      s.dispose();
    }
  };

  const history = Math.min(200, model.config.maxLen);
  const play = await playWorkload(model, scoringBackend);
  const { update1, rerank1k } = play;
  const user = play.encoder.embedding()!;
  try {
    const artworkPage = artwork.selectionWorkload(50);
    let visit = 0;
    // The tensor ranker's target is relative to the scores it ranks (rank <= 1.2 x scores + 1 ms), so each N times
    // both, and the ranker alone on scores made beforehand, in one interleaved loop: timed apart, seconds and a
    // 100k-object JS blend apart, the comparison measured the GC and the machine's load as much as the ranker.
    const chunkedHere = tf.getBackend() === 'webgpu';
    const scoresAndRank = async (n: number, runsN: number) => {
      const made = scoreTensor(user, candidates(n).idx);
      try {
        const fns = { scores: () => scores(user, n), rankTensor: () => rankTensor(user, n), rankerAlone: () => candidates(n).ranker.rank(made, TOP_K) };
        const timed: Partial<Record<'rankerTfjsTopK', Percentiles>> & Record<keyof typeof fns, Percentiles> = chunkedHere
          ? await timeEach(runsN, { ...fns, rankerTfjsTopK: () => candidates(n).tfjsTopK.rank(made, TOP_K) }, ` ${n}`)
          : await timeEach(runsN, fns, ` ${n}`);
        return timed;
      } finally {
        made.dispose();
      }
    };
    const at1k = await scoresAndRank(1000, runs);
    const at10k = await scoresAndRank(10_000, runs);
    const at100k = await scoresAndRank(100_000, Math.max(5, runs / 2));
    // A mixed plan's cost is judged from one backend's update and another's re-rank less its update: timed apart, that
    // difference carried the spread of two loops (webgl's read 0.2 ms against the probe's 5-7 ms, making a plan that
    // scores on webgl look best), so the two are timed in one interleaved loop.
    const replay = await timeEach(runs, { update1, rerank1k }, ' play');
    const result: PathBenchmark = {
      backend: tf.getBackend(),
      encode50: await time('encode50', runs, encodeFresh(50)),
      encode200: await time('encode200', Math.max(5, runs / 4), encodeFresh(200)),
      update1: replay.update1,
      scores1k: at1k.scores,
      scores10k: at10k.scores,
      scores100k: at100k.scores,
      rank1k: await time('rank1k', runs, () => rankJs(user, 1000)),
      rank10k: await time('rank10k', runs, () => rankJs(user, 10_000)),
      rank100k: await time('rank100k', Math.max(5, runs / 4), () => rankJs(user, 100_000)),
      rankTensor1k: at1k.rankTensor,
      rankTensor10k: at10k.rankTensor,
      rankTensor100k: at100k.rankTensor,
      rankerAlone10k: at10k.rankerAlone,
      rankerAlone100k: at100k.rankerAlone,
      ...(at10k.rankerTfjsTopK && at100k.rankerTfjsTopK ? { rankerAloneTfjsTopK10k: at10k.rankerTfjsTopK, rankerAloneTfjsTopK100k: at100k.rankerTfjsTopK } : {}),
      rankTopK: TOP_K,
      rankTensorEqualsJs: await (async () => {
        for (const n of [1000, 10_000, 100_000]) {
          const [onDevice, js] = [await rankTensor(user, n), (await rankJs(user, n)).slice(0, TOP_K)];
          if (onDevice.length !== js.length || onDevice.some((r, i) => r.titleId !== js[i]?.titleId || r.score !== js[i]?.score)) return false;
        }
        return true;
      })(),
      rerank1k: replay.rerank1k,
      scoringBackend: play.scoringBackend,
      page5k: await time('page5k', Math.max(5, runs / 4), async () => {
        const fresh = new IncrementalEncoder(model);
        fresh.update(tokens(history));
        const u = fresh.embedding()!;
        const ranked = await rankJs(u, 5000);
        u.dispose();
        fresh.dispose();
        composePage(ranked.map((r) => ({ ...r, sources: [{ source: 'trending' }] })), [], () => ({ name: 'x', genres: ['drama'] }));
      }),
      artwork50: await time('artwork50', runs * 5, async () => artworkPage.choosePage(visit++)),
      kernels: {
        encode200: await countKernels(encodeFresh(200)),
        update1: await countKernels(update1),
        rankTensor10k: await countKernels(() => rankTensor(user, 10_000)),
        scores10k: await countKernels(() => scores(user, 10_000)),
      },
      gpuKernelMs: null,
    };
    if (result.backend === 'webgpu') {
      try {
        const fresh = new IncrementalEncoder(model);
        const encode200 = await gpuMs(() => (fresh.update(tokens(history)), fresh.embedding()));
        fresh.dispose();
        const step = await gpuMs(() => (play.step(), play.encoder.embedding()));
        const c = candidates(100_000);
        const scored = await gpuMs(() => scoreTensor(user, c.idx));
        // The ranker's own kernels: the scores are made outside the timed part.
        const s = scoreTensor(user, c.idx);
        let ranking: Promise<unknown> = Promise.resolve();
        const rankInfo = await tf.time(() => {
          ranking = c.ranker.rank(s, TOP_K);
        });
        await ranking;
        s.dispose();
        result.gpuKernelMs = { encode200, update1: step, scores100k: scored, rankTensor100k: kernelMs(rankInfo) };
      } catch (err) {
        result.gpuTimerError = (err as Error).message;
      }
    }
    return result;
  } finally {
    user.dispose();
    play.dispose();
    table.dispose();
    for (const s of sets.values()) {
      s.ranker.dispose();
      s.tfjsTopK.dispose();
    }
  }
}
