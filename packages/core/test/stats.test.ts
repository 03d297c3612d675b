import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival, cuped, cupedSums, interleavingPreference, normalCdf, normalQuantile, power, ratioEstimate, ratioDifference,
  sampleSizePerArm, sequentialTest, srmTest, studentTQuantile, welch, moments,
} from '../src/index.ts';

// Expected values are from statistical tables or worked by hand in the comments; none is computed by the code.
describe('distributions', () => {
  it('normal', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });
  it('student t quantiles (tables)', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228139, 5);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042272, 5);
  });
  it('chi-square critical values at 0.05 (tables)', () => {
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(5.991465, 2)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(7.814728, 3)).toBeCloseTo(0.05, 6);
  });
});

describe('welch', () => {
  it('two small samples (as R: t.test(c(2,4,6,8), c(1,2,3,4)))', () => {
    // means 2.5 and 5, variances 5/3 and 20/3: se = sqrt(5/12 + 20/12) = 1.443376,
    // df = (25/12)^2 / ((5/12)^2/3 + (20/12)^2/3) = 4.411765, CI -1.3642 .. 6.3642, p 0.1516.
    const d = welch(moments([1, 2, 3, 4]), moments([2, 4, 6, 8]));
    expect(d.estimate).toBe(2.5);
    expect(d.se).toBeCloseTo(1.443376, 6);
    expect(d.df).toBeCloseTo(4.411765, 6);
    expect(d.ci[0]).toBeCloseTo(-1.3642, 3);
    expect(d.ci[1]).toBeCloseTo(6.3642, 3);
    expect(d.pValue).toBeCloseTo(0.1516, 3);
    expect(d.relative).toBe(1);
  });
});

describe('delta method', () => {
  it('ratio of means, by hand', () => {
    // x = [1,2,3], y = [1,1,2]: mx 2, my 4/3, var x 1, var y 1/3, cov 1/2;
    // Var R = (1/(16/9) - 2*2*0.5/(64/27) + 4*(1/3)/(256/81)) / 3 = (0.5625 - 0.84375 + 0.421875) / 3 = 0.046875.
    const s = { n: 3, sumX: 6, sumY: 4, sumXX: 14, sumYY: 6, sumXY: 9 };
    const r = ratioEstimate(s);
    expect(r.ratio).toBeCloseTo(1.5, 12);
    expect(r.variance).toBeCloseTo(0.046875, 12);
    const d = ratioDifference(s, s);
    expect(d.estimate).toBe(0);
    expect(d.se).toBeCloseTo(Math.sqrt(2 * 0.046875), 12);
  });
});

describe('sample ratio mismatch', () => {
  it('flags a planted mismatch and passes a fair split', () => {
    // 5000 vs 5400 at 50/50: expected 5200 each, chi2 = 2 * 200^2 / 5200 = 15.3846, p ~ 8.8e-5.
    const bad = srmTest([5000, 5400], [1, 1]);
    expect(bad.chiSquare).toBeCloseTo(15.3846, 4);
    expect(bad.pValue).toBeLessThan(0.001);
    expect(bad.mismatch).toBe(true);
    // 5000 vs 5050: chi2 = 2 * 25^2 / 5025 = 0.24876, p 0.618.
    const fair = srmTest([5000, 5050], [1, 1]);
    expect(fair.chiSquare).toBeCloseTo(0.24876, 5);
    expect(fair.pValue).toBeCloseTo(0.618, 3);
    expect(fair.mismatch).toBe(false);
    // Unequal designs are tested against their own weights: 2500 / 7500 at 1:3 is perfect.
    expect(srmTest([2500, 7500], [1, 3]).chiSquare).toBe(0);
  });
});

describe('CUPED', () => {
  it('removes the variance the pre-period explains, by hand', () => {
    // y = x exactly in control, y = x + 1 in treatment: theta = 1, adjusted y is constant per arm (2.5 and 3.5),
    // so the estimate is 1 with zero variance, while the raw interval has se sqrt(2 * (5/3) / 4) = 0.912871.
    const x = [1, 2, 3, 4];
    const r = cuped(cupedSums([1, 2, 3, 4], x), cupedSums([2, 3, 4, 5], x));
    expect(r.theta).toBeCloseTo(1, 12);
    expect(r.estimate).toBeCloseTo(1, 12);
    expect(r.se).toBeCloseTo(0, 9);
    expect(r.raw.se).toBeCloseTo(0.912871, 6);
    expect(r.widthRatio).toBeCloseTo(0, 9);
  });
  it('with an uninformative covariate equals the raw estimate', () => {
    const r = cuped(cupedSums([1, 3, 2, 4], [1, 1, 1, 1]), cupedSums([2, 6, 4, 8], [1, 1, 1, 1]));
    expect(r.theta).toBe(0);
    expect(r.estimate).toBeCloseTo(r.raw.estimate, 12);
    expect(r.widthRatio).toBeCloseTo(1, 12);
  });
});

describe('always-valid inference (mSPRT)', () => {
  it('by hand', () => {
    // d = 1, V = 1, tau^2 = 1: log Lambda = 0.5 ln(1/2) + 1/4 = -0.096574, so p = min(1, e^0.096574) = 1;
    // half-width = sqrt(2 * (ln 2 - 2 ln 0.05)) = 3.656394.
    const a = sequentialTest({ estimate: 1, se: 1, ci: [0, 0], pValue: 0, df: Infinity }, 1);
    expect(a.pValue).toBe(1);
    expect(a.ci[1] - 1).toBeCloseTo(3.656394, 5);
    // d = 5: log Lambda = -0.346574 + 25/4 = 5.903426, p = e^-5.9 * e^-0.003426 = 0.0027394 * 0.99658 = 0.0027301.
    const b = sequentialTest({ estimate: 5, se: 1, ci: [0, 0], pValue: 0, df: Infinity }, 1);
    expect(b.pValue).toBeCloseTo(0.0027301, 6);
  });
  it('is wider than the fixed-horizon interval', () => {
    const d = welch(moments([1, 2, 3, 4, 5, 6]), moments([2, 3, 4, 5, 6, 9]));
    const s = sequentialTest({ ...d, df: Infinity }, d.se ** 2);
    expect(s.ci[1] - s.ci[0]).toBeGreaterThan(d.ci[1] - d.ci[0]);
  });
});

describe('power', () => {
  it('by hand', () => {
    // delta 0.1, sd 1, 1570 per arm: se = sqrt(2/1570) = 0.0356915, power = Phi(2.80178 - 1.95996) = Phi(0.84182) = 0.8001.
    expect(power(0.1, 1, 1570, 1570)).toBeCloseTo(0.8001, 3);
    // n = 2 (1.959964 + 0.841621)^2 / 0.01 = 1569.8 -> 1570.
    expect(sampleSizePerArm(0.1, 1, 0.8)).toBe(1570);
    expect(power(0, 1, 100, 100)).toBeCloseTo(0.05, 6);
  });
});

describe('interleaving preference', () => {
  it('by hand', () => {
    // 60 A wins, 40 B wins, 100 ties: mean 0.1, var = (100 - 200 * 0.01) / 199 = 0.492462, se = 0.0496219.
    const p = interleavingPreference(60, 40, 100);
    expect(p.estimate).toBeCloseTo(0.1, 12);
    expect(p.se).toBeCloseTo(0.0496219, 6);
    expect(p.ci[0]).toBeCloseTo(0.1 - 1.959964 * 0.0496219, 5);
  });
});
