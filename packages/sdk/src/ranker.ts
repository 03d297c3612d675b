/**
 * Ranking as a tensor program: the blend of core's `rankCandidates` (model score, popularity, trending, exclusions)
 * and the top-k run where the scores are, so only the top of the list crosses to JavaScript. The result is exactly
 * `rankCandidates(...).slice(0, k)`: the device ranks in float32, then the fetched head is re-scored with core's own
 * arithmetic (`blendScore`, float64) and order (`compareRanked`); the head is widened until no candidate left on the
 * device could still reach the top k (float32 blend error is far below the 1e-6 the scores are rounded to).
 *
 * One ranker per candidate set (and weights and exclusions): the per-candidate prior is computed and uploaded once,
 * and each re-rank costs a multiply-add, a top-k and three small reads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RANK_WEIGHTS, blendScore, compareRanked, rankPrior, type RankInput, type RankOptions, type Ranked } from '@marquee/core';

/** Bound on |float32 blend - exact rounded blend|, per unit of total weight (float32 error ~1e-7, rounding 5e-7). */
const SLACK_PER_WEIGHT = 1e-5;

export class TensorRanker {
  private readonly ids: string[];
  private readonly popularity: Float64Array;
  private readonly trending: Float64Array;
  private readonly hasModelScore: Uint8Array;
  private readonly weights: NonNullable<RankOptions['weights']>;
  /** float32 [N]: weighted popularity + trending, -Infinity for excluded candidates. */
  private readonly prior: tf.Tensor1D;
  /** float32 [N]: the model weight where the candidate has a model score, else 0 (no score counts as 0). */
  private readonly modelWeight: tf.Tensor1D;
  private readonly slack: number;

  /**
   * `candidates` in the order of the score vectors `rank` will get (their `modelScore` is ignored); `hasModelScore(i)`
   * says whether candidate i's entry in those vectors is a real model score (a title the model can score).
   */
  constructor(candidates: readonly RankInput[], opts: RankOptions & { hasModelScore?: (i: number) => boolean } = {}) {
    const w = opts.weights ?? RANK_WEIGHTS;
    this.weights = w;
    this.ids = candidates.map((c) => c.titleId);
    ({ popularity: this.popularity, trending: this.trending } = rankPrior(candidates));
    this.hasModelScore = Uint8Array.from(candidates, (_, i) => (opts.hasModelScore?.(i) ?? true ? 1 : 0));
    const prior = new Float32Array(candidates.length);
    const modelWeight = new Float32Array(candidates.length);
    candidates.forEach((c, i) => {
      prior[i] = opts.exclude?.has(c.titleId) ? -Infinity : w.popularity * (this.popularity[i] ?? 0) + w.trending * (this.trending[i] ?? 0);
      modelWeight[i] = this.hasModelScore[i] ? w.model : 0;
    });
    this.prior = tf.tensor1d(prior);
    this.modelWeight = tf.tensor1d(modelWeight);
    this.slack = SLACK_PER_WEIGHT * (1 + Math.abs(w.model) + Math.abs(w.popularity) + Math.abs(w.trending));
  }

  get size(): number {
    return this.ids.length;
  }

  /** The top `k` of the blend for `scores` ([N] model scores, candidate order; null: no model yet), best first. */
  async rank(scores: tf.Tensor1D | null, k: number): Promise<Ranked[]> {
    const n = this.ids.length;
    k = Math.max(0, Math.min(k, n));
    if (k === 0) return [];
    if (scores && scores.shape[0] !== n) throw new RangeError(`TensorRanker: ${scores.shape[0]} scores for ${n} candidates`);
    for (let head = Math.min(n, 2 * k + 16); ; head = Math.min(n, head * 4)) {
      const read = tf.tidy(() => {
        const blended = scores ? tf.add(tf.mul(scores, this.modelWeight), this.prior) : this.prior;
        const { values, indices } = tf.topk(blended, head);
        return scores ? [values, indices, tf.gather(scores, indices)] : [values, indices];
      });
      const [v, idx, ms] = (await Promise.all(read.map((t) => t.data()))) as [Float32Array, Int32Array, Float32Array?];
      tf.dispose(read);
      const out: Ranked[] = [];
      for (let j = 0; j < head; j++) {
        const i = idx[j];
        if (v[j] === -Infinity || i === undefined) break; // excluded, and so is everything after it
        const titleId = this.ids[i];
        if (titleId === undefined) throw new RangeError(`TensorRanker: top-k index ${i} outside ${n} candidates`);
        const modelScore = ms && this.hasModelScore[i] ? (ms[j] ?? 0) : 0;
        out.push({ titleId, score: blendScore(this.weights, modelScore, this.popularity[i] ?? 0, this.trending[i] ?? 0) });
      }
      out.sort(compareRanked);
      const weakestOnDevice = v[head - 1] ?? -Infinity;
      const kth = out[k - 1];
      // Done when nothing left on the device can tie or beat the k-th: its exact score is at most its float32
      // score plus the slack, and a tie would be broken by id, so the k-th must be strictly above that.
      if (head === n || weakestOnDevice === -Infinity || (kth !== undefined && kth.score > weakestOnDevice + this.slack)) return out.slice(0, k);
    }
  }

  dispose(): void {
    this.prior.dispose();
    this.modelWeight.dispose();
  }
}
