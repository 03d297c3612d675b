import { describe, expect, it } from 'vitest';
import { composeDiversePage, composePage, creditPlays, mmrOrder, teamDraft, type PageCandidate, type TitleInfo } from '../src/index.ts';

const info: Record<string, TitleInfo> = {
  a: { name: 'A', genres: ['crime'] },
  b: { name: 'B', genres: ['crime'] },
  c: { name: 'C', genres: ['comedy'] },
  d: { name: 'D', genres: ['crime', 'drama'] },
};
const ti = (id: string) => info[id];

describe('mmrOrder', () => {
  it('golden vector, by hand', () => {
    // scores a 1.0, b 0.9, d 0.8, c 0.5 -> rel a 1, b 0.8, d 0.6, c 0; lambda 0.5.
    // 1st: a (0.5). 2nd: b 0.4 - 0.5 = -0.1, d 0.3 - 0.5*0.5 = 0.05, c 0 - 0 = 0 -> d.
    // 3rd: b 0.4 - 0.5 = -0.1, c 0 -> c. 4th: b.
    const ranked = [{ titleId: 'a', score: 1 }, { titleId: 'b', score: 0.9 }, { titleId: 'd', score: 0.8 }, { titleId: 'c', score: 0.5 }];
    expect(mmrOrder(ranked, ti, { lambda: 0.5, window: 10 }).map((r) => r.titleId)).toEqual(['a', 'd', 'c', 'b']);
    expect(mmrOrder(ranked, ti, { lambda: 0, window: 10 }).map((r) => r.titleId)).toEqual(['a', 'b', 'd', 'c']);
  });
});

describe('composeDiversePage', () => {
  // 30 crime titles ranked above 30 of other genres: what a new viewer saw after three crime plays.
  const genres = ['comedy', 'drama', 'romance', 'sci-fi', 'family', 'western'];
  const catalog: Record<string, TitleInfo> = {};
  const ranked: PageCandidate[] = [];
  for (let i = 0; i < 30; i++) {
    catalog[`c${i}`] = { name: `C${i}`, genres: ['crime'] };
    ranked.push({ titleId: `c${i}`, score: 1 - i / 100, sources: [{ source: 'trending' }] });
  }
  for (let i = 0; i < 30; i++) {
    catalog[`o${i}`] = { name: `O${i}`, genres: [genres[i % genres.length]!] };
    ranked.push({ titleId: `o${i}`, score: 0.6 - i / 100, sources: [{ source: 'trending' }] });
  }
  const history = [{ titleId: 'c0x', lastTs: 1, fraction: 1, completed: true }];
  catalog.c0x = { name: 'Seen', genres: ['crime'] };
  const look = (id: string) => catalog[id];

  it('without a policy is today page; with one, no row but genre rows is all one genre', () => {
    expect(composeDiversePage(ranked, history, look, {}, null)).toEqual(composePage(ranked, history, look));
    const plain = composePage(ranked, history, look);
    expect(plain.find((r) => r.kind === 'top')!.titleIds.every((id) => id.startsWith('c'))).toBe(true);
    const diverse = composeDiversePage(ranked, history, look, {}, { lambda: 0.3, window: 10, maxPerGenrePerRow: 4 });
    for (const r of diverse.filter((r) => r.kind === 'top' || r.kind === 'trending')) {
      expect(r.titleIds.filter((id) => id.startsWith('c')).length).toBeLessThanOrEqual(4);
      // Rows are composed at twice the size and cut: what the cap cuts is not shown elsewhere, so a row may be short.
      expect(r.titleIds.length).toBeGreaterThanOrEqual(8);
      expect(r.titleIds.length).toBeLessThanOrEqual(10);
    }
    expect(diverse.find((r) => r.kind === 'genre')!.titleIds.every((id) => id.startsWith('c'))).toBe(true);
    const shown = diverse.flatMap((r) => r.titleIds);
    expect(new Set(shown).size).toBe(shown.length);
  });
});

describe('team-draft interleaving', () => {
  it('takes turns, never repeats, keeps each ranker order', () => {
    const a = ['1', '2', '3', '4', '5', '6'];
    const b = ['2', '1', '7', '8', '3', '9'];
    for (const seed of ['s1', 's2', 's3', 's4']) {
      const r = teamDraft(a, b, 6, seed);
      expect(new Set(r.titleIds).size).toBe(6);
      const na = r.teams.filter((t) => t === 'A').length;
      expect(Math.abs(na - (6 - na))).toBeLessThanOrEqual(1);
      const fromA = r.titleIds.filter((_, i) => r.teams[i] === 'A');
      expect(fromA).toEqual([...fromA].sort((x, y) => a.indexOf(x) - a.indexOf(y)));
      const fromB = r.titleIds.filter((_, i) => r.teams[i] === 'B');
      expect(fromB).toEqual([...fromB].sort((x, y) => b.indexOf(x) - b.indexOf(y)));
      // The first two slots hold both rankers' first choices.
      expect(new Set(r.titleIds.slice(0, 2))).toEqual(new Set(['1', '2']));
    }
    expect(teamDraft(a, a, 4, 'x').titleIds).toEqual(['1', '2', '3', '4']);
    expect(teamDraft(a, b, 6, 's1')).toEqual(teamDraft(a, b, 6, 's1'));
  });
  it('credits plays to the team that placed the title', () => {
    const row = { titleIds: ['x', 'y', 'z'], teams: ['A', 'B', 'A'] as ('A' | 'B')[] };
    expect(creditPlays(row, ['x'])).toBe('A');
    expect(creditPlays(row, ['y'])).toBe('B');
    expect(creditPlays(row, ['x', 'y'])).toBe('tie');
    expect(creditPlays(row, ['q'])).toBe('tie');
    expect(creditPlays(row, ['x', 'z', 'y'])).toBe('A');
  });
});
