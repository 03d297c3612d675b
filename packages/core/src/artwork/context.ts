/**
 * The viewer's history as context for the artwork bandit, and the population weights that turn it into a taste.
 *
 * A viewer's own impressions are too few to learn their artwork taste alone (a member sees ~90 impressions in the
 * benchmark's world); what the device knows from the first visit on is what they played. The history context is the
 * theme profile of the titles they started playing (each title's mean artwork features, uncentred: what its images
 * show as a whole), summed and shrunk towards zero by HISTORY_SHRINK pseudo-plays, so a new viewer's context is 0.
 *
 * The population's model predicts a viewer's taste as theme effects shared by everyone plus a weight per theme on the
 * history: taste[i] = themeEffects[i] + weights[i] * context[i] (a viewer who played titles whose images are romantic
 * responds to the romantic image; everyone is drawn by clickbait). Both are learned from every viewer's impressions at
 * once (ContextWeightsLearner, on the server, published with the priors) by ridge regression of the reward on the
 * artwork's centred features and on those features times the viewer's context at the impression. Pooled over every
 * title, the theme effects are measured on far more impressions than any one artwork's rate. One weight per
 * theme rather than a full theme x theme matrix: on the benchmark's 44k impressions the full matrix (169 weights) was
 * too noisy to help (3% of the oracle's lift, greedy, against 30% for the diagonal). On the device the predicted
 * taste is the prior mean of the viewer's own (see ArtworkBandit), so their impressions move them away from it.
 */
import { z } from 'zod';
import { artworkFeatures, FEATURE_DIM } from './features.ts';
import { cholesky, choleskySolve } from './taste.ts';

/** Pseudo-plays at zero: a viewer with a handful of plays has a context near 0 (the population's best artwork). */
export const HISTORY_SHRINK = 5;
/**
 * Ridge of the population regression: noiseVar / (prior sd of a weight)^2 = 0.15 / 0.4^2 ~ 1. The regressors are small
 * (a centred feature of ~0.5 times a context share of ~0.1), so a ridge counted in impressions (10) held the weights
 * at half their size on a known answer.
 */
export const CONTEXT_RIDGE = 1;
/** Regressors: the features alone (FEATURE_DIM), then each feature times the context of its theme. */
const P = 2 * FEATURE_DIM;

/** Plain numbers, kept in IndexedDB with the taste (ArtworkStateSchema). */
export const ViewerHistorySchema = z.object({
  /** Sum of the played titles' theme profiles (FEATURE_DIM). */
  sum: z.array(z.number().finite()).length(FEATURE_DIM),
  plays: z.number().int().nonnegative(),
});
export type ViewerHistory = z.infer<typeof ViewerHistorySchema>;

export function emptyHistory(): ViewerHistory {
  return { sum: new Array<number>(FEATURE_DIM).fill(0), plays: 0 };
}

/** A title's theme profile: the mean of its artworks' (uncentred) features. */
export function titleProfile(artworks: readonly { themes: readonly string[] }[]): Float64Array {
  const p = new Float64Array(FEATURE_DIM);
  for (const a of artworks) artworkFeatures(a.themes).forEach((x, i) => (p[i] = (p[i] ?? 0) + x / artworks.length));
  return p;
}

/** The history after one more played title (a new state). */
export function addPlayed(h: ViewerHistory, artworks: readonly { themes: readonly string[] }[]): ViewerHistory {
  const next = { sum: [...h.sum], plays: h.plays };
  addProfile(next, titleProfile(artworks));
  return next;
}

/**
 * `addPlayed` in place, with the title's profile (titleProfile) computed once by the caller: the server replays
 * millions of plays at start, where a profile and a history per play were most of the work.
 */
export function addProfile(h: ViewerHistory, profile: ArrayLike<number>): void {
  for (let i = 0; i < h.sum.length; i++) h.sum[i] = (h.sum[i] ?? 0) + (profile[i] ?? 0);
  h.plays += 1;
}

export function historyContext(h: ViewerHistory): Float64Array {
  return Float64Array.from(h.sum, (s) => s / (h.plays + HISTORY_SHRINK));
}

/** The population's model of taste: what every viewer shares, and what their history adds (see the priors). */
export interface PopulationTaste {
  /** Per theme: the population's own effect (clickbait's pull, a theme everyone likes). */
  themeEffects: ArrayLike<number>;
  /** Per theme: the weight of the viewer's history context. */
  weights: ArrayLike<number>;
  /**
   * Per theme: the effect on the average viewer of the fit (theme effect + weight x the mean context): what a
   * non-contextual policy should go by. The theme effects alone are the effect at an empty history.
   */
  averageEffects: ArrayLike<number>;
  /**
   * How well the fit is determined: its posterior covariance over the noise variance (the convention of
   * TastePosterior.inv), (2 x FEATURE_DIM)^2 row-major over (theme effects, history weights), the effects' block as
   * contrasts with their mean (see ContextWeightsLearner.fit). Absent from older priors.
   */
  covariance?: ArrayLike<number>;
  /** Variance of a viewer's own taste around the population's prediction (rate units squared); absent: unknown. */
  betweenViewerVar?: number;
}

/**
 * Prior covariance of the taste (FEATURE_DIM^2, rate units squared) for a viewer with this context: how uncertain the
 * population's prediction is there (J C J' x noiseVar, J = [I, diag(context)], C the fit's covariance) plus how far
 * viewers stray from it (the between-viewer variance, on the diagonal). Priors without the fit's covariance count
 * that part as 0; without the between-viewer variance, that part is `fallbackVar`, the configured prior (noiseVar /
 * priorPrecision), as it was before either. Full rather than per theme: the errors of different themes' effects are
 * correlated, and only differences between a title's artworks decide.
 */
export function priorTasteCovariance(model: PopulationTaste | null, context: ArrayLike<number>, noiseVar: number, fallbackVar: number, out: Float64Array): Float64Array {
  const D = FEATURE_DIM;
  out.fill(0);
  const C = model?.covariance;
  if (C) {
    // (J C J')_ij = C[i,j] + c_j C[i,D+j] + c_i C[D+i,j] + c_i c_j C[D+i,D+j]
    for (let i = 0; i < D; i++) {
      const ci = context[i] ?? 0;
      for (let j = 0; j < D; j++) {
        const cj = context[j] ?? 0;
        const v = (C[i * P + j] ?? 0) + cj * (C[i * P + D + j] ?? 0) + ci * (C[(D + i) * P + j] ?? 0) + ci * cj * (C[(D + i) * P + D + j] ?? 0);
        out[i * D + j] = noiseVar * v;
      }
    }
  }
  const between = model ? (model.betweenViewerVar ?? fallbackVar) : fallbackVar;
  // A floor keeps the matrix invertible where the between-viewer variance is estimated at 0.
  for (let i = 0; i < D; i++) out[i * D + i] = out[i * D + i]! + Math.max(between, 1e-6);
  return out;
}

/** The taste the population's model predicts for a viewer with this context (zero without a model). */
export function predictedTaste(model: PopulationTaste | null, context: ArrayLike<number>): Float64Array {
  const t = new Float64Array(FEATURE_DIM);
  if (model) for (let i = 0; i < FEATURE_DIM; i++) t[i] = (model.themeEffects[i] ?? 0) + (model.weights[i] ?? 0) * (context[i] ?? 0);
  return t;
}

/** A learner's sufficient statistics as plain numbers (the server's aggregates snapshot keeps them). */
export const ContextWeightsStateSchema = z.object({
  XtX: z.array(z.number().finite()).length(P * P),
  XtWWX: z.array(z.number().finite()).length(P * P),
  Xty: z.array(z.number().finite()).length(P),
  contextSum: z.array(z.number().finite()).length(FEATURE_DIM),
  impressions: z.number().int().nonnegative(),
});
export type ContextWeightsState = z.infer<typeof ContextWeightsStateSchema>;

/**
 * Sufficient statistics of the population regression. The design row is known at the impression and the reward
 * (0 or 1) only later, so they are added separately: impression() adds the row, rewarded() adds the row's share of
 * X'y when a reward arrives (an impression never rewarded adds nothing to X'y, as y = 0 would).
 */
export class ContextWeightsLearner {
  private readonly XtX = new Float64Array(P * P);
  /** X'W^2 X: with weights (a policy's log reweighted to a uniform one's) the fit's covariance is a sandwich. */
  private readonly XtWWX = new Float64Array(P * P);
  private readonly Xty = new Float64Array(P);
  private readonly contextSum = new Float64Array(FEATURE_DIM);
  impressions = 0;

  /** The regressors' nonzero entries, in ascending index order. */
  private row(x: ArrayLike<number>, context: ArrayLike<number>): { at: number; value: number }[] {
    const main: { at: number; value: number }[] = [];
    const crossed: { at: number; value: number }[] = [];
    for (let i = 0; i < FEATURE_DIM; i++) {
      const xi = x[i] ?? 0;
      if (xi === 0) continue;
      main.push({ at: i, value: xi });
      const c = context[i] ?? 0;
      if (c !== 0) crossed.push({ at: FEATURE_DIM + i, value: xi * c });
    }
    return main.concat(crossed);
  }

  /**
   * An impression of an artwork with centred features x, shown to a viewer with this history context, weighted by
   * `weight` (1 by default; bench:artwork-fit reweights a policy's log to a uniform one's with it).
   */
  impression(x: ArrayLike<number>, context: ArrayLike<number>, weight = 1): void {
    // The upper triangle only (rows are in ascending index order): this runs on the server's ingest path.
    const row = this.row(x, context);
    row.forEach((r, a) => {
      for (const c of row.slice(a)) {
        const at = r.at * P + c.at;
        this.XtX[at] = (this.XtX[at] ?? 0) + weight * r.value * c.value;
        this.XtWWX[at] = (this.XtWWX[at] ?? 0) + weight * weight * r.value * c.value;
      }
    });
    for (let i = 0; i < FEATURE_DIM; i++) this.contextSum[i] = (this.contextSum[i] ?? 0) + (context[i] ?? 0);
    this.impressions++;
  }

  /** That impression earned the reward (the same x, context and weight as at the impression). */
  rewarded(x: ArrayLike<number>, context: ArrayLike<number>, reward = 1, weight = 1): void {
    for (const r of this.row(x, context)) this.Xty[r.at] = (this.Xty[r.at] ?? 0) + weight * r.value * reward;
  }

  state(): ContextWeightsState {
    return { XtX: Array.from(this.XtX), XtWWX: Array.from(this.XtWWX), Xty: Array.from(this.Xty), contextSum: Array.from(this.contextSum), impressions: this.impressions };
  }

  static fromState(s: ContextWeightsState): ContextWeightsLearner {
    const l = new ContextWeightsLearner();
    l.XtX.set(s.XtX);
    l.XtWWX.set(s.XtWWX);
    l.Xty.set(s.Xty);
    l.contextSum.set(s.contextSum);
    l.impressions = s.impressions;
    return l;
  }

  /**
   * The ridge solution: the features' block (theme effects) and the context block (weights), and its posterior
   * covariance over the noise variance, (X'X + ridge I)^-1 (the ridge as a Gaussian prior of variance noiseVar /
   * ridge), so the device's prior is as uncertain as the fit is: wide on a few thousand impressions, narrower on
   * millions.
   */
  fit(ridge = CONTEXT_RIDGE): { themeEffects: number[]; weights: number[]; averageEffects: number[]; covariance: number[] } {
    const A = new Float64Array(P * P);
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) A[i * P + j] = A[j * P + i] = (this.XtX[i * P + j] ?? 0) + (i === j ? ridge : 0);
    }
    const L = cholesky(A, P);
    const beta = choleskySolve(L, this.Xty, P);
    const themeEffects = Array.from(beta.subarray(0, FEATURE_DIM));
    const weights = Array.from(beta.subarray(FEATURE_DIM));
    const n = Math.max(1, this.impressions);
    const averageEffects = themeEffects.map((e, i) => e + (weights[i] ?? 0) * ((this.contextSum[i] ?? 0) / n));
    // The effects' block is taken as contrasts, each effect minus the mean of all: an artwork's features sum to 1, so
    // centred features never identify "every theme up by the same" (it keeps the ridge's prior variance, sd 0.39 in
    // rate units) and it never changes a choice. covariance = M A^-1 M', M = [[I - 11'/D, 0], [0, I]].
    // Weighted, the estimate's covariance is the sandwich A^-1 (X'W^2X + ridge I) A^-1 (= A^-1 with unit weights):
    // a few impressions of weight 100 are a few impressions' worth of information, not a hundred times that.
    const inv = new Float64Array(P * P);
    const e = new Float64Array(P);
    for (let c = 0; c < P; c++) {
      e.fill(0);
      e[c] = 1;
      const col = choleskySolve(L, e, P);
      for (let r = 0; r < P; r++) inv[r * P + c] = col[r]!;
    }
    const meat = new Float64Array(P * P);
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) meat[i * P + j] = meat[j * P + i] = (this.XtWWX[i * P + j] ?? 0) + (i === j ? ridge : 0);
    }
    const sandwich = matMul(matMul(inv, meat), inv);
    const D = FEATURE_DIM;
    const project = (m: Float64Array, rows: boolean) => {
      const out = Float64Array.from(m);
      for (let k = 0; k < P; k++) {
        let mean = 0;
        for (let j = 0; j < D; j++) mean += rows ? m[j * P + k]! : m[k * P + j]!;
        mean /= D;
        for (let j = 0; j < D; j++) {
          if (rows) out[j * P + k] = m[j * P + k]! - mean;
          else out[k * P + j] = m[k * P + j]! - mean;
        }
      }
      return out;
    };
    const covariance = Array.from(project(project(sandwich, true), false));
    return { themeEffects, weights, averageEffects, covariance };
  }
}

/** a b for P x P row-major matrices. */
function matMul(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    for (let k = 0; k < P; k++) {
      const v = a[i * P + k]!;
      if (v === 0) continue;
      for (let j = 0; j < P; j++) out[i * P + j] = out[i * P + j]! + v * b[k * P + j]!;
    }
  }
  return out;
}

/** Sums kept per viewer and genre by BetweenViewerVariance: n, sum y, sum y^2, then per theme sum x y, sum x^2, sum x. */
const GROUP_SUMS = 3 + 3 * FEATURE_DIM;

/**
 * BetweenViewerVariance as plain numbers (the server's aggregates snapshot keeps it): group i is viewer viewers[i]'s
 * impressions of titles of genre genres[i], its sums stats[GROUP_SUMS i ..].
 */
export const BetweenViewerVarianceStateSchema = z
  .object({ viewers: z.array(z.string()), genres: z.array(z.string()), stats: z.array(z.number().finite()) })
  .refine((s) => s.genres.length === s.viewers.length && s.stats.length === s.viewers.length * GROUP_SUMS, 'stats must hold every group\'s sums');
export type BetweenViewerVarianceState = z.infer<typeof BetweenViewerVarianceStateSchema>;

/** The genre BetweenViewerVariance groups a title's impressions by: its primary (first listed) genre. */
export function primaryGenre(title: { genres?: readonly string[] }): string {
  return title.genres?.[0] ?? '';
}

/**
 * Empirical Bayes for the personal part of a viewer's prior: how far viewers' own tastes stray from what the
 * population's model predicts for them, from every viewer's impressions at once (a viewer alone has too few).
 *
 * Per viewer and theme, s = sum x (y - mean y) over their impressions, with y = reward - (rate + predicted taste . x)
 * at the impression and x the centred feature; q = sum x^2 - (sum x)^2 / n. If the viewer's taste strays from the
 * prediction by delta, E[s^2] = q^2 delta^2 + sigma^2 q (the noise's share), so by the method of moments, pooled
 * over viewers and themes: tau^2 = sum (s^2 - sigma^2 q) / sum q^2, floored at 0, with sigma^2 the residual variance
 * within viewers. Diagonal: a title's other themes' share of s is ignored (an approximation; features of different
 * themes are correlated within a title).
 *
 * The means are taken per viewer and title genre (primaryGenre), not per viewer: how much a viewer plays a title
 * depends mostly on its genre, which the model of artwork taste leaves out, and a policy that picks artworks by the
 * viewer's history shows a theme more on the genres the viewer plays more, so that genre appeal lands in s as if it
 * were taste for the theme. Measured on the benchmark's world with every viewer given the same theme taste (true
 * spread 0), per-viewer means gave 0.00073 on Thompson sampling's own log and 0.0040 on epsilon-greedy's, per
 * viewer and genre 0.00021 and 0.00017 (README, artwork). The same per-viewer means keep a viewer's overall offset
 * (they play more than the population) out of the taste, as the device's bias term does.
 */
export class BetweenViewerVariance {
  /** Per viewer, per genre: n, sum y, sum y^2, then per theme sum x y, sum x^2, sum x. */
  private readonly viewers = new Map<string, Map<string, Float64Array>>();
  private static readonly OFF = 3;

  state(): BetweenViewerVarianceState {
    const s: BetweenViewerVarianceState = { viewers: [], genres: [], stats: [] };
    for (const [viewer, groups] of this.viewers) {
      for (const [genre, v] of groups) {
        s.viewers.push(viewer);
        s.genres.push(genre);
        for (const x of v) s.stats.push(x);
      }
    }
    return s;
  }

  static fromState(s: BetweenViewerVarianceState): BetweenViewerVariance {
    const b = new BetweenViewerVariance();
    s.viewers.forEach((viewer, i) => b.stats(viewer, s.genres[i]!).set(s.stats.slice(i * GROUP_SUMS, (i + 1) * GROUP_SUMS)));
    return b;
  }

  private stats(viewer: string, genre: string): Float64Array {
    let groups = this.viewers.get(viewer);
    if (!groups) this.viewers.set(viewer, (groups = new Map()));
    let v = groups.get(genre);
    if (!v) groups.set(genre, (v = new Float64Array(GROUP_SUMS)));
    return v;
  }

  /**
   * An impression of a title of this genre (primaryGenre) with centred features x whose expected reward on the
   * device was `base` (rate + taste . x).
   */
  impression(viewer: string, genre: string, x: ArrayLike<number>, base: number): void {
    const v = this.stats(viewer, genre);
    const o = BetweenViewerVariance.OFF;
    v[0]! += 1;
    v[1]! -= base;
    v[2]! += base * base;
    for (let i = 0; i < FEATURE_DIM; i++) {
      const xi = x[i] ?? 0;
      if (xi === 0) continue;
      v[o + i]! -= xi * base;
      v[o + FEATURE_DIM + i]! += xi * xi;
      v[o + 2 * FEATURE_DIM + i]! += xi;
    }
  }

  /** That impression earned a reward of 1 (the same genre, x and base). */
  rewarded(viewer: string, genre: string, x: ArrayLike<number>, base: number): void {
    const v = this.stats(viewer, genre);
    const o = BetweenViewerVariance.OFF;
    v[1]! += 1;
    v[2]! += 1 - 2 * base;
    for (let i = 0; i < FEATURE_DIM; i++) v[o + i]! += x[i] ?? 0;
  }

  /** tau^2 (rate units squared) and sigma^2, or null before two viewers with two impressions of one genre each. */
  estimate(): { betweenViewerVar: number; noiseVar: number; viewers: number } | null {
    const o = BetweenViewerVariance.OFF;
    let sse = 0;
    let dof = 0;
    // Per viewer and theme, s and q summed over their genres, each centred on its genre's means.
    const perViewer: { s: Float64Array; q: Float64Array }[] = [];
    for (const groups of this.viewers.values()) {
      const s = new Float64Array(FEATURE_DIM);
      const q = new Float64Array(FEATURE_DIM);
      let used = false;
      for (const v of groups.values()) {
        const n = v[0]!;
        if (n < 2) continue;
        used = true;
        sse += v[2]! - (v[1]! * v[1]!) / n;
        dof += n - 1;
        for (let i = 0; i < FEATURE_DIM; i++) {
          const cx = v[o + 2 * FEATURE_DIM + i]!;
          s[i] = s[i]! + v[o + i]! - (cx * v[1]!) / n;
          q[i] = q[i]! + v[o + FEATURE_DIM + i]! - (cx * cx) / n;
        }
      }
      if (used) perViewer.push({ s, q });
    }
    if (perViewer.length < 2 || dof <= 0) return null;
    const sigma2 = sse / dof;
    // Where the prediction itself is off (a fit on a policy's own log), every viewer strays the same way: that shared
    // miss, sum s / sum q per theme, is the population's error, not a spread between viewers, so it is taken out.
    const shared = new Float64Array(FEATURE_DIM);
    const sharedQ = new Float64Array(FEATURE_DIM);
    for (const { s, q } of perViewer) {
      for (let i = 0; i < FEATURE_DIM; i++) {
        shared[i] = shared[i]! + s[i]!;
        sharedQ[i] = sharedQ[i]! + q[i]!;
      }
    }
    for (let i = 0; i < FEATURE_DIM; i++) shared[i] = sharedQ[i]! > 0 ? shared[i]! / sharedQ[i]! : 0;
    let num = 0;
    let den = 0;
    for (const { s, q } of perViewer) {
      for (let i = 0; i < FEATURE_DIM; i++) {
        if (q[i]! <= 0) continue;
        const own = s[i]! - q[i]! * shared[i]!;
        num += own * own - sigma2 * q[i]!;
        den += q[i]! * q[i]!;
      }
    }
    return { betweenViewerVar: den > 0 ? Math.max(0, num / den) : 0, noiseVar: sigma2, viewers: perViewer.length };
  }
}
