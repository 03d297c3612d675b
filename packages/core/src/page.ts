/**
 * Homepage composition, pure: ranked candidates plus the viewer's local history in, rows out. Every row says why
 * it exists, and no title appears twice on the page.
 *
 * Seen titles (vocabulary.ts) appear only in Continue Watching, while in progress.
 *
 * Order: Continue Watching, Top Picks, Because You Watched X (most recent titles), Trending Now, then rows for the
 * viewer's favourite genres.
 */
import { seenTitles } from './vocabulary.ts';

export interface PageCandidate {
  titleId: string;
  score: number;
  /** Sources that proposed it: 'similar' (with `because`), 'trending', 'genre', ... */
  sources: readonly { source: string; because?: string; score?: number }[];
}

export interface HistoryEntry {
  titleId: string;
  /** Last time the viewer touched it (ms). */
  lastTs: number;
  /** Furthest watched fraction, 0..1. */
  fraction: number;
  completed: boolean;
}

export interface TitleInfo {
  name: string;
  genres: readonly string[];
}

export type RowKind = 'continue' | 'top' | 'because' | 'trending' | 'genre';

export interface Row {
  id: string;
  kind: RowKind;
  title: string;
  /** Why this row exists, in words a viewer understands. */
  reason: string;
  titleIds: string[];
}

export interface PageOptions {
  rowSize: number;
  /** Rows shorter than this are left out. */
  minRowSize: number;
  becauseRows: number;
  genreRows: number;
}

export const PAGE_DEFAULTS: Readonly<PageOptions> = Object.freeze({ rowSize: 10, minRowSize: 3, becauseRows: 2, genreRows: 3 });

/** Started, not finished, not abandoned at the first seconds. */
export const isInProgress = (h: HistoryEntry) => !h.completed && h.fraction >= 0.02 && h.fraction < 0.95;

/**
 * `topPicks`: the Top Picks row decided elsewhere (an interleaved row, see interleave.ts), in its order; the other
 * rows are composed around it as usual, so no title appears twice.
 */
export function composePage(
  ranked: readonly PageCandidate[],
  history: readonly HistoryEntry[],
  titleInfo: (id: string) => TitleInfo | undefined,
  options: Partial<PageOptions> = {},
  topPicks?: readonly string[],
): Row[] {
  const o = { ...PAGE_DEFAULTS, ...options };
  const rows: Row[] = [];
  const used = new Set<string>();
  const seen = seenTitles(history);
  const byRecent = [...history].sort((a, b) => b.lastTs - a.lastTs || (a.titleId < b.titleId ? -1 : 1));

  const push = (row: Omit<Row, 'titleIds'>, pick: (c: PageCandidate) => boolean) => {
    const ids: string[] = [];
    for (const c of ranked) {
      if (ids.length >= o.rowSize) break;
      if (used.has(c.titleId) || seen.has(c.titleId) || !pick(c)) continue;
      ids.push(c.titleId);
    }
    if (ids.length < o.minRowSize) return;
    ids.forEach((id) => used.add(id));
    rows.push({ ...row, titleIds: ids });
  };

  const cont = byRecent.filter(isInProgress).slice(0, o.rowSize).map((h) => h.titleId);
  if (cont.length > 0) {
    cont.forEach((id) => used.add(id));
    rows.push({ id: 'continue', kind: 'continue', title: 'Continue Watching', reason: 'You started these and have not finished them', titleIds: cont });
  }

  const top = { id: 'top', kind: 'top', title: 'Top Picks for You', reason: history.length ? 'Ranked for you on this device from everything you watched' : 'Popular on Marquee right now' } as const;
  if (topPicks) {
    const ids = topPicks.filter((id) => !used.has(id) && !seen.has(id)).slice(0, o.rowSize);
    if (ids.length >= o.minRowSize) {
      ids.forEach((id) => used.add(id));
      rows.push({ ...top, titleIds: ids });
    }
  } else push(top, () => true);

  const anchors = byRecent.filter((h) => h.fraction >= 0.1 || h.completed).slice(0, o.becauseRows);
  for (const a of anchors) {
    const name = titleInfo(a.titleId)?.name ?? a.titleId;
    push(
      { id: `because:${a.titleId}`, kind: 'because', title: `Because You Watched ${name}`, reason: `Members who watched ${name} also watched these` },
      (c) => c.sources.some((s) => s.source === 'similar' && s.because === a.titleId),
    );
  }

  push({ id: 'trending', kind: 'trending', title: 'Trending Now', reason: 'Played most in the last days, in your order' }, (c) =>
    c.sources.some((s) => s.source === 'trending'),
  );

  const genreCount = new Map<string, number>();
  for (const h of history) for (const g of titleInfo(h.titleId)?.genres ?? []) genreCount.set(g, (genreCount.get(g) ?? 0) + 1);
  const genres = [...genreCount].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, o.genreRows);
  for (const [genre] of genres) {
    const label = genre.charAt(0).toUpperCase() + genre.slice(1);
    push({ id: `genre:${genre}`, kind: 'genre', title: label, reason: `You watch a lot of ${genre}` }, (c) =>
      (titleInfo(c.titleId)?.genres ?? []).includes(genre),
    );
  }
  return rows;
}
