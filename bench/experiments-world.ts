/**
 * Viewers of the synthetic world in front of rows and pages, for bench:experiments: how many plays a ranker or a
 * page policy earns, by A/B and by team-draft interleaving. Uses the world's ground truth (playProbability,
 * expectedWatchFraction) as the viewers' behaviour, with RNG streams of its own: the default world's members,
 * titles and events are untouched.
 *
 * Rankers stand in for real ones: "model" orders titles by the true affinity seen through noise (sd 1 on the
 * logit scale), "worse model" through more noise (sd 1.5), "popularity" by the number of plays in the world's own
 * simulated history. The trained SASRec model is not run here (it would need tfjs and a trained artifact per run).
 */
import {
  composeDiversePage, creditPlays, rankCandidates, teamDraft,
  type DiversityPolicy, type Interleaved, type HistoryEntry, type PageCandidate, type TitleInfo,
} from '@marquee/core';
import {
  createWorld, expectedWatchFraction, GENRES, playProbability, SeededRandom, simulateEvents, type Title, type World,
} from '@marquee/core/synthetic';

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** Attention: a viewer looks less at later slots and later rows. */
const slotAttention = (slot: number) => 0.85 ** slot;

export interface Viewers {
  world: World;
  /** Play logit (no mood) per member x title, and the logit of the expected watch fraction. */
  playLogit(m: number, t: number): number;
  watchLogit(m: number, t: number): number;
  /** Titles by plays in the world's simulated history (most first). */
  popularity: number[];
  moodWeights: Float64Array[];
}

export function viewers(members: number): Viewers {
  const world = createWorld({ members: Math.max(1000, members) });
  const T = world.titles.length;
  const play = new Float64Array(members * T);
  const watch = new Float64Array(members * T);
  for (let m = 0; m < members; m++) {
    const mid = world.members[m]!.id;
    for (let t = 0; t < T; t++) {
      const title = world.titles[t]!;
      play[m * T + t] = logit(playProbability(world, mid, title.id, title.artworks[0]!.id));
      watch[m * T + t] = logit(expectedWatchFraction(world, mid, title.id));
    }
  }
  // Popularity as a server would see it: plays in the first 300 members' simulated history.
  const counts = new Float64Array(T);
  for (const e of simulateEvents(world, { members: world.members.slice(0, 300).map((m) => m.id) })) if (e.type === 'play_start') {
    const i = world.titleById.get(e.titleId)!.index;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const popularity = [...Array(T).keys()].sort((a, b) => counts[b]! - counts[a]! || a - b);
  // Session moods as the world draws them (persisting with probability 0.6): from genre taste.
  const moodWeights = world.members.slice(0, members).map((m) => Float64Array.from(world._truth.genreTaste[m.index]!, (g) => Math.exp(2 * g)));
  return { world, playLogit: (m, t) => play[m * T + t]!, watchLogit: (m, t) => watch[m * T + t]!, popularity, moodWeights };
}

export type Ranker = (m: number, rng: SeededRandom) => number[];

/** A ranker that sees the true play logit through Gaussian noise of this sd (fixed per member: a model's error). */
export function noisyOracle(v: Viewers, sd: number, seed: number): Ranker {
  const T = v.world.titles.length;
  return (m) => {
    const rng = new SeededRandom(seed * 100_003 + m);
    const s = Array.from({ length: T }, (_, t) => v.playLogit(m, t) + sd * rng.normal());
    return [...s.keys()].sort((a, b) => s[b]! - s[a]! || a - b);
  };
}

export const popularityRanker = (v: Viewers): Ranker => () => v.popularity;

/** A single look at a row rarely ends in a play: the world's play logit, shifted down for one browse of one row. */
const ROW_BROWSE_OFFSET = -5;
/** Mean sessions per member during a test (scaled per member by the world's activity, Poisson). */
export const TEST_SESSIONS = 10;

/** Plays of one row of titles (indices) by member m: each slot independently, with attention. */
function playRow(v: Viewers, m: number, row: readonly number[], rng: SeededRandom, moodGenre?: string): boolean[] {
  return row.map((t, slot) => {
    const lift = moodGenre && v.world.titles[t]!.genres.includes(moodGenre as never) ? 1 : 0;
    return rng.next() < slotAttention(slot) * sigmoid(v.playLogit(m, t) + lift + ROW_BROWSE_OFFSET);
  });
}

/**
 * Per member and test period: sessions ~ Poisson(`sessions` (10) x the member's activity in the world), one row per
 * session.
 * A/B: the plays of all sessions under ranker A (and, independently, B), `draws` periods per member, with the exact
 * expected value from the ground truth; interleaving: each session a fresh team-draft row, the period's credit the
 * sign of (A's plays - B's plays) over its sessions (+1 A, -1 B, 0 tie). As on a real service, heavy and light
 * members differ far more in plays than in which ranker they prefer: that is what interleaving removes.
 */
export function rowOutcomes(v: Viewers, a: Ranker, b: Ranker, members: number, seed: number, draws = 8, rowSize = 10, sessions = TEST_SESSIONS) {
  const expA = new Float64Array(members);
  const expB = new Float64Array(members);
  const playsA = new Float64Array(members * draws);
  const playsB = new Float64Array(members * draws);
  const credit = new Float64Array(members * draws);
  const activity = v.world._truth.activity;
  for (let m = 0; m < members; m++) {
    const rng = new SeededRandom(seed * 7_919 + m);
    const la = a(m, rng).slice(0, 3 * rowSize);
    const lb = b(m, rng).slice(0, 3 * rowSize);
    const mean = sessions * activity[m]!;
    let ea = 0;
    let eb = 0;
    for (let s = 0; s < rowSize; s++) {
      ea += slotAttention(s) * sigmoid(v.playLogit(m, la[s]!) + ROW_BROWSE_OFFSET);
      eb += slotAttention(s) * sigmoid(v.playLogit(m, lb[s]!) + ROW_BROWSE_OFFSET);
    }
    expA[m] = mean * ea;
    expB[m] = mean * eb;
    const sessionsOf = () => {
      const l = Math.exp(-mean);
      let k = 0;
      for (let p = rng.next(); p > l; p *= rng.next()) k++;
      return k;
    };
    for (let d = 0; d < draws; d++) {
      const at = m * draws + d;
      for (let s = sessionsOf(); s > 0; s--) playsA[at] = (playsA[at] ?? 0) + playRow(v, m, la.slice(0, rowSize), rng).filter(Boolean).length;
      for (let s = sessionsOf(); s > 0; s--) playsB[at] = (playsB[at] ?? 0) + playRow(v, m, lb.slice(0, rowSize), rng).filter(Boolean).length;
      let net = 0;
      for (let s = sessionsOf(); s > 0; s--) {
        const row = teamDraft(la.map(String), lb.map(String), rowSize, `m${m}.${d}.${s}`);
        const played = playRow(v, m, row.titleIds.map(Number), rng);
        const c = creditPlays(row, row.titleIds.filter((_, i) => played[i]));
        net += c === 'A' ? 1 : c === 'B' ? -1 : 0;
      }
      credit[m * draws + d] = Math.sign(net);
    }
  }
  return { expA, expB, playsA, playsB, credit, draws };
}

export interface PageOutcome {
  plays: number;
  qualityPlays: number;
  viewingHours: number;
  impressions: number;
}

/** The rows a member sees: ids per row, top to bottom. */
export type PageRows = string[][];

/**
 * The member's page under each policy, composed from the model stand-in's ranking with the member's three first
 * plays as history (what the issue saw: a new viewer after three plays of one genre). Candidates as the server
 * proposes them: the head of the ranking; trending = the most played titles; similar = sharing a genre with a
 * watched title.
 */
export function memberPages(v: Viewers, m: number, ranker: Ranker, policies: readonly (DiversityPolicy | null)[]): PageRows[] {
  const world = v.world;
  const order = ranker(m, new SeededRandom(m));
  const moodW = v.moodWeights[m]!;
  const fav = GENRES[moodW.indexOf(Math.max(...moodW))]!;
  const seen = order.filter((t) => world.titles[t]!.genres.includes(fav)).slice(0, 3);
  const history: HistoryEntry[] = seen.map((t, i) => ({ titleId: world.titles[t]!.id, lastTs: i + 1, fraction: 1, completed: true }));
  const info = (id: string): TitleInfo | undefined => world.titleById.get(id);
  const head = order.slice(0, 400);
  const trending = new Set(v.popularity.slice(0, 150));
  const ranked = rankCandidates(head.map((t, k) => ({ titleId: world.titles[t]!.id, modelScore: 1 - k / head.length })));
  const candidates: PageCandidate[] = ranked.map((r) => {
    const t = world.titleById.get(r.titleId)!;
    const sources: PageCandidate['sources'][number][] = [];
    if (trending.has(t.index)) sources.push({ source: 'trending' });
    for (const s of seen) if (world.titles[s]!.genres.some((g) => t.genres.includes(g))) sources.push({ source: 'similar', because: world.titles[s]!.id });
    return { ...r, sources };
  });
  return policies.map((p) => composeDiversePage(candidates, history, info, {}, p).map((r) => r.titleIds));
}

/** As for rows: most looks at a tile do not end in a play, so a better page shows in more sessions with a play. */
const PAGE_BROWSE_OFFSET = -4;

/** Chance that a viewer looks at a tile: less for later rows and later slots. */
const look = (row: number, slot: number) => 0.6 * 0.7 ** row * 0.85 ** slot;

/**
 * A member's sessions in front of a page: each session has a mood genre (persisting with probability 0.6, drawn
 * from the member's genre taste as in the world), lifting plays of that genre; the viewer scans rows top to bottom,
 * each tile seen with `look`, and plays at most one title per session. `teams` (team-draft of the Top Picks row,
 * which must be rows[0]) credits each session's play to a team; `credit` is the sign of the sum.
 */
export function pageSessions(v: Viewers, m: number, rows: PageRows, sessions: number, seed: number, teams?: Interleaved): PageOutcome & { credit: number } {
  const world = v.world;
  const rng = new SeededRandom(seed * 31_337 + m);
  const moodW = v.moodWeights[m]!;
  const out = { plays: 0, qualityPlays: 0, viewingHours: 0, impressions: 0, credit: 0 };
  let mood = rng.weighted(moodW);
  let wins = 0;
  for (let s = 0; s < sessions; s++) {
    if (rng.next() > 0.6) mood = rng.weighted(moodW);
    const moodGenre = GENRES[mood]!;
    let played: string | null = null;
    for (let ri = 0; ri < rows.length && !played; ri++) {
      const ids = rows[ri]!;
      for (let slot = 0; slot < ids.length && !played; slot++) {
        if (rng.next() >= look(ri, slot)) continue;
        out.impressions++;
        const t: Title = world.titleById.get(ids[slot]!)!;
        const lift = t.genres.includes(moodGenre) ? 1 : 0;
        if (rng.next() >= sigmoid(v.playLogit(m, t.index) + lift + PAGE_BROWSE_OFFSET)) continue;
        played = t.id;
        out.plays++;
        const frac = sigmoid(v.watchLogit(m, t.index) + 0.8 * rng.normal());
        if (frac >= 0.5) out.qualityPlays++;
        out.viewingHours += (frac * t.runtimeMin) / 60;
      }
    }
    if (teams && played) {
      const c = creditPlays(teams, [played]);
      wins += c === 'A' ? 1 : c === 'B' ? -1 : 0;
    }
  }
  out.credit = Math.sign(wins);
  return out;
}
