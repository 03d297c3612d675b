/**
 * Personalized video ranking, the pure part: the worker computes the model's score for each candidate (cosine of
 * the user and item embeddings); this blends it with what the server knows (popularity, trending) and what the
 * device knows (what the viewer already finished). Same function in the worker, the server and the tests.
 *
 * The blend is split into its parts (`rankPrior`, `blendScore`, `compareRanked`) so that a ranker running the blend
 * as a tensor program on the device (the SDK's tensor-side top-k) finishes with exactly this arithmetic and order.
 */
export interface RankInput {
  titleId: string;
  /** Cosine similarity of user and item embedding, in [-1, 1]; undefined when no model is loaded yet. */
  modelScore?: number;
  /** Plays (any scale): log-scaled and normalised over the candidate set. */
  popularity?: number;
  /** Decayed recent plays (any scale): likewise. */
  trending?: number;
}

export interface Ranked {
  titleId: string;
  score: number;
}

export type RankWeights = Readonly<{ model: number; popularity: number; trending: number }>;

/** Version 1 weights: the model dominates; popularity and trending break ties and carry the cold start. */
export const RANK_WEIGHTS: RankWeights = Object.freeze({ model: 1, popularity: 0.15, trending: 0.1 });

export interface RankOptions {
  /** Titles the viewer finished: not proposed again. */
  exclude?: ReadonlySet<string>;
  weights?: RankWeights;
}

/** Popularity and trending of each candidate, log-scaled and normalised over the whole set (excluded titles count). */
export function rankPrior(candidates: readonly Pick<RankInput, 'popularity' | 'trending'>[]): { popularity: Float64Array; trending: Float64Array } {
  let maxPop = 0;
  let maxTrend = 0;
  for (const c of candidates) {
    maxPop = Math.max(maxPop, Math.log1p(c.popularity ?? 0));
    maxTrend = Math.max(maxTrend, Math.log1p(c.trending ?? 0));
  }
  const popularity = new Float64Array(candidates.length);
  const trending = new Float64Array(candidates.length);
  candidates.forEach((c, i) => {
    popularity[i] = maxPop > 0 ? Math.log1p(c.popularity ?? 0) / maxPop : 0;
    trending[i] = maxTrend > 0 ? Math.log1p(c.trending ?? 0) / maxTrend : 0;
  });
  return { popularity, trending };
}

/** One candidate's blended score, rounded to 1e-6 so every runtime agrees on ties. */
export function blendScore(w: RankWeights, modelScore: number, popularity: number, trending: number): number {
  const score = w.model * modelScore + w.popularity * popularity + w.trending * trending;
  return Math.round(score * 1e6) / 1e6;
}

/** Best first; ties broken by id so the same inputs give the same page on every device. */
export function compareRanked(a: Ranked, b: Ranked): number {
  return b.score - a.score || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0);
}

export function rankCandidates(candidates: readonly RankInput[], opts: RankOptions = {}): Ranked[] {
  const w = opts.weights ?? RANK_WEIGHTS;
  const prior = rankPrior(candidates);
  const out: Ranked[] = [];
  candidates.forEach((c, i) => {
    if (opts.exclude?.has(c.titleId)) return;
    out.push({ titleId: c.titleId, score: blendScore(w, c.modelScore ?? 0, prior.popularity[i] ?? 0, prior.trending[i] ?? 0) });
  });
  return out.sort(compareRanked);
}
