/**
 * The embedding index runs on the backend the process chose and never switches it: a trainer or a test sharing the
 * process keeps its backend however often a model is published. Its own file, so its backend is its own process's.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '@marquee/model/node';
import { randomModelArtifact } from '@marquee/model/testing';
import { Catalog } from '../src/catalog.ts';
import { EmbeddingIndex } from '../src/candidates/embeddings.ts';

describe('EmbeddingIndex and the tfjs backend', () => {
  it('builds on the current backend, leaves it current, and gives the same index on cpu and wasm', async () => {
    const catalog = Catalog.synthetic({ titles: 120 });
    const { manifest, files } = await randomModelArtifact(catalog.titles.slice(0, 80), { dim: 16, maxLen: 20, layers: 1, heads: 2, seed: 3 });
    const getFile = async (path: string) => files.get(path) ?? expect.unreachable(`no file ${path} in the artifact`);

    await tf.setBackend('cpu');
    const onCpu = await EmbeddingIndex.build(manifest, getFile, catalog);
    expect(tf.getBackend()).toBe('cpu');

    expect((await initNodeBackend('wasm')).backend).toBe('wasm');
    const onWasm = await EmbeddingIndex.build(manifest, getFile, catalog);
    expect(tf.getBackend()).toBe('wasm');

    // The same titles embedded (warm ones from the item table, cold ones from metadata), within float32 rounding.
    expect(onWasm.cold).toEqual(onCpu.cold);
    for (const t of [catalog.titles[0], catalog.titles[79], catalog.titles[80], catalog.titles[119]]) {
      const id = t?.id ?? expect.unreachable('120 titles');
      const a = onCpu.vector(id) ?? expect.unreachable(`${id} not in the cpu index`);
      const b = onWasm.vector(id) ?? expect.unreachable(`${id} not in the wasm index`);
      expect(Math.max(...a.map((x, j) => Math.abs(x - (b[j] ?? NaN))))).toBeLessThan(1e-5);
    }
  });
});
