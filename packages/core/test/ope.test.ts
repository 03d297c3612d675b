import { describe, expect, it } from 'vitest';
import { artwork as aw } from '../src/index.ts';
import { fnv1a32, SeededRandom } from '../src/random.ts';

const Z95 = 1.959963984540054;

describe("DR's cross-fitted direct model on a hand-computed log", () => {
  // No context and no action features: the model is an intercept plus the slot-0 intercept. With ridge 1 and n
  // decisions of reward sum S in slot 0, (X'X + I) beta = X'y is [[n+1, n], [n, n+1]] beta = [S, S], so both are
  // S / (2n + 1) and the prediction is 2S / (2n + 1).
  const acts = [{ id: 'A' }, { id: 'B' }];
  const log = [
    { action: 0, propensity: 0.5, reward: 1 },
    { action: 1, propensity: 0.5, reward: 0 },
    { action: 0, propensity: 0.25, reward: 1 },
    { action: 1, propensity: 0.75, reward: 1 },
  ].map((d) => aw.LoggedDecisionSchema.parse({ ...d, actions: acts }));
  const alwaysA: aw.TargetPolicy = () => [1, 0];

  it('each half is predicted by the model fitted on the other', () => {
    const [forEven, forOdd] = aw.crossFitRewardModels(log);
    // Odd decisions (1, 3): n 2, S 1 -> 2/5. Even decisions (0, 2): n 2, S 2 -> 4/5.
    expect(forEven(log[0]!, 1)).toBeCloseTo(0.4, 12);
    expect(forOdd(log[1]!, 0)).toBeCloseTo(0.8, 12);
  });
  it('phi = q + w (r - q): 1.6, 0.8, 2.8, 0.8; the interval from their spread, the model part included', () => {
    const e = aw.doublyRobust(log, alwaysA);
    expect(e.value).toBeCloseTo(1.5, 12);
    // Deviations 0.1, -0.7, 1.3, -0.7: sample variance 2.68 / 3, over n = 4.
    expect(e.stdError).toBeCloseTo(Math.sqrt(2.68 / 3 / 4), 12);
    expect(e.ciHigh - e.ciLow).toBeCloseTo(2 * Z95 * Math.sqrt(2.68 / 3 / 4), 9);
    // The same models passed in (as a bench evaluating several targets does) give the same estimate.
    expect(aw.doublyRobust(log, alwaysA, { models: aw.crossFitRewardModels(log) })).toEqual(e);
  });
  it('SNIPS: the ratio (delta-method) variance, not the IPS one', () => {
    // Weights 2, 0, 4, 0; V = (2 + 4) / 6 = 1; w (r - V) = 0 everywhere: the ratio has no spread here.
    const e = aw.snips(log, alwaysA);
    expect(e.value).toBeCloseTo(1, 12);
    expect(e.stdError).toBeCloseTo(0, 12);
    // IPS on the same log: terms 2, 0, 4, 0 (mean 1.5, sample variance 11 / 3): the weights' own noise.
    expect(aw.ips(log, alwaysA).stdError).toBeCloseTo(Math.sqrt(11 / 3 / 4), 12);
  });
});

describe('IPS and SNIPS when every weighted decision has the same reward', () => {
  it('give Wilson intervals over the effective sample size, not a point', () => {
    // The target shows A; A was logged twice (propensities 0.5 and 0.25: weights 2 and 4), never with a reward.
    // Normal: every term 0, spread 0, interval [0, 0]. ESS = 6^2 / 20 = 1.8; Wilson at p = 0 over m: [0, z^2 / (m + z^2)].
    const acts = [{ id: 'A' }, { id: 'B' }];
    const log = [
      { action: 0, propensity: 0.5, reward: 0 },
      { action: 1, propensity: 0.5, reward: 1 },
      { action: 0, propensity: 0.25, reward: 0 },
      { action: 1, propensity: 0.75, reward: 1 },
    ].map((d) => aw.LoggedDecisionSchema.parse({ ...d, actions: acts }));
    const alwaysA: aw.TargetPolicy = () => [1, 0];
    const upper = Z95 ** 2 / (1.8 + Z95 ** 2);
    const sn = aw.snips(log, alwaysA);
    expect([sn.value, sn.ciLow, sn.interval]).toEqual([0, 0, 'wilson']);
    expect(sn.ciHigh).toBeCloseTo(upper, 12);
    // IPS = mean(w) x SNIPS, mean(w) = 6 / 4.
    const e = aw.ips(log, alwaysA, undefined, { resamples: 200, seed: 1 });
    expect(e.interval).toBe('wilson');
    expect(e.ciHigh).toBeCloseTo(1.5 * upper, 12);
  });
});

describe('replay on a uniform log over unequal numbers of actions', () => {
  it('says it is biased: a decision with K actions is kept with probability 1/K', () => {
    // Title x (2 actions) logged twice, title y (4 actions) four times, every action once, uniformly. The target
    // shows the first action: worth 1 on x, 0 on y, so 2/6 = 1/3 over the log's titles.
    const two = [{ id: 'x1' }, { id: 'x2' }];
    const four = [{ id: 'y1' }, { id: 'y2' }, { id: 'y3' }, { id: 'y4' }];
    const log = [
      ...two.map((_, a) => ({ actions: two, action: a, propensity: 0.5, reward: a === 0 ? 1 : 0 })),
      ...four.map((_, a) => ({ actions: four, action: a, propensity: 0.25, reward: 0 })),
    ].map((d) => aw.LoggedDecisionSchema.parse(d));
    const first: aw.TargetPolicy = (d) => d.actions.map((_, a) => (a === 0 ? 1 : 0));
    // Replay keeps x1 (reward 1) and y1 (reward 0): 1/2, x counted as often as y though it is half as frequent.
    const e = aw.replay(log, first);
    expect(e.value).toBe(0.5);
    expect(e.note).toMatch(/number of actions varies/);
    // IPS weights them by 1/propensity, 2 and 4: (2 x 1 + 4 x 0) / 6 = 1/3.
    expect(aw.ips(log, first).value).toBeCloseTo(1 / 3, 12);
  });
});

describe('bootstrap-t on a hand-computed log', () => {
  it('the interval is V - t*(97.5%) se .. V - t*(2.5%) se of the resampled t*', () => {
    // Two terms, 0 and 2: V = 1, se = sd / sqrt(2) = sqrt(2) / sqrt(2) = 1. A resample is (0,0), (2,2) (se* 0,
    // V* != V: t* -inf / +inf) or a mix (V* = V: t* 0); so the quantiles, and the interval, are infinite whenever both
    // pure resamples occur (they do in 2,000), and the estimate says it cannot be bounded from two decisions.
    const [lo, hi] = aw.bootstrapT([0, 2], null, 1, 1, { resamples: 2000, seed: 1 });
    expect(lo).toBe(-Infinity);
    expect(hi).toBe(Infinity);
  });
  it('is seeded: the same seed gives the same interval, another seed a different one', () => {
    const a = Array.from({ length: 50 }, (_, i) => ((i * i) % 11) / 3);
    const first = aw.bootstrapT(a, null, 1.5, 0.2, { resamples: 500, seed: 3 });
    expect(aw.bootstrapT(a, null, 1.5, 0.2, { resamples: 500, seed: 3 })).toEqual(first);
    expect(aw.bootstrapT(a, null, 1.5, 0.2, { resamples: 500, seed: 4 })).not.toEqual(first);
  });
});

describe('interval calibration on seeded logs with unequal propensities', () => {
  // Three actions with true rates 0.1, 0.3, 0.5; the target chooses them with 0.1, 0.2, 0.7: true value
  // 0.01 + 0.06 + 0.35 = 0.42.
  const rates = [0.1, 0.3, 0.5];
  const targetProbs = [0.1, 0.2, 0.7];
  const truth = 0.42;
  const acts = rates.map((_, k) => ({ id: `a${k}`, features: rates.map((_, j) => (j === k ? 1 : 0)) }));
  const target: aw.TargetPolicy = () => targetProbs;
  const logOf = (logging: readonly number[], seed: number, n: number) => {
    // Hashed seeds, not consecutive ones: neighbouring mulberry32 seeds are not shown to give independent streams.
    const rng = new SeededRandom(fnv1a32(`calibration|${seed}`));
    const log: aw.LoggedDecision[] = [];
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      const a = u < logging[0]! ? 0 : u < logging[0]! + logging[1]! ? 1 : 2;
      log.push({ context: [], actions: acts, action: a, position: 0, reward: rng.next() < rates[a]! ? 1 : 0, propensity: logging[a]! });
    }
    return log;
  };
  const calibration = (logging: readonly number[], reps: number, n: number, resamples?: number) => {
    const by = new Map<string, { covered: number; z: number[] }>();
    for (let rep = 0; rep < reps; rep++) {
      const log = logOf(logging, rep, n);
      const b = resamples ? { resamples, seed: rep } : undefined;
      for (const e of [aw.ips(log, target, undefined, b), aw.snips(log, target, undefined, b), aw.doublyRobust(log, target, { bootstrap: b })]) {
        const s = by.get(e.estimator) ?? { covered: 0, z: [] };
        if (e.ciLow <= truth && truth <= e.ciHigh) s.covered++;
        s.z.push((e.value - truth) / e.stdError);
        by.set(e.estimator, s);
      }
    }
    return by;
  };
  const meanSd = (z: number[]) => {
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    return { mean, sd: Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / (z.length - 1)) };
  };

  // Logged with 0.6, 0.3, 0.1 (weights up to 7), 400 logs of 3,000 decisions: the normal interval is right there
  // (measured 94.5, 96.3, 95.5%). Monte-Carlo sd of a 95% coverage over 400 logs: 1.1 points; of the errors' sd: ~0.035.
  const normal = calibration([0.6, 0.3, 0.1], 400, 3000);
  it.each([['ips'], ['snips'], ['dr']])('%s, normal interval, weights up to 7, 3,000 decisions: covers ~95%, errors ~1 standard error', (estimator) => {
    const s = normal.get(estimator)!;
    expect(s.covered / 400).toBeGreaterThan(0.925);
    expect(s.covered / 400).toBeLessThan(0.975);
    const { mean, sd } = meanSd(s.z);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(sd).toBeGreaterThan(0.92);
    expect(sd).toBeLessThan(1.08);
  });

  // Logged with 0.78, 0.2, 0.02 (the target's favourite has weight 35, about 10 draws in a log of 500): the error is
  // skewed and moves with its standard error, and the normal interval covers 85-89% (measured, 300 logs); bootstrap-t
  // (499 resamples) covers 95-99%, at the price of width where the log says least (IPS x2.1, DR x1.05).
  const heavyNormal = calibration([0.78, 0.2, 0.02], 300, 500);
  const heavyBootstrap = calibration([0.78, 0.2, 0.02], 300, 500, 499);
  it.each([['ips'], ['snips'], ['dr']])('%s, weights up to 35, 500 decisions: bootstrap-t covers >= 93%, the normal interval does not', (estimator) => {
    const b = heavyBootstrap.get(estimator)!.covered / 300;
    const n = heavyNormal.get(estimator)!.covered / 300;
    expect(n).toBeLessThan(0.92);
    expect(b).toBeGreaterThan(0.93);
    expect(b).toBeGreaterThan(n + 0.03);
  });
});
