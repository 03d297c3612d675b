/** Pure ranking metrics. `rank` is 0-based: the number of candidates ranked above the target. */

export const hitRate = (rank: number, k = 10) => (rank < k ? 1 : 0);
export const ndcg = (rank: number, k = 10) => (rank < k ? 1 / Math.log2(rank + 2) : 0);
export const reciprocalRank = (rank: number) => 1 / (rank + 1);

export interface Metrics {
  hr10: number;
  ndcg10: number;
  mrr: number;
}

export function summarizeRanks(ranks: ArrayLike<number>): Metrics {
  let hr = 0;
  let nd = 0;
  let rr = 0;
  for (let i = 0; i < ranks.length; i++) {
    hr += hitRate(ranks[i]!);
    nd += ndcg(ranks[i]!);
    rr += reciprocalRank(ranks[i]!);
  }
  const n = Math.max(1, ranks.length);
  return { hr10: hr / n, ndcg10: nd / n, mrr: rr / n };
}

/**
 * Rank of `target` among candidates: candidates scoring strictly higher count 1, ties count 1/2 (the expected rank
 * under random tie-breaking, so constant scores give no credit). `skip(j)` excludes candidates (e.g. history).
 * A non-finite target score (NaN, +-Infinity from a broken model) gets the worst rank: every comparison with NaN is
 * false, so it would otherwise rank first.
 */
export function rankAmong(scores: ArrayLike<number>, target: number, candidates: Iterable<number>, skip?: (j: number) => boolean): number {
  const s = scores[target]!;
  const broken = !Number.isFinite(s);
  let above = 0;
  let ties = 0;
  for (const j of candidates) {
    if (j === target || skip?.(j)) continue;
    const v = scores[j]!;
    if (broken || v > s) above++;
    else if (v === s) ties++;
  }
  return above + ties / 2;
}

/**
 * Rank of `target` among all items 1..n-1 of a dense score vector (index 0 = padding), skipping `exclude`.
 * A non-finite target score gets the worst rank (see `rankAmong`). One tight pass over the scores, then the few
 * excluded items are taken back out (the set is consulted |exclude| times, not once per item above the target).
 */
export function fullRank(scores: ArrayLike<number>, target: number, exclude: Set<number>): number {
  const n = scores.length;
  const s = scores[target]!;
  let excluded = 0;
  for (const e of exclude) if (e >= 1 && e < n && e !== target) excluded++;
  if (!Number.isFinite(s)) return n - 2 - excluded;
  let above = 0;
  let ties = -1; // the target equals itself
  for (let j = 1; j < n; j++) {
    const v = scores[j]!;
    if (v > s) above++;
    else if (v === s) ties++;
  }
  for (const e of exclude) {
    if (e < 1 || e >= n || e === target) continue;
    const v = scores[e]!;
    if (v > s) above--;
    else if (v === s) ties--;
  }
  return above + ties / 2;
}
