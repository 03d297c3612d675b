/**
 * Team attribution for interleaving experiments, from the event store: each unit's interleaved impressions and the
 * plays that came from them, per team (the definition: teamCreditsFromEvents in @marquee/core). DuckDB runs it in
 * SQL over the typed copy of the events (store/typed-events.ts: the impression's id and team, the play's
 * impressionId, as columns since migration 52); other stores scan the events.
 */
import { teamCreditsFromEvents, type UnitTeamCredit } from '@marquee/core';
import { DuckDbEventStore } from '../store/duckdb.ts';
import type { EventStore } from '../store/types.ts';

const CREDIT_SQL = `
WITH imp AS (
  SELECT event_id AS id, member_id AS unit, ts, team_variant AS variant, team
  FROM typed_events WHERE team_experiment = $1 AND type = 'impression'),
play AS (
  SELECT impression_id, member_id AS unit FROM typed_events WHERE type = 'play_start' AND impression_id IS NOT NULL),
units AS (
  SELECT unit, arg_min(variant, ts) AS variant,
         count(*) FILTER (WHERE team = 'A') AS impressions_a, count(*) FILTER (WHERE team = 'B') AS impressions_b
  FROM imp GROUP BY unit),
credited AS (
  SELECT imp.unit, count(*) FILTER (WHERE imp.team = 'A') AS plays_a, count(*) FILTER (WHERE imp.team = 'B') AS plays_b
  FROM play JOIN imp ON play.impression_id = imp.id AND play.unit = imp.unit
  GROUP BY imp.unit)
SELECT units.*, coalesce(credited.plays_a, 0) AS plays_a, coalesce(credited.plays_b, 0) AS plays_b
FROM units LEFT JOIN credited USING (unit)
ORDER BY unit`;

export async function teamCredits(store: EventStore, experiment: string): Promise<UnitTeamCredit[]> {
  if (store instanceof DuckDbEventStore) {
    await store.typedEvents();
    const rows = await store.query(CREDIT_SQL, [experiment]);
    return rows.map((r) => ({
      unit: String(r.unit),
      variant: String(r.variant),
      impressionsA: Number(r.impressions_a),
      impressionsB: Number(r.impressions_b),
      playsA: Number(r.plays_a),
      playsB: Number(r.plays_b),
    }));
  }
  return teamCreditsFromEvents(await store.scan(['impression', 'play_start']), experiment);
}
