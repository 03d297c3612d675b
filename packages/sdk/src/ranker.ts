/**
 * Ranking as a tensor program: the blend of core's `rankCandidates` (model score, popularity, trending, exclusions)
 * and the top-k run where the scores are, so only the top of the list crosses to JavaScript. The result is exactly
 * `rankCandidates(...).slice(0, k)`: the device ranks in float32, then the fetched head is re-scored with core's own
 * arithmetic (`blendScore`, float64) and order (`compareRanked`); the head is widened until no candidate left on the
 * device could still reach the top k (float32 blend error is far below the 1e-6 the scores are rounded to).
 *
 * One ranker per candidate set (and weights and exclusions): the per-candidate prior is computed and uploaded once,
 * and each re-rank costs a multiply-add, a top-k and one small read.
 *
 * The top-k: tfjs's own (`tf.topk`) where it is cheap (wasm, cpu, webgl), and on webgpu rounds of the per-chunk
 * top-k kernel (chunk-top-k.ts), whose dispatches are 2-3 where tfjs's webgpu TopK launches about a hundred.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RANK_WEIGHTS, blendScore, compareRanked, rankPrior, type RankInput, type RankOptions, type Ranked } from '@marquee/core';
import { CHUNK, hasChunkTopK, topColumns } from './chunk-top-k.ts';

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
  private readonly topK: TopKPath;
  /** float32 [N]: 0..N-1, each candidate's own index, carried through the chunked top-k's rounds. */
  private columns: tf.Tensor1D | null = null;

  /**
   * `candidates` in the order of the score vectors `rank` will get (their `modelScore` is ignored); `hasModelScore(i)`
   * says whether candidate i's entry in those vectors is a real model score (a title the model can score).
   */
  constructor(candidates: readonly RankInput[], opts: RankOptions & { hasModelScore?: (i: number) => boolean; topK?: TopKPath } = {}) {
    this.topK = opts.topK ?? 'auto';
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
    if (n > 2 ** 24) throw new RangeError(`TensorRanker: ${n} candidates, more than float32 indices can name`);
    for (let want = Math.min(n, 2 * k + 16); ; want = Math.min(n, want * 4)) {
      // The chunked top-k keeps a power of two per chunk: read all it kept.
      const chunked = this.useChunked(want);
      const head = chunked ? Math.min(n, pow2(want)) : want;
      // One read of [values, indices, model scores] (indices as float32: exact below 2^24): on a GPU backend each
      // read is a round trip of its own.
      const read = chunked ? this.headChunked(scores, head) : this.headTfjs(scores, head);
      const all = (await read.data()) as Float32Array;
      read.dispose();
      const v = all.subarray(0, head);
      const idx = all.subarray(head, 2 * head);
      const ms = scores ? all.subarray(2 * head, 3 * head) : undefined;
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

  /** A head wider than a quarter chunk (deep ties, k in the hundreds) goes to tfjs's top-k on every path. */
  private useChunked(head: number): boolean {
    if (this.topK === 'tfjs' || pow2(head) > CHUNK / 4 || !hasChunkTopK()) return false;
    return this.topK === 'chunked' || tf.getBackend() === 'webgpu';
  }

  /** [values, indices, model scores] of the best `head`, by tfjs's top-k. */
  private headTfjs(scores: tf.Tensor1D | null, head: number): tf.Tensor {
    return tf.tidy(() => {
      const { values, indices } = tf.topk(this.blend(scores), head);
      return tf.concat([values, tf.cast(indices, 'float32'), ...(scores ? [tf.gather(scores, indices)] : [])]);
    });
  }

  /** The same by rounds of the per-chunk top-k: [3, head], values first. */
  private headChunked(scores: tf.Tensor1D | null, head: number): tf.Tensor {
    this.columns ??= tf.range(0, this.ids.length, 1, 'float32') as tf.Tensor1D;
    const columns = this.columns;
    return tf.tidy(() => {
      const blended = this.blend(scores);
      const top = topColumns(tf.stack([blended, columns, scores ?? blended]) as tf.Tensor2D, pow2(head));
      // Fewer candidates than a power of two: the kernel padded the rest with -Infinity.
      return top.shape[1] === head ? top : tf.slice(top, [0, 0], [3, head]);
    });
  }

  private blend(scores: tf.Tensor1D | null): tf.Tensor1D {
    return scores ? tf.add(tf.mul(scores, this.modelWeight), this.prior) : this.prior;
  }

  dispose(): void {
    this.prior.dispose();
    this.modelWeight.dispose();
    this.columns?.dispose();
  }
}

function pow2(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)));
}

/** Which top-k the ranker runs: `auto` takes the chunked one on webgpu, tfjs's elsewhere. */
export type TopKPath = 'auto' | 'tfjs' | 'chunked';
