import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { makeModelConfig } from '../src/config.ts';
import { coldItemEmbedding, disposeInferenceWeights, disposeState, embeddingDim, encodeHistory, encodeStep, emptyState, ensembleMembers, inferenceWeights, initParams, itemEmbeddings, joinMembers, paramSpecs, scoreItems, stateEmbedding, userEmbedding, type Params } from '../src/model.ts';
import { Rng } from '../src/rng.ts';

const cfg = makeModelConfig({ numItems: 50, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 }, { maxLen: 12, dim: 16, heads: 2 });
const meta = () => {
  const genres = new Float32Array(51 * 3);
  const year = new Int32Array(51);
  for (let i = 1; i <= 50; i++) {
    genres[i * 3 + (i % 3)] = 1;
    year[i] = 1 + (i % 3);
  }
  return { genres, year };
};
const make = (seed: number): Params => {
  const r = new Rng(seed);
  return initParams(cfg, meta(), () => r.normal());
};
/** Trained-like parameters: LayerNorm gains and every bias away from their 1/0 initial values (folding must use them). */
const trained = (seed: number): Params => {
  const p = make(seed);
  const r = new Rng(seed + 100);
  for (const k of Object.keys(p)) {
    if (!/\.(g|b)$/.test(k)) continue;
    const base = k.endsWith('.g') ? 1 : 0;
    const t = p[k]!;
    p[k] = tf.tensor(Float32Array.from({ length: t.size }, () => base + 0.3 * r.normal()), t.shape);
    t.dispose();
  }
  return p;
};
const dispose = (p: Params) => Object.values(p).forEach((t) => t.dispose());
const hist = { items: [3, 7, 7, 12, 40, 2, 9], events: [2, 3, 2, 1, 2, 3, 2], fracs: [1, 5, 2, 0, 3, 5, 1] };

describe('model', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('same seed -> same weights and scores; different seed -> different', async () => {
    const a = make(7);
    const b = make(7);
    const c = make(8);
    for (const k of Object.keys(a)) expect(Array.from(a[k]!.dataSync())).toEqual(Array.from(b[k]!.dataSync()));
    const sa = await scoreItems(a, cfg, hist);
    const sb = await scoreItems(b, cfg, hist);
    const sc = await scoreItems(c, cfg, hist);
    expect(Array.from(sa)).toEqual(Array.from(sb));
    expect(Array.from(sa)).not.toEqual(Array.from(sc));
    expect(sa[0]).toBe(-Infinity);
    [a, b, c].forEach(dispose);
  });

  it('the encoder\'s kept constants (causal mask, recency distances) are per backend: a second backend moves no data off the first', async () => {
    // On WebGPU in Node a kept tensor read by another backend throws (bench:node's plans on an H200); cpu and wasm
    // show the same fault as the engine moving the tensor's data.
    const biased = makeModelConfig({ numItems: 50, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 }, { maxLen: 12, dim: 16, heads: 2, recencyBias: 1 });
    const T = hist.items.length + 3; // a length no other test encodes, so this test makes the constants first
    const h = { items: [...hist.items, 1, 2, 3].slice(0, T), events: [...hist.events, 2, 2, 2], fracs: [...hist.fracs, 1, 1, 1] };
    const encodeOn = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      const r = new Rng(11);
      const p = initParams(biased, meta(), () => r.normal());
      const e = userEmbedding(p, biased, h);
      const v = Array.from(await e.data());
      e.dispose();
      dispose(p);
      return v;
    };
    const moves = vi.spyOn(tf.engine(), 'moveData');
    try {
      const onCpu = await encodeOn('cpu');
      const onWasm = await encodeOn('wasm');
      expect(moves).not.toHaveBeenCalled();
      onCpu.forEach((x, i) => expect(Math.abs(x - onWasm[i]!)).toBeLessThan(1e-4));
    } finally {
      moves.mockRestore();
      await useBackend('wasm');
    }
  });

  it('incremental encoder (folded serving weights, one-position steps) equals the full training-weight encoder within 1e-4', () => {
    const p = trained(3);
    const w = inferenceWeights(p, cfg);
    const full = userEmbedding(p, cfg, hist);
    const s = encodeHistory(w, hist);
    const inc = stateEmbedding(s);
    const x = full.dataSync();
    const y = inc.dataSync();
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
    // and one more step equals a full encode of the longer history
    const s2 = encodeStep(w, s, 5, 2, 4);
    const full2 = userEmbedding(p, cfg, { items: [...hist.items, 5], events: [...hist.events, 2], fracs: [...hist.fracs, 4] });
    const e2 = stateEmbedding(s2);
    const a2 = full2.dataSync();
    const b2 = e2.dataSync();
    for (let i = 0; i < a2.length; i++) expect(Math.abs(a2[i]! - b2[i]!)).toBeLessThan(1e-4);
    expect(s2.length).toBe(hist.items.length + 1);
    [full, inc, full2, e2].forEach((t) => t.dispose());
    disposeState(s2);
    // and a history built one step at a time from nothing equals it too
    let stepped = emptyState();
    for (let j = 0; j < hist.items.length; j++) stepped = encodeStep(w, stepped, hist.items[j]!, hist.events[j], hist.fracs[j]);
    const e3 = stateEmbedding(stepped);
    const b3 = e3.dataSync();
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - b3[i]!)).toBeLessThan(1e-4);
    [e3].forEach((t) => t.dispose());
    disposeState(stepped);
    disposeInferenceWeights(w);
    dispose(p);
  });

  it('untiedInput: the input-only table moves the user vector, never the item vectors, and serving equals training within 1e-4', () => {
    const untied = makeModelConfig({ numItems: 50, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 }, { maxLen: 12, dim: 16, heads: 2, untiedInput: 1 });
    expect(untied.untiedInput).toBe(true);
    const p = trained(3);
    const r = new Rng(5);
    const zeros = initParams(untied, meta(), () => r.normal())['item.in']!;
    expect(zeros.shape).toEqual([51, 16]);
    expect(zeros.dataSync().every((x) => x === 0)).toBe(true); // starts as the tied model
    zeros.dispose();
    const q: Params = { ...p, 'item.in': tf.tensor2d(Float32Array.from({ length: 51 * 16 }, () => 0.5 * r.normal()), [51, 16]) };
    const [tiedUser, untiedUser] = [userEmbedding(p, cfg, hist), userEmbedding(q, untied, hist)];
    expect(Array.from(untiedUser.dataSync())).not.toEqual(Array.from(tiedUser.dataSync()));
    const [tiedItems, untiedItems] = [itemEmbeddings(p, cfg), itemEmbeddings(q, untied)];
    expect(Array.from(untiedItems.dataSync())).toEqual(Array.from(tiedItems.dataSync()));
    const w = inferenceWeights(q, untied);
    let stepped = emptyState();
    for (let j = 0; j < hist.items.length; j++) stepped = encodeStep(w, stepped, hist.items[j]!, hist.events[j], hist.fracs[j]);
    const inc = stateEmbedding(stepped);
    const x = untiedUser.dataSync();
    const y = inc.dataSync();
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
    [tiedUser, untiedUser, tiedItems, untiedItems, inc, q['item.in']!].forEach((t) => t.dispose());
    disposeState(stepped);
    disposeInferenceWeights(w);
    dispose(p);
  });

  it('recencyBias: slopes start at 0 (the model without it), weight recent titles when positive, and serving equals training within 1e-4', async () => {
    const dims = { numItems: 50, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 };
    const biased = makeModelConfig(dims, { maxLen: 12, dim: 16, heads: 2, recencyBias: 1 });
    expect(biased.recencyBias).toBe(true);
    expect(makeModelConfig(dims, { maxLen: 12, dim: 16, heads: 2 }).recencyBias).toBe(false);
    const p = trained(3);
    const r = new Rng(5);
    const fresh = initParams(biased, meta(), () => r.normal());
    expect(Array.from(fresh['b0.recency']!.dataSync())).toEqual([0, 0]);
    expect(Array.from(fresh['b1.recency']!.dataSync())).toEqual([0, 0]);
    dispose(fresh);
    // Zero slopes: exactly the model without the bias.
    const zero: Params = { ...p, 'b0.recency': tf.zeros([2]), 'b1.recency': tf.zeros([2]) };
    expect(Array.from(await scoreItems(zero, biased, hist))).toEqual(Array.from(await scoreItems(p, cfg, hist)));
    // Steep slopes: each head attends (almost) only to the current position, so the oldest titles stop mattering.
    const steep: Params = { ...p, 'b0.recency': tf.tensor1d([40, 40]), 'b1.recency': tf.tensor1d([40, 40]) };
    const changedOld = { ...hist, items: [9, 9, ...hist.items.slice(2)] };
    const [a, b] = [await scoreItems(steep, biased, hist), await scoreItems(steep, biased, changedOld)];
    for (let i = 1; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
    const [c0, c1] = [await scoreItems(p, cfg, hist), await scoreItems(p, cfg, changedOld)];
    expect(Math.max(...Array.from(c0).slice(1).map((v, i) => Math.abs(v - c1[i + 1]!)))).toBeGreaterThan(1e-4);
    // Moderate, per-head slopes: the incremental encoder equals the training encoder, step by step and in one pass.
    const mixed: Params = { ...p, 'b0.recency': tf.tensor1d([0.7, -0.2]), 'b1.recency': tf.tensor1d([0.1, 1.5]) };
    const full = userEmbedding(mixed, biased, hist);
    const w = inferenceWeights(mixed, biased);
    let stepped = emptyState();
    for (let j = 0; j < hist.items.length; j++) stepped = encodeStep(w, stepped, hist.items[j]!, hist.events[j], hist.fracs[j]);
    const whole = encodeHistory(w, hist);
    const [x, y, z] = [full.dataSync(), stateEmbedding(stepped).dataSync(), stateEmbedding(whole).dataSync()];
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
      expect(Math.abs(x[i]! - z[i]!)).toBeLessThan(1e-4);
    }
    expect(Math.max(...Array.from(x).map((v, i) => Math.abs(v - userEmbedding(p, cfg, hist).dataSync()[i]!)))).toBeGreaterThan(1e-4);
    disposeState(stepped);
    disposeState(whole);
    disposeInferenceWeights(w);
    full.dispose();
    for (const k of ['b0.recency', 'b1.recency']) [zero, steep, mixed].forEach((q) => q[k]!.dispose());
    dispose(p);
  });

  it('an ensemble (members > 1) scores the mean of its members\' scores, with vectors side by side of unit norm', async () => {
    const dims = { numItems: 50, numGenres: 3, numYearBuckets: 4, yearBucketStart: 1990, yearBucketWidth: 5 };
    const two = makeModelConfig(dims, { maxLen: 12, dim: 16, heads: 2, members: 2 });
    expect(two.members).toBe(2);
    expect(() => makeModelConfig(dims, { members: 0 })).toThrow(/members/);
    expect(() => makeModelConfig(dims, { members: 1.5 })).toThrow(/members/);
    const a = trained(3);
    const b = trained(4);
    const p = joinMembers([a, b]);
    expect(new Set(paramSpecs(two).map((s) => s.name))).toEqual(new Set(Object.keys(p)));
    expect(paramSpecs(two).slice(0, 2).map((s) => s.name)).toEqual(['m0.item.id', 'm0.item.genre']);
    const members = ensembleMembers(p, two);
    expect(members.map((m) => m.config.members)).toEqual([1, 1]);
    expect(members[1]!.params['item.id']).toBe(b['item.id']);
    const [sa, sb, s] = await Promise.all([scoreItems(a, cfg, hist), scoreItems(b, cfg, hist), scoreItems(p, two, hist)]);
    expect(s[0]).toBe(-Infinity);
    for (let i = 1; i <= 50; i++) expect(s[i]!).toBeCloseTo((sa[i]! + sb[i]!) / 2, 5);
    expect(embeddingDim(two)).toBe(32);
    const u = userEmbedding(p, two, hist);
    expect(u.shape).toEqual([32]);
    expect(Math.hypot(...u.dataSync())).toBeCloseTo(1, 5);
    // The cold-start embedding of an ensemble: each member's, side by side, at the same scale.
    const cold = coldItemEmbedding(p, two, [1], 2);
    const ca = coldItemEmbedding(a, cfg, [1], 2);
    const cb = coldItemEmbedding(b, cfg, [1], 2);
    const expected = [...ca.dataSync(), ...cb.dataSync()].map((x) => x / Math.SQRT2);
    cold.dataSync().forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
    expect(() => inferenceWeights(p, two)).toThrow(/one model at a time/);
    tf.dispose([u, cold, ca, cb]);
    [a, b].forEach(dispose);
  });

  it('only the last maxLen tokens matter', async () => {
    const p = make(4);
    const long = { items: Array.from({ length: 30 }, (_, i) => 1 + ((i * 7) % 50)) };
    const a = await scoreItems(p, cfg, long);
    const b = await scoreItems(p, cfg, { items: long.items.slice(-cfg.maxLen) });
    expect(Array.from(a)).toEqual(Array.from(b));
    const w = inferenceWeights(p, cfg);
    expect(() => encodeStep(w, { ...emptyState(), length: cfg.maxLen }, 1)).toThrow(/full/);
    disposeInferenceWeights(w);
    dispose(p);
  });

  it('scoring leaks no tensors', async () => {
    const p = make(5);
    await scoreItems(p, cfg, hist); // warm-up (the causal mask cache is kept on purpose)
    const before = tf.memory().numTensors;
    await scoreItems(p, cfg, hist);
    userEmbedding(p, cfg, hist).dispose();
    const w = inferenceWeights(p, cfg);
    disposeState(encodeStep(w, encodeHistory(w, hist), 4));
    disposeInferenceWeights(w);
    expect(tf.memory().numTensors).toBe(before);
    dispose(p);
  });
});
