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
  const p = titleProfile(artworks);
  return { sum: h.sum.map((s, i) => s + (p[i] ?? 0)), plays: h.plays + 1 };
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
}

/** The taste the population's model predicts for a viewer with this context (zero without a model). */
export function predictedTaste(model: PopulationTaste | null, context: ArrayLike<number>): Float64Array {
  const t = new Float64Array(FEATURE_DIM);
  if (model) for (let i = 0; i < FEATURE_DIM; i++) t[i] = (model.themeEffects[i] ?? 0) + (model.weights[i] ?? 0) * (context[i] ?? 0);
  return t;
}

/**
 * Sufficient statistics of the population regression. The design row is known at the impression and the reward
 * (0 or 1) only later, so they are added separately: impression() adds the row, rewarded() adds the row's share of
 * X'y when a reward arrives (an impression never rewarded adds nothing to X'y, as y = 0 would).
 */
/** A learner's sufficient statistics as plain numbers (the server's aggregates snapshot keeps them). */
export const ContextWeightsStateSchema = z.object({
  XtX: z.array(z.number().finite()).length(P * P),
  Xty: z.array(z.number().finite()).length(P),
  contextSum: z.array(z.number().finite()).length(FEATURE_DIM),
  impressions: z.number().int().nonnegative(),
});
export type ContextWeightsState = z.infer<typeof ContextWeightsStateSchema>;

export class ContextWeightsLearner {
  private readonly XtX = new Float64Array(P * P);
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
      for (const c of row.slice(a)) this.XtX[r.at * P + c.at] = (this.XtX[r.at * P + c.at] ?? 0) + weight * r.value * c.value;
    });
    for (let i = 0; i < FEATURE_DIM; i++) this.contextSum[i] = (this.contextSum[i] ?? 0) + (context[i] ?? 0);
    this.impressions++;
  }

  /** That impression earned the reward (the same x, context and weight as at the impression). */
  rewarded(x: ArrayLike<number>, context: ArrayLike<number>, reward = 1, weight = 1): void {
    for (const r of this.row(x, context)) this.Xty[r.at] = (this.Xty[r.at] ?? 0) + weight * r.value * reward;
  }

  state(): ContextWeightsState {
    return { XtX: Array.from(this.XtX), Xty: Array.from(this.Xty), contextSum: Array.from(this.contextSum), impressions: this.impressions };
  }

  static fromState(s: ContextWeightsState): ContextWeightsLearner {
    const l = new ContextWeightsLearner();
    l.XtX.set(s.XtX);
    l.Xty.set(s.Xty);
    l.contextSum.set(s.contextSum);
    l.impressions = s.impressions;
    return l;
  }

  /** The ridge solution: the features' block (theme effects) and the context block (weights). */
  fit(ridge = CONTEXT_RIDGE): { themeEffects: number[]; weights: number[]; averageEffects: number[] } {
    const A = new Float64Array(P * P);
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) A[i * P + j] = A[j * P + i] = (this.XtX[i * P + j] ?? 0) + (i === j ? ridge : 0);
    }
    const beta = choleskySolve(cholesky(A, P), this.Xty, P);
    const themeEffects = Array.from(beta.subarray(0, FEATURE_DIM));
    const weights = Array.from(beta.subarray(FEATURE_DIM));
    const n = Math.max(1, this.impressions);
    const averageEffects = themeEffects.map((e, i) => e + (weights[i] ?? 0) * ((this.contextSum[i] ?? 0) / n));
    return { themeEffects, weights, averageEffects };
  }
}
