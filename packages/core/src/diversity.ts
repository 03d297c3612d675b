/**
 * The page-level diversity policy, pure (beside page.ts): maximal marginal relevance over genres, then a cap on the
 * titles of one genre per row. Without it three crime plays fill every row of the page with crime; with it Top Picks
 * and Trending mix genres while the Because-You-Watched and genre rows stay what they say they are.
 *
 * MMR (Carbonell & Goldstein, 1998), greedily: next = argmax (1 - lambda) * rel(i) - lambda * max sim(i, j), j over
 * the last `window` titles placed, rel the score rescaled to [0, 1] over the pool, sim the Jaccard overlap of genres.
 */
import { composePage, type HistoryEntry, type PageCandidate, type PageOptions, type Row, type TitleInfo, PAGE_DEFAULTS } from './page.ts';
import type { DiversityPolicy } from './experiments.ts';

export const DIVERSITY_DEFAULTS: Readonly<DiversityPolicy> = Object.freeze({ lambda: 0.3, window: 10, maxPerGenrePerRow: 4 });
/** MMR reorders only the head of the ranking (quadratic cost); the tail keeps its order after it. */
const MMR_POOL = 300;

const jaccard = (a: readonly string[], b: readonly string[]) => {
  if (a.length === 0 || b.length === 0) return 0;
  let inter = 0;
  for (const g of a) if (b.includes(g)) inter++;
  return inter / (a.length + b.length - inter);
};

/** The ranked candidates in MMR order (the same objects; ties by original position). */
export function mmrOrder<T extends { titleId: string; score: number }>(
  ranked: readonly T[],
  titleInfo: (id: string) => TitleInfo | undefined,
  policy: Pick<DiversityPolicy, 'lambda' | 'window'>,
): T[] {
  const head = ranked.slice(0, MMR_POOL);
  if (policy.lambda === 0 || head.length < 2) return [...ranked];
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of head) {
    lo = Math.min(lo, c.score);
    hi = Math.max(hi, c.score);
  }
  const rel = head.map((c) => (hi > lo ? (c.score - lo) / (hi - lo) : 1));
  const genres = head.map((c) => titleInfo(c.titleId)?.genres ?? []);
  const left = head.map((_, i) => i);
  const placed: number[] = [];
  while (left.length > 0) {
    let best = 0;
    let bestValue = -Infinity;
    const recent = placed.slice(-policy.window);
    for (let k = 0; k < left.length; k++) {
      const i = left[k]!;
      let sim = 0;
      for (const j of recent) sim = Math.max(sim, jaccard(genres[i]!, genres[j]!));
      const value = (1 - policy.lambda) * rel[i]! - policy.lambda * sim;
      // Rounded so that float noise never decides, and the same page comes out on every device.
      if (Math.round(value * 1e9) > Math.round(bestValue * 1e9)) {
        best = k;
        bestValue = value;
      }
    }
    placed.push(left[best]!);
    left.splice(best, 1);
  }
  return [...placed.map((i) => head[i]!), ...ranked.slice(MMR_POOL)];
}

/** Keeps a row's titles in order while no genre has more than `max` of them, up to `size` titles. */
export function capRowGenres(titleIds: readonly string[], titleInfo: (id: string) => TitleInfo | undefined, max: number, size: number): string[] {
  const count = new Map<string, number>();
  const out: string[] = [];
  for (const id of titleIds) {
    if (out.length >= size) break;
    const gs = titleInfo(id)?.genres ?? [];
    if (gs.some((g) => (count.get(g) ?? 0) >= max)) continue;
    for (const g of gs) count.set(g, (count.get(g) ?? 0) + 1);
    out.push(id);
  }
  return out;
}

/**
 * composePage with the diversity policy; `policy` null or undefined gives today's pure-relevance page unchanged.
 * `topPicks`, when given, is the Top Picks row as is (see composePage).
 * Rows are composed from the MMR order with twice the row size, then each row except Continue Watching and the
 * genre rows is cut back to the row size under the per-genre cap (titles cut there are not shown elsewhere).
 */
export function composeDiversePage(
  ranked: readonly PageCandidate[],
  history: readonly HistoryEntry[],
  titleInfo: (id: string) => TitleInfo | undefined,
  options: Partial<PageOptions> = {},
  policy?: DiversityPolicy | null,
  topPicks?: readonly string[],
): Row[] {
  if (!policy) return composePage(ranked, history, titleInfo, options, topPicks);
  const o = { ...PAGE_DEFAULTS, ...options };
  const rows = composePage(mmrOrder(ranked, titleInfo, policy), history, titleInfo, { ...o, rowSize: o.rowSize * 2 }, topPicks?.slice(0, o.rowSize));
  const out: Row[] = [];
  for (const r of rows) {
    // A given Top Picks row (interleaving compares two rankers' own orders) is not reshaped by the policy.
    const fixed = r.kind === 'continue' || r.kind === 'genre' || (r.kind === 'top' && topPicks !== undefined);
    const keep = fixed ? r.titleIds.slice(0, o.rowSize) : capRowGenres(r.titleIds, titleInfo, policy.maxPerGenrePerRow, o.rowSize);
    if (keep.length >= o.minRowSize || r.kind === 'continue') out.push({ ...r, titleIds: keep });
  }
  return out;
}
