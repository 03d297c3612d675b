import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './setup-backend.ts';
import { syntheticRawData } from '../src/data/synthetic.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { fit } from '../src/train.ts';
import { splitLossBatch } from '../src/train-step.ts';
import type { LossBatch } from '../src/loss.ts';

describe('data-parallel training (gradient workers)', () => {
  beforeAll(() => useBackend('wasm'), 120_000);

  it('splits a batch into shares of whole rows that keep every target position once', () => {
    const T = 4;
    // rows with 3, 1, 2, 2 targets
    const positions = Int32Array.from([0, 1, 2, 4, 8, 9, 12, 13]);
    const b: LossBatch = {
      B: 4, T, items: Int32Array.from({ length: 16 }, (_, i) => i + 1), events: new Int32Array(16), fracs: new Int32Array(16),
      positions, targets: Int32Array.from(positions, (p) => 100 + p), targetLogQ: Float32Array.from(positions, (p) => -p),
      candidates: { ids: Int32Array.from([5, 6]) },
    };
    const [a, c] = splitLossBatch(b, 2);
    expect(a!.B + c!.B).toBe(4);
    expect(a!.positions.length + c!.positions.length).toBe(8);
    // share 2's positions are relative to its first row; its targets and logQ follow them
    const first = a!.B * T;
    expect(Array.from(c!.positions, (p) => p + first)).toEqual(Array.from(positions.slice(a!.positions.length)));
    expect(Array.from(c!.targets)).toEqual(Array.from(positions.slice(a!.positions.length), (p) => 100 + p));
    expect(Array.from(c!.items.slice(0, T))).toEqual(Array.from(b.items.slice(first, first + T)));
    expect(Array.from(c!.targetLogQ!)).toEqual(Array.from(positions.slice(a!.positions.length), (p) => -p));
    expect(c!.candidates).toBe(b.candidates);
  });

  for (const objective of ['full softmax', 'sampled softmax with logQ', 'sampled softmax, untied input table'] as const) {
    it(`two replicas train the same weights as one (${objective})`, async () => {
      const d = buildDataset(await syntheticRawData({ seed: 3, titles: 200, members: 120, sessionsPerMember: 10 }));
      const split = leaveOneOut(d);
      const train = {
        maxEpochs: 1, seed: 4, timeBudgetSec: 120, itemIdDropout: 0, tokensPerBatch: 512, refitEpochs: 0,
        fullSoftmaxMaxItems: objective === 'full softmax' ? 5000 : 0, negatives: 64,
      };
      const untied = objective === 'sampled softmax, untied input table';
      const model = { maxLen: 16, dim: 16, layers: 1, dropout: 0, untiedInput: untied };
      const one = await fit(d, split, { model, train: { ...train, workers: 1 } });
      const two = await fit(d, split, { model, train: { ...train, workers: 2 } });
      const init = await fit(d, split, { model, train: { ...train, learningRate: 1e-6 } }); // ~ the initial weights
      expect(two.replicaPositionsPerSec).toHaveLength(2);
      expect(two.positions).toBe(one.positions);
      expect(two.epochs[0]!.loss).toBeCloseTo(one.epochs[0]!.loss, 4);
      for (const name of ['item.id', 'b0.qkv.w', 'b0.ffn2.w', 'pos', 'lnf.g', ...(untied ? ['item.in'] : [])]) {
        const a = one.params[name]!.dataSync();
        const b = two.params[name]!.dataSync();
        let maxDiff = 0;
        let moved = 0;
        for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        expect(maxDiff, name).toBeLessThan(1e-4);
        // and the weights did move, so equality is not trivially true
        const z = init.params[name]!.dataSync();
        for (let i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i]! - z[i]!));
        expect(moved, name).toBeGreaterThan(1e-3);
      }
      for (const p of [one.params, two.params, init.params]) Object.values(p).forEach((t) => t.dispose());
    }, 240_000);
  }
});
