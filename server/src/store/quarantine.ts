/**
 * The quarantine sweep: moves every `events` row that cannot be read back into the `quarantine` table, with the
 * reason, in one transaction. Such rows come from older versions that stored what the contract now refuses (a lone
 * surrogate makes the JSON malformed for DuckDB, and every query over the row then fails) or from writes outside
 * the API. Nothing is deleted: the payload stays in `quarantine` for an operator to look at.
 *
 * CASE evaluates its branches only for the rows its condition selects, so no JSON function runs on malformed JSON.
 */
const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

const REASON = `CASE
    WHEN NOT json_valid(payload) THEN 'malformed JSON'
    WHEN NOT regexp_matches(coalesce((payload->>'$.id'), ''), ${UUID_RE}) THEN 'id is not a UUID'
    WHEN TRY_CAST((payload->>'$.ts') AS BIGINT) IS NULL THEN 'ts is not an integer'
    WHEN (payload->>'$.type') IS NULL THEN 'no type'
  END`;

export const QUARANTINE_SWEEP = `
  BEGIN TRANSACTION;
  CREATE TEMP TABLE unreadable AS SELECT rowid AS rid, ${REASON} AS reason FROM events;
  DELETE FROM unreadable WHERE reason IS NULL;
  INSERT INTO quarantine (received_at, payload, reason)
    SELECT e.received_at, e.payload, u.reason FROM events e JOIN unreadable u ON e.rowid = u.rid;
  DELETE FROM events WHERE rowid IN (SELECT rid FROM unreadable);
  DROP TABLE unreadable;
  COMMIT;`;
