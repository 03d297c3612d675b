/**
 * `typed_events`: the one typed, columnar copy of the stored events, read by analytics (server/src/analytics) and
 * experiment results (server/src/experiments/units.ts). Extracting a field from the JSON payload costs ~1.7 us per
 * field and row here, so neither can answer a dashboard in time from `events_v`; from these columns they can.
 *
 * Written in the same transaction as the events themselves (COMMIT_FROM_STAGING), by DuckDB's threads from the
 * staging rows, so it is never behind and no reader has a first call that copies millions of rows. Rows that reach
 * `events` another way (older versions, bulk imports, `store/testing.ts`) get their typed row when the store next
 * opens (the backfill beside the id words), and migration 50 filled it for stores that existed before it.
 *
 * `seq` orders rows by commit: one writer commits at a time and takes its numbers from a sequence inside its
 * transaction, so a reader that has seen every row up to some seq will only ever see higher ones appear. Readers
 * keep their own watermark over `seq` (never over `events.rowid`, which a quarantine sweep can reorder).
 */

/** The JSON paths read once per event; f[i] below is the i-th (1-based). */
const PATHS = [
  '$.ts', '$.type', '$.userId', '$.anonymousId', '$.sessionId', '$.titleId', '$.row', '$.position', '$.artwork.artworkId',
  '$.duration', '$.name', '$.experiments[0].experiment', '$.experiments[0].variant',
] as const;

/** `INSERT INTO typed_events` from the rows of `source` (a table with a `payload` column) that match `where`. */
export const INSERT_TYPED_EVENTS = (source: string, where = 'true') => `
  INSERT INTO typed_events
  SELECT nextval('typed_events_seq'), (f[1]::BIGINT // 86400000)::INTEGER, f[1]::BIGINT, f[2], coalesce(f[3], f[4]), f[5], f[6],
         CASE WHEN f[2] = 'impression' THEN f[7] END,
         CASE WHEN f[2] = 'impression' THEN TRY_CAST(f[8] AS INTEGER) END,
         f[9],
         CASE WHEN f[2] IN ('progress', 'pause', 'complete') THEN TRY_CAST(f[8] AS DOUBLE) END,
         TRY_CAST(f[10] AS DOUBLE), f[11], f[12], f[13]
  FROM (SELECT json_extract_string(payload, ['${PATHS.join("', '")}']) AS f FROM ${source} WHERE ${where})`;

/** The typed rows of events stored without id words (written outside the API): run before they get their words. */
export const BACKFILL_TYPED_EVENTS = INSERT_TYPED_EVENTS('events', 'id_w0 IS NULL');

/**
 * Migration 50: the shared copy replaces analytics' `analytics_events` and experiments' `experiment_events` (each
 * was caught up from its own rowid watermark on its first query: 7.6 s for experiment results at 1M events, 258 s for
 * analytics at 5M). The analytics rollups are emptied: they are rebuilt from the new copy (in the background at the
 * server's start, see AnalyticsService.catchUp), since their old watermark counted rowids of `events`.
 */
export const TYPED_EVENTS_MIGRATION_SQL = `
  CREATE SEQUENCE typed_events_seq START 0 MINVALUE 0;
  CREATE TABLE typed_events (
    seq        BIGINT NOT NULL,   -- commit order (see above)
    day        INTEGER NOT NULL,  -- UTC days since 1970-01-01 of ts
    ts         BIGINT NOT NULL,
    type       VARCHAR NOT NULL,
    member_id  VARCHAR,           -- userId, else anonymousId
    session_id VARCHAR,
    title_id   VARCHAR,
    row_name   VARCHAR,           -- impressions only
    slot       INTEGER,           -- impressions only: the position in the row
    artwork_id VARCHAR,
    position   DOUBLE,            -- progress, pause and complete only: seconds into the title
    duration   DOUBLE,
    name       VARCHAR,           -- custom events
    experiment VARCHAR,           -- the first experiment an event carries, and its variant
    variant    VARCHAR
  );
  ${INSERT_TYPED_EVENTS('events', 'id_w0 IS NOT NULL')};
  DROP TABLE experiment_events;
  DROP TABLE experiment_watermark;
  DROP TABLE analytics_events;
  DELETE FROM analytics_plays; DELETE FROM analytics_days; DELETE FROM analytics_title_days; DELETE FROM analytics_slot_days;
  DELETE FROM analytics_artwork_days; DELETE FROM analytics_artwork_months; DELETE FROM analytics_title_months;
  ALTER TABLE analytics_state RENAME COLUMN next_rowid TO next_seq;
  UPDATE analytics_state SET next_seq = 0;`;
