/**
 * Non-neural baselines in the same harness: MostPop, ItemKNN (item co-occurrence divided by the target item's
 * popularity, summed over the user's history), ItemKNN-last (cosine similarity to the last item only) and
 * recency-weighted cosine item-kNN. All are fit on tokens [0, cut[u]) of every user; the pipeline passes the model's
 * own training cut (split.trainEnd), so no baseline sees an interaction the model did not train on.
 */
import { isTargetEvent, type Dataset } from './data/types.ts';
import type { EvalCase } from './data/split.ts';

/** Scores over every item id (index 0 = padding) for each case. `release` frees what the scorer kept between calls. */
export type BatchScorer = ((cases: EvalCase[]) => Float32Array[] | Promise<Float32Array[]>) & { release?: () => void };

/** Plays per title (index = model item id) in each user's tokens [0, cut[u]), impressions not counted. */
export function popularity(d: Dataset, cut: Int32Array): Float32Array {
  const pop = new Float32Array(d.itemIds.length + 1);
  d.seqs.forEach((s, u) => {
    for (let j = 0; j < cut[u]!; j++) if (isTargetEvent(s.events[j]!)) pop[s.items[j]!]!++;
  });
  return pop;
}

export function mostPop(d: Dataset, cut: Int32Array): BatchScorer {
  const pop = popularity(d, cut);
  pop[0] = -Infinity;
  return (cases) => cases.map(() => pop);
}

/** Distinct consumed items per user in [0, cut). */
function userSets(d: Dataset, cut: Int32Array): Int32Array[] {
  return d.seqs.map((s, u) => {
    const set = new Set<number>();
    for (let j = 0; j < cut[u]!; j++) if (isTargetEvent(s.events[j]!)) set.add(s.items[j]!);
    return Int32Array.from(set);
  });
}

/**
 * ItemKNN: score(j) = sum over the user's history items i of cooc(i, j) / pop(j)^alpha, cooc = number of users who
 * consumed both. alpha = 0.5 reproduces the reference numbers in shared/data/README.md exactly on full ranking
 * (HR@10 0.1039, NDCG@10 0.0529); alpha = 1 ranks rare items first and scores near zero.
 * With `lastOnly`, only the most recent history item votes and the similarity is cosine, cooc / sqrt(pop(i) pop(j)):
 * a simple sequential baseline, much stronger on MovieLens. With `recencyDecay` r, every history token k steps from
 * the end (k = 0 for the last) votes with weight r^k and cosine similarity (shared/data/README.md uses r = 0.8).
 * With `window` n (plain ItemKNN only), only the last n consumed tokens of the history vote: the history-length
 * choice (train-artifact.ts) asks whether votes from further back help.
 * Sparse rows; memory O(sum of |history|^2), fine up to ~1e7 pairs.
 */
export function itemKnn(d: Dataset, cut: Int32Array, opts: ItemKnnOptions = {}): BatchScorer {
  return fitItemKnn(d, cut)(opts);
}

export interface ItemKnnOptions {
  alpha?: number;
  lastOnly?: boolean;
  recencyDecay?: number;
  window?: number;
}

/** The co-occurrence fit of itemKnn once, for scorers with several options (the history-length choice's windows). */
export function fitItemKnn(d: Dataset, cut: Int32Array): (opts?: ItemKnnOptions) => BatchScorer {
  const V = d.itemIds.length + 1;
  const sets = userSets(d, cut);
  const pop = new Float32Array(V);
  for (const s of sets) for (const i of s) pop[i]!++;
  // co-occurrence rows as maps
  const rows: Map<number, number>[] = Array.from({ length: V }, () => new Map());
  for (const s of sets) {
    for (let a = 0; a < s.length; a++) {
      const ra = rows[s[a]!]!;
      for (let b = 0; b < s.length; b++) if (a !== b) ra.set(s[b]!, (ra.get(s[b]!) ?? 0) + 1);
    }
  }
  return (opts = {}) => {
    if (opts.recencyDecay !== undefined && !(opts.recencyDecay > 0 && opts.recencyDecay <= 1)) throw new Error(`itemKnn: recencyDecay must be in (0, 1], got ${opts.recencyDecay}`);
    if (opts.window !== undefined && !(Number.isInteger(opts.window) && opts.window > 0)) throw new Error(`itemKnn: window must be a positive integer, got ${opts.window}`);
    const window = opts.window ?? Infinity;
    const alpha = opts.alpha ?? 0.5;
    // pop^alpha once per item rather than once per vote (same doubles, same sums).
    const popPow = Float64Array.from(pop, (x) => Math.pow(x, alpha));
    return (cases: EvalCase[]) =>
      cases.map((c) => {
        const sc = new Float32Array(V);
        const s = d.seqs[c.user]!;
        // The window's first token, so the votes are summed oldest first as without a window (same float sums).
        let from = c.end;
        for (let n = 0; from > 0 && n < window; ) if (isTargetEvent(s.events[--from]!)) n++;
        const hist = new Set<number>();
        for (let j = from; j < c.end; j++) if (isTargetEvent(s.events[j]!)) hist.add(s.items[j]!);
        if (opts.recencyDecay !== undefined) {
          let w = 1;
          for (let j = c.end - 1; j >= 0 && w > 1e-6; j--) {
            if (!isTargetEvent(s.events[j]!)) continue;
            const i = s.items[j]!;
            if (pop[i]! > 0) for (const [k, n] of rows[i]!) sc[k]! += (w * n) / Math.sqrt(pop[k]! * pop[i]!);
            w *= opts.recencyDecay;
          }
        } else if (opts.lastOnly) {
          let last = -1;
          for (let j = c.end - 1; j >= 0 && last < 0; j--) if (isTargetEvent(s.events[j]!)) last = s.items[j]!;
          if (last > 0) for (const [j, n] of rows[last]!) sc[j] = n / Math.sqrt(pop[j]! * pop[last]!);
        } else {
          for (const i of hist) for (const [j, n] of rows[i]!) sc[j]! += n / popPow[j]!;
        }
        sc[0] = -Infinity;
        return sc;
      });
  };
}

/** Every baseline the harness reports, by its JSON key, fit on tokens [0, cut[u]). */
export const BASELINES = Object.freeze({
  mostpop: (d: Dataset, cut: Int32Array) => mostPop(d, cut),
  itemknn: (d: Dataset, cut: Int32Array) => itemKnn(d, cut),
  itemknn_last: (d: Dataset, cut: Int32Array) => itemKnn(d, cut, { lastOnly: true }),
  itemknn_recency: (d: Dataset, cut: Int32Array) => itemKnn(d, cut, { recencyDecay: 0.8 }),
});
export type BaselineName = keyof typeof BASELINES;
export const BASELINE_LABELS: Readonly<Record<BaselineName, string>> = Object.freeze({
  mostpop: 'MostPop',
  itemknn: 'ItemKNN',
  itemknn_last: 'ItemKNN-last',
  itemknn_recency: 'ItemKNN-recency',
});
