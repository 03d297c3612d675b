/**
 * One optimizer step's pieces, shared by the training thread and its data-parallel gradient workers, so every
 * replica computes gradients and applies updates with the same code: the gradient of a batch's mean loss, the split
 * of a batch into shares, and the optimizer (Adam with linear warm-up and decoupled weight decay).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';
import { trainingLoss, type LossBatch } from './loss.ts';
import type { ForwardOptions, Params } from './model.ts';

/** Adam whose learning rate can follow a schedule (tfjs reads `learningRate` on every applyGradients). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

export interface OptimizerSettings {
  learningRate: number;
  warmupSteps: number;
  weightDecay: number;
}

/**
 * Adam with a linear warm-up (lr x step / warmupSteps until warmupSteps) and AdamW's decoupled weight decay
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
    this.adam = new ScheduledAdam(s.learningRate, 0.9, 0.999);
    this.decayed = vars.map((v) => v.rank >= 2);
  }

  /** Apply one gradient per variable (same order as the constructor's); the caller keeps ownership of `grads`. */
  apply(grads: tf.Tensor[]): void {
    this.steps++;
    const lr = this.s.learningRate * (this.s.warmupSteps > 0 ? Math.min(1, this.steps / this.s.warmupSteps) : 1);
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

/** The mean training loss over `batch` and its gradient for each of `vars` (same order). */
export function batchGradients(p: Params, vars: tf.Variable[], c: ModelConfig, batch: LossBatch, opts: ForwardOptions): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const { value, grads } = tf.variableGrads(() => trainingLoss(p, c, batch, opts), vars);
  // A weight the batch does not reach (e.g. an event type absent from it) gets no gradient from tfjs: zeros.
  return { loss: value, grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
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
