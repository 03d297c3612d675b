/**
 * The quarantine sweep: moves every `events` row that cannot be read back into the `quarantine` table, with the
 * reason, in one transaction. Such rows come from older versions that stored what the contract now refuses (a lone
 * surrogate makes the JSON malformed for DuckDB, and every query over the row then fails) or from writes outside
 * the API. Nothing is deleted: the payload stays in `quarantine` for an operator to look at.
 *
 * Only rows without id words are looked at: every row the store wrote itself has them (migration 3); rows without
 * come from older versions or from writes outside the API, and get their words (BACKFILL_ID_WORDS) once they pass.
 *
 * CASE evaluates its branches only for the rows its condition selects, so no JSON function runs on malformed JSON.
 */
import { INSERT_TYPED_EVENTS } from './typed-events.ts';

const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

const REASON = `CASE
    WHEN NOT json_valid(payload) THEN 'malformed JSON'
    WHEN NOT regexp_matches(coalesce((payload->>'$.id'), ''), ${UUID_RE}) THEN 'id is not a UUID'
    WHEN TRY_CAST((payload->>'$.ts') AS BIGINT) IS NULL THEN 'ts is not an integer'
    WHEN (payload->>'$.type') IS NULL THEN 'no type'
  END`;

export const QUARANTINE_SWEEP = `
  BEGIN TRANSACTION;
  CREATE TEMP TABLE unreadable AS SELECT rowid AS rid, ${REASON} AS reason FROM events WHERE id_w0 IS NULL;
  DELETE FROM unreadable WHERE reason IS NULL;
  INSERT INTO quarantine (received_at, payload, reason)
    SELECT e.received_at, e.payload, u.reason FROM events e JOIN unreadable u ON e.rowid = u.rid;
  DELETE FROM events WHERE rowid IN (SELECT rid FROM unreadable);
  DROP TABLE unreadable;
  COMMIT;`;

/** The id's four 32-bit words from the JSON id, for rows that passed the sweep. */
const word = (i: number) => `('0x' || substr(replace(payload->>'$.id', '-', ''), ${i * 8 + 1}, 8))::UINTEGER`;
export const BACKFILL_ID_WORDS = `
  UPDATE events SET id_w0 = ${word(0)}, id_w1 = ${word(1)}, id_w2 = ${word(2)}, id_w3 = ${word(3)}
  WHERE id_w0 IS NULL`;

/** Engagement rows (see COMPACT_TYPES in duckdb.ts) of the rows that passed the sweep, before they get words. */
export const BACKFILL_ENGAGEMENT = `
  INSERT INTO engagement
  SELECT received_at, ts, type, title_id, member_id FROM (
    SELECT received_at, (payload->>'$.ts')::BIGINT AS ts, payload->>'$.type' AS type, payload->>'$.titleId' AS title_id,
           coalesce(payload->>'$.userId', payload->>'$.anonymousId') AS member_id
    FROM events WHERE id_w0 IS NULL)
  WHERE type IN ('play_start', 'complete') AND title_id IS NOT NULL AND member_id IS NOT NULL`;

/**
 * The write path's INSERTs from the staging table: the events with their id words (computed by the writer for
 * dedup), the typed copy every reader shares (typed-events.ts), and the engagement copy of the rows it marked
 * (plays and completions), both extracted from the payload by SQL.
 */
export const COMMIT_FROM_STAGING = (staging: string) => `
  INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3)
  SELECT received_at, payload, id_w0, id_w1, id_w2, id_w3 FROM ${staging};
  ${INSERT_TYPED_EVENTS(staging)};
  INSERT INTO engagement
  SELECT received_at, f[4]::BIGINT, f[1], f[2], coalesce(f[3], f[5]) FROM (
    SELECT received_at, json_extract_string(payload, ['$.type', '$.titleId', '$.userId', '$.ts', '$.anonymousId']) AS f
    FROM ${staging} WHERE engaged)`;
