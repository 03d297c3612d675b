import { describe, expect, it } from 'vitest';
import { topK, topKOf } from '../src/top-k.ts';

describe('topK', () => {
  const scores = [3, 9, 1, 9, 7, 0, 5];
  // Higher score first; a tie goes to the lower index.
  const byScore = (a: number, b: number) => (scores[a] ?? -Infinity) - (scores[b] ?? -Infinity) || b - a;

  it('returns the indices of the k best, best first, ties to the lower index', () => {
    expect(topK(scores.length, 3, byScore)).toEqual([1, 3, 4]);
    expect(topK(scores.length, 1, byScore)).toEqual([1]);
  });

  it('returns everything, ordered, when k is at least n; nothing for k <= 0', () => {
    expect(topK(scores.length, 100, byScore)).toEqual([1, 3, 4, 6, 0, 2, 5]);
    expect(topK(scores.length, 0, byScore)).toEqual([]);
    expect(topK(0, 3, byScore)).toEqual([]);
  });

  it('keeps the best of a long stream whatever the order of arrival', () => {
    // 1,000 values in a scrambled order (a permutation by multiplying by a unit mod 1,000).
    const values = Array.from({ length: 1000 }, (_, i) => (i * 337) % 1000);
    const top = topK(values.length, 5, (a, b) => (values[a] ?? 0) - (values[b] ?? 0));
    expect(top.map((i) => values[i])).toEqual([999, 998, 997, 996, 995]);
  });
});

describe('topKOf', () => {
  it('selects elements rather than indices', () => {
    const titles = [
      { id: 'a', plays: 2 },
      { id: 'b', plays: 8 },
      { id: 'c', plays: 5 },
      { id: 'd', plays: 8 },
    ];
    const byPlays = (x: { id: string; plays: number }, y: { id: string; plays: number }) => x.plays - y.plays || (x.id < y.id ? 1 : -1);
    expect(topKOf(titles, 3, byPlays).map((t) => t.id)).toEqual(['b', 'd', 'c']);
    expect(topKOf(titles, 0, byPlays)).toEqual([]);
  });
});
