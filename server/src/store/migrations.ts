/**
 * The DuckDB schema, one numbered step at a time. A step is never edited once released: add a new one.
 *
 * The table is lean on purpose: every VARCHAR the Node appender writes costs ~1.7 us (measured here) against
 * ~0.25 us for a number, so the write path stores only the arrival time and the whole event as JSON (id and
 * ts are inside it), and the view `events_v` gives analytics and the trainer typed columns. No PRIMARY KEY on id: DuckDB's ART index check made
 * inserts ~35x slower (65k vs 2.4M rows/s measured here); the store's single writer keeps ids unique instead.
 */
import { ANALYTICS_MIGRATIONS, ANALYTICS_REACH_MIGRATION } from '../analytics/migrations.ts';
import {
  TYPED_EVENTS_ARTWORK_IDS_MIGRATION_SQL, TYPED_EVENTS_FOLLOWER_MIGRATION_SQL, TYPED_EVENTS_INTERLEAVING_MIGRATION_SQL, TYPED_EVENTS_MIGRATION_SQL, TYPED_EVENTS_PROPENSITY_MIGRATION_SQL,
} from './typed-events.ts';
import type { Migration } from './types.ts';

export type { Migration };

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
  {
    // Versions 2..9 belong to the store's own safety work; other features use 20+ (the runner accepts gaps).
    version: 2,
    name: 'quarantine and health probe',
    sql: `
      CREATE TABLE quarantine (
        received_at    BIGINT,
        payload        VARCHAR,
        reason         VARCHAR NOT NULL,
        quarantined_at TIMESTAMP NOT NULL DEFAULT current_timestamp
      );
      CREATE TABLE health_probe (probed_at BIGINT NOT NULL);
      INSERT INTO health_probe VALUES (0);`,
  },
  {
    // The id's 128 bits as four 32-bit words, most significant first: start-up reads these four integer columns
    // into the store's id set in ~1 s per 5M rows, where extracting the id from each JSON payload took ~10 s.
    // Integers cost the appender little (~0.25 us each, against ~1.7 us for a VARCHAR). Rows stored before this
    // step have NULLs here and are filled in at the next open (DuckDbEventStore.backfillIdWords).
    version: 3,
    name: 'events id words and engagement',
    sql: `
      ALTER TABLE events ADD COLUMN id_w0 UINTEGER;
      ALTER TABLE events ADD COLUMN id_w1 UINTEGER;
      ALTER TABLE events ADD COLUMN id_w2 UINTEGER;
      ALTER TABLE events ADD COLUMN id_w3 UINTEGER;
      -- A compact typed copy of the engagement events (plays and completions), written in the same transaction:
      -- the start-up replay of live aggregates reads these columns instead of parsing millions of JSON payloads.
      CREATE TABLE engagement (
        received_at BIGINT  NOT NULL,
        ts          BIGINT  NOT NULL,
        type        VARCHAR NOT NULL,
        title_id    VARCHAR NOT NULL,
        member_id   VARCHAR NOT NULL
      );`,
  },
  {
    // The engagement copy moves into `events` as four typed columns (NULL on other event types), written by the
    // same INSERT as the event: a second table meant a second statement in every commit, which cost as much DuckDB
    // time as the event rows themselves (measured here: ~15 against ~30 us of CPU per stored event). Rows the
    // store wrote itself (they have id words) are valid JSON and get their columns here; rows without words are
    // checked and filled at the next open (quarantine.ts).
    version: 4,
    name: 'engagement columns on events',
    sql: `
      ALTER TABLE events ADD COLUMN eng_ts BIGINT;
      ALTER TABLE events ADD COLUMN eng_type VARCHAR;
      ALTER TABLE events ADD COLUMN eng_title VARCHAR;
      ALTER TABLE events ADD COLUMN eng_member VARCHAR;
      UPDATE events SET eng_ts = s.f[4]::BIGINT, eng_type = s.f[1], eng_title = s.f[2], eng_member = coalesce(s.f[3], s.f[5])
      FROM (
        SELECT rowid AS rid, json_extract_string(CASE WHEN id_w0 IS NOT NULL THEN payload END,
                                                 ['$.type', '$.titleId', '$.userId', '$.ts', '$.anonymousId']) AS f
        FROM events) s
      WHERE events.rowid = s.rid AND s.f[1] IN ('play_start', 'complete') AND s.f[2] IS NOT NULL
        AND coalesce(s.f[3], s.f[5]) IS NOT NULL;
      DROP TABLE engagement;`,
  },
  // Analytics' rollups (versions 20..29): server/src/analytics/migrations.ts.
  ...ANALYTICS_MIGRATIONS,
  {
    // Experiments (40..49): their own typed copy of the events, replaced by the shared one in 50.
    version: 40,
    name: 'experiment_events',
    sql: `
      CREATE TABLE experiment_events (
        src_rowid  BIGINT NOT NULL,
        member_id  VARCHAR,
        ts         BIGINT,
        type       VARCHAR,
        session_id VARCHAR,
        title_id   VARCHAR,
        position   DOUBLE,
        duration   DOUBLE,
        name       VARCHAR,
        experiment VARCHAR,
        variant    VARCHAR
      );
      CREATE TABLE experiment_watermark (last_rowid BIGINT NOT NULL);
      INSERT INTO experiment_watermark VALUES (-1);`,
  },
  {
    // The one typed copy of the events, shared by analytics and experiments (store/typed-events.ts); in each commit
    // until 51 moved it off the write path.
    version: 50,
    name: 'typed_events',
    sql: TYPED_EVENTS_MIGRATION_SQL,
  },
  {
    version: 51,
    name: 'typed_events off the write path',
    sql: TYPED_EVENTS_FOLLOWER_MIGRATION_SQL,
  },
  {
    version: 52,
    name: 'typed_events interleaving columns',
    sql: TYPED_EVENTS_INTERLEAVING_MIGRATION_SQL,
  },
  ANALYTICS_REACH_MIGRATION,
  {
    version: 54,
    name: 'typed_events propensity',
    sql: TYPED_EVENTS_PROPENSITY_MIGRATION_SQL,
  },
  {
    version: 55,
    name: 'typed_events ids of artwork impressions',
    sql: TYPED_EVENTS_ARTWORK_IDS_MIGRATION_SQL,
  },
];
