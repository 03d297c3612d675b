/**
 * Personalized video ranking, the pure part: the worker computes the model's score for each candidate (cosine of
 * the user and item embeddings); this blends it with what the server knows (popularity, trending) and what the
 * device knows (what the viewer already finished). Same function in the worker, the server and the tests.
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

/** Version 1 weights: the model dominates; popularity and trending break ties and carry the cold start. */
export const RANK_WEIGHTS = Object.freeze({ model: 1, popularity: 0.15, trending: 0.1 });

export interface RankOptions {
  /** Titles the viewer finished: not proposed again. */
  exclude?: ReadonlySet<string>;
  weights?: Readonly<{ model: number; popularity: number; trending: number }>;
}

export function rankCandidates(candidates: readonly RankInput[], opts: RankOptions = {}): Ranked[] {
  const w = opts.weights ?? RANK_WEIGHTS;
  let maxPop = 0;
  let maxTrend = 0;
  for (const c of candidates) {
    maxPop = Math.max(maxPop, Math.log1p(c.popularity ?? 0));
    maxTrend = Math.max(maxTrend, Math.log1p(c.trending ?? 0));
  }
  const out: Ranked[] = [];
  for (const c of candidates) {
    if (opts.exclude?.has(c.titleId)) continue;
    const pop = maxPop > 0 ? Math.log1p(c.popularity ?? 0) / maxPop : 0;
    const trend = maxTrend > 0 ? Math.log1p(c.trending ?? 0) / maxTrend : 0;
    const score = w.model * (c.modelScore ?? 0) + w.popularity * pop + w.trending * trend;
    out.push({ titleId: c.titleId, score: Math.round(score * 1e6) / 1e6 });
  }
  // Ties broken by id so the same inputs give the same page on every device.
  return out.sort((a, b) => b.score - a.score || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0));
}
