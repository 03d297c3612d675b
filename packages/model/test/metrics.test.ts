import { describe, expect, it } from 'vitest';
import { fullRank, hitRate, ndcg, rankAmong, reciprocalRank, summarizeRanks } from '../src/metrics.ts';

describe('metrics', () => {
  it('hand-computed values', () => {
    expect(ndcg(0)).toBe(1);
    expect(ndcg(1)).toBeCloseTo(1 / Math.log2(3), 12);
    expect(ndcg(9)).toBeCloseTo(1 / Math.log2(11), 12);
    expect(ndcg(10)).toBe(0);
    expect(hitRate(9)).toBe(1);
    expect(hitRate(10)).toBe(0);
    expect(reciprocalRank(3)).toBe(0.25);
    const m = summarizeRanks([0, 1, 20]);
    expect(m.hr10).toBeCloseTo(2 / 3, 12);
    expect(m.ndcg10).toBeCloseTo((1 + 1 / Math.log2(3)) / 3, 12);
    expect(m.mrr).toBeCloseTo((1 + 0.5 + 1 / 21) / 3, 12);
  });
  it('full rank skips padding, the target and excluded items; ties count half', () => {
    const scores = [-Infinity, 0.9, 0.5, 0.7, 0.5, 0.1];
    expect(fullRank(scores, 2, new Set())).toBe(2 + 0.5); // 1 and 3 above, 4 tied
    expect(fullRank(scores, 2, new Set([1, 4]))).toBe(1);
    expect(fullRank(scores, 1, new Set())).toBe(0);
  });
  it('rank among sampled candidates', () => {
    const scores = [0, 0.3, 0.2, 0.9, 0.3];
    expect(rankAmong(scores, 1, [2, 3, 4])).toBe(1.5);
    expect(rankAmong(scores, 3, [1, 2, 4])).toBe(0);
  });
  it('a non-finite target score gets the worst rank, never the best', () => {
    const scores = [-Infinity, 0.9, NaN, 0.7, 0.5, 0.1];
    expect(fullRank(scores, 2, new Set())).toBe(4); // all of 1, 3, 4, 5 above
    expect(fullRank(scores, 2, new Set([1]))).toBe(3);
    expect(rankAmong(scores, 2, [1, 3, 4])).toBe(3);
    expect(fullRank([-Infinity, 0.2, Infinity, 0.1], 2, new Set())).toBe(2);
    expect(fullRank([-Infinity, 0.2, -Infinity, 0.1], 2, new Set())).toBe(2);
    // NaN candidates never outrank a finite target
    expect(fullRank([-Infinity, NaN, 0.5, NaN], 2, new Set())).toBe(0);
  });
  it('full rank equals its definition on random scores with ties, exclusions and the target in its own history', () => {
    const definition = (sc: Float32Array, t: number, ex: Set<number>) => {
      let r = 0;
      for (let j = 1; j < sc.length; j++) if (j !== t && !ex.has(j)) r += sc[j]! > sc[t]! ? 1 : sc[j] === sc[t] ? 0.5 : 0;
      return r;
    };
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 200; k++) {
      const n = 2 + Math.floor(rand() * 60);
      const sc = Float32Array.from({ length: n }, () => Math.floor(rand() * 8) / 8); // coarse: many ties
      sc[0] = -Infinity;
      const t = 1 + Math.floor(rand() * (n - 1));
      const ex = new Set(Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * (n + 2))));
      expect(fullRank(sc, t, ex)).toBe(definition(sc, t, ex));
    }
  });
});
