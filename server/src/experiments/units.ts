/**
 * One row per exposed unit of an experiment, computed from the event store: SQL in DuckDB, the same definitions in
 * plain TypeScript for the in-memory store (tests, demos). The statistics (analysis.ts) need only these rows.
 *
 * Definitions (also in the results' `definitions`):
 * - exposed unit: a member (userId, else anonymousId) with a `$exposure` custom event for the experiment; its
 *   variant is the one of its first exposure, t0 the time of that exposure;
 * - plays: play_start events at or after t0; impressions likewise;
 * - viewing hours: per (session, title), the furthest position reached at or after t0, summed, in hours;
 * - quality plays: (session, title) pairs watched to at least half of the title's duration, at or after t0;
 * - pre-period (CUPED covariates): plays and viewing hours in the 14 days before t0;
 * - day-N return: any event in [t0 + N days, t0 + N + 1 days); units whose window has not ended are not counted.
 */
import { EXPOSURE_EVENT, type MarqueeEvent } from '@marquee/core';
import { DuckDbEventStore } from '../store/duckdb.ts';
import type { EventStore } from '../store/types.ts';

export const DAY_MS = 86_400_000;
export const PRE_PERIOD_MS = 14 * DAY_MS;
export const QUALITY_FRACTION = 0.5;

export interface UnitRow {
  unit: string;
  variant: string;
  /** Distinct variants this unit was exposed to (1 unless something is wrong). */
  nVariants: number;
  /** Exposure events logged for the unit (one per session by the SDK's rule). */
  exposures: number;
  t0: number;
  plays: number;
  impressions: number;
  qualityPlays: number;
  viewingHours: number;
  prePlays: number;
  preViewingHours: number;
  /** 1 if the unit came back on day 1 after exposure, 0 if not, null when day 1 has not ended yet (at `now`). */
  day1: number | null;
  day7: number | null;
}

// Reads the shared typed copy of the events (store/typed-events.ts), which the store keeps at most a commit behind.
// `ev` is read twice (counts, watch) and is NOT MATERIALIZED: joined again for each, with each one's filters pushed
// into the join, rather than a million rows written out once (1.0-1.3 s against 1.3-1.9 s at 1M events under load).
const UNIT_SQL = `
WITH x AS (
  SELECT member_id AS unit, arg_min(variant, ts) AS variant, count(DISTINCT variant) AS n_variants, count(*) AS exposures, min(ts) AS t0
  FROM typed_events
  WHERE type = 'custom' AND name = $name AND experiment = $experiment
  GROUP BY 1),
ev AS NOT MATERIALIZED (
  SELECT x.unit, x.t0, e.ts, e.type, e.session_id, e.title_id, e.position, e.duration
  FROM typed_events e JOIN x ON e.member_id = x.unit
  WHERE e.ts >= x.t0 - ${PRE_PERIOD_MS}),
counts AS (
  SELECT unit,
         count(*) FILTER (WHERE type = 'play_start' AND ts >= t0) AS plays,
         count(*) FILTER (WHERE type = 'impression' AND ts >= t0) AS impressions,
         count(*) FILTER (WHERE type = 'play_start' AND ts < t0) AS pre_plays,
         max(CASE WHEN ts >= t0 + ${DAY_MS} AND ts < t0 + ${2 * DAY_MS} THEN 1 ELSE 0 END) AS d1,
         max(CASE WHEN ts >= t0 + ${7 * DAY_MS} AND ts < t0 + ${8 * DAY_MS} THEN 1 ELSE 0 END) AS d7
  FROM ev GROUP BY unit),
watch AS (
  SELECT unit, ts >= t0 AS post, session_id, title_id, max(position) AS pos, max(position / duration) AS frac
  FROM ev WHERE type IN ('progress', 'pause', 'complete') GROUP BY ALL),
w AS (
  SELECT unit,
         coalesce(sum(pos) FILTER (WHERE post), 0) / 3600 AS hours,
         count(*) FILTER (WHERE post AND frac >= ${QUALITY_FRACTION}) AS quality,
         coalesce(sum(pos) FILTER (WHERE NOT post), 0) / 3600 AS pre_hours
  FROM watch GROUP BY unit)
SELECT x.unit, x.variant, x.n_variants, x.exposures, x.t0,
       coalesce(c.plays, 0) AS plays, coalesce(c.impressions, 0) AS impressions, coalesce(c.pre_plays, 0) AS pre_plays,
       coalesce(c.d1, 0) AS d1, coalesce(c.d7, 0) AS d7,
       coalesce(w.hours, 0) AS hours, coalesce(w.quality, 0) AS quality, coalesce(w.pre_hours, 0) AS pre_hours
FROM x LEFT JOIN counts c USING (unit) LEFT JOIN w USING (unit)
ORDER BY x.unit`;

const eligible = (t0: number, day: number, now: number, came: number) => (t0 + (day + 1) * DAY_MS <= now ? came : null);

export async function experimentUnits(store: EventStore, experiment: string, now: number): Promise<UnitRow[]> {
  if (store instanceof DuckDbEventStore) {
    await store.typedEvents();
    const sql = UNIT_SQL.replace('$name', '$1').replace('$experiment', '$2');
    const rows = await store.query(sql, [EXPOSURE_EVENT, experiment]);
    return rows.map((r) => {
      const t0 = Number(r.t0);
      return {
        unit: String(r.unit),
        variant: String(r.variant),
        nVariants: Number(r.n_variants),
        exposures: Number(r.exposures),
        t0,
        plays: Number(r.plays),
        impressions: Number(r.impressions),
        qualityPlays: Number(r.quality),
        viewingHours: Number(r.hours),
        prePlays: Number(r.pre_plays),
        preViewingHours: Number(r.pre_hours),
        day1: eligible(t0, 1, now, Number(r.d1)),
        day7: eligible(t0, 7, now, Number(r.d7)),
      };
    });
  }
  return unitsFromEvents(await store.scan(['impression', 'play_start', 'progress', 'pause', 'complete', 'custom']), experiment, now);
}

/** The same definitions over events in memory. */
export function unitsFromEvents(events: readonly MarqueeEvent[], experiment: string, now: number): UnitRow[] {
  const member = (e: MarqueeEvent) => (e.userId ?? e.anonymousId)!;
  const exposures = new Map<string, { variant: string; t0: number; variants: Set<string>; count: number }>();
  for (const e of events) {
    if (e.type !== 'custom' || e.name !== EXPOSURE_EVENT) continue;
    const x = e.experiments?.[0];
    if (!x || x.experiment !== experiment) continue;
    const u = member(e);
    const cur = exposures.get(u);
    if (!cur) exposures.set(u, { variant: x.variant, t0: e.ts, variants: new Set([x.variant]), count: 1 });
    else {
      cur.count++;
      cur.variants.add(x.variant);
      if (e.ts < cur.t0) Object.assign(cur, { variant: x.variant, t0: e.ts });
    }
  }
  const rows = new Map<string, UnitRow & { d1raw: number; d7raw: number; watch: Map<string, { pos: number; frac: number; post: boolean }> }>();
  for (const [unit, x] of exposures) {
    rows.set(unit, { unit, variant: x.variant, nVariants: x.variants.size, exposures: x.count, t0: x.t0, plays: 0, impressions: 0, qualityPlays: 0, viewingHours: 0, prePlays: 0, preViewingHours: 0, day1: null, day7: null, d1raw: 0, d7raw: 0, watch: new Map() });
  }
  for (const e of events) {
    const r = rows.get(member(e));
    if (!r || e.ts < r.t0 - PRE_PERIOD_MS) continue;
    const post = e.ts >= r.t0;
    if (e.ts >= r.t0 + DAY_MS && e.ts < r.t0 + 2 * DAY_MS) r.d1raw = 1;
    if (e.ts >= r.t0 + 7 * DAY_MS && e.ts < r.t0 + 8 * DAY_MS) r.d7raw = 1;
    if (e.type === 'play_start') post ? r.plays++ : r.prePlays++;
    else if (e.type === 'impression' && post) r.impressions++;
    else if (e.type === 'progress' || e.type === 'pause' || e.type === 'complete') {
      const key = `${post}|${e.sessionId}|${e.titleId}`;
      const w = r.watch.get(key) ?? { pos: 0, frac: 0, post };
      w.pos = Math.max(w.pos, e.position);
      w.frac = Math.max(w.frac, e.position / e.duration);
      r.watch.set(key, w);
    }
  }
  return [...rows.values()]
    .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0))
    .map(({ d1raw, d7raw, watch, ...r }) => {
      for (const w of watch.values()) {
        if (w.post) {
          r.viewingHours += w.pos / 3600;
          if (w.frac >= QUALITY_FRACTION) r.qualityPlays++;
        } else r.preViewingHours += w.pos / 3600;
      }
      return { ...r, day1: eligible(r.t0, 1, now, d1raw), day7: eligible(r.t0, 7, now, d7raw) };
    });
}
