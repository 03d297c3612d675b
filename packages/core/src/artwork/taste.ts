/**
 * The viewer's taste for artwork themes: a Bayesian linear regression, learned on the device from the viewer's own
 * impressions and their rewards. Plain numbers so it can live in IndexedDB (ViewerTasteSchema) and travel in tests.
 *
 *   reward - populationRate(artwork) = taste . features(artwork) + bias + noise,  noise ~ N(0, noiseVar)
 *   prior: (taste, bias) ~ N(m0, noiseVar / priorPrecision * I), m0 = (the taste the viewer's history predicts, 0)
 *   posterior over z = (taste, bias), x' = (x, 1): A = priorPrecision * I + sum x' x'^T,  b = sum (reward - rate) x',
 *   mean = A^-1 (b + priorPrecision m0),  cov = noiseVar * A^-1
 *
 * The bias is the viewer's own offset from the population's rates (how much more or less than the population this
 * viewer plays the titles they are shown). It never changes which artwork of a title wins, but without it the offset
 * leaks into the taste: features are centred within a title, yet once the policy prefers some artworks the features
 * it shows no longer average to zero, so a viewer who plays more than the population credits whatever was shown
 * (a self-reinforcing loop) and one who plays less blames it. Verified in test/artwork-learner.test.ts.
 */
import { FEATURE_DIM } from './features.ts';

/** The taste weights (FEATURE_DIM, indices as ARTWORK_THEMES) and the viewer's bias (last). */
export const TASTE_DIM = FEATURE_DIM + 1;

export interface ViewerTaste {
  /** Row-major TASTE_DIM x TASTE_DIM precision (unscaled by the noise). */
  A: number[];
  b: number[];
  /** Updates so far. */
  n: number;
}

export function emptyTaste(priorPrecision: number): ViewerTaste {
  const d = TASTE_DIM;
  const A = new Array<number>(d * d).fill(0);
  for (let i = 0; i < d; i++) A[i * d + i] = priorPrecision;
  return { A, b: new Array<number>(d).fill(0), n: 0 };
}

/**
 * One observed reward for an artwork shown with features x (FEATURE_DIM) whose population rate was `rate`; the
 * bias's feature is 1. Returns a new state.
 */
export function updateTaste(t: ViewerTaste, x: ArrayLike<number>, reward: number, rate: number): ViewerTaste {
  const d = TASTE_DIM;
  const A = t.A.slice();
  const b = t.b.slice();
  const y = reward - rate;
  const xb = (i: number) => (i === FEATURE_DIM ? 1 : x[i]!);
  for (let i = 0; i < d; i++) {
    const xi = xb(i);
    if (xi === 0) continue;
    b[i] = (b[i] ?? 0) + y * xi;
    for (let j = 0; j < d; j++) A[i * d + j] = (A[i * d + j] ?? 0) + xi * xb(j);
  }
  return { A, b, n: t.n + 1 };
}

/** Cholesky factor (lower, row-major) of a symmetric positive-definite n x n matrix. */
export function cholesky(m: ArrayLike<number>, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) L[i * n + i] = Math.sqrt(Math.max(s, 1e-18));
      else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  return L;
}

/** Solves (L L^T) x = b for x, given the Cholesky factor L (lower, row-major, n x n). */
export function choleskySolve(L: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}

/** The posterior in the form selection needs: the mean and the inverse precision (covariance / noiseVar). */
export interface TastePosterior {
  /** TASTE_DIM: the taste weights, then the bias. */
  mean: Float64Array;
  /** A^-1, row-major, TASTE_DIM x TASTE_DIM. */
  inv: Float64Array;
  n: number;
}

/**
 * `priorShift` is the prior precision times the prior mean (TASTE_DIM; zero when absent): a prior N(m0, noiseVar /
 * priorPrecision I) moves the mean to A^-1 (b + priorPrecision m0). `precisionDelta` (FEATURE_DIM^2, row-major) is
 * added to A's taste block: the state holds the configured prior precision (emptyTaste), and a prior whose
 * covariance comes from the population (priorTasteCovariance) replaces it without touching the stored state.
 */
export function posterior(t: ViewerTaste, priorShift?: ArrayLike<number>, precisionDelta?: ArrayLike<number>): TastePosterior {
  const d = TASTE_DIM;
  let A: ArrayLike<number> = t.A;
  if (precisionDelta) {
    const shifted = Float64Array.from(t.A);
    for (let i = 0; i < FEATURE_DIM; i++) for (let j = 0; j < FEATURE_DIM; j++) shifted[i * d + j] = shifted[i * d + j]! + (precisionDelta[i * FEATURE_DIM + j] ?? 0);
    A = shifted;
  }
  const L = cholesky(A, d);
  // inv = L^-T L^-1, column by column: solve L y = e_c, then L^T z = y.
  const inv = new Float64Array(d * d);
  const y = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * d + k]! * y[k]!;
      y[i] = s / L[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * inv[k * d + c]!;
      inv[i * d + c] = s / L[i * d + i]!;
    }
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += inv[i * d + j]! * (t.b[j]! + (priorShift?.[j] ?? 0));
    mean[i] = s;
  }
  return { mean, inv, n: t.n };
}
