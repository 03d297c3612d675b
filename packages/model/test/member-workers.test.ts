import { beforeAll, describe, expect, it } from 'vitest';
import { MemberWorkerInitSchema, TrainSettingsSchema } from '@marquee/core';
import { useBackend } from './setup-backend.ts';
import { syntheticRawData } from '../src/data/synthetic.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { makeTrainConfig, resolveTimeBudget, TRAIN_DEFAULTS } from '../src/config.ts';
import { DEFAULT_MEMBERS, defaultMembers, memberShare, memberThreadsFor, trainArtifact } from '../src/train-artifact.ts';
import { fitInWorker } from '../src/member-workers.ts';
import { modelConfigFor } from '../src/train.ts';

describe('ensemble members trained at once, one worker thread each', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('end weight for weight as members trained one after another, each on the whole budget', async () => {
    const raw = await syntheticRawData({ seed: 5, titles: 300, members: 200, sessionsPerMember: 15 });
    const opts = { model: { dim: 16, layers: 1, maxLen: 32, untiedInput: false, members: 2 }, train: { maxEpochs: 3, patience: 3, seed: 9, timeBudgetSec: 120 }, progress: false };
    const apart = await trainArtifact(raw, { ...opts, memberThreads: 2 });
    const after = await trainArtifact(raw, { ...opts, memberThreads: 1 });
    try {
      expect(apart.memberThreads).toBe(2);
      expect(after.memberThreads).toBe(1);
      expect(apart.members.map((m) => m.seed)).toEqual([9, 10]);
      // Every member got the whole budget, not a share of it.
      for (const f of apart.members) expect(f.epochs).toBe(3);
      expect(apart.fit.epochs.map((e) => e.loss)).toEqual(after.fit.epochs.map((e) => e.loss));
      expect(Object.keys(apart.fit.params).sort()).toEqual(Object.keys(after.fit.params).sort());
      for (const [name, t] of Object.entries(after.fit.params)) {
        expect(Array.from(apart.fit.params[name]!.dataSync()), name).toEqual(Array.from(t.dataSync()));
      }
      expect(apart.fit.bestValNdcg10).toBe(after.fit.bestValNdcg10);
      expect(apart.fit.positions).toBe(after.fit.positions);
      // The reported time is the wall time the members took together: at least the slower one's (worker start-up
      // included), where one after another it is their sum.
      expect(apart.fit.seconds).toBeGreaterThanOrEqual(Math.max(...apart.members.map((m) => m.seconds)));
      expect(after.fit.seconds).toBeCloseTo(after.members[0]!.seconds + after.members[1]!.seconds, 9);
    } finally {
      apart.dispose();
      after.dispose();
    }
  }, 300_000);

  it('trains the default ensemble where members is not given, and one model where a refit is asked for', async () => {
    const raw = await syntheticRawData({ seed: 5, titles: 200, members: 100, sessionsPerMember: 10 });
    const opts = { model: { dim: 8, layers: 1, maxLen: 16, untiedInput: false }, progress: false };
    const byDefault = await trainArtifact(raw, { ...opts, train: { maxEpochs: 1, timeBudgetSec: 120 } });
    const refit = await trainArtifact(raw, { ...opts, train: { maxEpochs: 1, timeBudgetSec: 120, refitEpochs: 1 } });
    try {
      const n = defaultMembers('wasm', 1);
      expect(byDefault.fit.config.members).toBe(n);
      expect(byDefault.members.map((m) => m.seed)).toEqual(n > 1 ? Array.from({ length: n }, (_, k) => 42 + k) : []);
      expect(refit.fit.config.members).toBe(1);
      expect(refit.fit.refitEpochs).toBe(1);
    } finally {
      byDefault.dispose();
      refit.dispose();
    }
  }, 300_000);

  it('passes a member worker\'s failure on with its reason', async () => {
    // Every member has one play: no training window, which fit refuses (in the worker).
    const d = buildDataset({ name: 'one-play', interactions: [{ user: 'a', item: 'x', ts: 1 }, { user: 'b', item: 'y', ts: 2 }] });
    const config = modelConfigFor(d, { dim: 8, layers: 1, maxLen: 8 });
    await expect(fitInWorker(d, config, makeTrainConfig({ maxEpochs: 1, timeBudgetSec: 10 }))).rejects.toThrow(/member worker \(seed 42\): .*no training windows/);
  }, 120_000);

  it('stops a member worker when told to', async () => {
    const d = buildDataset(await syntheticRawData({ seed: 5, titles: 100, members: 50, sessionsPerMember: 10 }));
    const stop = new AbortController();
    const running = fitInWorker(d, modelConfigFor(d, { dim: 8, layers: 1, maxLen: 8 }), makeTrainConfig({ maxEpochs: 50, timeBudgetSec: 60 }), undefined, stop.signal);
    stop.abort('test');
    await expect(running).rejects.toThrow(/stopped \(test\)/);
    // Told before it starts, it starts nothing.
    await expect(fitInWorker(d, modelConfigFor(d, { dim: 8, layers: 1, maxLen: 8 }), makeTrainConfig({ maxEpochs: 50, timeBudgetSec: 60 }), undefined, stop.signal)).rejects.toThrow(/stopped \(test\)/);
  });

  it('uses one thread per member up to the cores, on wasm with one data-parallel worker, unless told', () => {
    expect(memberThreadsFor(1, 'wasm', 1, undefined, 2)).toBe(1);
    expect(memberThreadsFor(2, 'wasm', 1, undefined, 2)).toBe(2);
    expect(memberThreadsFor(3, 'wasm', 1, undefined, 2)).toBe(2);
    expect(memberThreadsFor(2, 'wasm', 2, undefined, 2)).toBe(1);
    expect(memberThreadsFor(2, 'cpu', 1, undefined, 2)).toBe(1);
    expect(memberThreadsFor(2, 'wasm', 1, 1, 2)).toBe(1);
    expect(memberThreadsFor(2, 'wasm', 1, 4, 2)).toBe(2);
    expect(() => memberThreadsFor(2, 'webgpu', 1, 2)).toThrow(/wasm, not webgpu/);
    expect(() => memberThreadsFor(2, 'wasm', 1, 0)).toThrow(/positive integer/);
    // The default ensemble only where its members can train at once; one after another, one model has more time.
    expect(defaultMembers('wasm', 1, 2)).toBe(DEFAULT_MEMBERS);
    expect(defaultMembers('wasm', 1, 1)).toBe(1);
    expect(defaultMembers('wasm', 2, 2)).toBe(1);
    expect(defaultMembers('webgpu', 1, 16)).toBe(1);
  });

  it('gives a member starting late what is left before the deadline, divided by the rounds still to come', () => {
    // 4 members, 2 at a time, 450 s: the first two get half each.
    expect(memberShare(450, 4, 2)).toBe(225);
    expect(memberShare(450, 3, 2)).toBe(225);
    // The first member stopped early at 190 s: the third starts with the 260 s left (one round to come), and the
    // fourth, starting when the second stops at 225 s, with the 225 s left: no member runs past the deadline.
    expect(memberShare(450 - 190, 2, 2)).toBe(260);
    expect(memberShare(450 - 225, 1, 2)).toBe(225);
    // One after another: an equal share of what is left; all at once: all of it.
    expect(memberShare(300, 3, 1)).toBe(100);
    expect(memberShare(300, 4, 4)).toBe(300);
    // Past the deadline a member still gets a second (it stops after its first epoch).
    expect(memberShare(-5, 1, 2)).toBe(1);
    // The auto budget the deadline comes from: 450 s per 100k interactions within [540, 1500] s; one asked for wins.
    const auto = makeTrainConfig();
    expect(resolveTimeBudget(auto, 100_000)).toBe(540);
    expect(resolveTimeBudget(auto, 291_446)).toBeCloseTo(1311.507, 3);
    expect(resolveTimeBudget(auto, 1_000_000)).toBe(1500);
    expect(resolveTimeBudget(makeTrainConfig({ timeBudgetSec: 60 }), 100_000)).toBe(60);
  });

  it('sends every training setting: the worker schema and the trainer\'s config have the same keys', () => {
    expect(Object.keys(TrainSettingsSchema.shape).sort()).toEqual(Object.keys(TRAIN_DEFAULTS).sort());
    expect(TrainSettingsSchema.parse({ ...TRAIN_DEFAULTS })).toEqual(TRAIN_DEFAULTS);
    // A setting the schema does not know is refused, not dropped.
    expect(TrainSettingsSchema.safeParse({ ...TRAIN_DEFAULTS, newSetting: 1 }).success).toBe(false);
    const d = buildDataset({ name: 'tiny', interactions: [{ user: 'a', item: 'x', ts: 1 }, { user: 'a', item: 'y', ts: 2 }] });
    const init = MemberWorkerInitSchema.safeParse({ dataset: d, model: { ...modelConfigFor(d, {}) }, train: makeTrainConfig() });
    expect(init.success, init.error?.message).toBe(true);
  });
});
