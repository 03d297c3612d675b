import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { candidateLogQ, softmaxCrossEntropy, softmaxLoss, touchedRows, trainingLoss, type LossBatch } from '../src/loss.ts';
import { makeModelConfig } from '../src/config.ts';
import { forward, initParams, itemTable, l2normalize } from '../src/model.ts';
import { Rng } from '../src/rng.ts';

// One user vector along x; items: 0 padding, 1 = x, 2 = y, 3 = -x, 4 = 2x (normalises to x). Temperature 1, so each
// logit is the cosine: item 1: 1, item 2: 0, item 3: -1, item 4: 1.
const table = () => tf.tensor2d([[0, 0], [1, 0], [0, 1], [-1, 0], [2, 0]]);
const user = () => tf.tensor2d([[1, 0]]);
const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
const value = async (f: () => tf.Scalar) => {
  const t = f();
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
};

describe('softmax losses (hand-computed)', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('full-catalog softmax: log-sum-exp over every item but padding, minus the target logit', async () => {
    const v = await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1));
    expect(v).toBeCloseTo(lse([1, 0, -1, 1]) - 0, 5);
    // temperature scales every logit
    const v2 = await value(() => softmaxLoss(user(), table(), Int32Array.from([1]), 0.5));
    expect(v2).toBeCloseTo(lse([2, 0, -2, 2]) - 2, 5);
  });

  it('sampled softmax: the target against the candidates, its own copy among them masked', async () => {
    const ids = Int32Array.from([1, 3]);
    expect(await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, { ids }))).toBeCloseTo(lse([0, 1, -1]) - 0, 5);
    // target 1 is also candidate 1: it counts once (as the positive)
    expect(await value(() => softmaxLoss(user(), table(), Int32Array.from([1]), 1, { ids }))).toBeCloseTo(lse([1, -1]) - 1, 5);
  });

  it('the logQ correction lowers every logit, the positive included, by log q', async () => {
    const ids = Int32Array.from([1, 3]);
    const logQ = Float32Array.from([Math.log(0.5), Math.log(0.1)]);
    const tq = Float32Array.from([Math.log(0.2)]);
    const v = await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, { ids, logQ }, tq));
    const pos = 0 - Math.log(0.2);
    expect(v).toBeCloseTo(lse([pos, 1 - Math.log(0.5), -1 - Math.log(0.1)]) - pos, 5);
    // a popular negative (large q) is penalised less than without the correction
    const plain = await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, { ids }));
    expect(v).toBeLessThan(plain);
  });

  it('a per-title score bias (model.itemBias) adds to every logit, full and sampled, and learns through the loss', async () => {
    const bias = () => tf.tensor1d([0, 0.5, -1, 2, 0]); // row 0 padding
    // full: cosines 1, 0, -1, 1 plus the bias 0.5, -1, 2, 0; target 2 (logit -1)
    expect(await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, undefined, undefined, 0, bias()))).toBeCloseTo(lse([1.5, -1, 1, 1]) + 1, 5);
    // sampled: candidates 1 and 3, target 2
    const ids = Int32Array.from([1, 3]);
    expect(await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, { ids }, undefined, 0, bias()))).toBeCloseTo(lse([-1, 1.5, 1]) + 1, 5);
    // the gradient raises the target's bias and lowers the others' (softmax - one-hot)
    const b = tf.variable(tf.tensor1d([0, 0, 0, 0, 0]));
    const { grads } = tf.variableGrads(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, undefined, undefined, 0, b), [b]);
    const g = await grads[b.name]!.data();
    const p = [1, 0, -1, 1].map((x) => Math.exp(x - lse([1, 0, -1, 1])));
    [0, p[0]! , p[1]! - 1, p[2]!, p[3]!].forEach((want, i) => expect(g[i]!).toBeCloseTo(want, 5));
    tf.dispose([b, ...Object.values(grads)]);
  });

  it('averages over positions and leaks no tensors', async () => {
    const u = tf.tensor2d([[1, 0], [0, 1]]);
    const tb = table();
    const before = tf.memory().numTensors;
    const v = await value(() => softmaxLoss(u, tb, Int32Array.from([2, 2]), 1));
    expect(tf.memory().numTensors).toBe(before);
    expect(v).toBeCloseTo((lse([1, 0, -1, 1]) - 0 + (lse([0, 1, 0, 0]) - 1)) / 2, 5);
    u.dispose();
    tb.dispose();
  });

  it('label smoothing: (1 - eps) on the target, eps spread over the candidates (full and sampled)', async () => {
    // Full softmax over items 1..4, logits [1, 0, -1, 1], target 2, eps 0.2: 0.8 * CE(target) + 0.2 * mean_j CE(j).
    const logP = [1, 0, -1, 1].map((x) => x - lse([1, 0, -1, 1]));
    const full = await value(() => softmaxLoss(user(), table(), Int32Array.from([2]), 1, undefined, undefined, 0.2));
    expect(full).toBeCloseTo(-(0.8 * logP[1]! + 0.2 * (logP.reduce((a, x) => a + x, 0) / 4)), 5);
    // Sampled: target 1 against candidates 1 and 3; its own copy is masked, so the spread is over the positive and item 3.
    const sampledLogP = [1, -1].map((x) => x - lse([1, -1]));
    const sampled = await value(() => softmaxLoss(user(), table(), Int32Array.from([1]), 1, { ids: Int32Array.from([1, 3]) }, undefined, 0.2));
    expect(sampled).toBeCloseTo(-(0.8 * sampledLogP[0]! + 0.1 * sampledLogP[0]! + 0.1 * sampledLogP[1]!), 5);
    // The gradient is softmax - y: it vanishes where the prediction equals the smoothed target.
    const x = tf.tensor2d([[Math.log(0.9), Math.log(0.05), Math.log(0.05)]]);
    const g = tf.grad((v: tf.Tensor) => softmaxCrossEntropy(v as tf.Tensor2D, null, Int32Array.from([0]), { eps: 0.15 }))(x);
    (await g.data()).forEach((gi) => expect(gi).toBeCloseTo(0, 6));
    tf.dispose([x, g]);
  });

  it('the hand-written gradient equals autodiff of the composed formula', async () => {
    const x = tf.tensor2d([[0.3, -1.2, 2.0, 0.1], [1.5, 0.2, -0.4, 0.9]]);
    const bias = tf.tensor2d([[0, -0.5, 0.7, -1e4], [0.2, 0, 0, -1e4]]);
    const cols = Int32Array.from([2, 0]);
    const oh = tf.tensor2d([[0, 0, 1, 0], [1, 0, 0, 0]]);
    const custom = tf.grad((v: tf.Tensor) => softmaxCrossEntropy(v as tf.Tensor2D, bias, cols))(x);
    const auto = tf.grad((v: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.add(v, bias)), oh), -1))))(x);
    const [a, b] = [await custom.data(), await auto.data()];
    a.forEach((g, i) => expect(g).toBeCloseTo(b[i]!, 5));
    // every target in column 0 (sampled softmax's layout): the one-hot is one broadcast row; value and gradient agree
    const first = Int32Array.from([0, 0]);
    const oh0 = tf.tensor2d([[1, 0, 0, 0], [1, 0, 0, 0]]);
    const composed = (v: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.add(v, bias)), oh0), -1))) as tf.Scalar;
    const c0 = tf.grad((v: tf.Tensor) => softmaxCrossEntropy(v as tf.Tensor2D, bias, first))(x);
    const a0 = tf.grad(composed)(x);
    const [c0v, a0v] = [await c0.data(), await a0.data()];
    c0v.forEach((g, i) => expect(g).toBeCloseTo(a0v[i]!, 5));
    expect(await value(() => softmaxCrossEntropy(x, bias, first))).toBeCloseTo(await value(() => composed(x)), 5);
    tf.dispose([x, bias, oh, custom, auto, oh0, c0, a0]);
  });

  it('q = uniform / numItems + inBatch * target frequency', () => {
    const freq = Float32Array.from([0, 0.5, 0.25, 0.25, 0]);
    const q = candidateLogQ([1, 4], freq, 100, 10, 4);
    expect(q[0]).toBeCloseTo(Math.log(100 / 4 + 10 * 0.5), 5);
    expect(q[1]).toBeCloseTo(Math.log(100 / 4), 5);
  });
  it('sampled training loss over the rows the batch touches equals the loss over the whole item table', async () => {
    const c = makeModelConfig({ numItems: 40, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 }, { dim: 8, maxLen: 8, layers: 1, heads: 2 });
    const r = new Rng(11);
    const genres = new Float32Array(41 * 3);
    for (let i = 1; i <= 40; i++) genres[i * 3 + (i % 3)] = 1;
    const p = initParams(c, { genres, year: Int32Array.from({ length: 41 }, (_, i) => i % 4) }, () => r.normal());
    const T = 5;
    const items = Int32Array.from([3, 7, 7, 12, 0, 30, 2, 9, 0, 0]);
    const batch: LossBatch = {
      B: 2, T, items, events: new Int32Array(10), fracs: new Int32Array(10),
      positions: Int32Array.from([0, 1, 2, 5, 6]), targets: Int32Array.from([7, 7, 12, 2, 9]),
      candidates: { ids: Int32Array.from([1, 7, 25, 33, 9]), logQ: Float32Array.from([-1, -2, -3, -1.5, -0.5]) },
      targetLogQ: Float32Array.from([-2, -2, -1, -1.2, -0.5]),
    };
    const keep = tf.tensor2d(Float32Array.from({ length: 41 }, (_, i) => (i % 5 === 0 ? 0 : 1)), [41, 1]);
    const whole = await value(() => tf.tidy(() => {
      const h = tf.reshape(forward(p, c, batch, { idKeep: keep }, itemTable(p, c, keep)), [batch.B * T, c.dim]);
      const u = l2normalize(tf.gather(h, tf.tensor1d(batch.positions, 'int32'))) as tf.Tensor2D;
      return softmaxLoss(u, itemTable(p, c), batch.targets, c.temperature, batch.candidates, batch.targetLogQ);
    }));
    const { rows, batch: local } = touchedRows(batch, c.numItems);
    if (!rows) throw new Error('sampled softmax touches a subset of rows');
    expect(rows.length).toBeLessThan(41);
    // the id rows and the dropout mask the trainer hands over, picked for the touched rows
    const loss = (opts: Parameters<typeof trainingLoss>[5], cfg = c) => value(() => tf.tidy(() => {
      const r = tf.tensor1d(rows, 'int32');
      return trainingLoss(p, cfg, local, rows, tf.gather(p['item.id']!, r) as tf.Tensor2D, opts);
    }));
    const localKeep = () => tf.gather(keep, tf.tensor1d(rows, 'int32'));
    const rowsOnly = await loss({ idKeep: localKeep() });
    expect(rowsOnly).toBeCloseTo(whole, 4);
    expect(whole).toBeGreaterThan(0.1); // a real loss, not a degenerate zero
    // attention dropout acts in training (with dropout seeds) and nowhere else
    const seeded = (attentionDropout: number) => {
      let s = 1;
      return loss({ seed: () => (s += 7), attentionDropout }, { ...c, dropout: 0 });
    };
    expect(await seeded(0.5)).not.toBeCloseTo(await seeded(0), 4);
    expect(await loss({ idKeep: localKeep(), attentionDropout: 0.5 })).toBeCloseTo(rowsOnly, 6);
    tf.dispose([keep, ...Object.values(p)]);
  });

  it('sampled softmax with each positive in its own candidate column: value and gradients equal the positive-first formula', async () => {
    // The formula the trainer used before: the positive concatenated as column 0, its own copy among the candidates
    // masked, -log q added as a [P, N+1] bias, differentiated by tfjs.
    const positiveFirst = (u: tf.Tensor2D, tb: tf.Tensor2D, targets: Int32Array, temp: number, ids: Int32Array, logQ: Float32Array, tq: Float32Array) => {
      const P = targets.length;
      const W = ids.length + 1;
      const us = tf.mul(u, 1 / temp);
      const pos = l2normalize(tf.gather(tb, tf.tensor1d(targets, 'int32')));
      const cand = l2normalize(tf.gather(tb, tf.tensor1d(ids, 'int32')));
      const logits = tf.concat([tf.sum(tf.mul(us, pos), -1, true), tf.matMul(us, cand, false, true)], 1);
      const bias = new Float32Array(P * W);
      for (let i = 0; i < P; i++) {
        bias[i * W] = -tq[i]!;
        for (let j = 1; j < W; j++) bias[i * W + j] = ids[j - 1] === targets[i] ? -1e4 : -logQ[j - 1]!;
      }
      const first = tf.tensor2d(Float32Array.from({ length: W }, (_, j) => (j === 0 ? 1 : 0)), [1, W]);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.add(logits, tf.tensor2d(bias, [P, W]))), first), -1))) as tf.Scalar;
    };
    const r = new Rng(5);
    const rand = (n: number) => Float32Array.from({ length: n }, () => r.normal());
    const d = 6;
    const V = 30;
    const targets = Int32Array.from([4, 9, 4, 17, 22, 9, 3]);
    const P = targets.length;
    const freq = new Float32Array(V);
    targets.forEach((t) => (freq[t] = (freq[t] ?? 0) + 1 / P));
    // In-batch (every target a candidate, the trainer's default) and without (targets 3 and 22 only as positives).
    for (const ids of [Int32Array.from([4, 9, 17, 22, 3, 1, 12, 28, 7]), Int32Array.from([4, 9, 17, 1, 12, 28, 7])]) {
      const logQ = candidateLogQ(ids, freq, 5, P, V - 1);
      const tq = candidateLogQ(targets, freq, 5, P, V - 1);
      const u = tf.tensor2d(rand(P * d), [P, d]);
      const tb = tf.tensor2d(rand(V * d), [V, d]);
      const lossOf = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Scalar) => tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor2D, b as tf.Tensor2D))([u, tb]);
      const mine = lossOf((a, b) => softmaxLoss(l2normalize(a) as tf.Tensor2D, b, targets, 0.05, { ids, logQ }, tq));
      const ref = lossOf((a, b) => positiveFirst(l2normalize(a) as tf.Tensor2D, b, targets, 0.05, ids, logQ, tq));
      expect(await mine.value.data()).toHaveLength(1);
      const [v1, v2] = [(await mine.value.data())[0]!, (await ref.value.data())[0]!];
      expect(Math.abs(v1 - v2) / Math.abs(v2)).toBeLessThan(1e-5);
      expect(v2).toBeGreaterThan(0.5);
      for (const k of [0, 1]) {
        const [g1, g2] = [(await mine.grads[k]!.data()) as Float32Array, (await ref.grads[k]!.data()) as Float32Array];
        const scale = g2.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(scale).toBeGreaterThan(1e-3);
        g1.forEach((x, i) => expect(Math.abs(x - g2[i]!)).toBeLessThan(1e-5 * scale));
      }
      tf.dispose([u, tb, mine.value, ref.value, ...mine.grads, ...ref.grads]);
    }
  });
});
