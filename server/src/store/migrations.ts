/**
 * The DuckDB schema, one numbered step at a time. A step is never edited once released: add a new one.
 *
 * The table is lean on purpose: every VARCHAR the Node appender writes costs ~1.7 us (measured here) against
 * ~0.25 us for a number, so the write path stores only the arrival time and the whole event as JSON (id and
 * ts are inside it), and the view `events_v` gives analytics and the trainer typed columns. No PRIMARY KEY on id: DuckDB's ART index check made
 * inserts ~35x slower (65k vs 2.4M rows/s measured here); the store's single writer keeps ids unique instead.
 */
import { ANALYTICS_MIGRATIONS } from '../analytics/migrations.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
      CREATE TABLE events (
        received_at BIGINT NOT NULL,
        payload     VARCHAR NOT NULL
      );
      CREATE VIEW events_v AS
      SELECT
        payload->>'$.id'                             AS id,
        (payload->>'$.ts')::BIGINT                   AS ts,
        received_at,
        payload->>'$.type'                           AS type,
        payload->>'$.userId'                         AS user_id,
        payload->>'$.anonymousId'                    AS anonymous_id,
        coalesce(payload->>'$.userId', payload->>'$.anonymousId') AS member_id,
        payload->>'$.sessionId'                      AS session_id,
        payload->>'$.titleId'                        AS title_id,
        payload->>'$.artwork.artworkId'              AS artwork_id,
        (payload->>'$.artwork.propensity')::DOUBLE   AS propensity,
        CASE WHEN payload->>'$.type' IN ('progress', 'pause', 'complete')
             THEN (payload->>'$.position')::DOUBLE END AS position,
        (payload->>'$.duration')::DOUBLE             AS duration,
        payload
      FROM events;`,
  },
  // Analytics' typed copy of the events (versions 20..29): server/src/analytics/migrations.ts.
  ...ANALYTICS_MIGRATIONS,
];
