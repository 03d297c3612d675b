/**
 * The selection workload the benchmarks time, in Node (bench:artwork) and in the worker (bench:browser): a page of
 * `cards` titles with 3-6 theme-tagged artworks each, and a viewer with 300 settled impressions, so Thompson sampling
 * works on a real posterior. Deterministic, so both benchmarks time the same thing.
 */
import { ArtworkBandit, type BanditTitle } from './bandit.ts';
import { ARTWORK_THEMES } from './features.ts';
import { Rng } from './random.ts';
import { VISIT_MS } from './sticky.ts';

export interface SelectionWorkload {
  viewer: ArtworkBandit;
  page: BanditTitle[];
  /** Chooses every card's artwork afresh (nothing sticky) in visit `run`: the first page of a new visit. */
  choosePage(run: number): void;
}

export function selectionWorkload(cards = 50, seed = 1): SelectionWorkload {
  const rng = new Rng(seed);
  const themes = ARTWORK_THEMES.filter((t) => t !== 'clickbait');
  const title = (i: number): BanditTitle => ({
    id: `bench-t${i}`,
    artworks: Array.from({ length: 3 + rng.int(4) }, (_, a) => ({
      id: `bench-t${i}-a${a}`,
      themes: rng.next() < 0.5 ? [rng.pick(themes)] : [rng.pick(themes), rng.pick(themes)],
    })),
  });
  const history = Array.from({ length: 100 }, (_, i) => title(cards + i));
  const viewer = new ArtworkBandit('bench-viewer');
  for (let i = 0; i < 300; i++) {
    const t = history[i % history.length]!;
    viewer.observe(t, t.artworks[i % t.artworks.length]!.id, i % 5 === 0 ? 1 : 0);
  }
  const page = Array.from({ length: cards }, (_, i) => title(i));
  return {
    viewer,
    page,
    choosePage(run) {
      viewer.assignments.clear();
      const now = run * VISIT_MS;
      for (const t of page) viewer.choose(t, now);
    },
  };
}
