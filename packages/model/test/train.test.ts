import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { syntheticRawData } from '../src/data/synthetic.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { fit, meanSnapshot } from '../src/train.ts';
import { evaluate, modelScorer } from '../src/eval.ts';
import { mostPop } from '../src/baselines.ts';
import { MAX_LEN_SEARCH, maxLenCandidates, trainArtifact } from '../src/train-artifact.ts';

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

describe('weight averaging over the best epochs (train.averageTop)', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('averages float tensors elementwise, named ones only', () => {
    const a = new Map<string, Float32Array | Int32Array>([['w', Float32Array.of(1, 2, -3)], ['year', Int32Array.of(4)]]);
    const b = new Map<string, Float32Array | Int32Array>([['w', Float32Array.of(3, 0, 1)], ['year', Int32Array.of(4)]]);
    const m = meanSnapshot([a, b], ['w']);
    expect(Array.from(m.get('w') ?? [])).toEqual([2, 1, -1]);
    expect(m.has('year')).toBe(false);
    expect(() => meanSnapshot([a, new Map([['w', Float32Array.of(1)]])], ['w'])).toThrow(/size/);
  });

  it('starts from the best epoch and never ends below its validation NDCG@10', async () => {
    const d = buildDataset(await syntheticRawData({ seed: 5, titles: 300, members: 300, sessionsPerMember: 15 }));
    const split = leaveOneOut(d);
    const opts = { model: { maxLen: 32, dim: 32, layers: 1 }, train: { maxEpochs: 5, patience: 5, seed: 9, timeBudgetSec: 60 } };
    const single = await fit(d, split, { ...opts, train: { ...opts.train, averageTop: 1 } });
    const averaged = await fit(d, split, { ...opts, train: { ...opts.train, averageTop: 4 } });
    // Same seed, same trajectory: only the end differs.
    expect(averaged.epochs.map((e) => e.valNdcg10)).toEqual(single.epochs.map((e) => e.valNdcg10));
    const bestVal = Math.max(...single.epochs.map((e) => e.valNdcg10));
    expect(single.bestValNdcg10).toBe(bestVal);
    expect(single.averagedEpochs).toEqual([single.bestEpoch]);
    expect(averaged.averagedEpochs[0]).toBe(single.bestEpoch);
    expect(averaged.bestValNdcg10).toBeGreaterThanOrEqual(bestVal);
    const weights = (r: typeof single) => Array.from(r.params['b0.qkv.w']!.dataSync());
    // More than one epoch averaged -> other weights than the best epoch's; one -> exactly them.
    if (averaged.averagedEpochs.length > 1) expect(weights(averaged)).not.toEqual(weights(single));
    else expect(weights(averaged)).toEqual(weights(single));
    // The returned model scores what the validation figure says.
    const val = await evaluate(d, split.val, modelScorer(averaged.params, averaged.config, d), { fullOnly: true });
    expect(val.full.ndcg10).toBeCloseTo(averaged.bestValNdcg10, 6);
    for (const p of [single.params, averaged.params]) Object.values(p).forEach((t) => t.dispose());
  }, 180_000);
});

describe('history length chosen on validation (trainArtifact without model.maxLen)', () => {
  it('searches only where a quarter of the histories are longer than the shorter length', () => {
    const [short, long] = MAX_LEN_SEARCH;
    const histories = (longer: number, total: number) => Int32Array.from({ length: total }, (_, i) => (i < longer ? short + 1 : short));
    expect(maxLenCandidates(histories(25, 100))).toEqual([short, long]);
    expect(maxLenCandidates(histories(24, 100))).toEqual([long]);
    expect(maxLenCandidates(histories(100, 100), { maxLen: 80 })).toEqual([80]);
  });

  it('trains each length on its share of the budget and keeps the best on validation', async () => {
    const raw = await syntheticRawData({ seed: 5, titles: 300, members: 120, sessionsPerMember: 100 });
    const t = await trainArtifact(raw, { model: { dim: 16, layers: 1 }, train: { maxEpochs: 2, seed: 9, timeBudgetSec: 60 }, progress: false });
    try {
      expect(t.maxLenSearch.map((m) => m.maxLen)).toEqual([...MAX_LEN_SEARCH]);
      const best = t.maxLenSearch.reduce((a, b) => (b.valNdcg10 > a.valNdcg10 ? b : a));
      expect(t.fit.config.maxLen).toBe(best.maxLen);
      expect(t.fit.bestValNdcg10).toBe(best.valNdcg10);
      expect(t.fit.train.timeBudgetSec).toBe(30);
    } finally {
      t.dispose();
    }
  }, 180_000);
});
