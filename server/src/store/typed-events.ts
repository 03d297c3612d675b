/**
 * `typed_events`: the one typed, columnar copy of the stored events, read by analytics (server/src/analytics) and
 * experiment results (server/src/experiments/units.ts). Extracting a field from the JSON payload costs ~1.7 us per
 * field and row here, so neither can answer a dashboard in time from `events_v`; from these columns they can.
 *
 * Kept by the store itself, off the write path: after each commit the store asks the copy to catch up, which it does
 * on a connection of its own, in one INSERT for everything committed since its last run. Requests never wait for it
 * (written inside each commit instead, the extraction cost 27-37% of ingest throughput, measured back to back: a
 * few thousand rows per INSERT is the expensive way to parse JSON in DuckDB). Readers call `catchUp()` first: it
 * returns once every event committed before the call is in the copy, at most one commit's worth of work when the
 * server is running. At start the copy catches up on whatever it has not seen (all of it after the upgrade to
 * migration 50), in chunks, logging its progress.
 *
 * Watermark: `events.rowid`. That is sound because the store's single writer commits one transaction at a time,
 * so committed rowids only grow, and `events` only ever receives INSERTs, with one exception: the quarantine sweep
 * at open deletes unreadable rows, after which DuckDB may renumber rowids. The store then rebuilds the copy from
 * scratch (`rebuild`). The copy never holds an unreadable row: rows without id words (not written by the store) are
 * copied only when the sweep's test finds nothing wrong with them.
 *
 * `seq` numbers the copy's rows in the order they were copied (a sequence, never reused, also across a rebuild):
 * readers of the copy keep their own watermarks over it.
 */
import { onlyRow, type SqlConnection } from './types.ts';
import { REASON } from './quarantine.ts';

/** The JSON paths read once per event; f[i] below is the i-th (1-based). */
const PATHS = [
  '$.ts', '$.type', '$.userId', '$.anonymousId', '$.sessionId', '$.titleId', '$.row', '$.position', '$.artwork.artworkId',
  '$.duration', '$.name', '$.experiments[0].experiment', '$.experiments[0].variant',
  '$.id', '$.impressionId', '$.interleaving.team', '$.interleaving.experiment', '$.interleaving.variant',
  '$.artwork.propensity',
] as const;

/** The paths the interleaving columns (migration 52) are read from. */
const INTERLEAVING_PATHS = ['$.id', '$.impressionId', '$.interleaving.team', '$.interleaving.experiment', '$.interleaving.variant'] as const;
const INTERLEAVING_COLUMNS = ['event_id', 'impression_id', 'team', 'team_experiment', 'team_variant'] as const;

/**
 * The interleaving columns' values (named as the columns), from `f`, the array json_extract_string returned for
 * `paths`. Ids are compared lower case, as core's teamCreditsFromEvents compares them. `eventId`: which events keep
 * their id, interleaved impressions only (migration 52's backfill, released: never changed), or also impressions with
 * an artwork (the copy since migration 55).
 */
function interleavingValues(paths: readonly string[], eventId = (f: (path: string) => string) => `${f('$.interleaving.team')} IS NOT NULL`): string {
  const f = (path: string) => `f[${paths.indexOf(path) + 1}]`;
  const values = [
    `CASE WHEN ${eventId(f)} THEN lower(${f('$.id')}) END`,
    `lower(${f('$.impressionId')})`,
    f('$.interleaving.team'),
    f('$.interleaving.experiment'),
    f('$.interleaving.variant'),
  ];
  return values.map((v, i) => `${v} AS ${INTERLEAVING_COLUMNS[i]}`).join(', ');
}

/** Rows of \`events\` the JSON functions may read: see REASON (rows with id words were checked on the way in). */
const READABLE = `(id_w0 IS NOT NULL OR (${REASON}) IS NULL)`;

/** Events copied per transaction while catching up on a backlog (bounds the memory of one INSERT). */
const CHUNK_ROWS = 1_000_000;

/** Empties the analytics rollups and their watermark over `seq`: they are rebuilt from the copy. */
const RESET_ANALYTICS = `
  DELETE FROM analytics_plays; DELETE FROM analytics_days; DELETE FROM analytics_title_days; DELETE FROM analytics_slot_days;
  DELETE FROM analytics_artwork_days; DELETE FROM analytics_artwork_months; DELETE FROM analytics_title_months;`;

/**
 * Migration 50 (released on main): the shared copy replaced analytics' `analytics_events` and experiments'
 * `experiment_events` (each caught up from its own watermark on its first query: 7.6 s for the first experiment
 * results call at 1M events, 258 s for analytics at 5M), written in each commit. Its backfill is left out here:
 * migration 51 replaces the table anyway, so a store upgrading from before 50 ends the same without it.
 */
export const TYPED_EVENTS_MIGRATION_SQL = `
  CREATE SEQUENCE typed_events_seq START 0 MINVALUE 0;
  CREATE TABLE typed_events (
    seq BIGINT NOT NULL, day INTEGER NOT NULL, ts BIGINT NOT NULL, type VARCHAR NOT NULL, member_id VARCHAR,
    session_id VARCHAR, title_id VARCHAR, row_name VARCHAR, slot INTEGER, artwork_id VARCHAR, position DOUBLE,
    duration DOUBLE, name VARCHAR, experiment VARCHAR, variant VARCHAR
  );
  DROP TABLE experiment_events;
  DROP TABLE experiment_watermark;
  DROP TABLE analytics_events;
  ${RESET_ANALYTICS}
  ALTER TABLE analytics_state RENAME COLUMN next_rowid TO next_seq;
  UPDATE analytics_state SET next_seq = 0;`;

/**
 * Migration 51: the copy moves off the write path (see above). The table is made again with the row of `events`
 * each row came from, left empty for the store to fill in the background at its next start, and the analytics
 * rollups start over, since their watermark counted the old table's `seq`.
 */
export const TYPED_EVENTS_FOLLOWER_MIGRATION_SQL = `
  DROP TABLE typed_events;
  DROP SEQUENCE typed_events_seq;
  CREATE SEQUENCE typed_events_seq START 0 MINVALUE 0;
  CREATE TABLE typed_events (
    seq        BIGINT NOT NULL,   -- copy order (see above)
    src_rowid  BIGINT NOT NULL,   -- the row of events it was copied from
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
  -- The next rowid of events to copy.
  CREATE TABLE typed_events_state (next_rowid BIGINT NOT NULL);
  INSERT INTO typed_events_state VALUES (0);
  ${RESET_ANALYTICS}
  DELETE FROM analytics_genre_days; DELETE FROM analytics_genre_months;
  UPDATE analytics_state SET next_seq = 0;`;

/**
 * Migration 52: what team-draft attribution needs (experiments/interleaving.ts), as columns, so that it is a join
 * over the copy rather than a parse of the raw JSON of every impression and play at each results call (6.9 of
 * 9.9 s at 1M events). Backfilled from the rows already copied; only rows whose JSON mentions either field are
 * parsed.
 */
export const TYPED_EVENTS_INTERLEAVING_MIGRATION_SQL = `
  ALTER TABLE typed_events ADD COLUMN event_id VARCHAR;        -- interleaved impressions only: the event's id
  ALTER TABLE typed_events ADD COLUMN impression_id VARCHAR;   -- title events: the impression they came from (impressionId)
  ALTER TABLE typed_events ADD COLUMN team VARCHAR;            -- interleaved impressions: team, experiment and variant
  ALTER TABLE typed_events ADD COLUMN team_experiment VARCHAR;
  ALTER TABLE typed_events ADD COLUMN team_variant VARCHAR;
  CREATE TEMP TABLE interleaving_backfill AS
    SELECT src_rowid, ${interleavingValues(INTERLEAVING_PATHS)}
    FROM (SELECT rowid AS src_rowid, json_extract_string(payload, ['${INTERLEAVING_PATHS.join("', '")}']) AS f
          FROM events
          WHERE rowid < (SELECT next_rowid FROM typed_events_state) AND ${READABLE}
            AND (contains(payload, '"interleaving"') OR contains(payload, '"impressionId"')));
  UPDATE typed_events t SET ${INTERLEAVING_COLUMNS.map((c) => `${c} = b.${c}`).join(', ')}
    FROM interleaving_backfill b WHERE t.src_rowid = b.src_rowid;
  DROP TABLE interleaving_backfill;`;

/**
 * The propensity column's value (impressions that carry an artwork only), from `f` as above. TRY_CAST: a row
 * written outside the API may hold anything there, and the copy must not fail on it.
 */
const propensityValue = (paths: readonly string[]) => {
  const f = (path: string) => `f[${paths.indexOf(path) + 1}]`;
  return `CASE WHEN ${f('$.type')} = 'impression' AND ${f('$.artwork.artworkId')} IS NOT NULL THEN TRY_CAST(${f('$.artwork.propensity')} AS DOUBLE) END`;
};

const PROPENSITY_PATHS = ['$.type', '$.artwork.artworkId', '$.artwork.propensity'] as const;

/**
 * Migration 54: the logged propensity of each impression's artwork, so that the population fit of the artwork
 * priors (artwork/logs.ts), rebuilt from this copy at start, can weight each impression by 1 / (K x propensity) as
 * the live fit does (a fit on a policy's own log is biased without it: README "Artwork"). Backfilled from the rows
 * already copied; only rows whose JSON mentions a propensity are parsed.
 */
export const TYPED_EVENTS_PROPENSITY_MIGRATION_SQL = `
  ALTER TABLE typed_events ADD COLUMN propensity DOUBLE;       -- impressions with an artwork: its logged propensity
  CREATE TEMP TABLE propensity_backfill AS
    SELECT src_rowid, ${propensityValue(PROPENSITY_PATHS)} AS propensity
    FROM (SELECT rowid AS src_rowid, json_extract_string(payload, ['${PROPENSITY_PATHS.join("', '")}']) AS f
          FROM events
          WHERE rowid < (SELECT next_rowid FROM typed_events_state) AND ${READABLE} AND contains(payload, '"propensity"'));
  UPDATE typed_events t SET propensity = b.propensity FROM propensity_backfill b WHERE t.src_rowid = b.src_rowid;
  DROP TABLE propensity_backfill;`;

/**
 * Migration 55: the event id of every impression with an artwork as well, so that the artwork priors' aggregates
 * (artwork/logs.ts), rebuilt from this copy at start, join a play to the impression it names (`impressionId`), as
 * the device and the admin OPE do (core's RewardJoiner); before, only the no-id rule could be applied there (the
 * impression the play started from). Backfilled from the rows already copied; only impressions whose JSON mentions an
 * artwork are parsed.
 */
export const TYPED_EVENTS_ARTWORK_IDS_MIGRATION_SQL = `
  CREATE TEMP TABLE artwork_id_backfill AS
    SELECT rowid AS src_rowid, lower(json_extract_string(payload, '$.id')) AS event_id
    FROM events
    WHERE rowid < (SELECT next_rowid FROM typed_events_state) AND ${READABLE} AND contains(payload, '"artwork"');
  UPDATE typed_events t SET event_id = b.event_id FROM artwork_id_backfill b
    WHERE t.src_rowid = b.src_rowid AND t.type = 'impression' AND t.artwork_id IS NOT NULL AND t.event_id IS NULL;
  DROP TABLE artwork_id_backfill;`;

/** Impressions keep their id when interleaved (team attribution) or when they carry an artwork (the artwork join). */
const copiedEventId = (f: (path: string) => string) => `${f('$.interleaving.team')} IS NOT NULL OR (${f('$.type')} = 'impression' AND ${f('$.artwork.artworkId')} IS NOT NULL)`;

const COPY_SQL = `
  INSERT INTO typed_events (seq, src_rowid, day, ts, type, member_id, session_id, title_id, row_name, slot, artwork_id, position,
                            duration, name, experiment, variant, ${INTERLEAVING_COLUMNS.join(', ')}, propensity)
  SELECT nextval('typed_events_seq'), src_rowid, (f[1]::BIGINT // 86400000)::INTEGER, f[1]::BIGINT, f[2], coalesce(f[3], f[4]), f[5], f[6],
         CASE WHEN f[2] = 'impression' THEN f[7] END,
         CASE WHEN f[2] = 'impression' THEN TRY_CAST(f[8] AS INTEGER) END,
         f[9],
         CASE WHEN f[2] IN ('progress', 'pause', 'complete') THEN TRY_CAST(f[8] AS DOUBLE) END,
         TRY_CAST(f[10] AS DOUBLE), f[11], f[12], f[13], ${interleavingValues(PATHS, copiedEventId)}, ${propensityValue(PATHS)}
  FROM (SELECT rowid AS src_rowid, json_extract_string(payload, ['${PATHS.join("', '")}']) AS f
        FROM events
        WHERE rowid BETWEEN $1 AND $2 AND ${READABLE})`;

export class TypedEventsCopy {
  private running: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Rows of `events` not copied yet, as of the last run (null before the first one ends). */
  behind: number | null = null;

  /** `rebuild`: start over from an empty copy (the store's rowids may have moved, see above). */
  constructor(
    private readonly conn: SqlConnection,
    private readonly opts: { rebuild?: boolean; log?: (line: string) => void } = {},
  ) {}

  /**
   * Resolves once every event committed before the call is in the copy. Calls during a run share the next one;
   * a failed run rejects its callers and leaves the watermark where it was (each chunk is one transaction).
   */
  catchUp(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('event store is closed'));
    if (!this.queued) {
      const run = this.running.then(() => {
        this.queued = null;
        return this.copy();
      });
      this.queued = run;
      this.running = run.catch(() => {});
    }
    return this.queued;
  }

  /**
   * Something was committed: catch up soon, in the background. Kicks within `delayMs` share one run, so a busy
   * writer's commits are copied in a few large INSERTs rather than one small one each.
   */
  kick(delayMs = 200): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.catchUp().catch((err) => this.opts.log?.(`typed copy of the events: catching up failed: ${(err as Error).message}`));
    }, delayMs);
    this.timer.unref();
  }

  /** Waits for the run in flight, then takes no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.queued?.catch(() => {});
  }

  private async copy(): Promise<void> {
    if (this.opts.rebuild) {
      await this.conn.query('BEGIN TRANSACTION; DELETE FROM typed_events; UPDATE typed_events_state SET next_rowid = 0; COMMIT');
      this.opts.log?.('typed copy of the events: rebuilding (the quarantine sweep removed rows at this start)');
      this.opts.rebuild = false;
    }
    const { next_rowid: nextRaw } = onlyRow(await this.conn.query('SELECT next_rowid FROM typed_events_state'), 'typed copy state');
    const { last: lastRaw } = onlyRow(await this.conn.query('SELECT max(rowid) AS last FROM events'), 'typed copy: last stored row');
    const next = Number(nextRaw);
    const last = lastRaw === null || lastRaw === undefined ? -1 : Number(lastRaw);
    const total = last - next + 1;
    const started = performance.now();
    for (let from = next; from <= last; from += CHUNK_ROWS) {
      const to = Math.min(last, from + CHUNK_ROWS - 1);
      await this.conn.query('BEGIN TRANSACTION');
      try {
        await this.conn.query(COPY_SQL, [from, to]);
        await this.conn.query('UPDATE typed_events_state SET next_rowid = $1', [to + 1]);
        await this.conn.query('COMMIT');
      } catch (err) {
        await this.conn.query('ROLLBACK').catch(() => {});
        throw err;
      }
      this.behind = last - to;
      if (total > CHUNK_ROWS) {
        const s = ((performance.now() - started) / 1000).toFixed(1);
        this.opts.log?.(`typed copy of the events: ${(to - next + 1).toLocaleString('en-US')} of ${total.toLocaleString('en-US')} copied in ${s} s`);
      }
    }
    this.behind = 0;
  }
}
