/**
 * Leave-one-out evaluation: full ranking over all items (the user's history excluded) and 100 uniformly sampled
 * negatives outside the user's items (SASRec protocol), side by side, for the model and any baseline scorer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';
import { isTargetEvent, type Dataset } from './data/types.ts';
import { historyItems, type EvalCase } from './data/split.ts';
import { fullRank, rankAmong, summarizeRanks, type Metrics } from './metrics.ts';
import { itemEmbeddings, packHistories, userEmbeddings, type Params } from './model.ts';
import { Rng, subSeed } from './rng.ts';
import type { BatchScorer } from './baselines.ts';

export interface ProtocolMetrics {
  full: Metrics;
  sampled100: Metrics;
}

/**
 * Model scores for a batch of cases: histories packed by length, one matMul against the item table. The normalised
 * item table is built once, on the first call, already transposed to [d, V+1] (the matMul's fast, non-transposed
 * layout), and kept until `release()`; `evaluate` releases it when done, so nothing outlives an evaluation.
 */
export function modelScorer(p: Params, c: ModelConfig, d: Dataset): BatchScorer {
  let itemsT: tf.Tensor2D | null = null;
  const scorer: BatchScorer = async (cases) => {
    itemsT ??= tf.tidy(() => tf.transpose(itemEmbeddings(p, c)) as tf.Tensor2D);
    const table = itemsT;
    const hs = cases.map((k) => {
      const s = d.seqs[k.user]!;
      return { items: s.items.subarray(0, k.end), events: s.events.subarray(0, k.end), fracs: s.fracs.subarray(0, k.end) };
    });
    const { batch, last } = packHistories(c, hs);
    const t = tf.tidy(() => tf.matMul(userEmbeddings(p, c, batch, last), table)); // [B, V+1]
    const flat = (await t.data()) as Float32Array;
    t.dispose();
    const V = c.numItems + 1;
    return cases.map((_, b) => flat.subarray(b * V, (b + 1) * V));
  };
  scorer.release = () => {
    itemsT?.dispose();
    itemsT = null;
  };
  return scorer;
}

export interface EvalOptions {
  seed?: number;
  negatives?: number;
  batchSize?: number;
  /** Only compute full ranking (faster; used for early stopping). */
  fullOnly?: boolean;
}

/** Sampled negatives for a case: uniform over items the user never consumed; the same for every scorer. */
export function sampleNegatives(d: Dataset, c: EvalCase, n: number, seed: number): Int32Array {
  const s = d.seqs[c.user]!;
  const rated = new Set<number>();
  for (let j = 0; j < s.items.length; j++) if (isTargetEvent(s.events[j]!)) rated.add(s.items[j]!);
  const V = d.itemIds.length;
  const free = V - rated.size;
  const k = Math.min(n, free);
  const out = new Int32Array(k);
  const rng = new Rng(subSeed(seed, c.user));
  const taken = new Set<number>();
  for (let m = 0; m < k; ) {
    const j = 1 + rng.int(V);
    if (rated.has(j) || taken.has(j)) continue;
    taken.add(j);
    out[m++] = j;
  }
  return out;
}

/**
 * Refuse histories that carry impression tokens: the held-out title's own impression precedes its play, so with
 * impressions as inputs the answer is the last input token (measured: every metric becomes 1.0).
 */
export function assertNoImpressionInputs(d: Dataset, cases: EvalCase[]): void {
  for (const c of cases) {
    const ev = d.seqs[c.user]!.events;
    for (let j = 0; j < c.end; j++) {
      if (!isTargetEvent(ev[j]!)) {
        throw new Error('evaluation refuses impression tokens in histories (includeImpressions): the held-out title\'s own impression would precede it and leak the answer; build the dataset without impressions to evaluate');
      }
    }
  }
}

export async function evaluate(d: Dataset, cases: EvalCase[], scorer: BatchScorer, opts: EvalOptions = {}): Promise<ProtocolMetrics> {
  assertNoImpressionInputs(d, cases);
  const seed = opts.seed ?? 2024;
  const bs = opts.batchSize ?? 256;
  const full: number[] = [];
  const sampled: number[] = [];
  // Sort by history length so batches pad little; metrics do not depend on order.
  const order = cases.map((_, i) => i).sort((a, b) => cases[a]!.end - cases[b]!.end);
  try {
    for (let i = 0; i < order.length; i += bs) {
      const chunk = order.slice(i, i + bs).map((k) => cases[k]!);
      const scores = await scorer(chunk);
      chunk.forEach((c, b) => {
        const sc = scores[b]!;
        full.push(fullRank(sc, c.target, historyItems(d, c.user, c.end)));
        if (!opts.fullOnly) sampled.push(rankAmong(sc, c.target, sampleNegatives(d, c, opts.negatives ?? 100, seed)));
      });
    }
  } finally {
    scorer.release?.();
  }
  return { full: summarizeRanks(full), sampled100: summarizeRanks(sampled) };
}
