/**
 * Training objectives: softmax cross-entropy of the next item over cosine scores / temperature.
 *
 * - Full-catalog softmax: every item is a candidate. The strongest known recipe for SASRec (Klenitskiy & Vasilev,
 *   RecSys 2023; gSASRec, Petrov & Macdonald 2023); affordable while P x V x d per step is small (the trainer picks
 *   it up to `fullSoftmaxMaxItems`).
 * - Sampled softmax with the logQ correction (Yi et al., RecSys 2019): candidates are the batch's own targets
 *   (in-batch negatives, drawn in proportion to popularity) plus uniform negatives shared by the batch. Every logit,
 *   the positive's included, is lowered by log q(item), q = the expected number of times the item is drawn into the
 *   candidate set. Without it popular items are over-penalised as negatives and full-ranking quality collapses as the
 *   catalog grows.
 *
 * loss_i = logsumexp_{j in {t_i} u C \ {t_i}} (s_ij - logq_j) - (s_i,t_i - logq_t_i), s = cos(u_i, item_j) / temperature
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';
import { forward, inputItemTable, itemTable, l2normalize, type ForwardOptions, type Params, type TokenBatch } from './model.ts';

/** A candidate set for sampled softmax: distinct item ids (>= 1) and, optionally, log q per id. */
export interface SampledCandidates {
  ids: Int32Array;
  logQ?: Float32Array;
}

export interface LossBatch extends TokenBatch {
  /** Flat positions (b*T + t) that have a target, and the target item at each. */
  positions: Int32Array;
  targets: Int32Array;
  /** Sampled-softmax candidates; absent = full-catalog softmax. */
  candidates?: SampledCandidates;
  /** log q of each position's target (sampled softmax with the logQ correction). */
  targetLogQ?: Float32Array;
}

const MASKED = -1e4;

/**
 * Label smoothing (Szegedy et al. 2016): the target distribution is (1 - eps) on the positive plus eps spread over
 * the candidates; `spread` [P, N] (rows summing to 1, 0 on masked columns), or uniform over all N columns when absent.
 */
export interface LabelSmoothing {
  eps: number;
  spread?: tf.Tensor2D;
}

/**
 * mean_i(logsumexp_j(x_ij + bias_ij) - (x_i,col_i + bias_i,col_i)) with a hand-written gradient,
 * d/dx = (softmax(x + bias) - onehot(col)) / P. `bias` is a constant (a [1, N] row such as -log q, or a [P, N] mask;
 * null = none): no gradient flows into it.
 * tfjs's composed logSumExp differentiates through max (a broadcast compare) and measured ~3x the cost of the
 * [P, V] matMul itself on wasm. Here one softmax serves both the value (-log of the target's probability, read with
 * a [P] gather) and the gradient, and the one-hot is never built: the gradient is the softmax with 1 taken off each
 * row's target entry (a scatter of P values), the [P, N] one-hot, its cast and a subtraction fewer per step. With
 * `smoothing` the target distribution y = (1 - eps) one-hot + eps spread replaces the one-hot: value
 * mean_i(-sum_j y_ij log p_ij), gradient (softmax(x + bias) - y) / P.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, bias: tf.Tensor2D | null, cols: Int32Array, smoothing?: LabelSmoothing): tf.Scalar {
  const [P, N] = logits.shape;
  const pairs = new Int32Array(2 * P);
  cols.forEach((c, i) => pairs.set([i, c], 2 * i));
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args;
    if (!(x instanceof tf.Tensor) || typeof save !== 'function') throw new Error('softmaxCrossEntropy: bad customGrad call');
    const probs = tf.softmax(bias ? tf.add(x, bias) : x);
    // (row, column) pairs, not flat indices into [P x N]: tfjs's webgpu gather reads its indices through float32, so
    // past 2^24 (16,384 positions x 2,000 items) a flat index rounded to a neighbouring column; gatherND flattens in
    // integers. (A batch-dims gather would do too, but the stock wasm kernel returned wrong columns for it.)
    const at = tf.tensor2d(pairs, [P, 2], 'int32');
    const eps = smoothing?.eps ?? 0;
    const spread = eps > 0 ? (smoothing?.spread ?? tf.fill([1, N], 1 / N)) : null;
    save([probs, at, ...(spread ? [spread] : [])]); // saved tensors outlive the caller's tidy until the backward pass
    // Probabilities are >= e^-(logit range) >> 1e-30 here (cosine logits, bounded bias); the floor only guards log(0).
    const target = tf.gatherND(probs, at);
    let value = tf.neg(tf.mean(tf.log(tf.maximum(target, 1e-30)))) as tf.Scalar;
    if (spread) {
      // Masked columns have spread 0, so their floored log never counts.
      const spreadTerm = tf.neg(tf.mean(tf.sum(tf.mul(tf.log(tf.maximum(probs, 1e-30)), spread), -1)));
      value = tf.add(tf.mul(value, 1 - eps), tf.mul(spreadTerm, eps)) as tf.Scalar;
    }
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [p, idx, sp] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
      const g = sp ? tf.sub(p, tf.mul(sp, eps)) : p;
      const off = tf.tensorScatterUpdate(g, idx, tf.sub(tf.gatherND(g, idx), 1 - eps));
      return tf.mul(off, tf.div(dy, P));
    };
    return { value, gradFunc };
  });
  return op(logits) as tf.Scalar;
}

/**
 * Softmax cross-entropy for normalised user vectors `u` [P, d] against an item table [V+1, d] (row 0 padding, never
 * a candidate). Rows are L2-normalised here. Full softmax when `sampled` is absent. Mean over positions.
 */
export function softmaxLoss(
  u: tf.Tensor2D,
  table: tf.Tensor2D,
  targets: Int32Array,
  temperature: number,
  sampled?: SampledCandidates,
  targetLogQ?: Float32Array,
  labelSmoothing = 0,
  itemBias?: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const P = targets.length;
    // The temperature scales the [P, d] user rows rather than the [P, N] logits: one small multiply instead of a
    // logits-sized one forward and another backward (measured ~10% of a full-softmax step on ML-100K).
    const us = tf.mul(u, 1 / temperature) as tf.Tensor2D;
    // The per-title score bias (model.itemBias, rows aligned with `table`) joins the logits as one [1, N] row.
    const biased = (logits: tf.Tensor2D, bias: tf.Tensor | undefined) => (bias ? (tf.add(logits, tf.reshape(bias, [1, -1])) as tf.Tensor2D) : logits);
    if (!sampled) {
      // Padding (row 0) is never a candidate: rank against rows 1..V-1, so targets shift by one and no mask is added.
      const V = table.shape[0];
      const items = l2normalize(tf.slice(table, [1, 0], [V - 1, table.shape[1]])) as tf.Tensor2D;
      const logits = biased(tf.matMul(us, items, false, true) as tf.Tensor2D, itemBias && tf.slice(itemBias, [1], [V - 1])); // [P, V-1]
      return softmaxCrossEntropy(logits, null, Int32Array.from(targets, (t) => t - 1), { eps: labelSmoothing });
    }
    // Each row's positive is its target's own candidate column. In-batch negatives (the default) put every target
    // among the candidates; otherwise the missing targets get columns of their own, masked for every other row, so
    // each row still sees exactly its positive and the shared candidates. No [P, 1] positive column is concatenated
    // onto the [P, N] logits: on wasm the concat and its gradient's split (a JS slice) cost more than the softmax.
    const col = new Map<number, number>();
    sampled.ids.forEach((id, j) => col.set(id, j));
    const extra: number[] = [];
    const extraLogQ: number[] = [];
    targets.forEach((t, i) => {
      if (col.has(t)) return;
      col.set(t, sampled.ids.length + extra.length);
      extra.push(t);
      extraLogQ.push(targetLogQ?.[i] ?? 0);
    });
    const ids = extra.length ? Int32Array.from([...sampled.ids, ...extra]) : sampled.ids;
    const W = ids.length;
    const cols = Int32Array.from(targets, (t) => col.get(t)!);
    const idsT = tf.tensor1d(ids, 'int32');
    const cand = l2normalize(tf.gather(table, idsT)) as tf.Tensor2D; // [W, d]
    const logits = biased(tf.matMul(us, cand, false, true) as tf.Tensor2D, itemBias && tf.gather(itemBias, idsT)); // [P, W]
    // -log q per column, the positive's included (a target's q is its column's q), as one broadcast row.
    const q = sampled.logQ ? Float32Array.from([...sampled.logQ, ...extraLogQ], (x) => -x) : null;
    if (!extra.length) {
      const bias = q ? tf.tensor2d(q, [1, W]) : null;
      return softmaxCrossEntropy(logits, bias, cols, labelSmoothing > 0 ? { eps: labelSmoothing } : undefined);
    }
    // Smoothing spreads over each row's own candidates: every column but the other rows' extra targets.
    const N = sampled.ids.length;
    const bias = new Float32Array(P * W);
    const spread = labelSmoothing > 0 ? new Float32Array(P * W) : null;
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < W; j++) bias[i * W + j] = (q?.[j] ?? 0) + (j >= N && j !== cols[i] ? MASKED : 0);
      if (spread) {
        const own = cols[i]! >= N ? 1 : 0;
        spread.fill(1 / (N + own), i * W, i * W + N);
        if (own) spread[i * W + cols[i]!] = 1 / (N + own);
      }
    }
    const smoothing = spread ? { eps: labelSmoothing, spread: tf.tensor2d(spread, [P, W]) } : undefined;
    return softmaxCrossEntropy(logits, tf.tensor2d(bias, [P, W]), cols, smoothing);
  });
}

/**
 * The item rows a batch touches and the batch renumbered into them (local row 0 = padding). Sampled softmax touches
 * only its tokens, targets and candidates, so a 24k-item catalog no longer costs full-table work (metadata matMul,
 * adds, their gradients, the optimizer) every step. Full softmax touches every row: `rows` is null and the batch is
 * returned as it is.
 */
export function touchedRows(batch: LossBatch, numItems: number): { rows: Int32Array | null; batch: LossBatch } {
  if (!batch.candidates) return { rows: null, batch };
  const local = new Int32Array(numItems + 1).fill(-1);
  const ids: number[] = [];
  const add = (xs: Int32Array) => {
    for (const x of xs) if (local[x] === -1) (local[x] = ids.length), ids.push(x);
  };
  add(Int32Array.of(0));
  add(batch.items);
  add(batch.targets);
  add(batch.candidates.ids);
  const renumber = (xs: Int32Array) => Int32Array.from(xs, (x) => local[x]!);
  return {
    rows: Int32Array.from(ids),
    batch: { ...batch, items: renumber(batch.items), targets: renumber(batch.targets), candidates: { ...batch.candidates, ids: renumber(batch.candidates.ids) } },
  };
}

export interface TrainingLossOptions extends ForwardOptions {
  /** Label smoothing's eps (0 = none). */
  labelSmoothing?: number;
}

/**
 * The training loss for a batch already renumbered by `touchedRows`: encoder forward with dropout, user vectors at
 * target positions, softmax over the batch's candidates (or the full catalog). `id` holds the id embeddings of
 * `rows` (of every row when `rows` is null): the trainer keeps the id table itself and differentiates with respect to
 * these rows only, so the gradient and the optimizer touch R rows, not the catalog. Item-id dropout (`opts.idKeep`,
 * [R, 1] in local rows) applies to the INPUT tokens only: the output table keeps every id embedding, so no target is
 * blanked. `inId`, with an untied input table, holds the input-only embeddings of `rows` the same way.
 */
export function trainingLoss(p: Params, c: ModelConfig, batch: LossBatch, rows: Int32Array | null, id: tf.Tensor2D, opts: TrainingLossOptions, inId?: tf.Tensor2D): tf.Scalar {
  const r = rows ? tf.tensor1d(rows, 'int32') : undefined;
  const inTable = inputItemTable(p, c, opts.idKeep, r, id, inId);
  const outTable = opts.idKeep || c.untiedInput ? itemTable(p, c, undefined, r, id) : inTable;
  const h = tf.reshape(forward(p, c, batch, opts, inTable), [batch.B * batch.T, c.dim]);
  const u = l2normalize(tf.gather(h, tf.tensor1d(batch.positions, 'int32'))) as tf.Tensor2D; // [P, d]
  const bias = c.itemBias ? (r ? (tf.gather(p['item.bias']!, r) as tf.Tensor1D) : (p['item.bias'] as tf.Tensor1D)) : undefined;
  return softmaxLoss(u, outTable, batch.targets, c.temperature, batch.candidates, batch.targetLogQ, opts.labelSmoothing, bias);
}

/**
 * The logQ correction's q: the expected number of times item j enters a candidate set made of `uniform` uniform
 * draws over `numItems` items plus the batch's `inBatch` targets, drawn with the training target frequency `freq`
 * (sums to 1): q_j = uniform / numItems + inBatch * freq_j. Only differences of log q matter (softmax is
 * shift-invariant), so the scale is free.
 */
export function candidateLogQ(ids: ArrayLike<number>, freq: Float32Array, uniform: number, inBatch: number, numItems: number): Float32Array {
  const out = new Float32Array(ids.length);
  for (let k = 0; k < ids.length; k++) out[k] = Math.log(uniform / numItems + inBatch * freq[ids[k]!]! + 1e-12);
  return out;
}

/**
 * Forward FLOPs of the encoder + loss for one batch (multiply-adds count 2) over `R` item-table rows and `N`
 * candidates; training is about 3x this.
 */
export function forwardFlops(c: ModelConfig, B: number, T: number, P: number, N: number, R: number): number {
  const d = c.dim;
  const f = c.ffnMult * d;
  const perLayer = B * T * (2 * d * 3 * d + 2 * d * d + 2 * d * f * 2) + B * 4 * T * T * d; // projections + QK^T and AV
  const meta = c.numGenres > 0 ? 2 * R * c.numGenres * d : 0;
  return c.layers * perLayer + meta + P * 2 * d * (N + 1);
}
