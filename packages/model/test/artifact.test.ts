import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { makeModelConfig } from '../src/config.ts';
import { ensembleMembers, initParams, scoreItems } from '../src/model.ts';
import { Rng } from '../src/rng.ts';
import { loadModel, serializeModel } from '../src/artifact.ts';
import { createHash } from 'node:crypto';
import { loadModelDir, readManifest, saveModelDir } from '../src/artifact-node.ts';

const cfg = makeModelConfig({ numItems: 20, numGenres: 2, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5 }, { maxLen: 8, dim: 8, heads: 2, layers: 1 });
const items = { ids: Array.from({ length: 20 }, (_, i) => `t${i + 1}`), genreNames: ['drama', 'romance'], genres: Array.from({ length: 20 }, (_, i) => [i % 2]) };
const genreRows = () => {
  const g = new Float32Array(21 * 2);
  for (let i = 1; i <= 20; i++) g[i * 2 + ((i - 1) % 2)] = 1;
  return g;
};

describe('artifact', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('save -> load gives identical scores, manifest lists sha256 of every file', async () => {
    const r = new Rng(11);
    const params = initParams(cfg, { genres: genreRows() }, () => r.normal());
    const dir = mkdtempSync(path.join(tmpdir(), 'mq-art-'));
    const manifest = await saveModelDir(dir, { config: cfg, params, items, metrics: { note: 'test' } });
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.version).toMatch(/-[0-9a-f]{12}$/);
    for (const f of manifest.files) expect(createHash('sha256').update(readFileSync(path.join(dir, f.path))).digest('hex')).toBe(f.sha256);
    expect(readManifest(dir).weights.map((w) => w.name)).toContain('item.id');
    const h = { items: [1, 5, 9] };
    const before = await scoreItems(params, cfg, h);
    const m = await loadModelDir(dir);
    const after = await m.score(h);
    expect(Array.from(after)).toEqual(Array.from(before));
    const recs = await m.recommend(m.toHistory([{ titleId: 't1' }, { titleId: 't5' }, { titleId: 'unknown' }]), 3);
    expect(recs).toHaveLength(3);
    expect(recs.map((x) => x.id)).not.toContain('t1');
    const cold = m.coldItemEmbedding({ genres: ['romance'] });
    expect(cold.shape).toEqual([8]);
    cold.dispose();
    m.dispose();
    Object.values(params).forEach((t) => t.dispose());
  });

  it('an untiedInput model is format 2 and loads identically; a format that does not match its config, or an unknown one, is refused', async () => {
    const untied = makeModelConfig({ numItems: 20, numGenres: 2, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5 }, { maxLen: 8, dim: 8, heads: 2, layers: 1, untiedInput: true });
    const r = new Rng(13);
    const params = initParams(untied, { genres: genreRows() }, () => r.normal());
    params['item.in']!.dispose();
    params['item.in'] = tf.tensor2d(Float32Array.from({ length: 21 * 8 }, () => r.normal()), [21, 8]);
    const { manifest, files } = await serializeModel({ config: untied, params, items });
    expect(manifest.formatVersion).toBe(2);
    expect(manifest.weights.map((w) => w.name)).toContain('item.in');
    const get = async (f: string) => files.get(f)!;
    const m = await loadModel(manifest, get);
    const h = { items: [1, 5, 9] };
    expect(Array.from(await m.score(h))).toEqual(Array.from(await scoreItems(params, untied, h)));
    m.dispose();
    const n = tf.memory().numTensors;
    await expect(loadModel({ ...manifest, formatVersion: 1 }, get)).rejects.toThrow(/formatVersion 1 does not match/);
    await expect(loadModel({ ...manifest, formatVersion: 5 }, get)).rejects.toThrow(/unsupported formatVersion 5/);
    expect(tf.memory().numTensors).toBe(n);
    Object.values(params).forEach((t) => t.dispose());
  });

  it('a recencyBias / itemBias model is format 3; served vectors carry the bias column: [user, 1] . [item, temperature * bias] is the score', async () => {
    const dims = { numItems: 20, numGenres: 2, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5 };
    const c = makeModelConfig(dims, { maxLen: 8, dim: 8, heads: 2, layers: 1, recencyBias: 1, itemBias: 1 });
    const r = new Rng(17);
    const params = initParams(c, { genres: genreRows() }, () => r.normal());
    const set = (name: string, t: tf.Tensor) => (params[name]!.dispose(), (params[name] = t));
    set('item.bias', tf.tensor1d(Float32Array.from({ length: 21 }, (_, i) => (i === 0 ? 0 : (i % 5) - 2))));
    set('b0.recency', tf.tensor1d([0.4, -0.1]));
    const { manifest, files } = await serializeModel({ config: c, params, items });
    expect(manifest.formatVersion).toBe(3);
    expect(manifest.weights.map((w) => w.name)).toEqual(expect.arrayContaining(['item.bias', 'b0.recency']));
    const m = await loadModel(manifest, async (f) => files.get(f)!);
    const h = { items: [1, 5, 9] };
    const scores = await m.score(h);
    expect(Array.from(scores)).toEqual(Array.from(await scoreItems(params, c, h)));
    // Served: the incremental encoder's user vector against the catalog matrix gives the same scores.
    const enc = m.encoder();
    const state = enc.full(h);
    const u = enc.embedding(state);
    expect(u.shape).toEqual([9]);
    expect(u.dataSync()[8]).toBe(1);
    const { matrix } = m.catalogEmbeddings(items.ids.map((id) => ({ id })));
    const served = tf.matMul(matrix, tf.reshape(u, [9, 1])).dataSync();
    for (let i = 0; i < 20; i++) expect(served[i]!).toBeCloseTo(scores[i + 1]!, 4);
    // ... which is cos + temperature * bias: the same user vector without its column ranks by cosine alone
    const cos = tf.matMul(tf.slice(matrix, [0, 0], [20, 8]), tf.reshape(tf.slice(u, [0], [8]), [8, 1])).dataSync();
    for (let i = 0; i < 20; i++) expect(served[i]! - cos[i]!).toBeCloseTo(c.temperature * (((i + 1) % 5) - 2), 5);
    // A title outside the vocabulary gets the mean bias of the known ones.
    const cold = m.coldItemEmbedding({ genres: ['romance'] });
    expect(cold.shape).toEqual([9]);
    const meanBias = Array.from({ length: 20 }, (_, i) => ((i + 1) % 5) - 2).reduce((a, x) => a + x, 0) / 20;
    expect(cold.dataSync()[8]).toBeCloseTo(c.temperature * meanBias, 6);
    const withCold = m.catalogEmbeddings([{ id: 'new', genres: ['romance'] }]);
    expect(Array.from(withCold.matrix.dataSync())).toEqual(Array.from(cold.dataSync()).map((x) => expect.closeTo(x, 6)));
    tf.dispose([u, matrix, withCold.matrix, cold]);
    enc.dispose(state);
    m.dispose();
    Object.values(params).forEach((t) => t.dispose());
  });

  it('an ensemble is format 4: it loads to the mean of its members\' scores, and the incremental encoder and catalog matrix serve the same scores', async () => {
    const dims = { numItems: 20, numGenres: 2, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5 };
    const two = makeModelConfig(dims, { maxLen: 8, dim: 8, heads: 2, layers: 1, members: 2, recencyBias: 1, itemBias: 1 });
    const r = new Rng(19);
    const params = initParams(two, { genres: genreRows() }, () => r.normal());
    const set = (name: string, t: tf.Tensor) => (params[name]!.dispose(), (params[name] = t));
    set('m1.item.bias', tf.tensor1d(Float32Array.from({ length: 21 }, (_, i) => (i % 3) - 1)));
    set('m0.b0.recency', tf.tensor1d([0.3, -0.2]));
    const { manifest, files } = await serializeModel({ config: two, params, items });
    expect(manifest.formatVersion).toBe(4);
    expect(manifest.config.members).toBe(2);
    const get = async (f: string) => files.get(f)!;
    await expect(loadModel({ ...manifest, formatVersion: 3 }, get)).rejects.toThrow(/does not match its config/);
    const m = await loadModel(manifest, get);
    const h = { items: [1, 5, 9, 2] };
    const scores = await m.score(h);
    const [m0, m1] = ensembleMembers(params, two);
    const s0 = await scoreItems(m0!.params, m0!.config, h);
    const s1 = await scoreItems(m1!.params, m1!.config, h);
    for (let i = 1; i <= 20; i++) expect(scores[i]!).toBeCloseTo((s0[i]! + s1[i]!) / 2, 5);
    // The served path: the encoder over the whole history, then the last title again by steps after a truncation.
    const enc = m.encoder();
    let state = enc.full(h);
    expect(state.length).toBe(4);
    state = enc.step(enc.truncate(state, 3), 2, 2, 1);
    const u = enc.embedding(state);
    expect(u.shape).toEqual([18]);
    const { matrix } = m.catalogEmbeddings(items.ids.map((id) => ({ id })));
    expect(matrix.shape).toEqual([20, 18]);
    const stepped = await scoreItems(params, two, { items: [1, 5, 9, 2], events: [0, 0, 0, 2], fracs: [0, 0, 0, 1] });
    const served = tf.matMul(matrix, tf.reshape(u, [18, 1])).dataSync();
    for (let i = 0; i < 20; i++) expect(served[i]!).toBeCloseTo(stepped[i + 1]!, 4);
    // A title outside the vocabulary: each member's metadata embedding, side by side.
    const cold = m.catalogEmbeddings([{ id: 'new', genres: ['romance'] }]);
    const one = m.coldItemEmbedding({ genres: ['romance'] });
    expect(Array.from(cold.matrix.dataSync())).toEqual(Array.from(one.dataSync()).map((x) => expect.closeTo(x, 6)));
    tf.dispose([u, matrix, cold.matrix, one]);
    enc.dispose(state);
    expect(state.members).toEqual([]);
    m.dispose();
    Object.values(params).forEach((t) => t.dispose());
  });

  it('rejects a corrupted weight file', async () => {
    const r = new Rng(12);
    const params = initParams(cfg, { genres: genreRows() }, () => r.normal());
    const { manifest, files } = await serializeModel({ config: cfg, params, items });
    const bad = files.get('weights.bin')!.slice();
    bad[17] = (bad[17] ?? 0) ^ 0xff;
    const n = tf.memory().numTensors;
    await expect(loadModel(manifest, async () => bad)).rejects.toThrow(/sha256 mismatch/);
    await expect(loadModel(manifest, async () => bad.slice(4))).rejects.toThrow(/bytes/);
    expect(tf.memory().numTensors).toBe(n);
    const dir = mkdtempSync(path.join(tmpdir(), 'mq-art-'));
    await saveModelDir(dir, { config: cfg, params, items });
    const f = path.join(dir, 'weights.bin');
    const b = readFileSync(f);
    b[3] = (b[3] ?? 0) ^ 1;
    writeFileSync(f, b);
    await expect(loadModelDir(dir)).rejects.toThrow(/sha256 mismatch/);
    Object.values(params).forEach((t) => t.dispose());
  });
});
