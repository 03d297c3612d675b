/**
 * Store events for an experiment on simulated members, for tests and `bench:experiments`' timing of the results
 * route over 1M stored events. Each member has a persistent activity rate (gamma-distributed: some members watch
 * every day, most rarely), so the pre-exposure period predicts the post-exposure one as it does for real members.
 * Assignment is the real bucketing (`assignVariant`), exposure a `$exposure` custom event, as the SDK sends it.
 * Plays name the impression they came from (`impressionId`), as the demo's do; after exposure, a variant with
 * `interleaveWith` shows an interleaved row (teams alternating A, B, ... on the impressions).
 * Seeded with its own RNG stream: the synthetic world's default output is untouched.
 */
import { assignVariant, EXPOSURE_EVENT, SCHEMA_VERSION, uuidv7, type Experiment, type MarqueeEvent } from '@marquee/core';
import { SeededRandom } from '@marquee/core/synthetic';
import { DAY_MS } from './units.ts';

export interface SimulationOptions {
  units: number;
  seed?: number;
  /** Multiplier on the play rate per variant id (missing: 1). */
  effect?: Record<string, number>;
  /** Days simulated before and after each unit's exposure. */
  preDays?: number;
  postDays?: number;
  startTs?: number;
  /** Log only this share of one variant's exposures (plants a sample-ratio mismatch). */
  dropExposures?: { variant: string; share: number };
}

/** Gamma(shape k, scale 1) by Marsaglia-Tsang (k >= 1). */
function gamma(rng: SeededRandom, k: number): number {
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(1 - rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function poisson(rng: SeededRandom, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > l && k < 50) {
    k++;
    p *= rng.next();
  }
  return k;
}

export function simulateExperimentEvents(e: Experiment, o: SimulationOptions): MarqueeEvent[] {
  const rng = new SeededRandom((o.seed ?? 7) * 2_654_435_761);
  const pre = o.preDays ?? 14;
  const post = o.postDays ?? 14;
  const start = o.startTs ?? Date.UTC(2026, 0, 1);
  const out: MarqueeEvent[] = [];
  const base = { schemaVersion: SCHEMA_VERSION } as const;
  for (let i = 0; i < o.units; i++) {
    const userId = `sim${String(i).padStart(6, '0')}`;
    const t0 = start + pre * DAY_MS + rng.int(3 * DAY_MS);
    const a = assignVariant(e, userId, t0);
    const rate = 0.25 * gamma(rng, 2); // plays per day, mean 0.5
    const lift = a ? (o.effect?.[a.variant] ?? 1) : 1;
    if (a && !(o.dropExposures?.variant === a.variant && rng.next() > o.dropExposures.share)) {
      out.push({ ...base, id: uuidv7(), ts: t0, sessionId: `${userId}-x`, userId, type: 'custom', name: EXPOSURE_EVENT, experiments: [{ experiment: e.id, variant: a.variant }] });
    }
    for (let day = -pre; day < post; day++) {
      const plays = poisson(rng, rate * (day >= 0 ? lift : 1));
      if (plays === 0 && rng.next() > 0.2) continue;
      const sessionId = `${userId}-d${day + pre}`;
      let ts = t0 + day * DAY_MS + 60_000 + rng.int(DAY_MS - 6 * 3_600_000);
      if (day < 0 && ts >= t0) ts = t0 - 1;
      const seen = new Map<number, string>();
      const interleaved = a?.params.interleaveWith && day >= 0;
      for (let k = 0; k < 10; k++) {
        const title = rng.int(500);
        const id = uuidv7();
        seen.set(title, id);
        const interleaving = interleaved ? { interleaving: { experiment: e.id, variant: a.variant, team: k % 2 === 0 ? ('A' as const) : ('B' as const) } } : {};
        out.push({ ...base, id, ts: ts + k, sessionId, userId, type: 'impression', titleId: `t${title}`, row: 'Top Picks for You', position: k, ...interleaving });
      }
      const titles = [...seen.keys()];
      for (let p = 0; p < plays; p++) {
        const title = titles[p % titles.length]!;
        const titleId = `t${title}`;
        const duration = 3600 + rng.int(3600);
        const frac = rng.next();
        const at = ts + 100 + p * 10_000;
        out.push({ ...base, id: uuidv7(), ts: at, sessionId, userId, type: 'play_start', titleId, impressionId: seen.get(title) });
        if (frac >= 0.25) out.push({ ...base, id: uuidv7(), ts: at + 1000, sessionId, userId, type: 'progress', titleId, position: Math.round(0.25 * duration), duration });
        if (frac >= 0.9) out.push({ ...base, id: uuidv7(), ts: at + 2000, sessionId, userId, type: 'complete', titleId, position: duration, duration });
        else out.push({ ...base, id: uuidv7(), ts: at + 2000, sessionId, userId, type: 'pause', titleId, position: Math.round(frac * duration), duration });
      }
    }
  }
  return out;
}
