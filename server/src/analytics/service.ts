/**
 * Aggregate analytics in DuckDB SQL: viewing hours, plays, quality plays and completion per title, genre and day;
 * take rate per row and position; artwork take rates; trending; active members; the live event rate. Definitions:
 * packages/core/src/analytics.ts.
 *
 * Tables (migrations.ts), kept up to date by `refresh()` before a query reads them: a typed copy of the events, one
 * row per play, and daily rollups rebuilt for the days new events touch. Queries read the rollups, so their cost
 * grows with days x groups rather than with events.
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
import type { DuckDbEventStore } from '../store/duckdb.ts';

type SqlStore = Pick<DuckDbEventStore, 'query'>;
const DAY_MS = 86_400_000;

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
  FROM analytics_events e SEMI JOIN touched t ON e.session_id = t.session_id AND e.title_id = t.title_id
  GROUP BY e.session_id, e.title_id
  HAVING count(*) FILTER (WHERE e.type <> 'impression') > 0`;

export interface AnalyticsOptions {
  store: SqlStore;
  catalog: readonly CatalogTitle[];
  /** k-anonymity floor: groups describing fewer members are suppressed. */
  k?: number;
  /**
   * How stale an answer may be, ms (default 1000): within it, queries skip the check for newly stored events
   * (which costs a scan of the events table's row ids). `markDirty()` (called on each stored batch) ends it early.
   */
  freshnessMs?: number;
  now?: () => number;
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
  private catalogLoaded: Promise<void> | null = null;
  private checkedAt = -Infinity;
  private dirty = true;
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
   * Copies events stored since the last refresh into `analytics_events`, parsing their JSON once. Queries call it
   * first, so answers include every committed event; concurrent callers share one refresh.
   */
  refresh(): Promise<void> {
    const fresh = !this.dirty && performance.now() - this.checkedAt < (this.opts.freshnessMs ?? 1000);
    if (fresh && this.days !== undefined) return Promise.resolve();
    this.refreshing ??= (async () => {
      this.dirty = false;
      this.checkedAt = performance.now();
      if (await this.copyNewEvents()) this.days = undefined;
      if (this.days === undefined) {
        const [{ lo, hi }] = await this.store.query('SELECT min(day) AS lo, max(day) AS hi FROM analytics_days');
        this.days = lo === null || lo === undefined ? null : { from: Number(lo), to: Number(hi) };
      }
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** New events were stored: the next query looks for them whatever the freshness window. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Copies what was stored since the last call; false when there was nothing new. */
  private async copyNewEvents(): Promise<boolean> {
    const [{ next_rowid: nextRaw }] = await this.store.query('SELECT next_rowid FROM analytics_state');
    const [{ last }] = await this.store.query('SELECT max(rowid) AS last FROM events');
    const next = Number(nextRaw);
    if (last === null || last === undefined || Number(last) < next) return false;
    const params = [next, Number(last)];
    // No transaction: the store's writer shares the connection and would commit or roll back inside ours. Instead
    // each step can be rerun: leftovers of an interrupted refresh are dropped first, and the state moves last.
    await this.store.query('DELETE FROM analytics_events WHERE seq >= $1', [next]);
    await this.store.query(
      `INSERT INTO analytics_events
       SELECT seq, (ts // ${DAY_MS})::INTEGER, ts, type, member_id, session_id, title_id,
              CASE WHEN type = 'impression' THEN payload->>'$.row' END,
              CASE WHEN type = 'impression' THEN (payload->>'$.position')::INTEGER END,
              payload->>'$.artwork.artworkId',
              CASE WHEN type IN ('progress', 'pause', 'complete') THEN (payload->>'$.position')::DOUBLE END,
              (payload->>'$.duration')::DOUBLE
       FROM (SELECT rowid AS seq, payload, (payload->>'$.ts')::BIGINT AS ts, payload->>'$.type' AS type,
                    coalesce(payload->>'$.userId', payload->>'$.anonymousId') AS member_id,
                    payload->>'$.sessionId' AS session_id, payload->>'$.titleId' AS title_id
             FROM events WHERE rowid BETWEEN $1 AND $2)
       WHERE type IN ('impression', 'play_start', 'progress', 'pause', 'complete') AND title_id IS NOT NULL`,
      params,
    );
    // The plays the new events belong to are rebuilt whole: a play's events may arrive over several batches.
    await this.store.query(
      `CREATE OR REPLACE TEMP TABLE touched AS
       SELECT DISTINCT session_id, title_id FROM analytics_events WHERE seq BETWEEN $1 AND $2`,
      params,
    );
    // Days whose rollups change: those of the new events, and those of the touched plays before and after.
    const playDays = `SELECT DISTINCT p.day FROM analytics_plays p SEMI JOIN touched t ON p.session_id = t.session_id AND p.title_id = t.title_id`;
    await this.store.query(
      `CREATE OR REPLACE TEMP TABLE touched_days AS
       SELECT DISTINCT day FROM analytics_events WHERE seq BETWEEN $1 AND $2 UNION ${playDays}`,
      params,
    );
    await this.store.query(
      `DELETE FROM analytics_plays p USING touched t WHERE p.session_id = t.session_id AND p.title_id = t.title_id`,
    );
    await this.store.query(
      `INSERT INTO analytics_plays
       SELECT session_id, title_id, member_id, day, watched, duration, completed,
              -- A play known only by its play_start has no duration yet: not (yet) a quality play.
              coalesce(completed OR (duration > 0 AND watched >= ${QUALITY_PLAY_FRACTION} * duration), false), row_name, slot, artwork_id
       FROM (${PLAYS_OF_TOUCHED})`,
    );
    await this.store.query(`INSERT INTO touched_days SELECT * FROM (${playDays}) EXCEPT SELECT day FROM touched_days`);
    await this.store.query('DROP TABLE touched');
    await this.rebuildDailyRollups();
    await this.store.query('UPDATE analytics_state SET next_rowid = $1', [Number(last) + 1]);
    return true;
  }

  /** Recomputes the daily rollups of the days in `touched_days` (a day's worth of rows each: cheap once caught up). */
  private async rebuildDailyRollups(): Promise<void> {
    const days = 'day IN (SELECT day FROM touched_days)';
    for (const table of ['analytics_days', 'analytics_title_days', 'analytics_slot_days', 'analytics_artwork_days']) {
      await this.store.query(`DELETE FROM ${table} WHERE ${days}`);
    }
    await this.store.query(
      `INSERT INTO analytics_title_days
       SELECT day, title_id, count(*), count(*) FILTER (WHERE quality), count(*) FILTER (WHERE completed), sum(watched),
              count(DISTINCT member_id)
       FROM analytics_plays WHERE ${days} GROUP BY day, title_id`,
    );
    await this.store.query(
      `INSERT INTO analytics_days
       WITH a AS (SELECT day, count(DISTINCT member_id) AS active FROM analytics_events WHERE ${days} GROUP BY day),
            p AS (SELECT day, count(*) AS plays, count(*) FILTER (WHERE quality) AS q, count(*) FILTER (WHERE completed) AS c,
                         sum(watched) AS w, count(DISTINCT member_id) AS m
                  FROM analytics_plays WHERE ${days} GROUP BY day)
       SELECT a.day, coalesce(p.plays, 0), coalesce(p.q, 0), coalesce(p.c, 0), coalesce(p.w, 0), coalesce(p.m, 0), a.active
       FROM a LEFT JOIN p USING (day)`,
    );
    await this.store.query(
      `INSERT INTO analytics_slot_days
       WITH i AS (SELECT day, row_name, slot, count(*) AS n, count(DISTINCT member_id) AS m FROM analytics_events
                  WHERE type = 'impression' AND ${days} GROUP BY day, row_name, slot),
            t AS (SELECT day, row_name, slot, count(*) AS n FROM analytics_plays WHERE row_name IS NOT NULL AND ${days}
                  GROUP BY day, row_name, slot)
       SELECT i.day, i.row_name, i.slot, i.n, coalesce(t.n, 0), i.m FROM i LEFT JOIN t USING (day, row_name, slot)`,
    );
    await this.store.query(
      `INSERT INTO analytics_artwork_days
       WITH i AS (SELECT day, title_id, artwork_id, count(*) AS n FROM analytics_events
                  WHERE type = 'impression' AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id),
            t AS (SELECT day, title_id, artwork_id, count(*) AS n, count(*) FILTER (WHERE quality) AS q FROM analytics_plays
                  WHERE row_name IS NOT NULL AND artwork_id IS NOT NULL AND ${days} GROUP BY day, title_id, artwork_id)
       SELECT i.day, i.title_id, i.artwork_id, i.n, coalesce(t.n, 0), coalesce(t.q, 0) FROM i LEFT JOIN t USING (day, title_id, artwork_id)`,
    );
    // Months (UTC calendar months, as day numbers) that contain a touched day, rebuilt whole.
    const month = (d: string) => `(date_trunc('month', to_timestamp(${d}::BIGINT * 86400))::DATE - DATE '1970-01-01')`;
    const monthEnd = (d: string) => `((date_trunc('month', to_timestamp(${d}::BIGINT * 86400)) + INTERVAL 1 MONTH)::DATE - DATE '1970-01-01' - 1)`;
    await this.store.query(
      `CREATE OR REPLACE TEMP TABLE touched_months AS SELECT DISTINCT ${month('day')} AS month_start, ${monthEnd('day')} AS month_end FROM touched_days`,
    );
    await this.store.query('DELETE FROM analytics_artwork_months WHERE month_start IN (SELECT month_start FROM touched_months)');
    await this.store.query('DELETE FROM analytics_title_months WHERE month_start IN (SELECT month_start FROM touched_months)');
    await this.store.query(
      `INSERT INTO analytics_title_months
       SELECT m.month_start, m.month_end, p.title_id, count(DISTINCT p.member_id)
       FROM analytics_plays p JOIN touched_months m ON p.day BETWEEN m.month_start AND m.month_end GROUP BY ALL`,
    );
    await this.store.query(
      `INSERT INTO analytics_artwork_months
       SELECT m.month_start, m.month_end, e.title_id, e.artwork_id, count(DISTINCT e.member_id)
       FROM analytics_events e JOIN touched_months m ON e.day BETWEEN m.month_start AND m.month_end
       WHERE e.type = 'impression' AND e.artwork_id IS NOT NULL GROUP BY ALL`,
    );
  }

  /**
   * The k floor over rollups: a group whose lower bound (the most members on one day) reaches k is kept, one whose
   * upper bound (the sum over days) does not is suppressed, and only those in between are counted exactly.
   * Kept groups are sorted and limited; the shown ones get their exact member count when `exact` can give it.
   */
  private async floor<G extends { key: string; lo: number; hi: number }>(
    groups: G[],
    exact: (keys: string[]) => Promise<Map<string, number>>,
    order: (a: G, b: G) => number,
    limit: number,
  ): Promise<{ rows: (G & { members: number })[]; suppressed: number }> {
    const unsure = groups.filter((g) => g.lo < this.k && g.hi >= this.k).map((g) => g.key);
    const counted = unsure.length ? await exact(unsure) : new Map<string, number>();
    const all = groups.filter((g) => g.lo >= this.k || (counted.get(g.key) ?? 0) >= this.k);
    const kept = all.sort(order).slice(0, limit);
    const missing = kept.filter((g) => !counted.has(g.key)).map((g) => g.key);
    if (missing.length) for (const [key, n] of await exact(missing)) counted.set(key, n);
    return { rows: kept.map((g) => ({ ...g, members: counted.get(g.key) ?? g.lo })), suppressed: groups.length - all.length };
  }

  /** Changes whenever new events have been copied: a cache key for what is derived from the aggregates. */
  async version(): Promise<string> {
    const [{ next_rowid: n }] = await this.store.query('SELECT next_rowid FROM analytics_state');
    return String(n);
  }

  /** The catalog's genres as a table, for per-genre stats (a temporary table: the catalog is the deployment's). */
  private loadCatalog(): Promise<void> {
    const rows = this.opts.catalog.flatMap((t) => t.genres.map((g) => ({ t: t.id, g })));
    this.catalogLoaded ??= this.store
      .query(
        `CREATE OR REPLACE TEMP TABLE analytics_title_genres AS
         SELECT j->>'t' AS title_id, j->>'g' AS genre FROM (SELECT unnest(CAST($1 AS JSON[])) AS j)`,
        [JSON.stringify(rows)],
      )
      .then(() => undefined);
    return this.catalogLoaded;
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
    if (by === 'genre') await this.loadCatalog();
    const key = by === 'genre' ? 'g.genre' : 't.title_id';
    const join = by === 'genre' ? 'JOIN analytics_title_genres g USING (title_id)' : '';
    // Member bounds: at least the most in one day, or in one month lying inside the range; at most the sum over days.
    const groups = (
      await this.store.query(
        `WITH d AS (SELECT ${key} AS key, sum(plays) AS plays, sum(quality_plays) AS quality_plays, sum(completed) AS completed,
                           sum(watched) AS watched, max(members) AS lo, sum(members) AS hi
                    FROM analytics_title_days t ${join} WHERE day BETWEEN $1 AND $2 GROUP BY ${key}),
              m AS (SELECT ${key} AS key, max(members) AS lo FROM analytics_title_months t ${join}
                    WHERE month_start >= $1 AND month_end <= $2 GROUP BY ${key})
         SELECT key, d.plays, d.quality_plays, d.completed, d.watched, d.hi, greatest(d.lo, coalesce(m.lo, 0)) AS lo
         FROM d LEFT JOIN m USING (key)`,
        [r.from, r.to],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays), qualityPlays: Number(x.quality_plays), completed: Number(x.completed), hours: Number(x.watched) / 3600, lo: Number(x.lo), hi: Number(x.hi) }));
    const exact = (keys: string[]) =>
      this.exactMembers(
        (keyIn) => {
          const k = by === 'genre' ? 'g.genre' : 'p.title_id';
          return `SELECT ${k} AS key, count(DISTINCT p.member_id) AS n FROM analytics_plays p ${join}
                  WHERE p.day BETWEEN $1 AND $2 AND ${keyIn(k)} GROUP BY 1`;
        },
        r.from,
        r.to,
        keys,
      );
    const measure = (g: { hours: number; plays: number; lo: number }) => (sort === 'plays' ? g.plays : sort === 'members' ? g.lo : g.hours);
    const { rows, suppressed } = await this.floor(groups, exact, (a, b) => measure(b) - measure(a) || (a.key < b.key ? -1 : 1), q.limit);
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

  /**
   * Exact distinct members per key. `sql` gets the filter to put in its WHERE clause: `expr IN (the keys)`, or
   * `true` for many keys, where one pass over every group is cheaper than filtering by a long list.
   */
  private async exactMembers(sql: (keyIn: (expr: string) => string) => string, from: number, to: number, keys: string[]): Promise<Map<string, number>> {
    const many = keys.length > 50;
    const keyIn = (expr: string) => (many ? 'true' : `${expr} IN (SELECT unnest(from_json($3, '["VARCHAR"]')))`);
    const rows = await this.store.query(sql(keyIn), many ? [from, to] : [from, to, JSON.stringify(keys)]);
    return new Map(rows.map((x) => [String(x.key), Number(x.n)]));
  }

  async daily(q: AnalyticsQuery): Promise<DailyStats> {
    const r = await this.range(q);
    if (!r) return { ...this.envelope(r), days: [] };
    const rows = await this.store.query('SELECT * FROM analytics_days WHERE day BETWEEN $1 AND $2 ORDER BY day', [r.from, r.to]);
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
      await this.store.query(
        `SELECT row_name, slot, sum(impressions) AS impressions, sum(taken) AS taken, max(members) AS lo, sum(members) AS hi
         FROM analytics_slot_days WHERE day BETWEEN $1 AND $2 AND slot < $3 GROUP BY row_name, slot`,
        [r.from, r.to, q.limit],
      )
    ).map((x) => ({ key: `${x.row_name ?? ''}\u0001${Number(x.slot ?? 0)}`, row: String(x.row_name ?? ''), position: Number(x.slot ?? 0), impressions: Number(x.impressions), plays: Number(x.taken), lo: Number(x.lo), hi: Number(x.hi) }));
    const exact = (keys: string[]) =>
      this.exactMembers(
        (keyIn) => {
          const k = `coalesce(row_name, '') || chr(1) || coalesce(slot, 0)::VARCHAR`;
          return `SELECT ${k} AS key, count(DISTINCT member_id) AS n FROM analytics_events
                  WHERE type = 'impression' AND day BETWEEN $1 AND $2 AND ${keyIn(k)} GROUP BY 1`;
        },
        r.from,
        r.to,
        keys,
      );
    // Only the undecided cells are counted exactly: the shown ones keep their lower bound (counting every
    // impression's member again is what the rollup avoids).
    const unsure = groups.filter((g) => g.lo < this.k && g.hi >= this.k).map((g) => g.key);
    const counted = unsure.length ? await exact(unsure) : new Map<string, number>();
    const kept = groups.filter((g) => g.lo >= this.k || (counted.get(g.key) ?? 0) >= this.k);
    kept.sort((a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : a.position - b.position));
    return {
      ...this.envelope(r, groups.length - kept.length),
      cells: kept.map((g) => ({
        row: g.row,
        position: g.position,
        impressions: g.impressions,
        plays: g.plays,
        members: counted.get(g.key) ?? g.lo,
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
      await this.store.query(
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
    const exact = (keys: string[]) =>
      this.exactMembers(
        (keyIn) => {
          const k = `title_id || chr(1) || artwork_id`;
          return `SELECT ${k} AS key, count(DISTINCT member_id) AS n FROM analytics_events
                  WHERE type = 'impression' AND day BETWEEN $1 AND $2 AND ${keyIn(k)} GROUP BY 1`;
        },
        r.from,
        r.to,
        keys,
      );
    // Shown rows keep the lower bound as their member count unless they had to be counted (see the schema).
    const unsure = groups.filter((g) => g.lo < this.k && g.hi >= this.k).map((g) => g.key);
    const counted = unsure.length ? await exact(unsure) : new Map<string, number>();
    const kept = groups
      .filter((g) => g.lo >= this.k || (counted.get(g.key) ?? 0) >= this.k)
      .sort((a, b) => b.impressions - a.impressions || (a.key < b.key ? -1 : 1));
    return {
      ...this.envelope(r, groups.length - kept.length),
      rows: kept.slice(0, q.limit).map((g) => ({
        titleId: g.titleId,
        name: this.name(g.titleId),
        artworkId: g.artworkId,
        impressions: g.impressions,
        plays: g.plays,
        qualityPlays: g.qualityPlays,
        members: counted.get(g.key) ?? g.lo,
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
      await this.store.query(
        `SELECT title_id AS key, sum(plays) FILTER (WHERE day >= $3) AS plays, sum(plays) FILTER (WHERE day < $3) AS previous,
                max(members) FILTER (WHERE day >= $3) AS lo, sum(members) FILTER (WHERE day >= $3) AS hi
         FROM analytics_title_days WHERE day BETWEEN $1 AND $2 GROUP BY title_id HAVING sum(plays) FILTER (WHERE day >= $3) > 0`,
        [start - windowDays, r.to, start],
      )
    ).map((x) => ({ key: String(x.key), plays: Number(x.plays ?? 0), previous: Number(x.previous ?? 0), lo: Number(x.lo ?? 0), hi: Number(x.hi ?? 0) }));
    const exact = (keys: string[]) =>
      this.exactMembers(
        (keyIn) => `SELECT title_id AS key, count(DISTINCT member_id) AS n FROM analytics_plays
                    WHERE day BETWEEN $1 AND $2 AND ${keyIn('title_id')} GROUP BY 1`,
        start,
        r.to,
        keys,
      );
    const { rows, suppressed } = await this.floor(groups, exact, (a, b) => b.plays - b.previous - (a.plays - a.previous) || b.plays - a.plays || (a.key < b.key ? -1 : 1), q.limit);
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
    const rows = await this.store.query(
      `WITH launch AS (SELECT title_id, min(day) AS launch_day FROM analytics_plays GROUP BY title_id
                       HAVING count(DISTINCT member_id) >= $1),
       per_day AS (SELECT p.title_id, p.day - l.launch_day AS d, sum(p.watched) / 3600.0 AS hours
                   FROM analytics_plays p JOIN launch l USING (title_id) GROUP BY ALL)
       SELECT title_id, any_value(l.launch_day) AS launch_day, list(d ORDER BY d) AS ds, list(hours ORDER BY d) AS hs
       FROM per_day JOIN launch l USING (title_id) GROUP BY title_id ORDER BY title_id`,
      [this.k],
    );
    const [{ hi }] = await this.store.query('SELECT max(day) AS hi FROM analytics_plays');
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
    const rows = await this.store.query(
      `SELECT (received_at // 60000) * 60000 AS minute, count(*)::INTEGER AS n FROM events
       WHERE received_at >= $1 GROUP BY 1 ORDER BY 1`,
      [since],
    );
    const counts = new Map(rows.map((x) => [Number(x.minute), Number(x.n)]));
    const perMinute = Array.from({ length: minutes }, (_, i) => since + i * 60_000).map((minute) => ({ minute, events: counts.get(minute) ?? 0 }));
    return { minutes, now, perMinute };
  }
}
