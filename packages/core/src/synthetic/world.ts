/**
 * A deterministic, seeded synthetic streaming world: a catalog of titles with artwork variants, and members with
 * latent tastes who browse rows of impressions, play titles and watch them for a while.
 *
 * Pure TypeScript, no dependencies; the same seed gives the same world and the same events everywhere.
 *
 * Ground truth (for judging recommenders and the artwork bandit), all stationary, without session mood:
 * - titleAffinity(world, member, title): probability-like affinity in (0, 1), driven mostly by genre taste;
 * - artworkAffinity(world, member, title, artwork): the artwork's additive effect on the play logit (theme taste);
 * - playProbability(world, member, title, artwork): P(play | impression) outside any mood.
 * Watch time depends on title affinity only, never on artwork, so a bandit rewarded by quality plays cannot win by
 * clickbait; except in a world created with the `clickbait` option, whose clickbait artworks cut it short.
 */
import { SeededRandom } from '../random.ts';

export { SeededRandom };

export const GENRES = Object.freeze([
  'action', 'adventure', 'animation', 'comedy', 'crime', 'documentary', 'drama', 'family', 'fantasy', 'horror',
  'musical', 'mystery', 'romance', 'sci-fi', 'thriller', 'war', 'western', 'sports',
] as const);
export type Genre = (typeof GENRES)[number];

export const THEMES = Object.freeze([
  'romance', 'action', 'ensemble', 'close-up', 'landscape', 'dark', 'bright', 'comedic', 'mystery', 'family',
  'text-heavy', 'villain',
] as const);
export type Theme = (typeof THEMES)[number];

export interface WorldConfig {
  seed: number;
  titles: number;
  members: number;
  /** Mean sessions per member (activity varies per member). */
  sessionsPerMember: number;
  /** Impressions per session row. */
  rowSize: number;
  /** Simulation start, ms since epoch. */
  startTs: number;
  latentDim: number;
}

export const WORLD_DEFAULTS: Readonly<WorldConfig> = Object.freeze({
  seed: 1,
  titles: 2000,
  members: 1000,
  sessionsPerMember: 30,
  rowSize: 10,
  startTs: Date.UTC(2025, 0, 1),
  latentDim: 8,
});

/** 'clickbait' exists only in worlds created with the `clickbait` option. */
export type ArtworkTheme = Theme | 'clickbait';

export interface Artwork {
  id: string;
  titleId: string;
  themes: ArtworkTheme[];
}

/**
 * A clickbait artwork raises everyone's chance to play (population-wide, so easy to learn) and lowers the watched
 * fraction of the plays it causes: a bandit rewarded by clicks falls for it, one rewarded by quality plays must not.
 */
export interface ClickbaitOptions {
  /** Share of titles that get one extra artwork themed 'clickbait'. */
  share: number;
  /** Added to the play logit when it is shown. */
  playLift: number;
  /** A play it caused stops at this share of what the member would otherwise have watched. */
  watchFactor: number;
}
export const CLICKBAIT_DEFAULTS: Readonly<ClickbaitOptions> = Object.freeze({ share: 0.5, playLift: 1.2, watchFactor: 0.1 });

/** Behaviour beyond the default world, each drawn from its own random stream so the default world never changes. */
export interface WorldOptions {
  clickbait?: Partial<ClickbaitOptions> | boolean;
  /**
   * Share (0-1) of each member's artwork-theme taste that follows from their genre taste, the rest staying their own.
   * The default world (0) draws theme taste independently of everything else, so nothing observable (viewing
   * history included) predicts it. With a share s, taste = sqrt(1 - s) * own + sqrt(s) * from-genres, where
   * from-genres gives each theme the mean taste of the genres whose artwork tends to carry it (GENRE_THEMES: a
   * horror fan responds to dark and villain images), centred and scaled to the own part's spread, so the taste's
   * overall size (and the oracle's lift) stays that of the default world. Deterministic: no random draw.
   */
  themeTasteFromGenres?: number;
}

export interface Title {
  id: string;
  index: number;
  name: string;
  genres: Genre[];
  year: number;
  runtimeMin: number;
  artworks: Artwork[];
}

export interface Member {
  id: string;
  index: number;
}

/** Hidden parameters. Models must never read these; judges may (through the functions below). */
interface Truth {
  genreTaste: Float64Array[]; // per member [G]
  themeTaste: Float64Array[]; // per member [Θ]
  memberLatent: Float64Array[]; // per member [k]
  activity: Float64Array; // per member
  titleLatent: Float64Array[]; // per title [k]
  quality: Float64Array; // per title
  buzz: Float64Array; // per title, popularity of being shown
  clickbait?: ClickbaitOptions;
}

export interface World {
  readonly config: Readonly<WorldConfig>;
  readonly titles: readonly Title[];
  readonly members: readonly Member[];
  readonly titleById: ReadonlyMap<string, Title>;
  readonly memberById: ReadonlyMap<string, Member>;
  /** @internal ground truth; use the exported functions. */
  readonly _truth: Truth;
}


const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const pad = (n: number, w: number) => String(n).padStart(w, '0');

const ADJ = ['Silent', 'Broken', 'Golden', 'Last', 'Hidden', 'Wild', 'Crimson', 'Distant', 'Midnight', 'Frozen', 'Burning', 'Lost', 'Secret', 'Electric', 'Quiet', 'Northern', 'Endless', 'Paper', 'Iron', 'Summer'];
const NOUN = ['Harbor', 'Kingdom', 'Signal', 'River', 'Promise', 'Frontier', 'Garden', 'Empire', 'Letter', 'Station', 'Horizon', 'Shadow', 'Orchard', 'Voyage', 'Circuit', 'Crown', 'Tide', 'Lantern', 'Echo', 'Republic'];

/** Themes an artwork of a title with these genres tends to carry. */
const GENRE_THEMES: Partial<Record<Genre, Theme[]>> = {
  romance: ['romance', 'close-up'], action: ['action', 'villain'], adventure: ['landscape', 'action'], comedy: ['comedic', 'bright'],
  horror: ['dark', 'villain'], thriller: ['dark', 'close-up'], mystery: ['mystery', 'dark'], family: ['family', 'bright'],
  animation: ['bright', 'family'], drama: ['close-up', 'ensemble'], war: ['ensemble', 'landscape'], western: ['landscape'],
  'sci-fi': ['landscape', 'action'], crime: ['dark', 'villain'], documentary: ['text-heavy', 'landscape'], musical: ['ensemble', 'bright'],
  sports: ['action', 'ensemble'], fantasy: ['landscape', 'villain'],
};

export function createWorld(overrides: Partial<WorldConfig> = {}, options: WorldOptions = {}): World {
  const unknown = Object.keys(overrides).filter((k) => !(k in WORLD_DEFAULTS));
  if (unknown.length) throw new Error(`synthetic: unknown option(s) ${unknown.join(', ')}; valid: ${Object.keys(WORLD_DEFAULTS).join(', ')}`);
  const config = Object.freeze({ ...WORLD_DEFAULTS, ...overrides });
  for (const k of ['titles', 'members', 'rowSize', 'latentDim'] as const) {
    if (!Number.isInteger(config[k]) || config[k] <= 0) throw new Error(`synthetic: ${k} must be a positive integer`);
  }
  const rng = new SeededRandom(config.seed);
  const G = GENRES.length;
  const k = config.latentDim;
  // Genre frequency in the catalog: a few big genres, a long tail.
  const genreWeight = GENRES.map((_, i) => 1 / (1 + i * 0.25));
  const titles: Title[] = [];
  const titleLatent: Float64Array[] = [];
  const quality = new Float64Array(config.titles);
  const buzz = new Float64Array(config.titles);
  const wT = String(config.titles).length;
  for (let t = 0; t < config.titles; t++) {
    const ng = 1 + (rng.next() < 0.5 ? 0 : rng.next() < 0.6 ? 1 : 2);
    const gs = new Set<Genre>();
    while (gs.size < ng) gs.add(GENRES[rng.weighted(genreWeight)]!);
    const genres = [...gs];
    const id = `t${pad(t + 1, wT)}`;
    const nArt = 3 + rng.int(4);
    const artworks: Artwork[] = [];
    for (let a = 0; a < nArt; a++) {
      const th = new Set<Theme>();
      const pool = genres.flatMap((g) => GENRE_THEMES[g] ?? []);
      th.add(pool.length && rng.next() < 0.6 ? rng.pick(pool) : rng.pick(THEMES));
      if (rng.next() < 0.5) th.add(rng.pick(THEMES));
      artworks.push({ id: `${id}-a${a + 1}`, titleId: id, themes: [...th] });
    }
    const year = Math.round(2024 - Math.min(70, Math.abs(rng.normal()) * 18));
    titles.push({ id, index: t, name: `The ${rng.pick(ADJ)} ${rng.pick(NOUN)}${rng.next() < 0.15 ? ' ' + (2 + rng.int(3)) : ''}`, genres, year, runtimeMin: 80 + rng.int(100), artworks });
    titleLatent.push(Float64Array.from({ length: k }, () => rng.normal() / Math.sqrt(k)));
    quality[t] = rng.normal() * 0.5;
    buzz[t] = Math.exp(rng.normal() * 1.0); // log-normal exposure popularity
  }
  const members: Member[] = [];
  const genreTaste: Float64Array[] = [];
  const themeTaste: Float64Array[] = [];
  const memberLatent: Float64Array[] = [];
  const activity = new Float64Array(config.members);
  const wM = String(config.members).length;
  for (let m = 0; m < config.members; m++) {
    members.push({ id: `m${pad(m + 1, wM)}`, index: m });
    const g = Float64Array.from({ length: G }, () => rng.normal() * 0.3 - 0.6);
    const fav = 1 + rng.int(3); // 1-3 favourite genres
    for (let f = 0; f < fav; f++) g[rng.weighted(genreWeight)] = 1 + rng.next();
    genreTaste.push(g);
    const th = Float64Array.from({ length: THEMES.length }, () => rng.normal() * 0.4);
    th[rng.int(THEMES.length)] = 1.2 + rng.next() * 0.5; // one theme the member responds to strongly
    themeTaste.push(th);
    memberLatent.push(Float64Array.from({ length: k }, () => rng.normal()));
    activity[m] = Math.exp(rng.normal() * 0.5);
  }
  const fromGenres = options.themeTasteFromGenres ?? 0;
  if (!(fromGenres >= 0 && fromGenres <= 1)) throw new Error('synthetic: themeTasteFromGenres must be within [0, 1]');
  if (fromGenres > 0) mixThemeTaste(themeTaste, genreTaste, fromGenres);
  let clickbait: ClickbaitOptions | undefined;
  if (options.clickbait) {
    clickbait = { ...CLICKBAIT_DEFAULTS, ...(options.clickbait === true ? {} : options.clickbait) };
    const cb = new SeededRandom((config.seed ^ 0x5eedc11c) >>> 0); // its own stream: the rest of the world is unchanged
    for (const t of titles) if (cb.next() < clickbait.share) t.artworks.push({ id: `${t.id}-cb`, titleId: t.id, themes: ['clickbait'] });
  }
  return {
    config,
    titles,
    members,
    titleById: new Map(titles.map((t) => [t.id, t])),
    memberById: new Map(members.map((m) => [m.id, m])),
    _truth: { genreTaste, themeTaste, memberLatent, activity, titleLatent, quality, buzz, clickbait },
  };
}

/** The genres whose artwork tends to carry each theme (GENRE_THEMES inverted), as genre indices. */
const THEME_GENRES: number[][] = THEMES.map((th) => GENRES.flatMap((g, gi) => (GENRE_THEMES[g]?.includes(th) ? [gi] : [])));

function spread(rows: readonly Float64Array[]): { mean: number; sd: number } {
  let n = 0;
  let s = 0;
  let s2 = 0;
  for (const r of rows) for (const x of r) {
    n++;
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  return { mean, sd: Math.sqrt(Math.max(s2 / n - mean * mean, 1e-12)) };
}

function mixThemeTaste(themeTaste: Float64Array[], genreTaste: readonly Float64Array[], share: number): void {
  const derived = genreTaste.map((g) => Float64Array.from(THEME_GENRES, (gs) => (gs.length ? gs.reduce((s, gi) => s + (g[gi] ?? 0), 0) / gs.length : 0)));
  const own = spread(themeTaste);
  const d = spread(derived);
  const scale = own.sd / d.sd;
  themeTaste.forEach((th, m) => {
    const from = derived[m];
    if (from) th.forEach((ownTaste, i) => (th[i] = Math.sqrt(1 - share) * ownTaste + Math.sqrt(share) * (own.mean + ((from[i] ?? 0) - d.mean) * scale)));
  });
}

function lookup(world: World, memberId: string, titleId: string): { m: Member; t: Title } {
  const m = world.memberById.get(memberId);
  const t = world.titleById.get(titleId);
  if (!m) throw new Error(`synthetic: unknown member ${memberId}`);
  if (!t) throw new Error(`synthetic: unknown title ${titleId}`);
  return { m, t };
}

/** Affinity logit: genre taste (dominant), latent match, title quality. */
function affinityLogit(world: World, m: number, t: Title): number {
  const tr = world._truth;
  let g = 0;
  for (const genre of t.genres) g += tr.genreTaste[m]![GENRES.indexOf(genre)]!;
  g /= t.genres.length;
  const ml = tr.memberLatent[m]!;
  const tl = tr.titleLatent[t.index]!;
  let dot = 0;
  for (let i = 0; i < ml.length; i++) dot += ml[i]! * tl[i]!;
  return 3.0 * g + 1.0 * dot + tr.quality[t.index]! - 0.5;
}

/** True affinity of a member for a title, in (0, 1). */
export function titleAffinity(world: World, memberId: string, titleId: string): number {
  const { m, t } = lookup(world, memberId, titleId);
  return sigmoid(affinityLogit(world, m.index, t));
}

/** Additive effect of showing this artwork on the member's play logit (theme taste); mean over the artwork's themes. */
export function artworkAffinity(world: World, memberId: string, titleId: string, artworkId: string): number {
  const { m, t } = lookup(world, memberId, titleId);
  const art = t.artworks.find((a) => a.id === artworkId);
  if (!art) throw new Error(`synthetic: title ${titleId} has no artwork ${artworkId}`);
  const tt = world._truth.themeTaste[m.index]!;
  let s = 0;
  for (const th of art.themes) s += th === 'clickbait' ? (world._truth.clickbait?.playLift ?? 0) / 0.8 : tt[THEMES.indexOf(th)]!;
  return (0.8 * s) / art.themes.length;
}

const PLAY_BIAS = -3.2;

/** P(play | impression of this title with this artwork), outside any session mood. */
export function playProbability(world: World, memberId: string, titleId: string, artworkId: string): number {
  const { m, t } = lookup(world, memberId, titleId);
  return sigmoid(1.6 * affinityLogit(world, m.index, t) + artworkAffinity(world, memberId, titleId, artworkId) + PLAY_BIAS);
}

/** Expected watched fraction once playing (independent of artwork). */
export function expectedWatchFraction(world: World, memberId: string, titleId: string): number {
  const { m, t } = lookup(world, memberId, titleId);
  return sigmoid(1.5 * affinityLogit(world, m.index, t) + 0.5);
}

function watchFactor(world: World, t: Title, artworkId: string): number {
  const cb = world._truth.clickbait;
  if (!cb) return 1;
  return t.artworks.find((a) => a.id === artworkId)?.themes.includes('clickbait') ? cb.watchFactor : 1;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * P(quality play | impression), outside any mood: the play probability times the chance that the play reaches
 * `minSeconds` or `minFraction` of the runtime (the watched-fraction noise is N(0, 0.8) on the logit).
 */
export function qualityPlayProbability(world: World, memberId: string, titleId: string, artworkId: string, minSeconds = 900, minFraction = 0.25): number {
  const { m, t } = lookup(world, memberId, titleId);
  const f = Math.min(minFraction, minSeconds / (t.runtimeMin * 60)) / watchFactor(world, t, artworkId);
  if (f >= 1) return 0;
  const mu = 1.5 * affinityLogit(world, m.index, t) + 0.5;
  const reach = 1 - normalCdf((Math.log(f / (1 - f)) - mu) / 0.8);
  return playProbability(world, memberId, titleId, artworkId) * reach;
}

/** The k titles with the highest true affinity for a member (ground-truth recommendations). */
export function trueTopTitles(world: World, memberId: string, k: number): Title[] {
  const m = world.memberById.get(memberId);
  if (!m) throw new Error(`synthetic: unknown member ${memberId}`);
  return world.titles
    .map((t) => ({ t, a: affinityLogit(world, m.index, t) }))
    .sort((x, y) => y.a - x.a || x.t.index - y.t.index)
    .slice(0, k)
    .map((x) => x.t);
}

/** Event as the server stores it, plus the logging fields a bandit needs. */
export interface SyntheticEvent {
  userId: string;
  titleId: string;
  type: 'impression' | 'play_start' | 'progress' | 'pause' | 'complete';
  /** ms since epoch */
  ts: number;
  /** Playback position, seconds (progress, pause, complete). */
  position?: number;
  /** Title runtime, seconds (play events). */
  duration?: number;
  /** Row slot (impressions). */
  slot?: number;
  /** Homepage row name (impressions); absent: the one row of simulateEvents. */
  row?: string;
  /** Artwork shown and the probability the logging policy had of showing it (impressions and play_start). */
  artworkId?: string;
  propensity?: number;
  sessionId: string;
}

/** Chooses the artwork to show; default uniform at random. Must return a probability for off-policy evaluation. */
export type ArtworkPolicy = (memberId: string, title: Title, rng: SeededRandom) => { artworkId: string; propensity: number };

export const uniformArtworkPolicy: ArtworkPolicy = (_m, title, rng) => ({ artworkId: rng.pick(title.artworks).id, propensity: 1 / title.artworks.length });

export interface SimulateOptions {
  artworkPolicy?: ArtworkPolicy;
  /** Simulate only these members (ids); default all. */
  members?: readonly string[];
}

/**
 * Sessions for each member in turn, chronologically per member. Each session has a mood genre (persisting across
 * sessions with probability 0.6) which shapes the row shown and lifts play probability for titles of that genre;
 * members play at most two titles per session, never the same title twice.
 */
export function* simulateEvents(world: World, opts: SimulateOptions = {}): Generator<SyntheticEvent> {
  const policy = opts.artworkPolicy ?? uniformArtworkPolicy;
  const tr = world._truth;
  const cfg = world.config;
  const byGenre = GENRES.map((g) => world.titles.filter((t) => t.genres.includes(g)));
  let buzzTotal = 0;
  for (const b of tr.buzz) buzzTotal += b;
  const ids = opts.members ?? world.members.map((m) => m.id);
  for (const memberId of ids) {
    const m = world.memberById.get(memberId);
    if (!m) throw new Error(`synthetic: unknown member ${memberId}`);
    const rng = new SeededRandom(cfg.seed * 1_000_003 + m.index * 7919 + 17);
    const moodWeights = Array.from(tr.genreTaste[m.index]!, (g) => Math.exp(2 * g));
    const sessions = Math.max(1, Math.round(cfg.sessionsPerMember * tr.activity[m.index]! * (0.5 + rng.next())));
    let ts = cfg.startTs + Math.floor(rng.next() * 7 * 86400_000);
    let mood = rng.weighted(moodWeights);
    const watched = new Set<number>();
    for (let s = 0; s < sessions; s++) {
      ts += Math.floor((0.2 + rng.next() * 2) * 86400_000); // sessions start after the previous one ended
      if (rng.next() > 0.6) mood = rng.weighted(moodWeights);
      const sessionId = `${memberId}-s${s + 1}`;
      // The row: half popular titles, half from the mood genre; no duplicates, nothing already watched.
      const row: Title[] = [];
      const inRow = new Set<number>();
      for (let tries = 0; row.length < cfg.rowSize && tries < cfg.rowSize * 20; tries++) {
        const pool = byGenre[mood]!;
        const t = row.length % 2 === 1 && pool.length ? rng.pick(pool) : world.titles[rng.weighted(tr.buzz, buzzTotal)]!;
        if (inRow.has(t.index) || watched.has(t.index)) continue;
        inRow.add(t.index);
        row.push(t);
      }
      let plays = 0;
      let clock = ts;
      for (let slot = 0; slot < row.length; slot++) {
        const t = row[slot]!;
        const { artworkId, propensity } = policy(memberId, t, rng);
        clock += 1000 + rng.int(3000);
        yield { userId: memberId, titleId: t.id, type: 'impression', ts: clock, slot, artworkId, propensity, sessionId };
        if (plays >= 2) continue;
        const moodLift = t.genres.includes(GENRES[mood]!) ? 1.0 : 0;
        const p = sigmoid(1.6 * affinityLogit(world, m.index, t) + artworkAffinity(world, memberId, t.id, artworkId) + moodLift + PLAY_BIAS);
        if (rng.next() >= p) continue;
        plays++;
        watched.add(t.index);
        const duration = t.runtimeMin * 60;
        clock += 2000;
        yield { userId: memberId, titleId: t.id, type: 'play_start', ts: clock, position: 0, duration, artworkId, propensity, sessionId };
        const frac = sigmoid(1.5 * affinityLogit(world, m.index, t) + 0.5 + rng.normal() * 0.8) * watchFactor(world, t, artworkId);
        for (const q of [0.25, 0.5, 0.75]) {
          if (frac < q) break;
          yield { userId: memberId, titleId: t.id, type: 'progress', ts: clock + Math.round(q * duration * 1000), position: Math.round(q * duration), duration, sessionId };
        }
        const end = clock + Math.round(frac * duration * 1000);
        if (frac >= 0.9) yield { userId: memberId, titleId: t.id, type: 'complete', ts: end, position: duration, duration, sessionId };
        else yield { userId: memberId, titleId: t.id, type: 'pause', ts: end, position: Math.round(frac * duration), duration, sessionId };
        clock = end;
      }
      ts = Math.max(ts, clock);
    }
  }
}
