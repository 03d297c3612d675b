/**
 * One optimizer step's pieces, shared by the training thread and its data-parallel gradient workers, so every
 * replica computes gradients and applies updates with the same code: the gradient of a batch's mean loss, the split
 * of a batch into shares, and the optimizers (Adam with linear warm-up and decoupled weight decay: tfjs's for the
 * dense weights, a lazy one in JS for the item-id table).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';
import { trainingLoss, type LossBatch, type TrainingLossOptions } from './loss.ts';
import type { Params } from './model.ts';

/** Adam whose learning rate can follow a schedule (tfjs reads `learningRate` on every applyGradients). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

export interface OptimizerSettings {
  learningRate: number;
  warmupSteps: number;
  /** Cosine decay from the end of warm-up to step `decaySteps` (0 = none), then constant at the floor. */
  decaySteps: number;
  weightDecay: number;
}

/** Where the cosine decay ends, as a fraction of the learning rate: steps past the horizon still learn. */
export const LR_DECAY_FLOOR = 0.1;

const BETA1 = 0.9;
const BETA2 = 0.999;

/** The learning rate of optimizer step `step` (1-based): linear warm-up, then cosine decay or constant. */
export function learningRateAt(s: OptimizerSettings, step: number): number {
  const warm = s.warmupSteps > 0 ? Math.min(1, step / s.warmupSteps) : 1;
  if (s.decaySteps <= s.warmupSteps) return s.learningRate * warm;
  const done = Math.min(1, Math.max(0, (step - s.warmupSteps) / (s.decaySteps - s.warmupSteps)));
  return s.learningRate * warm * (LR_DECAY_FLOOR + (1 - LR_DECAY_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * done)));
}

/**
 * Adam with a linear warm-up (lr x step / warmupSteps until warmupSteps), an optional cosine decay, and AdamW's decoupled weight decay
 * (w -= lr x weightDecay x w after the Adam update) on matrices and embeddings, never on LayerNorm gains or biases.
 * Deterministic: replicas that start equal and apply the same gradients stay equal.
 */
export class Updater {
  private readonly adam: ScheduledAdam;
  private steps = 0;
  private readonly decayed: boolean[];

  constructor(
    private readonly s: OptimizerSettings,
    private readonly vars: tf.Variable[],
  ) {
    this.adam = new ScheduledAdam(s.learningRate, BETA1, BETA2);
    this.decayed = vars.map((v) => v.rank >= 2);
  }

  /** Apply one gradient per variable (same order as the constructor's); the caller keeps ownership of `grads`. */
  apply(grads: tf.Tensor[]): void {
    const lr = learningRateAt(this.s, ++this.steps);
    this.adam.setLearningRate(lr);
    this.adam.applyGradients(this.vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    if (this.s.weightDecay > 0) {
      const keep = 1 - lr * this.s.weightDecay;
      tf.tidy(() => this.vars.forEach((v, i) => this.decayed[i] && v.assign(tf.mul(v, keep))));
    }
  }

  dispose(): void {
    this.adam.dispose();
  }
}

/**
 * The input-only item table's optimizer settings: `inputWeightDecay` (train.inputWeightDecay) more decoupled decay
 * than the rest, pulling a rarely trained title's input back toward the shared embedding.
 */
export function inputTableSettings(s: OptimizerSettings, inputWeightDecay: number): OptimizerSettings {
  return { ...s, weightDecay: s.weightDecay + inputWeightDecay };
}

/**
 * Adam for an item table held in JS by the training thread, fed the gradient of the rows a step touched.
 * Lazy (as TensorFlow's LazyAdam and PyTorch's SparseAdam; the item-id table): a step updates only the rows its batch
 * touched. Untouched rows keep their weights and their moments as they were: their moments are not decayed while
 * untouched, and no stale momentum moves them; the decoupled weight decay, like the update, reaches touched rows
 * only. Dense (`lazy` false; the input-only table): every row takes the step with a zero gradient where untouched,
 * which is exactly `Updater`'s Adam on the scattered gradient, without building that [V x dim] gradient as tensors
 * (on the sparse preset the scatter and a tensor Adam over 24,001 rows cost ~6% of a step, and data-parallel workers
 * would send it both ways every step). Bias correction uses the global step count (beta^t). On a step that touches
 * every row (full softmax) both are exactly Adam with the settings of `Updater`.
 */
export class RowAdam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private steps = 0;
  private dense: Float32Array | null = null;

  /** `table` [rows x dim] is updated in place. */
  constructor(
    private readonly s: OptimizerSettings,
    readonly table: Float32Array,
    readonly dim: number,
    /** Adam's epsilon: the backend's, as tfjs's Adam uses (1e-7 in float32). */
    private readonly epsilon: number,
    private readonly lazy = true,
  ) {
    this.m = new Float32Array(table.length);
    this.v = new Float32Array(table.length);
  }

  /** The id embeddings of `rows` (every row when null), [R x dim] row-major. */
  gather(rows: Int32Array | null): Float32Array {
    if (!rows) return this.table.slice();
    const d = this.dim;
    const out = new Float32Array(rows.length * d);
    rows.forEach((r, i) => out.set(this.table.subarray(r * d, (r + 1) * d), i * d));
    return out;
  }

  /** One step: `grad` [R x dim] holds the gradient of `rows` (of every row when null), in that order. */
  apply(rows: Int32Array | null, grad: Float32Array): void {
    if (!this.lazy && rows) {
      // Rows are distinct (touchedRows): place each row's gradient, zeros elsewhere, and step every row.
      const dense = (this.dense ??= new Float32Array(this.table.length)).fill(0);
      const d = this.dim;
      rows.forEach((r, i) => dense.set(grad.subarray(i * d, (i + 1) * d), r * d));
      return this.apply(null, dense);
    }
    const lr = learningRateAt(this.s, ++this.steps);
    const c1 = 1 - BETA1 ** this.steps;
    const c2 = 1 - BETA2 ** this.steps;
    const keep = this.s.weightDecay > 0 ? 1 - lr * this.s.weightDecay : 1;
    const d = this.dim;
    const n = rows ? rows.length : this.table.length / d;
    const { m, v, table, epsilon } = this;
    if (grad.length !== n * d) throw new Error(`RowAdam: a gradient of ${grad.length} values for ${n} rows of ${d}`);
    // One tight loop per row (the dense table steps all of its 1.5M values every step on the sparse preset).
    const step = lr / c1;
    const inv2 = 1 / c2;
    for (let i = 0; i < n; i++) {
      const base = (rows ? rows[i]! : i) * d;
      for (let k = 0; k < d; k++) {
        const j = base + k;
        const g = grad[i * d + k]!;
        const mj = BETA1 * m[j]! + (1 - BETA1) * g;
        const vj = BETA2 * v[j]! + (1 - BETA2) * g * g;
        m[j] = mj;
        v[j] = vj;
        table[j] = (table[j]! - (step * mj) / (Math.sqrt(vj * inv2) + epsilon)) * keep;
      }
    }
  }
}

/**
 * The mean training loss over `batch` (renumbered by `touchedRows` into `rows`) and its gradient for each of `vars`
 * (same order), for `id`, the id embeddings of `rows` ([R x dim], every row when `rows` is null), and for `inId`,
 * the same rows of the input-only table when the model has one.
 */
export function batchGradients(
  p: Params,
  vars: tf.Variable[],
  c: ModelConfig,
  batch: LossBatch,
  rows: Int32Array | null,
  id: Float32Array,
  opts: TrainingLossOptions,
  inId?: Float32Array,
): { loss: tf.Scalar; grads: tf.Tensor[]; idGrad: tf.Tensor; inGrad?: tf.Tensor } {
  const idRows = tf.tensor2d(id, [id.length / c.dim, c.dim]);
  const inRows = inId ? tf.tensor2d(inId, [inId.length / c.dim, c.dim]) : undefined;
  const tables = inRows ? [idRows, inRows] : [idRows];
  const { value, grads } = tf.engine().gradients(() => trainingLoss(p, c, batch, rows, idRows, opts, inRows), [...tables, ...vars], undefined, true);
  // A weight the batch does not reach (e.g. an event type absent from it) gets no gradient from tfjs: zeros.
  const all = [...tables, ...vars].map((x, i) => grads[i] ?? tf.zerosLike(x));
  tf.dispose(tables);
  return { loss: value as tf.Scalar, grads: all.slice(tables.length), idGrad: all[0]!, ...(inRows ? { inGrad: all[1]! } : {}) };
}

/**
 * Split a batch into `n` shares of whole sequences with about equal numbers of target positions (each share keeps
 * the batch's padded length and candidate set, so the shares' position-weighted mean loss equals the batch's).
 */
export function splitLossBatch(b: LossBatch, n: number): LossBatch[] {
  const perRow = new Int32Array(b.B);
  for (const p of b.positions) perRow[Math.floor(p / b.T)]!++;
  const rows: number[] = [0];
  let acc = 0;
  for (let r = 0; r < b.B && rows.length < n; r++) {
    acc += perRow[r]!;
    if (acc >= (b.positions.length * rows.length) / n && r + 1 < b.B) rows.push(r + 1);
  }
  rows.push(b.B);
  const shares: LossBatch[] = [];
  let k = 0;
  for (let s = 0; s + 1 < rows.length; s++) {
    const [r0, r1] = [rows[s]!, rows[s + 1]!];
    const k0 = k;
    while (k < b.positions.length && b.positions[k]! < r1 * b.T) k++;
    const share: LossBatch = {
      B: r1 - r0,
      T: b.T,
      items: b.items.slice(r0 * b.T, r1 * b.T),
      events: b.events.slice(r0 * b.T, r1 * b.T),
      fracs: b.fracs.slice(r0 * b.T, r1 * b.T),
      positions: b.positions.slice(k0, k).map((p) => p - r0 * b.T),
      targets: b.targets.slice(k0, k),
    };
    if (b.candidates) share.candidates = b.candidates;
    if (b.targetLogQ) share.targetLogQ = b.targetLogQ.slice(k0, k);
    if (share.positions.length) shares.push(share);
  }
  return shares;
}
