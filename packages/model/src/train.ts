/**
 * The training loop: windows of each user's training tokens, length-bucketed batches, sampled softmax, Adam, early
 * stopping on validation NDCG@10 (full ranking), a wall-clock budget and a progress line. Backend-agnostic: the Node
 * CLI picks the backend (backend-node.ts) before calling `fit`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { makeModelConfig, makeTrainConfig, resolveTimeBudget, type ModelConfig, type ModelOverrides, type TrainConfig } from './config.ts';
import { isTargetEvent, yearBucket, type Dataset } from './data/types.ts';
import { popularity } from './baselines.ts';
import { withValidationTargets, type EvalCase, type Split } from './data/split.ts';
import { evaluate, modelScorer } from './eval.ts';
import { initParams, paramSpecs, type ItemMetaArrays, type Params } from './model.ts';
import { candidateLogQ, forwardFlops, touchedRows, type LossBatch } from './loss.ts';
import { batchGradients, inputTableSettings, RowAdam, splitLossBatch, Updater } from './train-step.ts';
import { GradientPool, ID_TABLE, IN_TABLE, type StepRows } from './train-workers.ts';
import { Rng, subSeed } from './rng.ts';

/** Model config for a dataset: metadata vocabularies come from the data. */
export function modelConfigFor(d: Dataset, overrides: ModelOverrides = {}): Readonly<ModelConfig> {
  return makeModelConfig(
    {
      numItems: d.itemIds.length,
      numGenres: d.genres.length,
      numYearBuckets: d.numYearBuckets,
      yearBucketStart: d.yearBucketStart,
      yearBucketWidth: d.yearBucketWidth,
    },
    overrides,
  );
}

/** Metadata arrays (genre rows mean-normalised, year buckets) in model item order; index 0 = padding. */
export function itemMetaArrays(d: Dataset, c: ModelConfig): ItemMetaArrays {
  const V = c.numItems + 1;
  const out: ItemMetaArrays = {};
  if (c.numGenres > 0) {
    const gi = new Map(d.genres.map((g, i) => [g, i]));
    const g = new Float32Array(V * c.numGenres);
    d.itemMeta.forEach((m, i) => {
      const gs = (m.genres ?? []).filter((x) => gi.has(x));
      for (const x of gs) g[(i + 1) * c.numGenres + gi.get(x)!] = 1 / gs.length;
    });
    out.genres = g;
  }
  if (c.numYearBuckets > 0) {
    out.year = new Int32Array(V);
    d.itemMeta.forEach((m, i) => (out.year![i + 1] = yearBucket(m.year, c.yearBucketStart, c.yearBucketWidth, c.numYearBuckets)));
  }
  return out;
}

/** A training window: tokens [start, end) of one user; inputs are all but the last, targets are shifted by one. */
interface Window {
  user: number;
  start: number;
  end: number;
}

function makeWindows(d: Dataset, trainEnd: Int32Array, L: number): Window[] {
  const out: Window[] = [];
  d.seqs.forEach((s, u) => {
    const n = trainEnd[u]!;
    // From the end backwards, windows of L+1 tokens overlapping by one, so every target is used once.
    for (let end = n; end >= 2; end -= L) {
      const start = Math.max(0, end - (L + 1));
      let targets = 0;
      for (let j = start + 1; j < end; j++) if (isTargetEvent(s.events[j]!)) targets++;
      if (targets > 0) out.push({ user: u, start, end });
      if (start === 0) break;
    }
  });
  return out;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Length-bucketed batches: shuffle, sort chunks by length, cut by a token budget, shuffle the batch order. */
function makeBatches(ws: Window[], t: TrainConfig, L: number, rng: Rng): Window[][] {
  const order = rng.shuffle(ws.slice());
  const chunk = 64 * Math.max(1, Math.floor(t.tokensPerBatch / 32));
  const batches: Window[][] = [];
  for (let i = 0; i < order.length; i += chunk) {
    const part = order.slice(i, i + chunk).sort((a, b) => b.end - b.start - (a.end - a.start));
    let cur: Window[] = [];
    let T = 0;
    for (const w of part) {
      const len = Math.min(L, roundUp(w.end - w.start - 1, 8));
      const nT = Math.max(T, len);
      if (cur.length && (nT * (cur.length + 1) > t.tokensPerBatch || cur.length >= t.maxSequencesPerBatch)) {
        batches.push(cur);
        cur = [];
      }
      cur.push(w);
      T = cur.length === 1 ? len : Math.max(T, len);
    }
    if (cur.length) batches.push(cur);
  }
  return rng.shuffle(batches);
}

/** How a batch's loss is computed: full-catalog softmax, or sampled with these settings. */
interface Objective {
  full: boolean;
  negatives: number;
  inBatch: boolean;
  /** Training target frequency per item (sums to 1), for the logQ correction; null = no correction. */
  freq: Float32Array | null;
}

function objectiveFor(d: Dataset, split: Split, c: ModelConfig, t: TrainConfig): Objective {
  const full = c.numItems <= t.fullSoftmaxMaxItems;
  let freq: Float32Array | null = null;
  if (!full && t.logQ) {
    freq = new Float32Array(c.numItems + 1);
    let n = 0;
    d.seqs.forEach((s, u) => {
      for (let j = 1; j < split.trainEnd[u]!; j++) if (isTargetEvent(s.events[j]!)) (freq![s.items[j]!]! += 1), n++;
    });
    for (let i = 0; i < freq.length; i++) freq[i]! /= Math.max(1, n);
  }
  return { full, negatives: t.negatives, inBatch: t.inBatchNegatives, freq };
}

function buildLossBatch(d: Dataset, c: ModelConfig, ws: Window[], obj: Objective, rng: Rng): LossBatch {
  const B = ws.length;
  const T = Math.min(c.maxLen, roundUp(Math.max(...ws.map((w) => w.end - w.start - 1)), 8));
  const items = new Int32Array(B * T);
  const events = new Int32Array(B * T);
  const fracs = new Int32Array(B * T);
  const positions: number[] = [];
  const targets: number[] = [];
  ws.forEach((w, b) => {
    const s = d.seqs[w.user]!;
    for (let j = 0; j < w.end - w.start - 1; j++) {
      const k = w.start + j;
      items[b * T + j] = s.items[k]!;
      events[b * T + j] = s.events[k]!;
      fracs[b * T + j] = s.fracs[k]!;
      if (isTargetEvent(s.events[k + 1]!)) {
        positions.push(b * T + j);
        targets.push(s.items[k + 1]!);
      }
    }
  });
  const batch: LossBatch = { B, T, items, events, fracs, positions: Int32Array.from(positions), targets: Int32Array.from(targets) };
  if (obj.full) return batch;
  // Sampled softmax: distinct candidates = the batch's targets (in-batch) + shared uniform draws.
  const set = new Set<number>(obj.inBatch ? targets : []);
  for (let i = 0; i < obj.negatives; i++) set.add(1 + rng.int(c.numItems));
  const ids = Int32Array.from(set);
  batch.candidates = { ids };
  if (obj.freq) {
    const inBatch = obj.inBatch ? targets.length : 0;
    batch.candidates.logQ = candidateLogQ(ids, obj.freq, obj.negatives, inBatch, c.numItems);
    batch.targetLogQ = candidateLogQ(batch.targets, obj.freq, obj.negatives, inBatch, c.numItems);
  }
  return batch;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  valNdcg10: number;
  seconds: number;
  /** The epoch's positions per second of its wall time, validation included. */
  positionsPerSec: number;
  /** The epoch's time in optimizer steps alone, s (a GPU backend's first epoch also compiles its shaders here). */
  stepSeconds: number;
}

export interface Progress {
  epoch: number;
  maxEpochs: number;
  step: number;
  steps: number;
  loss: number;
  positionsPerSec: number;
  etaSec: number;
  bestVal: number;
}

export interface FitOptions {
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  onProgress?: (p: Progress) => void;
  onEpoch?: (e: EpochLog) => void;
  /**
   * Called with the chosen (averaged) weights just before a refit (train.refitEpochs) changes them, so a caller can
   * measure what the refit adds in the same run; its time is not counted as training time.
   */
  onBeforeRefit?: (params: Params, config: Readonly<ModelConfig>) => Promise<void>;
}

export interface FitResult {
  config: Readonly<ModelConfig>;
  train: Readonly<TrainConfig>;
  params: Params;
  epochs: EpochLog[];
  bestEpoch: number;
  /** The epochs whose weights were averaged into the returned model (averageTop), best first; [bestEpoch] without averaging. */
  averagedEpochs: number[];
  /** Validation NDCG@10 of the chosen weights (the average's, when epochs were averaged), before any refit. */
  bestValNdcg10: number;
  /** Epochs of the refit on training + validation targets that ran (train.refitEpochs; 0 = none). */
  refitEpochs: number;
  /** Per user, the tokens [0, trainCut[u]) the returned weights trained on (split.trainEnd, or with the validation target after a refit). */
  trainCut: Int32Array;
  stopReason: 'early-stopping' | 'time-budget' | 'max-epochs';
  seconds: number;
  /** Time in optimizer steps only (validation excluded). */
  stepSeconds: number;
  positions: number;
  /** Training FLOPs (about 3x forward) per second of step time. */
  achievedGflops: number;
  /**
   * Per replica (this thread first, then each worker): positions of its shares per second of its own gradient
   * computation, waiting and averaging excluded. One entry with workers = 1.
   */
  replicaPositionsPerSec: number[];
}

type Snapshot = Map<string, Float32Array | Int32Array>;

/** Copies of every tensor's values, read with `await data()` (dataSync throws on webgpu in Node). */
export async function snapshot(p: Params): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const [k, v] of Object.entries(p)) out.set(k, ((await v.data()) as Float32Array | Int32Array).slice());
  return out;
}

/** The uniform mean of the named tensors across snapshots (float weights only). */
export function meanSnapshot(snaps: Snapshot[], names: string[]): Snapshot {
  const out: Snapshot = new Map();
  for (const name of names) {
    const parts = snaps.map((s) => s.get(name));
    const sum = new Float32Array(parts[0]?.length ?? 0);
    for (const v of parts) {
      if (!(v instanceof Float32Array) || v.length !== sum.length) throw new Error(`meanSnapshot: ${name} is missing, not float or of another size in a snapshot`);
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + (v[i] ?? 0);
    }
    out.set(name, sum.map((x) => x / snaps.length));
  }
  return out;
}

/**
 * The per-title score bias's starting point (model.itemBias): log(1 + training plays), centered over the titles, so
 * the untrained model ranks by popularity and training adjusts from there. From zeros, Adam's steps of about one
 * learning rate would need thousands of steps to span the log-popularity range of a long-tailed catalog.
 */
export function logFrequencyPrior(d: Dataset, split: Split, numItems: number): Float32Array {
  const counts = popularity(d, split.trainEnd); // [numItems + 1]: the training plays MostPop counts
  let mean = 0;
  for (let i = 1; i <= numItems; i++) mean += (counts[i] = Math.log1p(counts[i]!)) / numItems;
  counts[0] = 0;
  for (let i = 1; i <= numItems; i++) counts[i]! -= mean;
  return counts;
}

/**
 * The input-only table's starting point (train.successorInit): row i = scale x the mean of `id`'s rows over the
 * titles that followed title i in the training sequences (as targets); zeros for a title never followed.
 */
export function successorMeans(d: Dataset, split: Split, id: Float32Array, dim: number, scale: number): Float32Array {
  const out = new Float32Array(id.length);
  const count = new Float32Array(id.length / dim);
  d.seqs.forEach((s, u) => {
    for (let j = 1; j < split.trainEnd[u]!; j++) {
      if (!isTargetEvent(s.events[j]!)) continue;
      const from = s.items[j - 1]! * dim;
      const to = s.items[j]! * dim;
      for (let k = 0; k < dim; k++) out[from + k]! += id[to + k]!;
      count[s.items[j - 1]!]! += 1;
    }
  });
  for (let i = 1; i < count.length; i++) {
    if (!count[i]) continue;
    const f = scale / count[i]!;
    for (let k = 0; k < dim; k++) out[i * dim + k]! *= f;
  }
  out.fill(0, 0, dim);
  return out;
}

let fitRuns = 0;

/** Train a model. Deterministic for a fixed seed on a given backend. */
export async function fit(d: Dataset, split: Split, opts: FitOptions = {}): Promise<FitResult> {
  const c = modelConfigFor(d, opts.model);
  if (c.members > 1) throw new Error(`fit trains one model; an ensemble (model.members ${c.members}) is trained member by member (trainArtifact)`);
  const t0cfg = makeTrainConfig(opts.train);
  const t = Object.freeze({ ...t0cfg, timeBudgetSec: resolveTimeBudget(t0cfg, d.interactions) });
  let rng = new Rng(t.seed);
  const meta = itemMetaArrays(d, c);
  /** The initial weights, drawn again (same seed, same values) for a refit from scratch. */
  const initialParams = async () => {
    const init = new Rng(subSeed(t.seed, 'init'));
    const p = initParams(c, meta, () => init.normal());
    if (c.itemBias) {
      p['item.bias']!.dispose();
      p['item.bias'] = tf.tensor1d(logFrequencyPrior(d, split, c.numItems));
    }
    if (c.untiedInput && t.successorInit > 0) {
      const id = (await p['item.id']!.data()) as Float32Array; // dataSync throws on webgpu in Node
      p['item.in']!.dispose();
      p['item.in'] = tf.tensor2d(successorMeans(d, split, id, c.dim, t.successorInit), [c.numItems + 1, c.dim]);
    }
    return p;
  };
  const raw = await initialParams();
  const specs = paramSpecs(c);
  const params: Params = {};
  const vars: tf.Variable[] = [];
  const varNames: string[] = [];
  const run = ++fitRuns;
  let idTable: Float32Array | undefined;
  let inTable: Float32Array | undefined;
  for (const s of specs) {
    const initial = raw[s.name];
    if (!initial) throw new Error(`fit: no initial value for ${s.name}`);
    if (s.name === ID_TABLE || s.name === IN_TABLE) {
      // The item tables live in JS during training, fed the gradient of the rows a step touches (RowAdam); params
      // holds a copy for validation.
      const values = ((await initial.data()) as Float32Array).slice();
      if (s.name === ID_TABLE) idTable = values;
      else inTable = values;
      params[s.name] = initial;
    } else if (s.kind === 'weight') {
      // Variable names are global in tfjs: make them unique per fit() call.
      const v = tf.variable(initial, true, `fit${run}/${s.name}`);
      params[s.name] = v;
      vars.push(v);
      varNames.push(s.name);
      initial.dispose();
    } else params[s.name] = initial;
  }
  if (t.workers > 1 && tf.getBackend() !== 'wasm') throw new Error(`fit: workers > 1 needs the wasm backend (each worker starts its own), not ${tf.getBackend()}`);
  if (!idTable) throw new Error(`fit: the model has no ${ID_TABLE} table`);
  const windows = makeWindows(d, split.trainEnd, c.maxLen);
  if (!windows.length) throw new Error('fit: no training windows (need users with at least 2 interactions)');
  // The decay horizon in steps: an epoch's batch count varies by a few with the shuffle; its own generator, so the
  // training draws stay as they were.
  const stepsPerEpoch = t.decayEpochs > 0 ? makeBatches(windows, t, c.maxLen, new Rng(subSeed(t.seed, 'horizon'))).length : 0;
  const optimizer = { learningRate: t.learningRate, warmupSteps: t.warmupSteps, decaySteps: t.decayEpochs * stepsPerEpoch, weightDecay: t.weightDecay };
  let updater = new Updater(optimizer, vars);
  // The item tables' own rate (train.idLearningRateScale): Adam moves every touched row by about one rate per step,
  // a title seen twice as far as one seen a thousand times.
  const tableOptimizer = { ...optimizer, learningRate: optimizer.learningRate * t.idLearningRateScale };
  let idAdam = new RowAdam(tableOptimizer, idTable, c.dim, tf.backend().epsilon());
  // The input-only table keeps dense Adam's semantics (every row steps), as it had as a tfjs variable.
  let inAdam = inTable ? new RowAdam(inputTableSettings(tableOptimizer, t.inputWeightDecay), inTable, c.dim, tf.backend().epsilon(), false) : null;
  /** The item tables fit keeps in JS, by name. */
  const tableNames = inAdam ? [ID_TABLE, IN_TABLE] : [ID_TABLE];
  /** Copy the JS item tables into params (before validation, and at the end). */
  const syncItemTables = () => {
    for (const [name, adam] of [[ID_TABLE, idAdam], [IN_TABLE, inAdam]] as const) {
      if (!adam) continue;
      params[name]?.dispose();
      params[name] = tf.tensor2d(adam.table, [c.numItems + 1, c.dim]);
    }
  };
  const replicaPos = new Float64Array(t.workers);
  const replicaMs = new Float64Array(t.workers);
  const valRng = new Rng(subSeed(t.seed, 'val'));
  const valCases: EvalCase[] = split.val.length > t.valUsers ? valRng.shuffle(split.val.slice()).slice(0, t.valUsers) : split.val;
  const useIdDrop = t.itemIdDropout > 0 && (c.numGenres > 0 || c.numYearBuckets > 0);
  const objective = objectiveFor(d, split, c, t);

  const t0 = performance.now();
  /** Time spent in onBeforeRefit, which is not training. */
  let pausedMs = 0;
  const trainingSeconds = () => (performance.now() - t0 - pausedMs) / 1000;
  let stepMs = 0;
  let positionsTotal = 0;
  let flops = 0;
  let best = -1;
  let bestEpoch = 0;
  /** The averageTop best epochs' snapshots, best first. */
  let top: { epoch: number; val: number; snap: Snapshot }[] = [];
  let sinceBest = 0;
  let stopReason: FitResult['stopReason'] = 'max-epochs';
  const epochs: EpochLog[] = [];
  let dropoutSeed = subSeed(t.seed, 'dropout');
  const seed = () => (dropoutSeed = (dropoutSeed + 0x9e3779b9) >>> 0);

  const forwardOpts = (idKeep?: tf.Tensor) => ({ seed, idKeep, attentionDropout: t.attentionDropout, labelSmoothing: t.labelSmoothing });
  /** One optimizer step on `batch` (renumbered into `r.rows` by touchedRows); returns its mean loss. */
  const step = async (batch: LossBatch, r: StepRows): Promise<number> => {
    const keepTensor = () => (r.idKeep ? tf.tensor2d(r.idKeep, [r.idKeep.length, 1]) : undefined);
    if (!pool) {
      const r0 = performance.now();
      const idKeep = keepTensor();
      const { loss, grads, idGrad, inGrad } = batchGradients(params, vars, c, batch, r.rows, r.id, forwardOpts(idKeep), r.inId);
      updater.apply(grads);
      idAdam.apply(r.rows, (await idGrad.data()) as Float32Array);
      if (inAdam && inGrad) inAdam.apply(r.rows, (await inGrad.data()) as Float32Array);
      const l = (await loss.data())[0] ?? NaN;
      tf.dispose([loss, idGrad, ...(inGrad ? [inGrad] : []), ...grads]);
      idKeep?.dispose();
      replicaMs[0]! += performance.now() - r0;
      replicaPos[0]! += batch.positions.length;
      return l;
    }
    const [first, ...rest] = splitLossBatch(batch, t.workers);
    if (!first) throw new Error('fit: a batch with targets split into no shares');
    const remote = pool.grads(rest, r, rest.map(() => seed()));
    const r0 = performance.now();
    const idKeep = keepTensor();
    const local = batchGradients(params, vars, c, first, r.rows, r.id, forwardOpts(idKeep), r.inId);
    const localValues = await Promise.all(local.grads.map(async (g) => (await g.data()) as Float32Array));
    const localId = (await local.idGrad.data()) as Float32Array;
    const localIn = local.inGrad ? ((await local.inGrad.data()) as Float32Array) : undefined;
    const localLoss = (await local.loss.data())[0] ?? NaN;
    tf.dispose([local.loss, local.idGrad, ...(local.inGrad ? [local.inGrad] : []), ...local.grads]);
    idKeep?.dispose();
    replicaMs[0]! += performance.now() - r0;
    replicaPos[0]! += first.positions.length;
    remote.catch(() => {}); // awaited below; a worker failure must not count as unhandled meanwhile
    const replies = await remote;
    // The batch's mean loss is the position-weighted mean of the shares' mean losses; so is its gradient.
    const P = batch.positions.length;
    const w0 = first.positions.length / P;
    const wr = rest.map((sh) => sh.positions.length / P);
    const average = (mine: Float32Array, theirs: (reply: (typeof replies)[number]) => Float32Array | undefined) => {
      const out = mine.map((x) => w0 * x);
      replies.forEach((reply, i) => {
        const g = theirs(reply);
        const wi = wr[i] ?? 0;
        if (!g || g.length !== out.length) throw new Error('fit: a gradient worker replied with a gradient of another shape');
        g.forEach((x, j) => (out[j] = (out[j] ?? 0) + wi * x));
      });
      return out;
    };
    const avg = localValues.map((g, k) => average(g, (reply) => reply.grads[k]));
    pool.apply(avg);
    const gs = avg.map((g, k) => tf.tensor(g, vars[k]!.shape));
    updater.apply(gs);
    tf.dispose(gs);
    idAdam.apply(r.rows, average(localId, (reply) => reply.idGrad));
    if (inAdam && localIn) inAdam.apply(r.rows, average(localIn, (reply) => reply.inGrad));
    replies.forEach((reply, i) => {
      replicaMs[i + 1]! += reply.ms;
      replicaPos[i + 1]! += rest[i]?.positions.length ?? 0;
    });
    return replies.reduce((acc, reply, i) => acc + (wr[i] ?? 0) * reply.loss, w0 * localLoss);
  };

  let pool = t.workers > 1
    ? await GradientPool.start(t.workers - 1, {
      model: c,
      optimizer,
      attentionDropout: t.attentionDropout,
      labelSmoothing: t.labelSmoothing,
      tensors: await Promise.all(specs.filter((s) => !tableNames.includes(s.name)).map(async (s) => ({ name: s.name, values: (await params[s.name]!.data()) as Float32Array | Int32Array }))),
    })
    : null;
  /**
   * One shuffled pass over `ws`, cut short once training time passes `deadline(projected)`, where `projected` is
   * this pass's projected step seconds.
   */
  const pass = async (ws: Window[], epoch: number, deadline: (projected: number) => number) => {
    const batches = makeBatches(ws, t, c.maxLen, rng);
    let lossSum = 0;
    let lossN = 0;
    let positions = 0;
    let cut = false;
    const e0 = performance.now();
    const stepMsBefore = stepMs;
    for (let i = 0; i < batches.length; i++) {
      const { rows, batch } = touchedRows(buildLossBatch(d, c, batches[i]!, objective, rng), c.numItems);
      if (!batch.positions.length) continue;
      let idKeep: Float32Array | undefined;
      if (useIdDrop) {
        const keep = new Float32Array(c.numItems + 1);
        for (let j = 0; j < keep.length; j++) keep[j] = rng.next() < t.itemIdDropout ? 0 : 1;
        idKeep = rows ? Float32Array.from(rows, (r) => keep[r] ?? 1) : keep;
      }
      const s0 = performance.now();
      const l = await step(batch, { rows, id: idAdam.gather(rows), inId: inAdam?.gather(rows), idKeep });
      stepMs += performance.now() - s0;
      if (!Number.isFinite(l)) throw new Error(`fit: loss is ${l} at epoch ${epoch} step ${i}`);
      lossSum += l * batch.positions.length;
      lossN += batch.positions.length;
      positions += batch.positions.length;
      positionsTotal += batch.positions.length;
      flops += 3 * forwardFlops(c, batch.B, batch.T, batch.positions.length, batch.candidates?.ids.length ?? c.numItems, rows?.length ?? c.numItems + 1);
      const elapsed = trainingSeconds();
      const pps = (positionsTotal / stepMs) * 1000;
      const projected = ((performance.now() - e0) / (i + 1) / 1000) * batches.length;
      opts.onProgress?.({
        epoch, maxEpochs: t.maxEpochs, step: i + 1, steps: batches.length, loss: lossSum / lossN, positionsPerSec: pps,
        etaSec: Math.max(0, Math.min(t.timeBudgetSec - elapsed, projected - (performance.now() - e0) / 1000)),
        bestVal: best,
      });
      if (elapsed > deadline(projected)) {
        cut = true;
        break;
      }
    }
    return { loss: lossSum / Math.max(1, lossN), positions, seconds: (performance.now() - e0) / 1000, stepSeconds: (stepMs - stepMsBefore) / 1000, cut };
  };

  try {
    outer: for (let epoch = 1; epoch <= t.maxEpochs; epoch++) {
      // A refit's epochs are kept out of the budget's end: about one pass each.
      const r = await pass(windows, epoch, (projected) => t.timeBudgetSec - t.refitEpochs * projected);
      if (r.cut) stopReason = 'time-budget';
      // Validation: full-ranking NDCG@10 on (a sample of) validation users.
      let val = 0;
      syncItemTables();
      if (valCases.length) {
        const m = await evaluate(d, valCases, modelScorer(params, c, d), { fullOnly: true, batchSize: 256 });
        val = m.full.ndcg10;
      }
      const log: EpochLog = { epoch, loss: r.loss, valNdcg10: val, seconds: trainingSeconds(), positionsPerSec: r.positions / r.seconds, stepSeconds: r.stepSeconds };
      epochs.push(log);
      opts.onEpoch?.(log);
      if (top.length < t.averageTop || val > (top.at(-1)?.val ?? -1)) {
        top = [...top, { epoch, val, snap: await snapshot(params) }].sort((a, b) => b.val - a.val).slice(0, t.averageTop);
      }
      if (val > best) {
        best = val;
        bestEpoch = epoch;
        sinceBest = 0;
      } else if (++sinceBest >= t.patience) {
        stopReason = 'early-stopping';
        break outer;
      }
      if (stopReason === 'time-budget') break;
    }
  } finally {
    await pool?.close();
    // A refit runs on this thread: the workers' replicas are gone and would not hold the chosen weights anyway.
    pool = null;
  }
  syncItemTables();
  const restore = (saved: Snapshot) => {
    const values = (name: string) => {
      const v = saved.get(name);
      if (!v) throw new Error(`fit: a snapshot has no ${name}`);
      return v;
    };
    vars.forEach((v, i) => {
      const w = tf.tensor(values(varNames[i] ?? ''), v.shape, v.dtype);
      v.assign(w);
      w.dispose();
    });
    idAdam.table.set(values(ID_TABLE));
    inAdam?.table.set(values(IN_TABLE));
    syncItemTables();
  };
  const averagedEpochs: number[] = [];
  const [first, ...others] = top;
  if (first) {
    restore(first.snap);
    averagedEpochs.push(first.epoch);
    let soup = [first.snap];
    for (const cand of valCases.length ? others : []) {
      const trial = [...soup, cand.snap];
      restore(meanSnapshot(trial, [...varNames, ...tableNames]));
      const val = (await evaluate(d, valCases, modelScorer(params, c, d), { fullOnly: true, batchSize: 256 })).full.ndcg10;
      if (val >= best) {
        best = val;
        soup = trial;
        averagedEpochs.push(cand.epoch);
      }
    }
    restore(soup.length > 1 ? meanSnapshot(soup, [...varNames, ...tableNames]) : first.snap);
  }
  // Refit: the windows that also hold each evaluated user's validation target, their most recent title before the
  // test one (on sparse data, a quarter of a user's targets). Nothing is left to validate on, so what runs is fixed
  // in advance: refitEpochs more passes from the chosen weights, or (refitScratch) the whole run again from the
  // initial weights and seeds, the same epochs averaged, since those weights are the ones validation chose.
  let refitEpochs = 0;
  let trainCut = split.trainEnd;
  const scratch = t.refitScratch && averagedEpochs.length > 0;
  if ((t.refitEpochs > 0 || scratch) && split.val.length) {
    const p0 = performance.now();
    await opts.onBeforeRefit?.(params, c);
    pausedMs += performance.now() - p0;
    trainCut = withValidationTargets(split);
    const refitWindows = makeWindows(d, trainCut, c.maxLen);
    if (scratch) {
      const chosen = await snapshot(params);
      const fresh = await initialParams();
      vars.forEach((v, i) => v.assign(fresh[varNames[i]!]!));
      const table = ((await fresh[ID_TABLE]!.data()) as Float32Array).slice();
      const inFresh = inAdam ? ((await fresh[IN_TABLE]!.data()) as Float32Array).slice() : null;
      tf.dispose(Object.values(fresh));
      updater.dispose();
      updater = new Updater(optimizer, vars);
      idAdam = new RowAdam(tableOptimizer, table, c.dim, tf.backend().epsilon());
      inAdam = inFresh ? new RowAdam(inputTableSettings(tableOptimizer, t.inputWeightDecay), inFresh, c.dim, tf.backend().epsilon(), false) : null;
      rng = new Rng(t.seed);
      dropoutSeed = subSeed(t.seed, 'dropout');
      const last = Math.max(...averagedEpochs);
      const snaps: Snapshot[] = [];
      for (let k = 1; k <= last; k++) {
        if ((await pass(refitWindows, epochs.length + k, () => t.timeBudgetSec)).cut) break;
        refitEpochs = k;
        if (!averagedEpochs.includes(k)) continue;
        syncItemTables();
        snaps.push(await snapshot(params));
      }
      // Cut short by the budget, the refit has no counterpart of the chosen average: keep the chosen weights.
      if (refitEpochs < last) {
        refitEpochs = 0;
        trainCut = split.trainEnd;
      }
      restore(refitEpochs ? meanSnapshot(snaps, [...varNames, ...tableNames]) : chosen);
    } else {
      for (let k = 1; k <= t.refitEpochs; k++) {
        const r = await pass(refitWindows, epochs.length + k, () => t.timeBudgetSec);
        refitEpochs = k;
        if (r.cut) break;
      }
      syncItemTables();
    }
  }
  updater.dispose();
  // Return plain tensors keyed by param name (variables are renamed internally by tfjs when names repeat).
  const out: Params = {};
  for (const s of specs) {
    out[s.name] = s.kind === 'weight' ? tf.clone(params[s.name]!) : params[s.name]!;
    if (s.kind === 'weight') params[s.name]!.dispose();
  }
  return {
    config: c,
    train: t,
    params: out,
    epochs,
    bestEpoch,
    averagedEpochs,
    bestValNdcg10: best,
    refitEpochs,
    trainCut,
    stopReason,
    seconds: trainingSeconds(),
    stepSeconds: stepMs / 1000,
    positions: positionsTotal,
    achievedGflops: flops / (stepMs / 1000) / 1e9,
    replicaPositionsPerSec: Array.from(replicaPos, (p, i) => (p / Math.max(1e-9, replicaMs[i]!)) * 1000),
  };
}

/**
 * Plain matMul throughput of the current backend (GFLOP/s), measured in this process. Each product is read with
 * `await data()`: dataSync throws on webgpu in Node, where `--backend webgpu` training measures this too.
 */
export async function measureMatMulGflops(n = 512, reps = 10): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const run = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const dt = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (2 * n * n * n * reps) / dt / 1e9;
}
