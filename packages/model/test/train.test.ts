import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { syntheticRawData } from '../src/data/synthetic.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut, withValidationTargets } from '../src/data/split.ts';
import { fit, logFrequencyPrior, meanSnapshot, successorMeans } from '../src/train.ts';
import { evaluate, modelScorer } from '../src/eval.ts';
import { BASELINES, itemKnn, mostPop } from '../src/baselines.ts';
import { chooseUntiedInput, keptMaxLen, MAX_LEN_SEARCH, MAX_LEN_TOLERANCE, maxLenCandidates, trainArtifact } from '../src/train-artifact.ts';
import { runPipeline } from '../src/pipeline.ts';
import { makeModelConfig, UNTIED_INPUT_DROPOUT } from '../src/config.ts';
import { ensembleMembers } from '../src/model.ts';

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

  it('idLearningRateScale scales how far the item-id table moves, not the other weights', async () => {
    const d = buildDataset(await syntheticRawData({ seed: 5, titles: 200, members: 120, sessionsPerMember: 8 }));
    const split = leaveOneOut(d);
    const run = async (idLearningRateScale: number) => {
      const r = await fit(d, split, { model: { maxLen: 16, dim: 16, layers: 1 }, train: { maxEpochs: 1, seed: 3, tokensPerBatch: 256, timeBudgetSec: 60, averageTop: 1, idLearningRateScale } });
      const out = { id: Float32Array.from(r.params['item.id']!.dataSync()), dense: Float32Array.from(r.params['b0.ffn1.w']!.dataSync()) };
      Object.values(r.params).forEach((t) => t.dispose());
      return out;
    };
    // A thousandth of the rate leaves the tables (almost) at their initial values: the reference for how far they moved.
    const [still, one, two] = [await run(1e-3), await run(1), await run(2)];
    const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));
    const idRatio = dist(two.id, still.id) / dist(one.id, still.id);
    expect(idRatio).toBeGreaterThan(1.6);
    expect(idRatio).toBeLessThan(2.4);
    // The dense weights train at learningRate in all three runs: they end close whatever the tables' rate.
    expect(dist(two.dense, one.dense)).toBeLessThan(0.5 * dist(one.id, still.id));
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
    // No refit: the returned weights are the chosen ones, so their validation figure must match.
    const opts = { model: { maxLen: 32, dim: 32, layers: 1 }, train: { maxEpochs: 5, patience: 5, seed: 9, timeBudgetSec: 60, refitEpochs: 0 } };
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

describe('history length chosen before training (trainArtifact without model.maxLen)', () => {
  it('searches only where a quarter of the histories are longer than the shorter length', () => {
    const [short, long] = MAX_LEN_SEARCH;
    const histories = (longer: number, total: number) => Int32Array.from({ length: total }, (_, i) => (i < longer ? short + 1 : short));
    expect(maxLenCandidates(histories(25, 100))).toEqual([short, long]);
    expect(maxLenCandidates(histories(24, 100))).toEqual([long]);
    expect(maxLenCandidates(histories(100, 100), { maxLen: 80 })).toEqual([80]);
  });

  it('keeps the longest length whose windowed ItemKNN is within the tolerance of the best', () => {
    const trial = (maxLen: number, knnValNdcg10: number) => ({ maxLen, knnValNdcg10 });
    expect(keptMaxLen([trial(50, 0.10), trial(200, 0.08)], 0.05)).toBe(50);
    expect(keptMaxLen([trial(50, 0.10), trial(200, 0.096)], 0.05)).toBe(200);
    expect(keptMaxLen([trial(50, 0.09), trial(200, 0.10)], 0.05)).toBe(200);
  });

  it('chooses the length before training and gives it the whole budget', async () => {
    const raw = await syntheticRawData({ seed: 5, titles: 300, members: 120, sessionsPerMember: 100 });
    const t = await trainArtifact(raw, { model: { dim: 16, layers: 1, members: 1 }, train: { maxEpochs: 2, seed: 9, timeBudgetSec: 60 }, progress: false });
    try {
      expect(t.maxLenSearch.map((m) => m.maxLen)).toEqual([...MAX_LEN_SEARCH]);
      // The pick is the windowed ItemKNN's (on the validation users, fit on the training interactions), not a model's.
      for (const m of t.maxLenSearch) {
        const knn = await evaluate(t.dataset, t.split.val, itemKnn(t.dataset, t.split.trainEnd, { window: m.maxLen }), { fullOnly: true });
        expect(m.knnValNdcg10).toBeCloseTo(knn.full.ndcg10, 9);
      }
      expect(t.fit.config.maxLen).toBe(keptMaxLen(t.maxLenSearch, MAX_LEN_TOLERANCE));
      // One model trained, on the budget less the choice's seconds.
      expect(t.fit.train.timeBudgetSec).toBeCloseTo(60 - t.searchSeconds, 6);
      expect(t.fit.train.timeBudgetSec).toBeGreaterThan(55);
      expect(t.members).toEqual([]);
    } finally {
      t.dispose();
    }
  }, 180_000);

  it('trains an ensemble member by member (seeds seed, seed + 1), each on its share of the budget, and scores with all of them', async () => {
    const raw = await syntheticRawData({ seed: 5, titles: 300, members: 200, sessionsPerMember: 15 });
    const opts = { model: { dim: 16, layers: 1, maxLen: 32, untiedInput: false }, train: { maxEpochs: 3, patience: 3, seed: 9, timeBudgetSec: 60 }, progress: false, memberThreads: 1 };
    const t = await trainArtifact(raw, { ...opts, model: { ...opts.model, members: 2 } });
    const single = await trainArtifact(raw, { ...opts, model: { ...opts.model, members: 1 } });
    try {
      expect(t.fit.config.members).toBe(2);
      expect(t.members.map((m) => m.seed)).toEqual([9, 10]);
      expect(t.fit.epochs).toHaveLength(t.members.reduce((a, m) => a + m.epochs, 0));
      // Member 0 is the single model of the same seed, weight for weight; member 1 differs.
      const [m0, m1] = ensembleMembers(t.fit.params, t.fit.config);
      expect(Array.from(m0!.params['b0.qkv.w']!.dataSync())).toEqual(Array.from(single.fit.params['b0.qkv.w']!.dataSync()));
      expect(Array.from(m1!.params['b0.qkv.w']!.dataSync())).not.toEqual(Array.from(m0!.params['b0.qkv.w']!.dataSync()));
      // The reported validation figure is the ensemble's own, on member 0's validation users.
      const valCases = t.split.val.length > t.fit.train.valUsers ? [] : t.split.val;
      const val = await evaluate(t.dataset, valCases, modelScorer(t.fit.params, t.fit.config, t.dataset), { fullOnly: true });
      expect(t.fit.bestValNdcg10).toBeCloseTo(val.full.ndcg10, 9);
      // The budget: member 1 gets what member 0 and the choice left.
      expect(t.fit.train.timeBudgetSec).toBe(60);
      expect(t.members[0]!.seconds + t.members[1]!.seconds).toBeLessThan(60);
      await expect(trainArtifact(raw, { ...opts, model: { ...opts.model, members: 2 }, train: { ...opts.train, refitEpochs: 1 } })).rejects.toThrow(/refit one model/);
      await expect(trainArtifact(raw, { ...opts, model: { ...opts.model, members: 0 } })).rejects.toThrow(/members must be a positive integer/);
    } finally {
      t.dispose();
      single.dispose();
    }
  }, 240_000);
});

describe('the input item table chosen before training (model.untiedInput)', () => {
  it('unties where the last title alone predicts the next (collections), keeps one table where taste does, and obeys an override', async () => {
    const sparse = buildDataset(await syntheticRawData({ preset: 'sparse', members: 3000, titles: 2400 }));
    const world = buildDataset(await syntheticRawData({ seed: 5, titles: 300, members: 300, sessionsPerMember: 15 }));
    const [s, w] = [leaveOneOut(sparse), leaveOneOut(world)];
    const a = await chooseUntiedInput(sparse, s, 2000, 42);
    const b = await chooseUntiedInput(world, w, 2000, 42);
    expect(a.untiedInput).toBe(true);
    expect(a.trial!.knnLastValNdcg10).toBeGreaterThan(a.trial!.knnRecencyValNdcg10);
    expect(b.untiedInput).toBe(false);
    expect(b.trial!.knnLastValNdcg10).toBeLessThanOrEqual(b.trial!.knnRecencyValNdcg10);
    // The trial's figures are the baselines' own on the validation users.
    const last = await evaluate(world, w.val, BASELINES.itemknn_last(world, w.trainEnd), { fullOnly: true });
    expect(b.trial!.knnLastValNdcg10).toBe(last.full.ndcg10);
    expect(await chooseUntiedInput(world, w, 2000, 42, { untiedInput: 1 })).toEqual({ untiedInput: true });
  }, 120_000);

  it('trains an untied model with dropout 0.5 and a tied one with 0.2, unless model.dropout is given', () => {
    const data = { numItems: 30, numGenres: 0, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5 };
    expect(makeModelConfig(data).dropout).toBe(0.2);
    // The bootstrap passes the tied table explicitly: its dropout stays.
    expect(makeModelConfig(data, { untiedInput: false }).dropout).toBe(0.2);
    expect(makeModelConfig(data, { untiedInput: 1 }).dropout).toBe(UNTIED_INPUT_DROPOUT);
    expect(UNTIED_INPUT_DROPOUT).toBe(0.5);
    expect(makeModelConfig(data, { untiedInput: true, dropout: 0.2 }).dropout).toBe(0.2);
    expect(makeModelConfig(data, { untiedInput: 0, dropout: 0.5 }).dropout).toBe(0.5);
  });
});

describe('refit on training + validation targets (train.refitEpochs)', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('itemBias starts from centered log(1 + training plays): validation and test targets not counted', () => {
    // u, v, w watched 1, 2, 3, 4 (3 validation, 4 test); x watched 1, 2 (too short to evaluate: all training).
    const d = buildDataset({ name: 'hand', interactions: [...['u', 'v', 'w'].flatMap((user) => ['1', '2', '3', '4'].map((item, ts) => ({ user, item, ts }))), { user: 'x', item: '1', ts: 0 }, { user: 'x', item: '2', ts: 1 }] });
    const split = leaveOneOut(d);
    const prior = logFrequencyPrior(d, split, 4);
    const plays: Record<string, number> = { '1': 4, '2': 4, '3': 0, '4': 0 }; // training cuts: u, v, w 1, 2; x 1, 2
    const mean = Object.values(plays).reduce((a, n) => a + Math.log1p(n), 0) / 4;
    expect(prior[0]).toBe(0);
    for (const [item, n] of Object.entries(plays)) expect(prior[d.itemIds.indexOf(item) + 1]).toBeCloseTo(Math.log1p(n) - mean, 6);
  });

  it('starts each title\'s input-only row at the scaled mean id embedding of what followed it in training', () => {
    // u watched 1, 2, 3, 4, 5 and v 1, 3, 2, 4, 5 (4 validation, 5 test): training transitions 1->2, 2->3, 1->3, 3->2.
    const d = buildDataset({ name: 'hand', interactions: [['u', ['1', '2', '3', '4', '5']], ['v', ['1', '3', '2', '4', '5']]].flatMap(([user, items]) => (items as string[]).map((item, ts) => ({ user: user as string, item, ts }))) });
    const split = leaveOneOut(d);
    const dim = 2;
    const row = (item: string) => d.itemIds.indexOf(item) + 1;
    const id = new Float32Array(6 * dim);
    for (let i = 1; i <= 5; i++) id.set([i, 10 * i], i * dim); // row i = (i, 10i)
    const out = successorMeans(d, split, id, dim, 2);
    const at = (item: string) => Array.from(out.subarray(row(item) * dim, row(item) * dim + dim));
    const idOf = (item: string) => Array.from(id.subarray(row(item) * dim, row(item) * dim + dim));
    const [i2, i3] = [idOf('2'), idOf('3')];
    expect(at('1')).toEqual([i2[0]! + i3[0]!, i2[1]! + i3[1]!]); // 2 x the mean of two successors
    expect(at('2')).toEqual(i3.map((x) => 2 * x));
    expect(at('3')).toEqual(i2.map((x) => 2 * x));
    expect(at('4')).toEqual([0, 0]); // 4 -> 5 crosses the held-out targets: not training
    expect(at('5')).toEqual([0, 0]);
    expect(Array.from(out.subarray(0, dim))).toEqual([0, 0]);
  });

  it('adds exactly each evaluated user\'s validation target to the training cut', () => {
    // u, v, w each watched 1, 2, 3, 4: 3 is the validation target (index 2), 4 the test target; x has too few to evaluate.
    const d = buildDataset({ name: 'hand', interactions: [...['u', 'v', 'w'].flatMap((user) => ['1', '2', '3', '4'].map((item, ts) => ({ user, item, ts }))), { user: 'x', item: '1', ts: 0 }, { user: 'x', item: '2', ts: 1 }] });
    const split = leaveOneOut(d);
    const cut = withValidationTargets(split);
    d.seqs.forEach((s, u) => {
      if (s.user === 'x') expect(cut[u]).toBe(2); // its whole (unevaluated) sequence, as before
      else {
        expect(split.trainEnd[u]).toBe(2);
        expect(cut[u]).toBe(3); // 1, 2, 3: the validation target, never the test one
      }
    });
  });

  it('starts from the chosen weights, trains on the validation targets, and the baselines see the same interactions', async () => {
    const spec = { seed: 5, titles: 300, members: 300, sessionsPerMember: 15 };
    const d = buildDataset(await syntheticRawData(spec));
    const split = leaveOneOut(d);
    const opts = { model: { maxLen: 32, dim: 32, layers: 1 }, train: { maxEpochs: 3, patience: 3, seed: 9, timeBudgetSec: 120 } };
    const plain = await fit(d, split, { ...opts, train: { ...opts.train, refitEpochs: 0 } });
    let before: number[] | undefined;
    const refit = await fit(d, split, {
      ...opts,
      train: { ...opts.train, refitEpochs: 1 },
      onBeforeRefit: async (p) => {
        before = Array.from(await p['b0.qkv.w']!.data());
      },
    });
    const weights = (r: typeof plain) => Array.from(r.params['b0.qkv.w']!.dataSync());
    expect(refit.epochs.map((e) => e.valNdcg10)).toEqual(plain.epochs.map((e) => e.valNdcg10));
    expect(before).toEqual(weights(plain)); // the refit starts from what training without it returns
    expect(refit.refitEpochs).toBe(1);
    expect(weights(refit)).not.toEqual(weights(plain));
    expect(Array.from(plain.trainCut)).toEqual(Array.from(split.trainEnd));
    expect(Array.from(refit.trainCut)).toEqual(Array.from(withValidationTargets(split)));
    for (const p of [plain.params, refit.params]) Object.values(p).forEach((t) => t.dispose());

    const r = await runPipeline({ format: 'synthetic', data: Object.entries(spec).map(([k, v]) => `${k}=${v}`).join(','), ...opts, train: { ...opts.train, refitEpochs: 1 }, progress: false, log: () => {} });
    expect(r.refit_epochs).toBe(1);
    expect(r.model_before_refit?.full.ndcg10).toBeGreaterThan(0);
    const knnSameCut = await evaluate(d, split.test, BASELINES.itemknn_last(d, withValidationTargets(split)));
    const knnTrainOnly = await evaluate(d, split.test, BASELINES.itemknn_last(d, split.trainEnd));
    expect(r.itemknn_last).toEqual(knnSameCut);
    expect(knnSameCut).not.toEqual(knnTrainOnly);
  }, 300_000);

  it('refitScratch is the same run again on training + validation targets, for the chosen epochs', async () => {
    const d = buildDataset(await syntheticRawData({ seed: 5, titles: 300, members: 300, sessionsPerMember: 15 }));
    const split = leaveOneOut(d);
    // One epoch, its weights alone: the refit must equal a plain run whose training cut already holds the validation targets.
    const opts = { model: { maxLen: 32, dim: 32, layers: 1 }, train: { maxEpochs: 1, patience: 1, averageTop: 1, seed: 9, timeBudgetSec: 120 } };
    const plain = await fit(d, split, opts);
    const refit = await fit(d, split, { ...opts, train: { ...opts.train, refitScratch: true } });
    const withVal = await fit(d, { ...split, trainEnd: withValidationTargets(split) }, opts);
    const weights = (r: typeof plain) => Array.from(r.params['b0.qkv.w']!.dataSync());
    expect(refit.refitEpochs).toBe(1);
    expect(Array.from(refit.trainCut)).toEqual(Array.from(withValidationTargets(split)));
    expect(weights(refit)).toEqual(weights(withVal));
    expect(weights(refit)).not.toEqual(weights(plain));
    expect(Array.from(refit.params['item.id']!.dataSync())).toEqual(Array.from(withVal.params['item.id']!.dataSync()));
    for (const p of [plain.params, refit.params, withVal.params]) Object.values(p).forEach((t) => t.dispose());
    await expect(fit(d, split, { ...opts, train: { ...opts.train, refitScratch: true, refitEpochs: 1 } })).rejects.toThrow(/two kinds of refit/);
  }, 300_000);
});
