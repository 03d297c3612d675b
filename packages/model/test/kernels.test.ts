import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { Rng } from '../src/rng.ts';

const rnd = (shape: number[], seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal());
};

async function onBoth<T>(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await useBackend('cpu');
  const a = f();
  const va = a.dataSync().slice() as Float32Array;
  a.dispose();
  await useBackend('wasm');
  const b = f();
  const vb = b.dataSync().slice() as Float32Array;
  b.dispose();
  return [va, vb];
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-4) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(a[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe('wasm kernels match the cpu backend', () => {
  beforeAll(() => useBackend('wasm'), 120_000);
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2d', [7, 5], [5, 3], false, false],
    ['transposeA', [5, 7], [5, 3], true, false],
    ['transposeB', [7, 5], [3, 5], false, true],
    ['both', [5, 7], [3, 5], true, true],
    ['batched 4d', [2, 3, 6, 4], [2, 3, 4, 5], false, false],
    ['batched transposeB', [2, 3, 6, 4], [2, 3, 5, 4], false, true],
    ['batched transposeA', [4, 6, 3], [4, 6, 5], true, false],
    ['broadcast a', [1, 6, 4], [3, 4, 5], false, false],
    ['broadcast b', [3, 6, 4], [4, 5], false, false],
    // slices of at least 16x32x16 multiply-adds take the per-slice fast path; smaller ones the stock kernel
    ['batched fast path', [2, 2, 24, 32], [2, 2, 24, 32], false, true],
    ['batched fast path transposeA', [3, 32, 20], [3, 32, 24], true, false],
    // a few rows against many (evaluation's users @ items^T): computed as (items @ users^T)^T
    ['few rows @ many^T, computed transposed', [3, 40], [500, 40], false, true],
    ['batched few rows @ many^T, computed transposed', [2, 3, 40], [2, 500, 40], false, true],
  ];
  it.each(cases)('matMul %s', async (_n, sa, sb, ta, tb) => {
    const A = rnd(sa, 1);
    const B = rnd(sb, 2);
    const [x, y] = await onBoth(() => tf.matMul(tf.tensor(A, sa), tf.tensor(B, sb), ta, tb));
    expectClose(x, y);
  });
  it('gather rows (and its UnsortedSegmentSum gradient)', async () => {
    const table = rnd([9, 4], 3);
    const ids = [3, 0, 8, 3, 3, 1];
    const up = rnd([6, 4], 4);
    const [x, y] = await onBoth(() => tf.gather(tf.tensor2d(table, [9, 4]), tf.tensor1d(ids, 'int32')));
    expectClose(x, y);
    const [g1, g2] = await onBoth(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(ids, 'int32')), tf.tensor2d(up, [6, 4]))))(tf.tensor2d(table, [9, 4])));
    expectClose(g1, g2);
    // rows 3 got three updates, row 2 none
    expect(g2[2 * 4]).toBe(0);
    expect(g2[3 * 4]).toBeCloseTo(up[0]! + up[3 * 4]! + up[4 * 4]!, 5);
  });
  it.each([
    ['leading axis', [37, 5], 0, false],
    ['two leading axes', [1, 37, 5], [0, 1], false],
    ['leading axes kept', [3, 4, 5], [0, 1], true],
    ['negative axes', [3, 4, 5], [-3], false],
    ['inner axis (stock)', [3, 4, 5], -1, false],
  ] as [string, number[], number | number[], boolean][])('sum over %s', async (_n, shape, axis, keepDims) => {
    const X = rnd(shape, 7);
    const [x, y] = await onBoth(() => tf.sum(tf.tensor(X, shape), axis, keepDims));
    expectClose(x, y, 1e-5);
    await useBackend('cpu');
    const want = tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape);
    await useBackend('wasm');
    expect(tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape)).toEqual(want);
  });
  it.each([
    [[3, 4], -1, false],
    [[3, 4], 0, true],
    [[2, 3, 4], [0, 1], false],
  ] as [number[], number | number[], boolean][])('sum and mean gradients (%j over %j): the upstream gradient spread over the reduced axes', async (shape, axis, keepDims) => {
    await useBackend('wasm');
    const x = tf.tensor(rnd(shape, 8), shape);
    const out = tf.sum(x, axis, keepDims);
    const w = tf.tensor(rnd(out.shape, 9), out.shape);
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
    const count = axes.reduce((p, a) => p * shape[a]!, 1);
    const gSum = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sum(v, axis, keepDims), w)))(x);
    const gMean = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.mean(v, axis, keepDims), w)))(x);
    const wv = await w.data();
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
    const outIndex = (flat: number) => {
      // the output element each input element was reduced into
      const coords = shape.map((n, i) => Math.floor(flat / strides[i]!) % n);
      const kept = coords.filter((_, i) => !axes.includes(i));
      const keptShape = shape.filter((_, i) => !axes.includes(i));
      return kept.reduce((acc, c, i) => acc * keptShape[i]! + c, 0);
    };
    const [s, m] = [await gSum.data(), await gMean.data()];
    s.forEach((g, i) => expect(g).toBeCloseTo(wv[outIndex(i)]!, 6));
    m.forEach((g, i) => expect(g).toBeCloseTo(wv[outIndex(i)]! / count, 6));
    tf.dispose([x, out, w, gSum, gMean]);
  });
  it('identity shares the buffer, and the copy outlives its source', async () => {
    await useBackend('wasm');
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    const v = tf.variable(y);
    const saved = tf.clone(v);
    v.assign(tf.zerosLike(v));
    expect(Array.from(await saved.data())).toEqual([1, 2, 3, 4]); // assign swaps in a new buffer
    tf.dispose([y, v, saved]);
  });
  it('matMul gradients', async () => {
    const A = rnd([2, 5, 3], 5);
    const B = rnd([2, 4, 3], 6);
    const f = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, false, true))))([tf.tensor(A, [2, 5, 3]), tf.tensor(B, [2, 4, 3])]);
    const [ga1, ga2] = await onBoth(() => f()[0]!);
    const [gb1, gb2] = await onBoth(() => f()[1]!);
    expectClose(ga1, ga2);
    expectClose(gb1, gb2);
  });
});
