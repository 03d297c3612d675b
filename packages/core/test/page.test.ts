import { describe, expect, it } from 'vitest';
import { composePage, rankCandidates, type HistoryEntry, type PageCandidate, type RankInput, type TitleInfo } from '../src/index.ts';
import cases from './page-cases.json' with { type: 'json' };

// Golden vectors: the contract for every runtime that ranks or composes a page (worker, server, tests).
const titles = cases.titles as Record<string, TitleInfo>;

describe('rankCandidates', () => {
  it.each(cases.rank.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(rankCandidates(c.candidates as RankInput[], { exclude: new Set(c.exclude) })).toEqual(c.expected);
  });
});

describe('composePage', () => {
  it.each(cases.page.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rows = composePage(c.ranked as PageCandidate[], c.history as HistoryEntry[], (id) => titles[id], c.options);
    expect(rows.map(({ id, titleIds, reason }) => ({ id, titleIds, reason }))).toEqual(c.expected);
  });

  it('never repeats a title and never proposes what the viewer has watched', () => {
    const ids = Object.keys(titles);
    const ranked = ids.map((titleId, i) => ({ titleId, score: 1 - i / 100, sources: [{ source: 'similar', because: 'w1' }, { source: 'trending' }] }));
    const history = [{ titleId: 'w1', lastTs: 1, fraction: 1, completed: true }];
    const rows = composePage(ranked, history, (id) => titles[id], { rowSize: 4, minRowSize: 1 });
    const shown = rows.filter((r) => r.kind !== 'continue').flatMap((r) => r.titleIds);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown).not.toContain('w1');
    for (const r of rows) expect(r.reason.length).toBeGreaterThan(10);
  });
});
