import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { rankCandidates, type RankInput } from '@marquee/core';
import cases from '../../core/test/page-cases.json' with { type: 'json' };
import { CHUNK_TOP_K } from '../src/chunk-top-k.ts';
import { TensorRanker, type TopKPath } from '../src/ranker.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The tensor ranker over `candidates` with their model scores as the device would hold them (float32). */
let topK: TopKPath = 'tfjs';

async function rankOnDevice(candidates: readonly RankInput[], k: number, opts: { exclude?: Set<string>; weights?: { model: number; popularity: number; trending: number } } = {}) {
  const ranker = new TensorRanker(candidates, { ...opts, topK, hasModelScore: (i) => candidates[i]?.modelScore !== undefined });
  const haveScores = candidates.some((c) => c.modelScore !== undefined);
  const scores = haveScores ? tf.tensor1d(candidates.map((c) => c.modelScore ?? 0)) : null;
  try {
    return await ranker.rank(scores, k);
  } finally {
    scores?.dispose();
    ranker.dispose();
  }
}

/** What the JS path sees: the float32 scores read back from the device. */
const asFloat32 = (cs: RankInput[]) => cs.map((c) => (c.modelScore === undefined ? c : { ...c, modelScore: Math.fround(c.modelScore) }));

// tfjs's top-k, and the rounds of the per-chunk top-k that webgpu runs (here its JS kernel): the same rankings.
describe.each(['tfjs', 'chunked'] as const)('TensorRanker, %s top-k', (path) => {
  beforeAll(() => {
    topK = path;
  });

  it.each(cases.rank.map((c) => [c.name, c] as const))('equals the golden vector: %s', async (_name, c) => {
    const candidates = c.candidates as RankInput[];
    const exclude = new Set(c.exclude);
    for (let k = 1; k <= candidates.length; k++) {
      const got = await rankOnDevice(asFloat32(candidates), k, { exclude });
      // Golden scores were written from float64 inputs; the device holds float32 scores, which round the same here.
      expect(got).toEqual(c.expected.slice(0, k));
    }
  });

  it('equals the JS blend on a large set full of ties, exclusions and titles without a model score', async () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    // 20k candidates over 300 distinct scores and 50 popularity levels: many exact ties, broken by id.
    const candidates: RankInput[] = Array.from({ length: 20_000 }, (_, i) => ({
      titleId: `t${(i * 7919) % 20_000}`,
      modelScore: i % 97 === 0 ? undefined : Math.fround(Math.floor(rand() * 300) / 300 - 0.5),
      popularity: Math.floor(rand() * 50),
      trending: i % 3 === 0 ? undefined : Math.floor(rand() * 10),
    }));
    const exclude = new Set(candidates.filter((_, i) => i % 13 === 0).map((c) => c.titleId));
    for (const weights of [undefined, { model: 0.7, popularity: 0.4, trending: 0.25 }]) {
      const want = rankCandidates(candidates, { exclude, weights });
      for (const k of [1, 10, 100, 1000]) expect(await rankOnDevice(candidates, k, { exclude, weights })).toEqual(want.slice(0, k));
    }
    // Ties deeper than any first guess of the head: 5 distinct blends over 20k titles, ids shuffled against positions.
    const flat = candidates.map((c, i) => ({ titleId: c.titleId, modelScore: Math.fround((i % 5) / 10) }));
    for (const k of [1, 10, 100]) expect(await rankOnDevice(flat, k)).toEqual(rankCandidates(flat).slice(0, k));
    // No model yet: popularity and trending alone.
    const noModel = candidates.map(({ modelScore: _, ...c }) => c);
    expect(await rankOnDevice(noModel, 50, { exclude })).toEqual(rankCandidates(noModel, { exclude }).slice(0, 50));
  });

  it('ranks 20k candidates with the top-k it was given, in rounds of chunks on the chunked path', async () => {
    const candidates = Array.from({ length: 20_000 }, (_, i): RankInput => ({ titleId: `t${i}`, modelScore: Math.fround(((i * 7919) % 20_000) / 20_000) }));
    const info = await tf.profile(async () => {
      await rankOnDevice(candidates, 100);
      return [];
    });
    const names = info.kernels.map((k) => k.name);
    // 20k columns -> 10 chunks of 2,048 -> 2,560 -> 2 chunks -> 512 -> 1 chunk: three rounds.
    if (path === 'chunked') expect(names.filter((n) => n === CHUNK_TOP_K)).toHaveLength(3);
    expect(names.includes('TopK')).toBe(path === 'tfjs');
  });

  it('keeps no tensors beyond its own, and none after dispose', async () => {
    const before = tf.memory().numTensors;
    const ranker = new TensorRanker([{ titleId: 'a' }, { titleId: 'b', popularity: 3 }], { topK: path });
    const s = tf.tensor1d([0.1, 0.2]);
    await ranker.rank(s, 2);
    s.dispose();
    ranker.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
