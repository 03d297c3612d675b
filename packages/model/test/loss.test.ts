import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { candidateLogQ, softmaxCrossEntropy, softmaxLoss } from '../src/loss.ts';

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
});
