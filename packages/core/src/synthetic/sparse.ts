/**
 * The `sparse` preset of the synthetic world: a large catalog with few plays per member, shaped like public sparse
 * e-commerce data in the SASRec format (about 31k users, 24k items, 287k interactions, median 6 per user, long-tailed
 * popularity), so sparse-data behaviour can be measured without that data.
 *
 * Defaults: 30,000 members, 24,000 titles, plays per member log-normal with median 6 (at least 3, mean ~9.5, so
 * ~290k plays), title popularity log-normal with sigma 1.6 (a long tail: the top 1% of titles take ~20% of plays).
 * Titles come in collections (series, franchises: 1-12 titles in order); a member's next play is
 *   - the next title of the collection just played, with probability 0.35 (when there is one),
 *   - a popular title of the last play's genre, 0.25,
 *   - a title drawn from popularity x the member's genre taste, otherwise.
 * So the next play depends on the order of the history (what was played last), on the member's taste (the whole
 * history) and on popularity: what a sequential recommender should pick up.
 *
 * Independent of the default world: its own config, its own random stream (same seed -> same preset, and the default
 * world's output is untouched).
 */
import { GENRES, SeededRandom, type Genre, type SyntheticEvent, type Title } from './world.ts';

export interface SparsePresetConfig {
  seed: number;
  members: number;
  titles: number;
  /** Median plays per member (log-normal; at least `minPlays`). */
  medianPlays: number;
  /** Log-normal sigma of plays per member. */
  playsSigma: number;
  minPlays: number;
  /** Log-normal sigma of title popularity. */
  popularitySigma: number;
  /** Probability of playing the next title of the collection just played. */
  pNextInCollection: number;
  /** Probability of a popular title of the last play's genre. */
  pSameGenre: number;
  startTs: number;
}

export const SPARSE_PRESET_DEFAULTS: Readonly<SparsePresetConfig> = Object.freeze({
  seed: 1,
  members: 30_000,
  titles: 24_000,
  medianPlays: 6,
  playsSigma: 0.95,
  minPlays: 3,
  popularitySigma: 1.6,
  pNextInCollection: 0.35,
  pSameGenre: 0.25,
  startTs: Date.UTC(2025, 0, 1),
});

export interface SparseWorld {
  readonly config: Readonly<SparsePresetConfig>;
  readonly titles: readonly Title[];
  /** Member ids, `s000001`... */
  readonly members: readonly string[];
  /** @internal ground truth */
  readonly _truth: {
    popularity: Float64Array;
    /** Index of the next title in the same collection, -1 for a collection's last title. */
    next: Int32Array;
    /** Primary genre index per title. */
    genre: Int32Array;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Cumulative weights for O(log n) weighted draws over large catalogs. */
class Sampler {
  private readonly cum: Float64Array;
  constructor(
    private readonly ids: Int32Array,
    weights: (id: number) => number,
  ) {
    this.cum = new Float64Array(ids.length);
    let s = 0;
    for (let i = 0; i < ids.length; i++) this.cum[i] = s += weights(ids[i]!);
  }
  draw(rng: SeededRandom): number {
    const r = rng.next() * this.cum[this.cum.length - 1]!;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.ids[lo]!;
  }
}

export function createSparseWorld(overrides: Partial<SparsePresetConfig> = {}): SparseWorld {
  const unknown = Object.keys(overrides).filter((k) => !(k in SPARSE_PRESET_DEFAULTS));
  if (unknown.length) throw new Error(`synthetic sparse preset: unknown option(s) ${unknown.join(', ')}; valid: ${Object.keys(SPARSE_PRESET_DEFAULTS).join(', ')}`);
  const config = Object.freeze({ ...SPARSE_PRESET_DEFAULTS, ...overrides });
  for (const k of ['titles', 'members', 'minPlays'] as const) {
    if (!Number.isInteger(config[k]) || config[k] <= 0) throw new Error(`synthetic sparse preset: ${k} must be a positive integer`);
  }
  if (!(config.medianPlays >= 1)) throw new Error('synthetic sparse preset: medianPlays must be >= 1');
  const rng = new SeededRandom(config.seed * 2_654_435_761 + 0x5a5a);
  const n = config.titles;
  const titles: Title[] = [];
  const popularity = new Float64Array(n);
  const next = new Int32Array(n).fill(-1);
  const genre = new Int32Array(n);
  const genreWeight = GENRES.map((_, i) => 1 / (1 + i * 0.25));
  const w = String(n).length;
  for (let t = 0; t < n; ) {
    // One collection: 1-12 titles sharing a genre, popularity decaying along the series.
    const size = Math.min(n - t, rng.next() < 0.5 ? 1 : 2 + rng.int(11));
    const g = rng.weighted(genreWeight);
    const base = Math.exp(rng.normal() * config.popularitySigma);
    const year = 2024 - rng.int(40);
    for (let k = 0; k < size; k++, t++) {
      const id = `p${pad(t + 1, w)}`;
      const genres: Genre[] = [GENRES[g]!];
      if (rng.next() < 0.3) {
        const g2 = GENRES[rng.weighted(genreWeight)]!;
        if (g2 !== genres[0]) genres.push(g2);
      }
      titles.push({ id, index: t, name: `Item ${t + 1}`, genres, year: Math.min(2024, year + k), runtimeMin: 20 + rng.int(100), artworks: [{ id: `${id}-a1`, titleId: id, themes: [] }] });
      popularity[t] = base * Math.pow(0.8, k);
      genre[t] = g;
      if (k + 1 < size) next[t] = t + 1;
    }
  }
  const members = Array.from({ length: config.members }, (_, m) => `s${pad(m + 1, String(config.members).length)}`);
  return { config, titles, members, _truth: { popularity, next, genre } };
}

/**
 * Every member's plays, member by member, chronologically: a `play_start` and then `complete` (or `pause` part-way)
 * per play, never the same title twice per member. Deterministic per (seed, member).
 */
export function* simulateSparseEvents(world: SparseWorld): Generator<SyntheticEvent> {
  const cfg = world.config;
  const { popularity, next, genre } = world._truth;
  const G = GENRES.length;
  const all = Int32Array.from({ length: world.titles.length }, (_, i) => i);
  const pop = (i: number) => popularity[i]!;
  const byGenre: Sampler[] = [];
  for (let g = 0; g < G; g++) {
    const ids = all.filter((i) => genre[i] === g);
    byGenre.push(new Sampler(ids.length ? ids : all, pop));
  }
  const global = new Sampler(all, pop);
  for (let m = 0; m < world.members.length; m++) {
    const memberId = world.members[m]!;
    const rng = new SeededRandom(cfg.seed * 1_000_033 + m * 7927 + 101);
    const plays = Math.max(cfg.minPlays, Math.round(cfg.medianPlays * Math.exp(rng.normal() * cfg.playsSigma)));
    // Taste: 1-3 favourite genres; a draw from taste picks a favourite genre 70% of the time.
    const favs = Array.from({ length: 1 + rng.int(3) }, () => rng.int(G));
    const seen = new Set<number>();
    let ts = cfg.startTs + Math.floor(rng.next() * 180 * 86400_000);
    let last = -1;
    for (let p = 0; p < plays; p++) {
      let t = -1;
      for (let tries = 0; tries < 20 && (t < 0 || seen.has(t)); tries++) {
        const r = rng.next();
        if (last >= 0 && next[last]! >= 0 && r < cfg.pNextInCollection && tries === 0) t = next[last]!;
        else if (last >= 0 && r < cfg.pNextInCollection + cfg.pSameGenre) t = byGenre[genre[last]!]!.draw(rng);
        else t = rng.next() < 0.7 ? byGenre[favs[rng.int(favs.length)]!]!.draw(rng) : global.draw(rng);
      }
      if (seen.has(t)) continue;
      seen.add(t);
      last = t;
      const title = world.titles[t]!;
      const duration = title.runtimeMin * 60;
      ts += Math.floor((0.1 + rng.next() * 3) * 86400_000);
      const sessionId = `${memberId}-s${p + 1}`;
      yield { userId: memberId, titleId: title.id, type: 'play_start', ts, position: 0, duration, sessionId };
      const frac = rng.next() < 0.6 ? 1 : 0.1 + rng.next() * 0.8;
      const end = ts + Math.round(frac * duration * 1000);
      if (frac >= 1) yield { userId: memberId, titleId: title.id, type: 'complete', ts: end, position: duration, duration, sessionId };
      else yield { userId: memberId, titleId: title.id, type: 'pause', ts: end, position: Math.round(frac * duration), duration, sessionId };
    }
  }
}
