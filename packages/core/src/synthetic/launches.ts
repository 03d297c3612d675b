/**
 * Titles that launch over time: each title of a world gets a launch date and a daily viewing curve that ramps up
 * and decays, with a size and a staying power set by its appeal to the member base (the mean true affinity of the
 * members for it), its runtime and its age at launch. Something real for the acquisition forecast to learn and
 * for its backtest to check.
 *
 * Opt-in and on its own RNG stream (seeded from the world's seed and a fixed salt): the default world, and its
 * events from simulateEvents, are exactly what they were.
 */
import { SeededRandom, titleAffinity, type SyntheticEvent, type World } from './world.ts';

export interface LaunchOptions {
  /** Days over which the titles launch, ending at `endTs`. */
  spanDays: number;
  /** The end of the history (ms): days after it are not observed. Default: the world's startTs. */
  endTs?: number;
  /** Hours watched in the first 28 days by a title of the catalog's mean appeal, 100 minutes long, new at launch. */
  hoursScale: number;
  /** Members sampled to measure each title's appeal. */
  appealSample: number;
}

export const LAUNCH_DEFAULTS: Readonly<LaunchOptions> = Object.freeze({ spanDays: 3 * 365, hoursScale: 60, appealSample: 300 });

export interface TitleLaunch {
  titleId: string;
  /** Launch day, ms at 00:00 UTC. */
  launchTs: number;
  /** Mean true affinity of the member base for the title, in (0, 1). Hidden: for judges, not models. */
  appeal: number;
  /** Observed hours watched per day from launch day to the end of the history (noisy). */
  daily: Float64Array;
}

export interface LaunchHistory {
  endTs: number;
  launches: TitleLaunch[];
}

const DAY_MS = 86_400_000;
const LAUNCH_SALT = 0x1a0c4;

/** Expected share of a title's first-28-day hours on day d: ramp up to a peak near `tau` days, then decay. */
function curve(d: number, tau: number): number {
  const x = d + 1;
  return x * Math.exp(-x / tau) + 0.02 * tau * Math.exp(-d / 400);
}

export function createLaunchHistory(world: World, overrides: Partial<LaunchOptions> = {}): LaunchHistory {
  const opts = { ...LAUNCH_DEFAULTS, ...overrides };
  const endTs = Math.floor((opts.endTs ?? world.config.startTs) / DAY_MS) * DAY_MS;
  const rng = new SeededRandom(world.config.seed * 7_919 + LAUNCH_SALT);
  const sample = world.members.slice(0, Math.min(opts.appealSample, world.members.length));
  const appeals = world.titles.map((t) => sample.reduce((s, m) => s + titleAffinity(world, m.id, t.id), 0) / sample.length);
  const meanAppeal = appeals.reduce((s, a) => s + a, 0) / appeals.length;
  const launches: TitleLaunch[] = [];
  for (const t of world.titles) {
    const appeal = appeals[t.index]!;
    const launchDay = Math.floor(rng.next() * opts.spanDays);
    const launchTs = endTs - (opts.spanDays - launchDay) * DAY_MS;
    const ageAtLaunch = Math.max(0, new Date(launchTs).getUTCFullYear() - t.year);
    // Size: appeal dominates; longer titles give more hours per play; old titles bought for the library draw less.
    const size = opts.hoursScale * (appeal / meanAppeal) ** 2 * (t.runtimeMin / 100) * Math.exp(-ageAtLaunch / 12) * Math.exp(0.25 * rng.normal());
    // Staying power: appealing titles peak later and decay slower (tau 3..20 days).
    const tau = 3 + 17 * Math.min(1, Math.max(0, appeal / meanAppeal - 0.5)) * Math.exp(0.2 * rng.normal());
    let norm = 0;
    for (let d = 0; d < 28; d++) norm += curve(d, tau);
    const days = Math.max(0, Math.round((endTs - launchTs) / DAY_MS));
    const daily = new Float64Array(days);
    for (let d = 0; d < days; d++) daily[d] = (size * curve(d, tau) / norm) * Math.exp(0.15 * rng.normal());
    launches.push({ titleId: t.id, launchTs, appeal, daily });
  }
  return { endTs, launches };
}

const ROWS = ['Top Picks', 'Trending Now', 'New Arrivals', 'Because You Watched'];

/**
 * Events that realise a launch history: each title-day's hours become plays by members of the world (watching
 * 10-100% of the title), each after an impression in a homepage row, with a few impressions that were not played.
 * Deterministic for a given history; a separate RNG stream from the world's own events.
 */
export function* simulateLaunchEvents(world: World, history: LaunchHistory, opts: { skippedImpressionsPerPlay?: number } = {}): Generator<SyntheticEvent> {
  const rng = new SeededRandom(world.config.seed * 104_729 + LAUNCH_SALT);
  const skipped = opts.skippedImpressionsPerPlay ?? 2;
  let session = 0;
  for (const l of history.launches) {
    const t = world.titleById.get(l.titleId)!;
    const duration = t.runtimeMin * 60;
    for (let d = 0; d < l.daily.length; d++) {
      // Plays that day: Poisson with the day's hours over the mean watch (55% of the title), so a curve's thin
      // tail gives a play now and then rather than one every day.
      const plays = poisson(rng, (l.daily[d]! * 3600) / (0.55 * duration));
      for (let p = 0; p < plays; p++) {
        const member = world.members[rng.int(world.members.length)]!;
        const sessionId = `${member.id}-L${++session}`;
        const art = t.artworks[rng.int(t.artworks.length)]!;
        const row = ROWS[rng.int(ROWS.length)]!;
        let clock = l.launchTs + d * DAY_MS + rng.int(20 * 3600_000);
        for (let k = 0; k < skipped; k++) {
          const other = world.titles[rng.int(world.titles.length)]!;
          const oart = other.artworks[rng.int(other.artworks.length)]!;
          yield { userId: member.id, titleId: other.id, type: 'impression', ts: clock++, slot: rng.int(10), artworkId: oart.id, propensity: 1 / other.artworks.length, sessionId, row };
        }
        // Played titles sit more often on the left of a row: take rate falls with position, as on a real homepage.
        yield { userId: member.id, titleId: t.id, type: 'impression', ts: clock++, slot: Math.floor(10 * rng.next() ** 1.8), artworkId: art.id, propensity: 1 / t.artworks.length, sessionId, row };
        yield { userId: member.id, titleId: t.id, type: 'play_start', ts: clock++, position: 0, duration, artworkId: art.id, propensity: 1 / t.artworks.length, sessionId };
        const watched = Math.round(duration * (0.1 + 0.9 * rng.next()));
        const done = watched >= duration * 0.9;
        yield { userId: member.id, titleId: t.id, type: done ? 'complete' : 'pause', ts: clock + watched * 1000, position: done ? duration : watched, duration, sessionId };
      }
    }
  }
}

/** Poisson draw: Knuth's product of uniforms for small means, a rounded normal beyond. */
function poisson(rng: SeededRandom, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.normal()));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rng.next(); p > limit; p *= rng.next()) k++;
  return k;
}
