/**
 * Team attribution for interleaving experiments, from the event store: each unit's interleaved impressions and the
 * plays that came from them, per team (the definition: teamCreditsFromEvents in @marquee/core). DuckDB runs it in
 * SQL; other stores scan the events.
 *
 * The SQL reads `events` itself, not the typed copy the other metrics use: the attribution needs the impression's
 * id and team and the play's `impressionId`, which that copy does not carry. Substring tests on the payload keep the
 * JSON parsing to the rows that can match (impressions with a team that name the experiment, play_starts naming an
 * impression), and each of those is parsed once for all its fields.
 */
import { teamCreditsFromEvents, type UnitTeamCredit } from '@marquee/core';
import { DuckDbEventStore } from '../store/duckdb.ts';
import type { EventStore } from '../store/types.ts';

const CREDIT_SQL = `
WITH imp AS (
  SELECT lower(f[1]) AS id, coalesce(f[2], f[3]) AS unit, f[4]::BIGINT AS ts, f[5] AS variant, f[6] AS team
  FROM (SELECT json_extract_string(payload, ['$.id', '$.userId', '$.anonymousId', '$.ts', '$.interleaving.variant',
                                             '$.interleaving.team', '$.type', '$.interleaving.experiment']) AS f
        FROM events WHERE contains(payload, '"interleaving"') AND contains(payload, $2))
  WHERE f[7] = 'impression' AND f[8] = $1),
play AS (
  SELECT lower(f[1]) AS impression_id, coalesce(f[2], f[3]) AS unit
  FROM (SELECT json_extract_string(payload, ['$.impressionId', '$.userId', '$.anonymousId', '$.type']) AS f
        FROM events WHERE contains(payload, '"impressionId"') AND contains(payload, '"play_start"'))
  WHERE f[4] = 'play_start'),
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
    // The experiment's id as it stands in the JSON (escaped as JSON escapes it): a cheap filter before parsing.
    const rows = await store.query(CREDIT_SQL, [experiment, JSON.stringify(experiment)]);
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
