import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { inputTableSettings, learningRateAt, RowAdam, Updater, type OptimizerSettings } from '../src/train-step.ts';
import { Rng } from '../src/rng.ts';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('lazy Adam for the item-id table', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  for (const settings of [
    { learningRate: 0.01, warmupSteps: 0, decaySteps: 0, weightDecay: 0 },
    { learningRate: 0.01, warmupSteps: 3, decaySteps: 5, weightDecay: 0.5 },
  ] satisfies OptimizerSettings[]) {
    it(`on steps that touch every row it is dense Adam (warm-up ${settings.warmupSteps}, decay ${settings.decaySteps}, weight decay ${settings.weightDecay})`, async () => {
      const rows = 5;
      const dim = 3;
      const r = new Rng(7);
      const init = Float32Array.from({ length: rows * dim }, () => r.normal());
      const dense = tf.variable(tf.tensor2d(init, [rows, dim]), true, `optimizer-test/dense-${settings.warmupSteps}`);
      const updater = new Updater(settings, [dense]);
      const lazy = new RowAdam(settings, init.slice(), dim, tf.backend().epsilon());
      // every row in a shuffled order: the lazy update follows the rows it is given
      const order = Int32Array.from([3, 0, 4, 1, 2]);
      for (let step = 0; step < 6; step++) {
        const grad = Float32Array.from({ length: rows * dim }, () => r.normal() * (step + 1));
        const g = tf.tensor2d(grad, [rows, dim]);
        updater.apply([g]);
        g.dispose();
        if (step % 2 === 0) lazy.apply(null, grad);
        else {
          const picked = new Float32Array(rows * dim);
          order.forEach((row, i) => picked.set(grad.subarray(row * dim, (row + 1) * dim), i * dim));
          lazy.apply(order, picked);
        }
      }
      const want = await dense.data();
      expect(maxAbsDiff(lazy.table, want)).toBeLessThan(1e-5);
      expect(maxAbsDiff(lazy.table, init)).toBeGreaterThan(0.01); // the steps moved the weights
      updater.dispose();
      dense.dispose();
    });
  }

  it('leaves untouched rows and their moments as they were, and resumes them undecayed on the next touch', () => {
    const s = { learningRate: 0.1, warmupSteps: 0, decaySteps: 0, weightDecay: 0 };
    const lazy = new RowAdam(s, Float32Array.from([1, 2, 3]), 1, 1e-7);
    lazy.apply(Int32Array.of(0, 2), Float32Array.from([0.5, -1])); // step 1: rows 0 and 2
    const afterFirst = lazy.table.slice();
    lazy.apply(Int32Array.of(0), Float32Array.from([0.5])); // step 2: row 0 only
    expect(lazy.table[1]).toBe(2); // never touched
    expect(lazy.table[2]).toBe(afterFirst[2]); // untouched this step: no stale momentum moves it
    lazy.apply(Int32Array.of(2), Float32Array.from([2])); // step 3: row 2 again
    // by hand: row 2's moments after step 1 carried over undecayed, bias correction by the global step (3)
    const m = 0.9 * (0.1 * -1) + 0.1 * 2;
    const v = 0.999 * (0.001 * 1) + 0.001 * 4;
    const want = afterFirst[2]! - (0.1 * (m / (1 - 0.9 ** 3))) / (Math.sqrt(v / (1 - 0.999 ** 3)) + 1e-7);
    expect(lazy.table[2]).toBeCloseTo(want, 5);
    expect(lazy.gather(Int32Array.of(2, 1))).toEqual(Float32Array.from([lazy.table[2]!, 2]));
  });
});

describe('dense Adam for the input-only item table, fed the touched rows', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('equals tfjs Adam on the scattered gradient: untouched rows keep moving by their momentum, and decay', async () => {
    const settings = { learningRate: 0.01, warmupSteps: 2, decaySteps: 0, weightDecay: 0.3 } satisfies OptimizerSettings;
    const rows = 6;
    const dim = 2;
    const r = new Rng(3);
    const init = Float32Array.from({ length: rows * dim }, () => r.normal());
    const variable = tf.variable(tf.tensor2d(init, [rows, dim]), true, 'optimizer-test/dense-rows');
    const updater = new Updater(settings, [variable]);
    const table = new RowAdam(settings, init.slice(), dim, tf.backend().epsilon(), false);
    const touched = [Int32Array.of(4, 1), Int32Array.of(0), Int32Array.of(5, 2, 1)];
    let untouchedMoved = false;
    for (let step = 0; step < 6; step++) {
      const rowsNow = touched[step % touched.length]!;
      const picked = Float32Array.from({ length: rowsNow.length * dim }, () => r.normal());
      const scattered = new Float32Array(rows * dim);
      rowsNow.forEach((row, i) => scattered.set(picked.subarray(i * dim, (i + 1) * dim), row * dim));
      const before = table.table.slice();
      const g = tf.tensor2d(scattered, [rows, dim]);
      updater.apply([g]);
      g.dispose();
      table.apply(rowsNow, picked);
      if (step > 0 && !rowsNow.includes(4) && table.table[4 * dim] !== before[4 * dim]) untouchedMoved = true;
    }
    expect(maxAbsDiff(table.table, await variable.data())).toBeLessThan(1e-5);
    expect(untouchedMoved).toBe(true); // row 4, untouched after step 1, still moved: not the lazy update
    expect(table.table[3 * dim]).not.toBe(init[3 * dim]); // never touched, but weight decay reaches it
    updater.dispose();
    variable.dispose();
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, decays by a half cosine to a tenth of the rate, then stays there', () => {
    const s = { learningRate: 1, warmupSteps: 2, decaySteps: 6, weightDecay: 0 };
    // by hand: steps 1-2 warm up (0.5, 1); steps 3-6 cover a quarter of the cosine each; 0.1 + 0.9 (1 + cos(pi x)) / 2
    const want = [0.5, 1, 0.1 + 0.45 * (1 + Math.cos(Math.PI / 4)), 0.55, 0.1 + 0.45 * (1 + Math.cos((3 * Math.PI) / 4)), 0.1, 0.1];
    want.forEach((lr, i) => expect(learningRateAt(s, i + 1)).toBeCloseTo(lr, 10));
    expect(learningRateAt({ ...s, decaySteps: 0 }, 50)).toBe(1);
  });
});

describe('decoupled weight decay', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('decays matrices by weightDecay and never vectors; the input-only item table by inputWeightDecay more', async () => {
    const s = { learningRate: 0.1, warmupSteps: 0, decaySteps: 0, weightDecay: 0.2 };
    const vars = [tf.variable(tf.ones([3, 2]), true, 'decay-test/block0.wq'), tf.variable(tf.ones([2]), true, 'decay-test/lnf.g')];
    const updater = new Updater(s, vars);
    // A zero gradient leaves Adam's update at zero: what moves is the decay alone, w x (1 - lr x decay).
    const zeros = vars.map((v) => tf.zerosLike(v));
    updater.apply(zeros);
    const [matrix, gain] = await Promise.all(vars.map((v) => v.data()));
    for (const x of matrix!) expect(x).toBeCloseTo(1 - 0.1 * 0.2, 6);
    for (const x of gain!) expect(x).toBe(1);
    tf.dispose([...zeros, ...vars]);
    updater.dispose();
    // The input-only table trains in JS (dense RowAdam), with its own settings.
    const input = new RowAdam(inputTableSettings(s, 0.5), new Float32Array(6).fill(1), 2, 1e-7, false);
    input.apply(Int32Array.of(1), new Float32Array(2));
    for (const x of input.table) expect(x).toBeCloseTo(1 - 0.1 * (0.2 + 0.5), 6);
  });
});
