import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { evaluate, modelScorer } from '../src/eval.ts';
import { initParams, scoreItems } from '../src/model.ts';
import { historyItems } from '../src/data/split.ts';
import { summarizeRanks } from '../src/metrics.ts';
import { itemMetaArrays, modelConfigFor } from '../src/train.ts';
import { Rng } from '../src/rng.ts';
import type { RawData } from '../src/data/types.ts';

// Six members, each shown a title and then playing it, over a 10-title catalog.
const raw = (): RawData => ({
  name: 'tiny',
  interactions: Array.from({ length: 6 }, (_, u) =>
    [0, 1, 2, 3].flatMap((k) => {
      const item = `t${(u + k * 3) % 10}`;
      return [
        { user: `m${u}`, item, ts: 2 * k, event: 'impression' as const },
        { user: `m${u}`, item, ts: 2 * k + 1, event: 'play' as const, fraction: 0.5 },
      ];
    }),
  ).flat(),
});

describe('evaluation harness', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('the model scorer leaks no tensor per evaluation', async () => {
    const d = buildDataset(raw());
    const split = leaveOneOut(d);
    const c = modelConfigFor(d, { dim: 8, maxLen: 8, layers: 1 });
    const r = new Rng(3);
    const p = initParams(c, itemMetaArrays(d, c), () => r.normal());
    await evaluate(d, split.test, modelScorer(p, c, d)); // warm-up (kernels, cached masks)
    const before = tf.memory().numTensors;
    // a fresh scorer per evaluation, as the trainer's per-epoch validation makes one
    for (let i = 0; i < 3; i++) await evaluate(d, split.test, modelScorer(p, c, d), { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    Object.values(p).forEach((t) => t.dispose());
  });

  it('batched full ranking gives the ranks of scoring and ranking each user alone', async () => {
    const d = buildDataset(raw());
    const split = leaveOneOut(d);
    const c = modelConfigFor(d, { dim: 8, maxLen: 8, layers: 1 });
    const r = new Rng(5);
    const p = initParams(c, itemMetaArrays(d, c), () => r.normal());
    // one user at a time: score every item, count the items above the target (ties half), history excluded
    const ranks: number[] = [];
    for (const k of split.test) {
      const s = d.seqs[k.user]!;
      const sc = await scoreItems(p, c, { items: s.items.subarray(0, k.end), events: s.events.subarray(0, k.end), fracs: s.fracs.subarray(0, k.end) });
      const hist = historyItems(d, k.user, k.end);
      let rank = 0;
      for (let j = 1; j < sc.length; j++) if (j !== k.target && !hist.has(j)) rank += sc[j]! > sc[k.target]! ? 1 : sc[j] === sc[k.target] ? 0.5 : 0;
      ranks.push(rank);
    }
    const one = summarizeRanks(ranks);
    for (const batchSize of [1, 4, 256]) {
      const m = await evaluate(d, split.test, modelScorer(p, c, d), { batchSize, fullOnly: true });
      expect(m.full.ndcg10).toBeCloseTo(one.ndcg10, 6);
      expect(m.full.mrr).toBeCloseTo(one.mrr, 6);
      expect(m.full.hr10).toBe(one.hr10);
    }
    Object.values(p).forEach((t) => t.dispose());
  });

  it('refuses histories with impression tokens: the target\'s own impression would be the last input', async () => {
    const d = buildDataset(raw(), { includeImpressions: true });
    const split = leaveOneOut(d);
    // the leak this guards against: the token just before every test target is the target's impression
    for (const k of split.test) expect(d.seqs[k.user]!.items[k.end - 1]).toBe(k.target);
    const constant = () => split.test.map(() => new Float32Array(d.itemIds.length + 1));
    await expect(evaluate(d, split.test, constant)).rejects.toThrow(/impression/);
    // without impressions the same data evaluates
    const clean = buildDataset(raw());
    await expect(evaluate(clean, leaveOneOut(clean).test, constant)).resolves.toBeDefined();
  });
});
