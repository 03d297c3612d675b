import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { syntheticRawData } from '../src/data/synthetic.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { fit } from '../src/train.ts';
import { evaluate, modelScorer } from '../src/eval.ts';
import { mostPop } from '../src/baselines.ts';

describe('training smoke test (tiny synthetic world, fixed seed)', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('beats MostPop on full-ranking NDCG@10 and is deterministic', async () => {
    const d = buildDataset(await syntheticRawData({ seed: 5, titles: 300, members: 300, sessionsPerMember: 15 }));
    const split = leaveOneOut(d);
    expect(split.test.length).toBeGreaterThan(200);
    const opts = { model: { maxLen: 32, dim: 32, layers: 1 }, train: { maxEpochs: 6, patience: 6, seed: 9, timeBudgetSec: 60 } };
    const r = await fit(d, split, opts);
    const cut = Int32Array.from(d.seqs, (s) => s.items.length);
    for (const c of split.test) cut[c.user] = c.end;
    const model = await evaluate(d, split.test, modelScorer(r.params, r.config, d));
    const pop = await evaluate(d, split.test, mostPop(d, cut));
    expect(model.full.ndcg10).toBeGreaterThan(pop.full.ndcg10 * 1.1);
    expect(model.sampled100.ndcg10).toBeGreaterThan(pop.sampled100.ndcg10);
    // same seed -> same weights
    const r2 = await fit(d, split, opts);
    expect(Array.from(r2.params['b0.qkv.w']!.dataSync())).toEqual(Array.from(r.params['b0.qkv.w']!.dataSync()));
    expect(r2.epochs.map((e) => e.loss)).toEqual(r.epochs.map((e) => e.loss));
    for (const p of [r.params, r2.params]) Object.values(p).forEach((t) => t.dispose());
  }, 120_000);
});
