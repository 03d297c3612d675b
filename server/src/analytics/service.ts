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
 * sorting and limiting, so a limit never reveals what the floor hid. Daily rollups bound a group's distinct
 * members over a range (at least the most on one day, at most the sum over days); only groups between the bounds
 * are counted exactly from the plays or impressions.
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
import { onlyRow, type DuckDbEventStore, type SqlConnection } from '../store/duckdb.ts';

type SqlStore = Pick<DuckDbEventStore, 'connect' | 'typedEvents'>;
const DAY_MS = 86_400_000;
/** The events analytics reads from the typed copy: the ones about a title. */
const TITLE_EVENTS = `type IN ('impression', 'play_start', 'progress', 'pause', 'complete') AND title_id IS NOT NULL`;
/** Per genre and day, from the plays (`p`) of the days the caller's WHERE picks: a play counts for each genre. */
const GENRE_DAYS = `
  SELECT p.day, g.genre, count(*), count(*) FILTER (WHERE p.quality), count(*) FILTER (WHERE p.completed), sum(p.watched),
         count(DISTINCT p.member_id)
  FROM analytics_plays p JOIN analytics_title_genres g USING (title_id)`;
/** Distinct members per genre and calendar month, for the months in `months` (month_start, month_end). */
const GENRE_MONTHS = (months: string) => `
  SELECT m.month_start, m.month_end, g.genre, count(DISTINCT p.member_id)
  FROM analytics_plays p JOIN analytics_title_genres g USING (title_id) JOIN ${months} m ON p.day BETWEEN m.month_start AND m.month_end
  GROUP BY ALL`;
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

/**
 * Where a group's exact distinct members are counted: its plays (`analytics_plays p`, with an optional join) or its
 * impressions (`typed_events p`), over `range`, grouped by `key` (an expression over `p` and the join).
 */
interface MemberSource {
  from: 'plays' | 'impressions';
  key: string;
  join?: string;
  range: Range;
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
      this.checkedAt = performance.now();
      if (await this.rollUpNewEvents()) this.days = undefined;
      if (this.days === undefined) {
        const { lo, hi } = onlyRow(await this.read('SELECT min(day) AS lo, max(day) AS hi FROM analytics_days'), 'analytics: day range');
        this.days = lo === null || lo === undefined ? null : { from: Number(lo), to: Number(hi) };
      }
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** New events were stored: the next query looks for them whatever the freshness window. */
  markDirty(): void {
    this.dirty = true;
    if (this.followMs !== null && !this.followTimer && !this.closed) {
      this.followTimer = setTimeout(() => {
        this.followTimer = null;
        this.refresh().catch((err) => this.opts.log?.(`analytics: refresh failed: ${(err as Error).message}`));
      }, this.followMs);
      this.followTimer.unref();
    }
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
    const { next_seq: nextRaw } = onlyRow(await conn.query('SELECT next_seq FROM analytics_state'), 'analytics state');
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
  }

  /** Recomputes the daily rollups of the days in `touched_days` (a day's worth of rows each: cheap once caught up). */
  private async rebuildDailyRollups(conn: SqlConnection): Promise<void> {
    const days = 'day IN (SELECT day FROM touched_days)';
    for (const table of ['analytics_days', 'analytics_title_days', 'analytics_genre_days', 'analytics_slot_days', 'analytics_artwork_days']) {
      await conn.query(`DELETE FROM ${table} WHERE ${days}`);
    }
    await conn.query(
      `INSERT INTO analytics_title_days
       SELECT day, title_id, count(*), count(*) FILTER (WHERE quality), count(*) FILTER (WHERE completed), sum(watched),
              count(DISTINCT member_id)
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
       WITH i AS (SELECT day, row_name, slot, count(*) AS n, count(DISTINCT member_id) AS m FROM typed_events
                  WHERE type = 'impression' AND ${days} GROUP BY day, row_name, slot),
            t AS (SELECT day, row_name, slot, count(*) AS n FROM analytics_plays WHERE row_name IS NOT NULL AND ${days}
                  GROUP BY day, row_name, slot)
       SELECT i.day, i.row_name, i.slot, i.n, coalesce(t.n, 0), i.m FROM i LEFT JOIN t USING (day, row_name, slot)`,
    );
    await conn.query(
      `INSERT INTO analytics_artwork_days
       WITH i AS (SELECT day, title_id, artwork_id, count(*) AS n FROM typed_events
                  WHERE type = 'impression' AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id),
            t AS (SELECT day, title_id, artwork_id, count(*) AS n, count(*) FILTER (WHERE quality) AS q FROM analytics_plays
                  WHERE row_name IS NOT NULL AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id)
       SELECT i.day, i.title_id, i.artwork_id, i.n, coalesce(t.n, 0), coalesce(t.q, 0) FROM i LEFT JOIN t USING (day, title_id, artwork_id)`,
    );
    // Months (UTC calendar months, as day numbers) that contain a touched day, rebuilt whole.
    const month = (d: string) => `(date_trunc('month', to_timestamp(${d}::BIGINT * 86400))::DATE - DATE '1970-01-01')`;
    const monthEnd = (d: string) => `((date_trunc('month', to_timestamp(${d}::BIGINT * 86400)) + INTERVAL 1 MONTH)::DATE - DATE '1970-01-01' - 1)`;
    await conn.query(
      `CREATE OR REPLACE TEMP TABLE touched_months AS SELECT DISTINCT ${month('day')} AS month_start, ${monthEnd('day')} AS month_end FROM touched_days`,
    );
    await conn.query('DELETE FROM analytics_artwork_months WHERE month_start IN (SELECT month_start FROM touched_months)');
    await conn.query('DELETE FROM analytics_title_months WHERE month_start IN (SELECT month_start FROM touched_months)');
    await conn.query('DELETE FROM analytics_genre_months WHERE month_start IN (SELECT month_start FROM touched_months)');
    await conn.query(`INSERT INTO analytics_genre_months ${GENRE_MONTHS('touched_months')}`);
    await conn.query(
      `INSERT INTO analytics_title_months
       SELECT m.month_start, m.month_end, p.title_id, count(DISTINCT p.member_id)
       FROM analytics_plays p JOIN touched_months m ON p.day BETWEEN m.month_start AND m.month_end GROUP BY ALL`,
    );
    await conn.query(
      `INSERT INTO analytics_artwork_months
       SELECT m.month_start, m.month_end, e.title_id, e.artwork_id, count(DISTINCT e.member_id)
       FROM typed_events e JOIN touched_months m ON e.day BETWEEN m.month_start AND m.month_end
       WHERE e.type = 'impression' AND e.artwork_id IS NOT NULL GROUP BY ALL`,
    );
  }

  /**
   * The k floor over rollups, for every aggregate that describes members: a group whose lower bound (the most
   * members on one day, or in one month inside the range) reaches k is kept, one whose upper bound (the sum over
   * days) does not is suppressed, and only those in between are counted exactly, from `members`. Kept groups are
   * sorted and limited before anything is shown, so a limit never reveals what the floor hid. With `countShown`,
   * the shown groups get their exact member count; without, those not counted keep their lower bound (for groups
   * whose exact count means reading every impression again).
   */
  private async applyFloor<G extends { key: string; lo: number; hi: number }>(
    groups: G[],
    members: MemberSource,
    order: (a: G, b: G) => number,
    opts: { limit: number; countShown: boolean },
  ): Promise<{ rows: (G & { members: number })[]; suppressed: number }> {
    const unsure = groups.filter((g) => g.lo < this.k && g.hi >= this.k).map((g) => g.key);
    // The groups that will most likely be shown (the first of those that may be kept) are counted in the same pass
    // as the undecided ones; a second pass is needed only when undecided ones among them fall under the floor.
    const likelyShown = opts.countShown ? groups.filter((g) => g.hi >= this.k).sort(order).slice(0, opts.limit).filter((g) => g.lo >= this.k) : [];
    const toCount = [...unsure, ...likelyShown.map((g) => g.key)];
    const counted = toCount.length ? await this.exactMembers(members, toCount) : new Map<string, number>();
    const all = groups.filter((g) => g.lo >= this.k || (counted.get(g.key) ?? 0) >= this.k);
    const kept = all.sort(order).slice(0, opts.limit);
    const missing = opts.countShown ? kept.filter((g) => !counted.has(g.key)).map((g) => g.key) : [];
    if (missing.length) for (const [key, n] of await this.exactMembers(members, missing)) counted.set(key, n);
    return { rows: kept.map((g) => ({ ...g, members: counted.get(g.key) ?? g.lo })), suppressed: groups.length - all.length };
  }

  /**
   * Exact distinct members per key over the range. For many keys one pass over every group is cheaper than
   * filtering by a long list.
   */
  private async exactMembers(m: MemberSource, keys: string[]): Promise<Map<string, number>> {
    const many = keys.length > 50;
    const keyIn = many ? 'true' : `${m.key} IN (SELECT unnest(from_json($3, '["VARCHAR"]')))`;
    const source =
      m.from === 'plays'
        ? `analytics_plays p ${m.join ?? ''} WHERE p.day BETWEEN $1 AND $2`
        : `typed_events p WHERE p.type = 'impression' AND p.day BETWEEN $1 AND $2`;
    const rows = await this.read(
      `SELECT ${m.key} AS key, count(DISTINCT p.member_id) AS n FROM ${source} AND ${keyIn} GROUP BY 1`,
      many ? [m.range.from, m.range.to] : [m.range.from, m.range.to, JSON.stringify(keys)],
    );
    return new Map(rows.map((x) => [String(x.key), Number(x.n)]));
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
      await conn.query('DELETE FROM analytics_genre_months');
      await conn.query(
        `INSERT INTO analytics_genre_months ${GENRE_MONTHS(`(SELECT DISTINCT month_start, month_end FROM analytics_title_months)`)}`,
      );
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
    const [key, days, months] = by === 'genre' ? ['genre', 'analytics_genre_days', 'analytics_genre_months'] : ['title_id', 'analytics_title_days', 'analytics_title_months'];
    // Member bounds: at least the most in one day, or in one month lying inside the range; at most the sum over days.
    const groups = (
      await this.read(
        `WITH d AS (SELECT ${key} AS key, sum(plays) AS plays, sum(quality_plays) AS quality_plays, sum(completed) AS completed,
                           sum(watched) AS watched, max(members) AS lo, sum(members) AS hi
                    FROM ${days} WHERE day BETWEEN $1 AND $2 GROUP BY ${key}),
              m AS (SELECT ${key} AS key, max(members) AS lo FROM ${months}
                    WHERE month_start >= $1 AND month_end <= $2 GROUP BY ${key})
         SELECT key, d.plays, d.quality_plays, d.completed, d.watched, d.hi, greatest(d.lo, coalesce(m.lo, 0)) AS lo
         FROM d LEFT JOIN m USING (key)`,
        [r.from, r.to],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays), qualityPlays: Number(x.quality_plays), completed: Number(x.completed), hours: Number(x.watched) / 3600, lo: Number(x.lo), hi: Number(x.hi) }));
    const measure = (g: { hours: number; plays: number; lo: number }) => (sort === 'plays' ? g.plays : sort === 'members' ? g.lo : g.hours);
    const { rows, suppressed } = await this.applyFloor(
      groups,
      by === 'genre'
        ? { from: 'plays', key: 'g.genre', join: 'JOIN analytics_title_genres g USING (title_id)', range: r }
        : { from: 'plays', key: 'p.title_id', range: r },
      (a, b) => measure(b) - measure(a) || (a.key < b.key ? -1 : 1),
      { limit: q.limit, countShown: true },
    );
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

  /** Take rate per row and position. A cell's `members` is a lower bound (the most on one day) once it clears k. */
  async takeRates(q: AnalyticsQuery): Promise<TakeRateStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), cells: [] };
    const groups = (
      await this.read(
        `SELECT row_name, slot, sum(impressions) AS impressions, sum(taken) AS taken, max(members) AS lo, sum(members) AS hi
         FROM analytics_slot_days WHERE day BETWEEN $1 AND $2 AND slot < $3 GROUP BY row_name, slot`,
        [r.from, r.to, q.limit],
      )
    ).map((x) => ({ key: `${x.row_name ?? ''}\u0001${Number(x.slot ?? 0)}`, row: String(x.row_name ?? ''), position: Number(x.slot ?? 0), impressions: Number(x.impressions), plays: Number(x.taken), lo: Number(x.lo), hi: Number(x.hi) }));
    // Only the undecided cells are counted exactly: the shown ones keep their lower bound (counting every
    // impression's member again is what the rollup avoids).
    const { rows: kept, suppressed } = await this.applyFloor(
      groups,
      { from: 'impressions', key: `coalesce(p.row_name, '') || chr(1) || coalesce(p.slot, 0)::VARCHAR`, range: r },
      (a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : a.position - b.position),
      { limit: Infinity, countShown: false },
    );
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
    const params: (string | number)[] = [r.from, r.to, q.limit];
    const titleFilter = titleId ? `AND title_id = $4` : '';
    if (titleId) params.push(titleId);
    // Candidates: the 4 x limit most shown in the range (from the day rollup). Member bounds from the months: at
    // least the most in one month lying inside the range, at most the sum over the months it overlaps.
    const groups = (
      await this.read(
        `WITH shown AS (SELECT title_id, artwork_id, sum(impressions) AS impressions, sum(taken) AS plays, sum(quality_taken) AS quality_plays
                        FROM analytics_artwork_days WHERE day BETWEEN $1 AND $2 ${titleFilter}
                        GROUP BY title_id, artwork_id ORDER BY impressions DESC, title_id, artwork_id LIMIT 4 * $3)
         SELECT s.*, coalesce(max(m.members) FILTER (WHERE m.month_start >= $1 AND m.month_end <= $2), 0) AS lo,
                coalesce(sum(m.members), 0) AS hi
         FROM shown s LEFT JOIN analytics_artwork_months m
           ON m.title_id = s.title_id AND m.artwork_id = s.artwork_id AND m.month_end >= $1 AND m.month_start <= $2
         GROUP BY ALL`,
        params,
      )
    ).map((x) => ({
      key: `${x.title_id}\u0001${x.artwork_id}`,
      titleId: String(x.title_id),
      artworkId: String(x.artwork_id),
      impressions: Number(x.impressions),
      plays: Number(x.plays),
      qualityPlays: Number(x.quality_plays),
      lo: Number(x.lo),
      hi: Number(x.hi),
    }));
    // Shown rows keep the lower bound as their member count unless they had to be counted (see the schema).
    const { rows: kept, suppressed } = await this.applyFloor(
      groups,
      { from: 'impressions', key: `p.title_id || chr(1) || p.artwork_id`, range: r },
      (a, b) => b.impressions - a.impressions || (a.key < b.key ? -1 : 1),
      { limit: q.limit, countShown: false },
    );
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
        `SELECT title_id AS key, sum(plays) FILTER (WHERE day >= $3) AS plays, sum(plays) FILTER (WHERE day < $3) AS previous,
                max(members) FILTER (WHERE day >= $3) AS lo, sum(members) FILTER (WHERE day >= $3) AS hi
         FROM analytics_title_days WHERE day BETWEEN $1 AND $2 GROUP BY title_id HAVING sum(plays) FILTER (WHERE day >= $3) > 0`,
        [start - windowDays, r.to, start],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays ?? 0), previous: Number(x.previous ?? 0), lo: Number(x.lo ?? 0), hi: Number(x.hi ?? 0) }));
    const { rows, suppressed } = await this.applyFloor(
      groups,
      { from: 'plays', key: 'p.title_id', range: { from: start, to: r.to } },
      (a, b) => b.plays - b.previous - (a.plays - a.previous) || b.plays - a.plays || (a.key < b.key ? -1 : 1),
      { limit: q.limit, countShown: true },
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
