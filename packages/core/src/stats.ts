/**
 * Experiment statistics, pure and dependency-free: Welch's t interval, the delta method for ratio metrics, the
 * sample-ratio-mismatch chi-square test, CUPED, always-valid inference (the mixture SPRT of Johari et al., 2017, as
 * a confidence sequence) and power for a design. Every function works from sufficient statistics or per-unit arrays,
 * so the server can aggregate in SQL and the bench can simulate millions of units cheaply.
 */

/** Standard normal CDF (Zelen & Severo 26.2.17 via erfc, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

function logGamma(x: number): number {
  // Lanczos, g = 7, n = 9.
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let s = g[0]!;
  for (let i = 1; i < 9; i++) s += g[i]! / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Regularized upper incomplete gamma Q(a, x) (Numerical Recipes: series below a + 1, continued fraction above). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const gln = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    for (let n = 1; n < 500; n++) {
      del *= x / (a + n);
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - gln);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - gln) * h;
}

/** P(X >= x) for X ~ chi-square with k degrees of freedom. */
export const chiSquareSurvival = (x: number, k: number) => gammaQ(k / 2, x / 2);

/** Regularized incomplete beta I_x(a, b) (Numerical Recipes' continued fraction). */
function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  const cf = (x: number, a: number, b: number) => {
    let c = 1;
    let d = 1 - ((a + b) * x) / (a + 1);
    if (Math.abs(d) < 1e-300) d = 1e-300;
    d = 1 / d;
    let h = d;
    for (let m = 1; m < 500; m++) {
      const m2 = 2 * m;
      let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
      d = 1 + aa * d;
      if (Math.abs(d) < 1e-300) d = 1e-300;
      c = 1 + aa / c;
      if (Math.abs(c) < 1e-300) c = 1e-300;
      d = 1 / d;
      h *= d * c;
      aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
      d = 1 + aa * d;
      if (Math.abs(d) < 1e-300) d = 1e-300;
      c = 1 + aa / c;
      if (Math.abs(c) < 1e-300) c = 1e-300;
      d = 1 / d;
      const del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-15) break;
    }
    return h;
  };
  return x < (a + 1) / (a + b + 2) ? (front * cf(x, a, b)) / a : 1 - (front * cf(1 - x, b, a)) / b;
}

/** Student t CDF with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e7) return normalCdf(t);
  const tail = 0.5 * betaInc(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Student t quantile by bisection on the CDF (60 halvings: exact to double precision for our uses). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!Number.isFinite(df) || df > 1e7) return normalQuantile(p);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** n, mean and (unbiased, n - 1) variance of one arm's per-unit values. */
export interface Moments {
  n: number;
  mean: number;
  variance: number;
}

export function moments(xs: ArrayLike<number>): Moments {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i]!;
  mean /= n || 1;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i]! - mean) ** 2;
  return { n, mean, variance: n > 1 ? ss / (n - 1) : 0 };
}

/** Moments from SQL-style sums: n, sum x, sum x^2. */
export function momentsFromSums(n: number, sum: number, sumSq: number): Moments {
  const mean = n > 0 ? sum / n : 0;
  const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
  return { n, mean, variance };
}

export interface Difference {
  /** treatment - control */
  estimate: number;
  /** estimate / control mean (undefined when the control mean is 0). */
  relative?: number;
  se: number;
  ci: [number, number];
  pValue: number;
  /** Degrees of freedom (Welch-Satterthwaite) or Infinity for a normal interval. */
  df: number;
}

/** Welch's unequal-variance t interval for treatment minus control. */
export function welch(control: Moments, treatment: Moments, alpha = 0.05): Difference {
  const va = control.variance / control.n;
  const vb = treatment.variance / treatment.n;
  const se = Math.sqrt(va + vb);
  const estimate = treatment.mean - control.mean;
  const df = se > 0 ? (va + vb) ** 2 / (va ** 2 / (control.n - 1) + vb ** 2 / (treatment.n - 1)) : Infinity;
  const q = studentTQuantile(1 - alpha / 2, df);
  const pValue = se > 0 ? 2 * (1 - studentTCdf(Math.abs(estimate) / se, df)) : estimate === 0 ? 1 : 0;
  return { estimate, relative: control.mean !== 0 ? estimate / control.mean : undefined, se, ci: [estimate - q * se, estimate + q * se], pValue, df };
}

/** Per-arm sums for a ratio metric sum(x) / sum(y) whose unit of randomization is not the unit of the ratio. */
export interface RatioSums {
  n: number;
  sumX: number;
  sumY: number;
  sumXX: number;
  sumYY: number;
  sumXY: number;
}

/** The ratio and its delta-method variance: Var(R) ~ (Var x / my^2 - 2 mx Cov(x,y) / my^3 + mx^2 Var y / my^4) / n. */
export function ratioEstimate(s: RatioSums): { ratio: number; variance: number } {
  const n = s.n;
  const mx = s.sumX / n;
  const my = s.sumY / n;
  const vx = (s.sumXX - n * mx * mx) / (n - 1);
  const vy = (s.sumYY - n * my * my) / (n - 1);
  const cxy = (s.sumXY - n * mx * my) / (n - 1);
  const variance = (vx / my ** 2 - (2 * mx * cxy) / my ** 3 + (mx ** 2 * vy) / my ** 4) / n;
  return { ratio: mx / my, variance: Math.max(0, variance) };
}

/** Difference of two ratio metrics with a normal interval from the delta method. */
export function ratioDifference(control: RatioSums, treatment: RatioSums, alpha = 0.05): Difference {
  const a = ratioEstimate(control);
  const b = ratioEstimate(treatment);
  const estimate = b.ratio - a.ratio;
  const se = Math.sqrt(a.variance + b.variance);
  const z = normalQuantile(1 - alpha / 2);
  const pValue = se > 0 ? 2 * (1 - normalCdf(Math.abs(estimate) / se)) : estimate === 0 ? 1 : 0;
  return { estimate, relative: a.ratio !== 0 ? estimate / a.ratio : undefined, se, ci: [estimate - z * se, estimate + z * se], pValue, df: Infinity };
}

export interface SrmResult {
  chiSquare: number;
  df: number;
  pValue: number;
  /** p below the threshold (default 0.001, the usual SRM alarm level): do not trust the results. */
  mismatch: boolean;
  expected: number[];
}

/** Sample-ratio mismatch: Pearson's chi-square of observed unit counts against the designed weights. */
export function srmTest(observed: readonly number[], weights: readonly number[], threshold = 0.001): SrmResult {
  if (observed.length !== weights.length || observed.length < 2) throw new Error('srmTest: one observed count per variant weight, at least two');
  const total = observed.reduce((s, x) => s + x, 0);
  const wsum = weights.reduce((s, x) => s + x, 0);
  const expected = weights.map((w) => (total * w) / wsum);
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) if (expected[i]! > 0) chiSquare += (observed[i]! - expected[i]!) ** 2 / expected[i]!;
  const df = observed.length - 1;
  const pValue = total > 0 ? chiSquareSurvival(chiSquare, df) : 1;
  return { chiSquare, df, pValue, mismatch: pValue < threshold, expected };
}

/** Per-arm sums for CUPED: y (the metric after exposure) and x (the same metric before it). */
export interface CupedSums {
  n: number;
  sumY: number;
  sumYY: number;
  sumX: number;
  sumXX: number;
  sumXY: number;
}

export function cupedSums(y: ArrayLike<number>, x: ArrayLike<number>): CupedSums {
  const s: CupedSums = { n: y.length, sumY: 0, sumYY: 0, sumX: 0, sumXX: 0, sumXY: 0 };
  for (let i = 0; i < y.length; i++) {
    s.sumY += y[i]!;
    s.sumYY += y[i]! ** 2;
    s.sumX += x[i]!;
    s.sumXX += x[i]! ** 2;
    s.sumXY += x[i]! * y[i]!;
  }
  return s;
}

export interface CupedResult extends Difference {
  /** theta = Cov(y, x) / Var(x), pooled over both arms. */
  theta: number;
  /** Interval width with CUPED over the raw width: 0.7 means 30% narrower. */
  widthRatio: number;
  raw: Difference;
}

/**
 * CUPED (Deng et al., 2013): y' = y - theta (x - mean x) with x the pre-exposure value of the metric. theta and
 * mean x are pooled over both arms (x cannot depend on the variant), so the estimate stays unbiased and its variance
 * shrinks by 1 - corr(x, y)^2.
 */
export function cuped(control: CupedSums, treatment: CupedSums, alpha = 0.05): CupedResult {
  const n = control.n + treatment.n;
  const sx = control.sumX + treatment.sumX;
  const sy = control.sumY + treatment.sumY;
  const mx = sx / n;
  const my = sy / n;
  const cov = (control.sumXY + treatment.sumXY - n * mx * my) / (n - 1);
  const vx = (control.sumXX + treatment.sumXX - n * mx * mx) / (n - 1);
  const theta = vx > 0 ? cov / vx : 0;
  const adjusted = (s: CupedSums): Moments => {
    const ax = s.sumX / s.n;
    const ay = s.sumY / s.n;
    const vy = (s.sumYY - s.n * ay * ay) / (s.n - 1);
    const vxa = (s.sumXX - s.n * ax * ax) / (s.n - 1);
    const cxy = (s.sumXY - s.n * ax * ay) / (s.n - 1);
    return { n: s.n, mean: ay - theta * (ax - mx), variance: Math.max(0, vy - 2 * theta * cxy + theta * theta * vxa) };
  };
  const plain = (s: CupedSums) => momentsFromSums(s.n, s.sumY, s.sumYY);
  const raw = welch(plain(control), plain(treatment), alpha);
  const adj = welch(adjusted(control), adjusted(treatment), alpha);
  const rawMean = plain(control).mean;
  return { ...adj, relative: rawMean !== 0 ? adj.estimate / rawMean : undefined, theta, widthRatio: raw.se > 0 ? adj.se / raw.se : 1, raw };
}

export interface SequentialResult {
  estimate: number;
  /** Always-valid 95% (1 - alpha) confidence sequence at this look. */
  ci: [number, number];
  /** Always-valid p-value at this look: 1 / the mixture likelihood ratio, capped at 1. Take the running minimum over looks. */
  pValue: number;
  /** Mixture variance tau^2 used. */
  tau2: number;
}

/**
 * Always-valid inference for a difference in means: the normal-mixture SPRT (Johari, Pekelis, Walsh 2017; what
 * Optimizely runs). With V the squared standard error of the estimate and tau^2 the mixing variance over effects:
 *   Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 * d^2 / (2 V (V + tau^2)))
 *   p = min(1, 1 / Lambda);  CI = d -+ sqrt(V (V + tau^2) / tau^2 * (ln((V + tau^2) / V) - 2 ln alpha))
 * By Ville's inequality the chance that p ever falls below alpha, however often one looks, is at most alpha.
 */
export function sequentialTest(d: Difference, tau2: number, alpha = 0.05): SequentialResult {
  if (!(tau2 > 0)) throw new RangeError('sequentialTest: tau^2 must be positive');
  const V = d.se * d.se;
  if (!(V > 0)) return { estimate: d.estimate, ci: [d.estimate, d.estimate], pValue: d.estimate === 0 ? 1 : 0, tau2 };
  const logLambda = 0.5 * Math.log(V / (V + tau2)) + (tau2 * d.estimate * d.estimate) / (2 * V * (V + tau2));
  const half = Math.sqrt(((V * (V + tau2)) / tau2) * (Math.log((V + tau2) / V) - 2 * Math.log(alpha)));
  return { estimate: d.estimate, ci: [d.estimate - half, d.estimate + half], pValue: Math.min(1, Math.exp(-logLambda)), tau2 };
}

/**
 * Power of a two-sided two-sample z test at level alpha to detect an absolute effect `delta` with per-unit standard
 * deviation `sd`, `nControl` and `nTreatment` units.
 */
export function power(delta: number, sd: number, nControl: number, nTreatment: number, alpha = 0.05): number {
  const se = sd * Math.sqrt(1 / nControl + 1 / nTreatment);
  const z = normalQuantile(1 - alpha / 2);
  const k = Math.abs(delta) / se;
  return normalCdf(k - z) + normalCdf(-k - z);
}

/** Units per arm (equal arms) for the wanted power. */
export function sampleSizePerArm(delta: number, sd: number, wantedPower = 0.8, alpha = 0.05): number {
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(wantedPower);
  return Math.ceil((2 * (z * sd) ** 2) / (delta * delta));
}

/** Interleaving preference: per-unit outcomes +1 (A won), -1 (B won), 0 (tie); mean with a normal interval. */
export function interleavingPreference(winsA: number, winsB: number, ties: number, alpha = 0.05): Difference & { n: number } {
  const n = winsA + winsB + ties;
  const mean = n > 0 ? (winsA - winsB) / n : 0;
  const variance = n > 1 ? (winsA + winsB - n * mean * mean) / (n - 1) : 0;
  const se = Math.sqrt(variance / Math.max(1, n));
  const z = normalQuantile(1 - alpha / 2);
  const pValue = se > 0 ? 2 * (1 - normalCdf(Math.abs(mean) / se)) : 1;
  return { n, estimate: mean, se, ci: [mean - z * se, mean + z * se], pValue, df: Infinity };
}

/** Empirical quantile with linear interpolation (type 7, as numpy's default) of a sorted array: the one percentile of the house (benchmarks' p50/p95/p99 included). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new Error('quantile of an empty sample');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
