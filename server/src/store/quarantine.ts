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
const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

export const REASON = `CASE
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

/** The typed engagement columns (see COMPACT_TYPES in duckdb.ts) of the rows that passed the sweep, before they get words. */
export const BACKFILL_ENGAGEMENT = `
  UPDATE events SET eng_ts = s.f[4]::BIGINT, eng_type = s.f[1], eng_title = s.f[2], eng_member = coalesce(s.f[3], s.f[5])
  FROM (
    SELECT rowid AS rid, json_extract_string(payload, ['$.type', '$.titleId', '$.userId', '$.ts', '$.anonymousId']) AS f
    FROM events WHERE id_w0 IS NULL) s
  WHERE events.rowid = s.rid AND s.f[1] IN ('play_start', 'complete') AND s.f[2] IS NOT NULL
    AND coalesce(s.f[3], s.f[5]) IS NOT NULL`;

/**
 * The write path's statements: a group of events as one string of lines (see `storedLine` in duckdb.ts),
 * `received_at \t id words (4) \t engaged \t payload`, split into rows by DuckDB.
 * INSERT_LINES stores the events with their id words and, for the rows marked engaged, the engagement columns,
 * extracted from the payload by DuckDB's threads, not by the JS thread that parses requests. The typed copy every
 * reader shares follows off the write path (typed-events.ts).
 */
const LINES = `(SELECT string_split(line, chr(9)) AS f FROM (SELECT unnest(string_split($1, chr(10))) AS line))`;
export const INSERT_LINES = `
  INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3, eng_ts, eng_type, eng_title, eng_member)
  SELECT f[1]::BIGINT, f[7], f[2]::UINTEGER, f[3]::UINTEGER, f[4]::UINTEGER, f[5]::UINTEGER, g[4]::BIGINT, g[1], g[2], coalesce(g[3], g[5])
  FROM (
    SELECT f, CASE WHEN f[6] = '1' THEN json_extract_string(f[7], ['$.type', '$.titleId', '$.userId', '$.ts', '$.anonymousId']) END AS g
    FROM ${LINES})`;
