/**
 * Aggregate analytics in DuckDB SQL: viewing hours, plays, quality plays and completion per title, genre and day;
 * take rate per row and position; artwork take rates; trending; active members; the live event rate. Definitions:
 * packages/core/src/analytics.ts.
 *
 * Tables (migrations.ts), kept up to date by `refresh()` from the store's typed copy of the events (`typed_events`,
 * store/typed-events.ts): one row per play, and daily rollups rebuilt for the days new events
 * touch. Queries read the rollups, so their cost grows with days x groups rather than with events. A refresh runs in
 * one transaction on a connection of its own; queries run on another, so they neither queue behind the store's
 * writer nor see a half-done refresh.
 *
 * Privacy floor: a group describing fewer than k distinct members is dropped (and counted in `suppressed`) before
 * sorting and limiting, so a limit never reveals what the floor hid. Every group's distinct members over any range
 * come exact from its reach rollup (see REACH), a sum rather than a distinct count over plays or impressions.
 */
import {
  DEFAULT_K_ANONYMITY,
  QUALITY_PLAY_FRACTION,
  wilsonInterval,
  type AnalyticsQuery,
  type ArtworkStats,
  type CatalogTitle,
  type DailyStats,
  type LiveRate,
  type TakeRateStats,
  type TitleStats,
  type TrendingStats,
} from '@marquee/core';
import type { DuckDbEventStore } from '../store/duckdb.ts';
import { onlyRow, type SqlConnection } from '../store/types.ts';

type SqlStore = Pick<DuckDbEventStore, 'connect' | 'typedEvents'>;
const DAY_MS = 86_400_000;
/** The events analytics reads from the typed copy: the ones about a title. */
const TITLE_EVENTS = `type IN ('impression', 'play_start', 'progress', 'pause', 'complete') AND title_id IS NOT NULL`;
/** Per genre and day, from the plays (`p`) of the days the caller's WHERE picks: a play counts for each genre. */
const GENRE_DAYS = `
  SELECT p.day, g.genre, count(*), count(*) FILTER (WHERE p.quality), count(*) FILTER (WHERE p.completed), sum(p.watched)
  FROM analytics_plays p JOIN analytics_title_genres g USING (title_id)`;

/**
 * Reach rollups, one per kind of group: the members of a group on a day, counted by `prev_day`, the member's last
 * earlier day in that group (NULL: none). A member is in a group over [a, b] exactly when it has a day in [a, b]
 * whose previous day is before a (its first day in the range), so the group's distinct members over [a, b] are
 * sum(members) over the rows with day in [a, b] and prev_day before a or NULL: exact for any range, and a sum over
 * about as many rows as the daily rollups, where counting distinct members of every play or impression again took
 * up to 1.1 s at 5M events. `source` gives the group's key columns, member_id and day of each play or impression.
 */
interface Reach {
  table: string;
  keys: readonly string[];
  source: string;
}
const REACH = {
  title: { table: 'analytics_title_reach', keys: ['title_id'], source: 'SELECT title_id, member_id, day FROM analytics_plays' },
  genre: {
    table: 'analytics_genre_reach',
    keys: ['genre'],
    source: 'SELECT g.genre, p.member_id, p.day FROM analytics_plays p JOIN analytics_title_genres g USING (title_id)',
  },
  artwork: {
    table: 'analytics_artwork_reach',
    keys: ['title_id', 'artwork_id'],
    source: `SELECT title_id, artwork_id, member_id, day FROM typed_events WHERE type = 'impression' AND artwork_id IS NOT NULL AND title_id IS NOT NULL`,
  },
  // Keys as the take-rate cells name them (a missing row or position reads '' and 0).
  slot: {
    table: 'analytics_slot_reach',
    keys: ['row_name', 'slot'],
    source: `SELECT coalesce(row_name, '') AS row_name, coalesce(slot, 0) AS slot, member_id, day FROM typed_events WHERE type = 'impression'`,
  },
} as const satisfies Record<string, Reach>;
/** A day before any event: rebuilding reach from it rebuilds all of it. */
const FIRST_DAY = -2_147_483_648;

/**
 * Rebuilds a reach rollup for the days from `$1` on: those rows' previous days may have changed. Each member's
 * previous day before `$1` is looked up for the (group, member) pairs seen since only.
 */
function reachRebuild(r: Reach): [string, string] {
  const k = r.keys.join(', ');
  return [
    `DELETE FROM ${r.table} WHERE day >= $1`,
    `INSERT INTO ${r.table} (day, ${k}, prev_day, members)
     WITH recent AS (SELECT DISTINCT ${k}, member_id, day FROM (${r.source}) WHERE day >= $1 AND member_id IS NOT NULL),
          before AS (SELECT ${k}, member_id, max(day) AS last FROM (${r.source}) s SEMI JOIN recent USING (${k}, member_id)
                     WHERE s.day < $1 GROUP BY ALL)
     SELECT day, ${k}, prev_day, count(*)::INTEGER FROM (
       SELECT day, ${k}, coalesce(lag(day) OVER (PARTITION BY ${k}, member_id ORDER BY day), last) AS prev_day
       FROM recent LEFT JOIN before USING (${k}, member_id))
     GROUP BY ALL ORDER BY day`,
  ];
}

/** The first day of the calendar month holding `day` (days since 1970-01-01, UTC), in SQL and in TypeScript. */
const MONTH_START = (day: string) => `(date_trunc('month', DATE '1970-01-01' + ${day})::DATE - DATE '1970-01-01')`;
function monthStart(day: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
}
const nextMonthStart = (day: number) => {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
};
/** The whole calendar months inside `r`, as a span of days (from > to when there is none). */
function wholeMonths(r: Range): Range {
  return {
    from: monthStart(r.from) === r.from ? r.from : nextMonthStart(r.from),
    to: nextMonthStart(r.to) - 1 === r.to ? r.to : monthStart(r.to) - 1,
  };
}

/** Distinct members per group of `r` over days [$1, $2], as `members`, by the group's key columns. */
const reachOver = (r: Reach) =>
  `SELECT ${r.keys.join(', ')}, sum(members)::INTEGER AS members FROM ${r.table}
   WHERE day BETWEEN $1 AND $2 AND (prev_day IS NULL OR prev_day < $1) GROUP BY ALL`;

/**
 * Idle time the follower leaves after a refresh, as a multiple of that refresh's duration: background rollups take
 * at most 1 / (1 + FOLLOW_PACE) of the wall clock. A refresh rebuilds the rollups of the days its events touch, so
 * its cost grows with the events of the day, not with the new ones: unpaced, at 100k events of one day refreshes
 * ran back to back (1-2 s each under load) and took ~30 us of server CPU per ingested event, more than the
 * request's own parse and validation.
 */
export const FOLLOW_PACE = 4;

/**
 * How long the follower waits before its next refresh (ms from `now`): `followMs` after the batch that made the
 * rollups dirty, and no sooner than FOLLOW_PACE times the last refresh's duration after it ended.
 */
export function followDelay(followMs: number, now: number, last: { endedAt: number; ms: number } | null): number {
  const idleUntil = last ? last.endedAt + FOLLOW_PACE * last.ms : -Infinity;
  return Math.max(followMs, idleUntil - now);
}

/** Events rolled up per transaction when catching up on a large backlog (bounds a refresh's memory). */
const CATCH_UP_CHUNK = 1_000_000;

export const dayToIso = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
export const isoToDay = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);

/** Rebuilds the plays of the (session, title) pairs in `touched` from every event of theirs. */
const PLAYS_OF_TOUCHED = `
  SELECT e.session_id, e.title_id, any_value(e.member_id) FILTER (WHERE e.type <> 'impression') AS member_id,
         min(e.day) FILTER (WHERE e.type <> 'impression') AS day,
         max(coalesce(e.position, 0)) AS watched, max(e.duration) AS duration, bool_or(e.type = 'complete') AS completed,
         arg_max(e.row_name, e.ts) FILTER (WHERE e.type = 'impression') AS row_name,
         arg_max(e.slot, e.ts) FILTER (WHERE e.type = 'impression') AS slot,
         coalesce(arg_max(e.artwork_id, e.ts) FILTER (WHERE e.type = 'impression'), any_value(e.artwork_id)) AS artwork_id
  FROM typed_events e SEMI JOIN touched t ON e.session_id = t.session_id AND e.title_id = t.title_id
  WHERE ${TITLE_EVENTS}
  GROUP BY e.session_id, e.title_id
  HAVING count(*) FILTER (WHERE e.type <> 'impression') > 0`;

export interface AnalyticsOptions {
  store: SqlStore;
  catalog: readonly CatalogTitle[];
  /** k-anonymity floor: groups describing fewer members are suppressed. */
  k?: number;
  /**
   * How stale an answer may be, ms (default 1000): within it, queries skip the check for newly stored events.
   * `markDirty()` (called on each stored batch) ends it early.
   */
  freshnessMs?: number;
  now?: () => number;
  /** Progress of a long catch-up (a backlog of more than one chunk), e.g. the server's log. */
  log?: (line: string) => void;
}

interface Range {
  from: number;
  to: number;
}

export class AnalyticsService {
  readonly k: number;
  private readonly store: SqlStore;
  private readonly names: Map<string, string>;
  private readonly now: () => number;
  private refreshing: Promise<void> | null = null;
  private refresher: Promise<SqlConnection> | null = null;
  private reader: Promise<SqlConnection> | null = null;
  private catalogLoaded = false;
  private checkedAt = -Infinity;
  private dirty = true;
  /** When set, each stored batch schedules a refresh this many ms later (see `follow`). */
  private followMs: number | null = null;
  private followTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the last refresh ended and how long it took (performance.now() ms), for the follower's pace. */
  private lastRefresh: { endedAt: number; ms: number } | null = null;
  private closed = false;
  /** Stored events not rolled up yet, as of the last refresh (null before the first one ends): for `/readyz`. */
  behind: number | null = null;
  /** The days the analytics tables cover, cached between refreshes (null: nothing stored). */
  private days: Range | null | undefined;

  constructor(private readonly opts: AnalyticsOptions) {
    this.store = opts.store;
    this.k = opts.k ?? DEFAULT_K_ANONYMITY;
    if (!Number.isInteger(this.k) || this.k < 1) throw new Error(`analytics: k must be a positive integer, got ${opts.k}`);
    this.names = new Map(opts.catalog.map((t) => [t.id, t.name]));
    this.now = opts.now ?? Date.now;
  }

  /**
   * Runs a read on the service's reader connection: not behind the store's writer, committed data only. One, not a
   * pool: on this 2-core machine under load, the dashboard's requests side by side on several connections loaded
   * slower (median 1.58 s at 1M events) than one after another on one (0.93 s).
   */
  private async read(sql: string, params: (string | number)[] = []): Promise<Record<string, unknown>[]> {
    this.reader ??= this.store.connect();
    const conn = await this.reader;
    return conn.query(sql, params);
  }

  /**
   * Rolls up the events stored since the last refresh. Queries call it first, so answers include every committed
   * event (within `freshnessMs`); concurrent callers share one refresh.
   */
  refresh(): Promise<void> {
    // Following, every stored batch marks the rollups dirty, so a clean state needs no look at the store; otherwise
    // events may arrive unannounced (a store shared with other writers): look again after `freshnessMs`.
    const fresh = !this.dirty && (this.followMs !== null || performance.now() - this.checkedAt < (this.opts.freshnessMs ?? 1000));
    if (fresh && this.days !== undefined) return Promise.resolve();
    this.refreshing ??= (async () => {
      this.dirty = false;
      const started = performance.now();
      this.checkedAt = started;
      if (await this.rollUpNewEvents()) this.days = undefined;
      if (this.days === undefined) {
        const { lo, hi } = onlyRow(await this.read('SELECT min(day) AS lo, max(day) AS hi FROM analytics_days'), 'analytics: day range');
        this.days = lo === null || lo === undefined ? null : { from: Number(lo), to: Number(hi) };
      }
      const endedAt = performance.now();
      this.lastRefresh = { endedAt, ms: endedAt - started };
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** New events were stored: the next query looks for them whatever the freshness window. */
  markDirty(): void {
    this.dirty = true;
    this.scheduleFollow();
  }

  /** Following: one background refresh pending at a time, paced by `followDelay`. */
  private scheduleFollow(): void {
    if (this.followMs === null || this.followTimer || this.closed) return;
    this.followTimer = setTimeout(() => {
      this.followTimer = null;
      // A refresh in flight (a query's) may have started before the newest batches: look again once it ends.
      const inFlight = this.refreshing;
      if (inFlight) return void inFlight.finally(() => this.dirty && this.scheduleFollow()).catch(() => {});
      this.refresh().catch((err) => this.opts.log?.(`analytics: refresh failed: ${(err as Error).message}`));
    }, followDelay(this.followMs, performance.now(), this.lastRefresh));
    this.followTimer.unref();
  }

  /**
   * Keeps the rollups current without a query asking: catches up now (in the background, progress logged), then
   * rolls up stored batches `delayMs` after they arrive, so a dashboard's first query finds nothing left to do.
   * From then on queries trust `markDirty()` to hear of every stored batch (the server's API calls it for each):
   * they no longer look at the store for events that arrived unannounced.
   */
  follow(delayMs = 500): Promise<void> {
    this.followMs = delayMs;
    return this.refresh();
  }

  /** Stops following; a refresh in flight finishes. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.followTimer) clearTimeout(this.followTimer);
    this.followTimer = null;
    await this.refreshing?.catch(() => {});
  }

  /** Rolls up what was stored since the last call, a chunk per transaction; false when there was nothing new. */
  private async rollUpNewEvents(): Promise<boolean> {
    await this.store.typedEvents();
    this.refresher ??= this.store.connect();
    const conn = await this.refresher;
    await this.loadCatalog(conn);
    const { next_seq: nextRaw, reach_built: reachBuilt } = onlyRow(await conn.query('SELECT next_seq, reach_built FROM analytics_state'), 'analytics state');
    if (!reachBuilt) {
      // Rollups older than the reach tables (migration 53): reach is built once from what they hold.
      const started = performance.now();
      await conn.query('BEGIN TRANSACTION');
      try {
        for (const r of Object.values(REACH)) await this.rebuildReach(conn, r, FIRST_DAY);
        await this.rebuildArtworkMonths(conn, FIRST_DAY);
        await conn.query('UPDATE analytics_state SET reach_built = true');
        await conn.query('COMMIT');
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => {});
        throw err;
      }
      const s = (performance.now() - started) / 1000;
      if (s > 1) this.opts.log?.(`analytics: reach rollups built from the existing ones in ${s.toFixed(1)} s`);
    }
    const { last } = onlyRow(await conn.query('SELECT max(seq) AS last FROM typed_events'), 'analytics: last typed event');
    const next = Number(nextRaw);
    if (last === null || last === undefined || Number(last) < next) {
      this.behind = 0;
      return false;
    }
    const total = Number(last) - next + 1;
    this.behind = total;
    const started = performance.now();
    for (let from = next; from <= Number(last); from += CATCH_UP_CHUNK) {
      const to = Math.min(Number(last), from + CATCH_UP_CHUNK - 1);
      await conn.query('BEGIN TRANSACTION');
      try {
        await this.rollUp(conn, from, to);
        await conn.query('UPDATE analytics_state SET next_seq = $1', [to + 1]);
        await conn.query('COMMIT');
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => {});
        throw err;
      }
      this.behind = Number(last) - to;
      if (total > CATCH_UP_CHUNK) {
        const s = (performance.now() - started) / 1000;
        this.opts.log?.(`analytics: rolled up ${(to - next + 1).toLocaleString('en-US')} of ${total.toLocaleString('en-US')} events in ${s.toFixed(1)} s`);
      }
    }
    return true;
  }

  /** Rebuilds the plays the events with seq in [from, to] touch, and the rollups of every day they touch. */
  private async rollUp(conn: SqlConnection, from: number, to: number): Promise<void> {
    const params = [from, to];
    const fresh = `seq BETWEEN $1 AND $2 AND ${TITLE_EVENTS}`;
    // The plays the new events belong to are rebuilt whole: a play's events may arrive over several batches.
    await conn.query(
      `CREATE OR REPLACE TEMP TABLE touched AS SELECT DISTINCT session_id, title_id FROM typed_events WHERE ${fresh}`,
      params,
    );
    // Days whose rollups change: those of the new events, and those of the touched plays before and after.
    const playDays = `SELECT DISTINCT p.day FROM analytics_plays p SEMI JOIN touched t ON p.session_id = t.session_id AND p.title_id = t.title_id`;
    await conn.query(
      `CREATE OR REPLACE TEMP TABLE touched_days AS SELECT DISTINCT day FROM typed_events WHERE ${fresh} UNION ${playDays}`,
      params,
    );
    await conn.query(
      `DELETE FROM analytics_plays p USING touched t WHERE p.session_id = t.session_id AND p.title_id = t.title_id`,
    );
    await conn.query(
      `INSERT INTO analytics_plays
       SELECT session_id, title_id, member_id, day, watched, duration, completed,
              -- A play known only by its play_start has no duration yet: not (yet) a quality play.
              coalesce(completed OR (duration > 0 AND watched >= ${QUALITY_PLAY_FRACTION} * duration), false), row_name, slot, artwork_id
       FROM (${PLAYS_OF_TOUCHED})`,
    );
    await conn.query(`INSERT INTO touched_days SELECT * FROM (${playDays}) EXCEPT SELECT day FROM touched_days`);
    await conn.query('DROP TABLE touched');
    await this.rebuildDailyRollups(conn);
    const { first } = onlyRow(await conn.query('SELECT min(day) AS first FROM touched_days'), 'analytics: first touched day');
    if (first !== null && first !== undefined) {
      for (const r of Object.values(REACH)) await this.rebuildReach(conn, r, Number(first));
      await this.rebuildArtworkMonths(conn, Number(first));
    }
  }

  /** Artwork's month rollups (see migration 53), for the months from the one holding `from` on. */
  private async rebuildArtworkMonths(conn: SqlConnection, from: number): Promise<void> {
    const start = from === FIRST_DAY ? FIRST_DAY : monthStart(from);
    for (const [months, days, columns] of [
      ['analytics_artwork_months', 'analytics_artwork_days', 'sum(impressions), sum(taken), sum(quality_taken)'],
      ['analytics_artwork_reach_months', REACH.artwork.table, 'prev_day, sum(members)'],
    ]) {
      await conn.query(`DELETE FROM ${months} WHERE month_start >= $1`, [start]);
      await conn.query(
        `INSERT INTO ${months} SELECT ${MONTH_START('day')} AS month_start, title_id, artwork_id, ${columns} FROM ${days} WHERE day >= $1
         GROUP BY ALL ORDER BY month_start`,
        [start],
      );
    }
  }

  /**
   * Reach of the days from `from` on (see REACH). Events arrive in time order, so this is the last day or two; an
   * event from long ago costs a rebuild of the days since.
   */
  private async rebuildReach(conn: SqlConnection, r: Reach, from: number): Promise<void> {
    for (const sql of reachRebuild(r)) await conn.query(sql, [from]);
  }

  /** Recomputes the daily rollups of the days in `touched_days` (a day's worth of rows each: cheap once caught up). */
  private async rebuildDailyRollups(conn: SqlConnection): Promise<void> {
    const days = 'day IN (SELECT day FROM touched_days)';
    for (const table of ['analytics_days', 'analytics_title_days', 'analytics_genre_days', 'analytics_slot_days', 'analytics_artwork_days']) {
      await conn.query(`DELETE FROM ${table} WHERE ${days}`);
    }
    await conn.query(
      `INSERT INTO analytics_title_days
       SELECT day, title_id, count(*), count(*) FILTER (WHERE quality), count(*) FILTER (WHERE completed), sum(watched)
       FROM analytics_plays WHERE ${days} GROUP BY day, title_id`,
    );
    await conn.query(`INSERT INTO analytics_genre_days ${GENRE_DAYS} WHERE p.${days} GROUP BY ALL`);
    await conn.query(
      `INSERT INTO analytics_days
       WITH a AS (SELECT day, count(DISTINCT member_id) AS active FROM typed_events WHERE ${TITLE_EVENTS} AND ${days} GROUP BY day),
            p AS (SELECT day, count(*) AS plays, count(*) FILTER (WHERE quality) AS q, count(*) FILTER (WHERE completed) AS c,
                         sum(watched) AS w, count(DISTINCT member_id) AS m
                  FROM analytics_plays WHERE ${days} GROUP BY day)
       SELECT a.day, coalesce(p.plays, 0), coalesce(p.q, 0), coalesce(p.c, 0), coalesce(p.w, 0), coalesce(p.m, 0), a.active
       FROM a LEFT JOIN p USING (day)`,
    );
    await conn.query(
      `INSERT INTO analytics_slot_days
       WITH i AS (SELECT day, row_name, slot, count(*) AS n FROM typed_events
                  WHERE type = 'impression' AND ${days} GROUP BY day, row_name, slot),
            t AS (SELECT day, row_name, slot, count(*) AS n FROM analytics_plays WHERE row_name IS NOT NULL AND ${days}
                  GROUP BY day, row_name, slot)
       SELECT i.day, i.row_name, i.slot, i.n, coalesce(t.n, 0) FROM i LEFT JOIN t USING (day, row_name, slot)`,
    );
    await conn.query(
      `INSERT INTO analytics_artwork_days
       WITH i AS (SELECT day, title_id, artwork_id, count(*) AS n FROM typed_events
                  WHERE type = 'impression' AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id),
            t AS (SELECT day, title_id, artwork_id, count(*) AS n, count(*) FILTER (WHERE quality) AS q FROM analytics_plays
                  WHERE row_name IS NOT NULL AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id)
       SELECT i.day, i.title_id, i.artwork_id, i.n, coalesce(t.n, 0), coalesce(t.q, 0) FROM i LEFT JOIN t USING (day, title_id, artwork_id)
       ORDER BY i.day`,
    );
  }

  /**
   * The k floor, for every aggregate that describes members: groups under it are dropped before sorting and
   * limiting, so a limit never reveals what the floor hid.
   */
  private floor<G extends { members: number }>(groups: G[], order: (a: G, b: G) => number, limit: number): { rows: G[]; suppressed: number } {
    const kept = groups.filter((g) => g.members >= this.k);
    return { rows: kept.sort(order).slice(0, limit), suppressed: groups.length - kept.length };
  }

  /** Changes whenever new events have been rolled up: a cache key for what is derived from the aggregates. */
  async version(): Promise<string> {
    const { next_seq: n } = onlyRow(await this.read('SELECT next_seq FROM analytics_state'), 'analytics state');
    return String(n);
  }

  /**
   * The catalog's genres as a table, for per-genre stats. A table in the database (not a temporary one) so every
   * connection sees it; written by the refresh's connection, from the deployment's catalog, at the first refresh.
   */
  private async loadCatalog(conn: SqlConnection): Promise<void> {
    if (this.catalogLoaded) return;
    const rows = this.opts.catalog.flatMap((t) => t.genres.map((g) => ({ t: t.id, g })));
    await conn.query(
      `CREATE OR REPLACE TEMP TABLE catalog_genres AS
       SELECT j->>'t' AS title_id, j->>'g' AS genre FROM (SELECT unnest(CAST($1 AS JSON[])) AS j)`,
      [JSON.stringify(rows)],
    );
    const { changed } = onlyRow(await conn.query(
      `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_name = 'analytics_title_genres') = 0
              OR EXISTS (SELECT * FROM ((SELECT * FROM catalog_genres EXCEPT SELECT * FROM analytics_title_genres)
                                 UNION ALL (SELECT * FROM analytics_title_genres EXCEPT SELECT * FROM catalog_genres))) AS changed`,
    ).catch(() => [{ changed: true }]), 'analytics: catalog genres changed');
    if (changed) {
      // Another catalog (or the first start): the genre rollups are rebuilt from every play, once.
      await conn.query('BEGIN TRANSACTION');
      await conn.query('CREATE OR REPLACE TABLE analytics_title_genres AS SELECT * FROM catalog_genres');
      await conn.query('DELETE FROM analytics_genre_days');
      await conn.query(`INSERT INTO analytics_genre_days ${GENRE_DAYS} GROUP BY ALL`);
      await this.rebuildReach(conn, REACH.genre, FIRST_DAY);
      await conn.query('COMMIT');
    }
    await conn.query('DROP TABLE catalog_genres');
    this.catalogLoaded = true;
  }

  /** The requested range clamped to the data; null when there is nothing stored. */
  private async range(q: Pick<AnalyticsQuery, 'from' | 'to'>): Promise<Range | null> {
    await this.refresh();
    if (!this.days) return null;
    return { from: q.from ? isoToDay(q.from) : this.days.from, to: q.to ? isoToDay(q.to) : this.days.to };
  }

  private envelope(r: Range | null, suppressed = 0) {
    return { from: r ? dayToIso(r.from) : null, to: r ? dayToIso(r.to) : null, k: this.k, suppressed };
  }

  private name(titleId: string): string {
    return this.names.get(titleId) ?? titleId;
  }

  async titles(q: AnalyticsQuery, by: 'title' | 'genre' = 'title', sort: 'hours' | 'plays' | 'members' = 'hours'): Promise<TitleStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), by, rows: [] };
    const [key, days, reach] = by === 'genre' ? ['genre', 'analytics_genre_days', REACH.genre] : ['title_id', 'analytics_title_days', REACH.title];
    const groups = (
      await this.read(
        `WITH d AS (SELECT ${key}, sum(plays) AS plays, sum(quality_plays) AS quality_plays, sum(completed) AS completed,
                           sum(watched) AS watched
                    FROM ${days} WHERE day BETWEEN $1 AND $2 GROUP BY ${key}),
              m AS (${reachOver(reach)})
         SELECT ${key} AS key, d.plays, d.quality_plays, d.completed, d.watched, coalesce(m.members, 0) AS members
         FROM d LEFT JOIN m USING (${key})`,
        [r.from, r.to],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays), qualityPlays: Number(x.quality_plays), completed: Number(x.completed), hours: Number(x.watched) / 3600, members: Number(x.members) }));
    const measure = (g: { hours: number; plays: number; members: number }) => (sort === 'plays' ? g.plays : sort === 'members' ? g.members : g.hours);
    const { rows, suppressed } = this.floor(groups, (a, b) => measure(b) - measure(a) || (a.key < b.key ? -1 : 1), q.limit);
    return {
      ...this.envelope(r, suppressed),
      by,
      rows: rows.map((g) => ({
        key: g.key,
        name: by === 'genre' ? g.key : this.name(g.key),
        plays: g.plays,
        qualityPlays: g.qualityPlays,
        hours: g.hours,
        completionRate: g.plays ? g.completed / g.plays : 0,
        members: g.members,
      })),
    };
  }

  async daily(q: AnalyticsQuery): Promise<DailyStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), days: [] };
    const rows = await this.read('SELECT * FROM analytics_days WHERE day BETWEEN $1 AND $2 ORDER BY day', [r.from, r.to]);
    const kept = rows.filter((x) => Number(x.active) >= this.k);
    return {
      ...this.envelope(r, rows.length - kept.length),
      days: kept.map((x) => ({
        day: dayToIso(Number(x.day)),
        plays: Number(x.plays),
        qualityPlays: Number(x.quality_plays),
        hours: Number(x.watched) / 3600,
        // A day's plays may describe fewer members than were active: then its completion rate says nothing.
        completionRate: Number(x.members) >= this.k && Number(x.plays) > 0 ? Number(x.completed) / Number(x.plays) : 0,
        members: Number(x.members),
        activeMembers: Number(x.active),
      })),
    };
  }

  /** Take rate per row and position. */
  async takeRates(q: AnalyticsQuery): Promise<TakeRateStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), cells: [] };
    const groups = (
      await this.read(
        `WITH d AS (SELECT coalesce(row_name, '') AS row_name, coalesce(slot, 0) AS slot, sum(impressions) AS impressions, sum(taken) AS taken
                    FROM analytics_slot_days WHERE day BETWEEN $1 AND $2 AND coalesce(slot, 0) < $3 GROUP BY ALL),
              m AS (${reachOver(REACH.slot)})
         SELECT d.*, coalesce(m.members, 0) AS members FROM d LEFT JOIN m USING (row_name, slot)`,
        [r.from, r.to, q.limit],
      )
    ).map((x) => ({ row: String(x.row_name), position: Number(x.slot), impressions: Number(x.impressions), plays: Number(x.taken), members: Number(x.members) }));
    const { rows: kept, suppressed } = this.floor(groups, (a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : a.position - b.position), Infinity);
    return {
      ...this.envelope(r, suppressed),
      cells: kept.map((g) => ({
        row: g.row,
        position: g.position,
        impressions: g.impressions,
        plays: g.plays,
        members: g.members,
        take: wilsonInterval(g.plays, g.impressions),
      })),
    };
  }

  /**
   * The most shown artworks with their take and quality-take rates. `suppressed` counts the hidden groups among
   * the 4 x limit most shown (the ones that could have been listed), not in the whole catalog.
   */
  async artwork(q: AnalyticsQuery, titleId?: string): Promise<ArtworkStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), rows: [] };
    // The range's whole months from the month rollups, the days at its two ends from the day rollups, each end a
    // range of its own: the rollups are written in day order, so DuckDB skips the row groups outside a range (one
    // filter `in the range but not in its whole months` read every row group: 280 ms of a 310 ms query at 5M events).
    const whole = wholeMonths(r);
    const [[a1, b1], [a2, b2]] = whole.from > whole.to ? [[r.from, r.to], [1, 0]] : [[r.from, whole.from - 1], [whole.to + 1, r.to]];
    const params: (string | number)[] = [r.from, q.limit, whole.from, whole.to, a1, b1, a2, b2];
    const titleFilter = titleId ? `AND title_id = $9` : '';
    if (titleId) params.push(titleId);
    const parts = (monthTable: string, dayTable: string, columns: string) => `
      SELECT ${columns} FROM ${monthTable} WHERE month_start BETWEEN $3 AND $4 ${titleFilter}
      UNION ALL SELECT ${columns} FROM ${dayTable} WHERE day BETWEEN $5 AND $6 ${titleFilter}
      UNION ALL SELECT ${columns} FROM ${dayTable} WHERE day BETWEEN $7 AND $8 ${titleFilter}`;
    // Candidates: the 4 x limit most shown; their members from the reach rollups.
    const groups = (
      await this.read(
        `WITH shown AS (SELECT title_id, artwork_id, sum(impressions) AS impressions, sum(taken) AS plays, sum(quality_taken) AS quality_plays
                        FROM (${parts('analytics_artwork_months', 'analytics_artwork_days', 'title_id, artwork_id, impressions, taken, quality_taken')})
                        GROUP BY title_id, artwork_id ORDER BY impressions DESC, title_id, artwork_id LIMIT 4 * $2),
              m AS (SELECT title_id, artwork_id, sum(members)::INTEGER AS members
                    FROM (${parts('analytics_artwork_reach_months', REACH.artwork.table, 'title_id, artwork_id, prev_day, members')})
                    SEMI JOIN shown USING (title_id, artwork_id)
                    WHERE prev_day IS NULL OR prev_day < $1 GROUP BY ALL)
         SELECT s.*, coalesce(m.members, 0) AS members FROM shown s LEFT JOIN m USING (title_id, artwork_id)`,
        params,
      )
    ).map((x) => ({
      key: `${x.title_id}\u0001${x.artwork_id}`,
      titleId: String(x.title_id),
      artworkId: String(x.artwork_id),
      impressions: Number(x.impressions),
      plays: Number(x.plays),
      qualityPlays: Number(x.quality_plays),
      members: Number(x.members),
    }));
    const { rows: kept, suppressed } = this.floor(groups, (a, b) => b.impressions - a.impressions || (a.key < b.key ? -1 : 1), q.limit);
    return {
      ...this.envelope(r, suppressed),
      rows: kept.map((g) => ({
        titleId: g.titleId,
        name: this.name(g.titleId),
        artworkId: g.artworkId,
        impressions: g.impressions,
        plays: g.plays,
        qualityPlays: g.qualityPlays,
        members: g.members,
        take: wilsonInterval(g.plays, g.impressions),
        qualityTake: wilsonInterval(g.qualityPlays, g.impressions),
      })),
    };
  }

  async trending(q: AnalyticsQuery, windowDays = 7): Promise<TrendingStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), windowDays, rows: [] };
    const start = r.to - windowDays + 1;
    const groups = (
      await this.read(
        `WITH d AS (SELECT title_id, sum(plays) FILTER (WHERE day >= $1) AS plays, sum(plays) FILTER (WHERE day < $1) AS previous
                    FROM analytics_title_days WHERE day BETWEEN $3 AND $2 GROUP BY title_id HAVING sum(plays) FILTER (WHERE day >= $1) > 0),
              m AS (${reachOver(REACH.title)})
         SELECT title_id AS key, d.plays, d.previous, coalesce(m.members, 0) AS members FROM d LEFT JOIN m USING (title_id)`,
        [start, r.to, start - windowDays],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays ?? 0), previous: Number(x.previous ?? 0), members: Number(x.members) }));
    const { rows, suppressed } = this.floor(
      groups,
      (a, b) => b.plays - b.previous - (a.plays - a.previous) || b.plays - a.plays || (a.key < b.key ? -1 : 1),
      q.limit,
    );
    return {
      ...this.envelope({ from: start, to: r.to }, suppressed),
      windowDays,
      rows: rows.map((g) => ({ titleId: g.key, name: this.name(g.key), plays: g.plays, previousPlays: g.previous, growth: g.plays / Math.max(1, g.previous), members: g.members })),
    };
  }

  /**
   * Each title's viewing curve: its launch (the day of its first play) and hours watched per day since, for the
   * acquisition forecast. Titles watched by fewer than k members are left out, like every other aggregate.
   */
  async titleCurves(): Promise<{ endDay: number | null; titles: { titleId: string; launchDay: number; daily: number[] }[] }> {
    await this.refresh();
    const rows = await this.read(
      `WITH launch AS (SELECT title_id, min(day) AS launch_day FROM analytics_plays GROUP BY title_id
                       HAVING count(DISTINCT member_id) >= $1),
       per_day AS (SELECT p.title_id, p.day - l.launch_day AS d, sum(p.watched) / 3600.0 AS hours
                   FROM analytics_plays p JOIN launch l USING (title_id) GROUP BY ALL)
       SELECT title_id, any_value(l.launch_day) AS launch_day, list(d ORDER BY d) AS ds, list(hours ORDER BY d) AS hs
       FROM per_day JOIN launch l USING (title_id) GROUP BY title_id ORDER BY title_id`,
      [this.k],
    );
    const { hi } = onlyRow(await this.read('SELECT max(day) AS hi FROM analytics_plays'), 'analytics: last play day');
    if (hi === null || hi === undefined) return { endDay: null, titles: [] };
    const endDay = Number(hi);
    return {
      endDay,
      titles: rows.map((r) => {
        const launchDay = Number(r.launch_day);
        const daily = new Array<number>(endDay - launchDay + 1).fill(0);
        const ds = r.ds as number[];
        const hs = r.hs as number[];
        ds.forEach((d, i) => (daily[Number(d)] = Number(hs[i])));
        return { titleId: String(r.title_id), launchDay, daily };
      }),
    };
  }

  /** Events stored per minute by arrival time (all types): a count of events, no member is described. */
  async liveRate(minutes = 30): Promise<LiveRate> {
    const now = this.now();
    const since = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
    const rows = await this.read(
      `SELECT (received_at // 60000) * 60000 AS minute, count(*)::INTEGER AS n FROM events
       WHERE received_at >= $1 GROUP BY 1 ORDER BY 1`,
      [since],
    );
    const counts = new Map(rows.map((x) => [Number(x.minute), Number(x.n)]));
    const perMinute = Array.from({ length: minutes }, (_, i) => since + i * 60_000).map((minute) => ({ minute, events: counts.get(minute) ?? 0 }));
    return { minutes, now, perMinute };
  }
}
