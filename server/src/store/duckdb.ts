import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import type { MarqueeEvent } from '@marquee/core';
import { MIGRATIONS } from './migrations.ts';
import { ARTWORK_EVENT_TYPES, type AppendResult, type SqlConnection, type ArtworkRow, type EngagementRow, type EventStore, type StoreHealth, type StoreRecovery } from './types.ts';
import { UuidSet } from './uuid-set.ts';
import { HighWaterMark } from './high-water.ts';
import { BACKFILL_ENGAGEMENT, BACKFILL_ID_WORDS, INSERT_LINES, QUARANTINE_SWEEP } from './quarantine.ts';
import { TypedEventsCopy } from './typed-events.ts';

/** How long a small group waits for company, and the size at which it stops waiting. */
const GROUP_LINGER_MS = 2;
const GROUP_TARGET_EVENTS = 2000;
/**
 * Event types whose engagement columns (`eng_*` on `events`) are filled: what live aggregates count and the start-up
 * replay reads without parsing JSON. Kept narrow on purpose: extracting the fields costs a JSON parse per row.
 */
export const COMPACT_TYPES: readonly MarqueeEvent['type'][] = ['play_start', 'complete'];
/** The buffer pool limit set for a moment by `releaseMemory`: low enough to evict nearly every cached page. */
const RELEASE_LIMIT = '16MB';
/** A readiness probe is a real write; repeated `/readyz` calls within this window reuse its answer. */
const HEALTH_CACHE_MS = 2000;

export interface DuckDbStoreOptions {
  /** Where start-up findings go (WAL replay, quarantined rows, lost events). Default: console.error. */
  log?: (line: string) => void;
  /** DuckDB's buffer pool limit (`memory_limit`), so reading millions of rows at start does not keep them all. */
  memoryLimit?: string;
}

interface PendingAppend {
  events: readonly MarqueeEvent[];
  /** Each event's id as four 32-bit words (event i at 4i..4i+3). */
  words: Uint32Array;
  /** Each event's line of INSERT_LINES, built when the request arrived. */
  lines: string[];
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The embedded event store: one DuckDB file in the data directory, nothing else to run.
 *
 * Exactly-once without a unique index: every write goes through one writer that holds the set of stored ids
 * (rebuilt from the table at open). Requests that arrive while a write is running are committed together in the
 * next one (group commit), so throughput grows with concurrency instead of paying one commit per request.
 * The ids live in a typed-array hash set of 128-bit values (~21-43 bytes per id, no JS object per id).
 *
 * Start-up never dies on a bad row: rows that cannot be read back (malformed JSON such as a lone surrogate written
 * by an older version, no UUID id, no numeric ts) move to the `quarantine` table, counted and logged. After every
 * commit the number of stored events is written beside the database (`events.highwater`); a store that opens with
 * fewer events than that lost acknowledged ones (a cut write-ahead log) and says so.
 *
 * A group's rows reach DuckDB as one bound string (INSERT_LINES): DuckDB splits it and
 * commits off the main thread, so requests keep being parsed and validated while the commit waits for the disk.
 * (The appender cost the JS thread a native call per value and a synchronous flush; a staging table and a table
 * of its own for the engagement copy cost DuckDB two more statements per commit, as much as the rows themselves.)
 */
export class DuckDbEventStore implements EventStore {
  private seen = new UuidSet();
  private highWater: HighWaterMark | null = null;
  /** Events stored (events + quarantine) as far as this process knows: what the high-water file records. */
  private total = 0;
  private lastHealth: { at: number; health: StoreHealth } | null = null;
  /** DuckDB's buffer pool limit, as configured or as first read by `releaseMemory`: what it restores. */
  private memoryLimit: string | null = null;
  recovery: StoreRecovery = { walBytes: 0, quarantined: 0, stored: 0, highWater: null, lost: 0 };
  private queue: PendingAppend[] = [];
  private writer: Promise<void> | null = null;
  /** INSERT_LINES, parsed and planned once: each commit only binds its string and runs. */
  private insert: DuckDBPreparedStatement | null = null;
  private closed = false;
  private readers: DuckDBConnection[] = [];
  /** Queries in flight on the reader connections, and the release that waits for them to end (releaseMemory). */
  private readsInFlight = 0;
  private readsIdle: (() => void) | null = null;
  private releasing: Promise<void> | null = null;
  /** The typed copy of the events every reader shares (typed-events.ts), caught up off the write path. */
  private typed: TypedEventsCopy | null = null;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** Opens (creating if needed) `<dataDir>/events.duckdb`, or an in-memory database for `':memory:'`. */
  static async open(dataDir: string, opts: DuckDbStoreOptions = {}): Promise<DuckDbEventStore> {
    const log = opts.log ?? ((line: string) => console.error(line));
    let path = ':memory:';
    let walBytes = 0;
    if (dataDir !== ':memory:') {
      await mkdir(dataDir, { recursive: true });
      path = join(dataDir, 'events.duckdb');
      walBytes = await stat(`${path}.wal`).then((s) => s.size, () => 0);
      if (walBytes > 0) log(`event store: replaying ${walBytes} bytes of write-ahead log (the last run did not stop cleanly)`);
    }
    const instance = await DuckDBInstance.create(path, opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {});
    const conn = await instance.connect();
    const store = new DuckDbEventStore(instance, conn);
    store.memoryLimit = opts.memoryLimit ?? null;
    await store.migrate();
    await store.loadSeenIds(log);
    store.typed = new TypedEventsCopy(await store.connect(), { rebuild: store.recovery.quarantined > 0, log });
    store.recovery.walBytes = walBytes;
    if (dataDir !== ':memory:') {
      store.highWater = new HighWaterMark(join(dataDir, 'events.highwater'));
      const mark = await store.highWater.read();
      store.recovery.highWater = mark;
      if (mark !== null && mark > store.total) {
        store.recovery.lost = mark - store.total;
        log(`event store: ${store.recovery.lost} acknowledged events are missing: ${mark} were stored before, ${store.total} are now (write-ahead log cut short?)`);
      }
      store.highWater.set(store.total);
    }
    if (walBytes > 0 || store.recovery.quarantined > 0) {
      log(`event store: recovered, ${store.total} events stored (${store.recovery.quarantined} quarantined at this start)`);
    }
    return store;
  }

  /** Applied migration versions, oldest first. */
  async schemaVersions(): Promise<number[]> {
    const r = await this.conn.runAndReadAll('SELECT version FROM schema_migrations ORDER BY version');
    return r.getRows().map((row) => Number(row[0]));
  }

  private async migrate(): Promise<void> {
    await this.conn.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)',
    );
    const applied = new Set(await this.schemaVersions());
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(m.sql);
        await this.conn.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Streams every stored id into the set, a chunk at a time, from the id-word columns. Rows without words (older
   * versions, writes outside the API) are checked first: unreadable ones move to quarantine, the rest get words.
   */
  private async loadSeenIds(log: (line: string) => void): Promise<void> {
    const unchecked = await this.countOf('SELECT count(*) FROM events WHERE id_w0 IS NULL');
    if (unchecked > 0) {
      const before = await this.countRows('quarantine');
      await this.conn.run(QUARANTINE_SWEEP);
      this.recovery.quarantined = (await this.countRows('quarantine')) - before;
      await this.conn.run(`BEGIN TRANSACTION; ${BACKFILL_ENGAGEMENT}; ${BACKFILL_ID_WORDS}; COMMIT`);
      if (this.recovery.quarantined > 0) {
        const reasons = await this.conn.runAndReadAll('SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason');
        const summary = reasons.getRows().map(([r, n]) => `${String(n)} ${String(r)}`).join(', ');
        log(`event store: moved ${this.recovery.quarantined} unreadable rows to the quarantine table (all quarantined so far: ${summary})`);
      }
      log(`event store: checked ${unchecked} rows written without id words; ${unchecked - this.recovery.quarantined} kept`);
    }
    const count = await this.countRows('events');
    this.seen = new UuidSet(count + 1024);
    const result = await this.conn.stream('SELECT id_w0, id_w1, id_w2, id_w3 FROM events');
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      // Column vectors read in place (typed arrays underneath): no array of values per chunk, no object per row.
      const w0 = chunk.getColumnVector(0), w1 = chunk.getColumnVector(1), w2 = chunk.getColumnVector(2), w3 = chunk.getColumnVector(3);
      for (let i = 0; i < chunk.rowCount; i++) {
        this.seen.addWords(Number(w0.getItem(i)), Number(w1.getItem(i)), Number(w2.getItem(i)), Number(w3.getItem(i)));
      }
    }
    this.total = count + (await this.countRows('quarantine'));
    this.recovery.stored = this.total;
  }

  private async countRows(table: 'events' | 'quarantine'): Promise<number> {
    return this.countOf(`SELECT count(*) FROM ${table}`);
  }

  private async countOf(sql: string): Promise<number> {
    const n = (await this.conn.runAndReadAll(sql)).getRows()[0]?.[0];
    if (n === undefined) throw new Error(`event store: no count answered by ${sql}`);
    return Number(n);
  }

  append(events: readonly MarqueeEvent[], receivedAt: number): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    // The lines are built here, while the previous group's commit runs in DuckDB's threads, not in the commit
    // itself, where the JS thread would have nothing else to do while DuckDB waits for it (most of the JS cost of a
    // row is its JSON.stringify). Only dedup, which needs the committed ids, waits for the commit.
    const words = new Uint32Array(events.length * 4);
    const lines: string[] = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const w = e && UuidSet.words(e.id);
      if (!e || !w) return Promise.reject(new TypeError(`event id is not a UUID: ${String(e?.id)}`)); // the schema guarantees it
      words.set(w, i * 4);
      lines[i] = storedLine(e, receivedAt, w);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, words, lines, resolve, reject });
      this.writer ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Group commit: give requests arriving right now a moment to join, unless the group is already large.
        // A commit costs a few ms whatever its size, so fewer, larger commits carry more events per second.
        const queued = this.queue.reduce((n, p) => n + p.events.length, 0);
        await new Promise((r) => (queued >= GROUP_TARGET_EVENTS ? setImmediate(r) : setTimeout(r, GROUP_LINGER_MS)));
        const group = this.queue;
        this.queue = [];
        await this.commit(group);
      }
    } finally {
      this.writer = null;
    }
  }

  private async commit(group: PendingAppend[]): Promise<void> {
    // Ids committed by this group, as offsets into their request's words: added to `seen` once the commit holds.
    const fresh: { words: Uint32Array; at: number }[] = [];
    // Repeats within the group, by value (so case-insensitive like `seen`).
    const inGroup = new UuidSet(group.reduce((n, p) => n + p.events.length, 0));
    const results: { pending: PendingAppend; result: AppendResult }[] = [];
    const lines: string[] = [];
    for (const pending of group) {
      const { events, words, lines: eventLines } = pending;
      const stored: MarqueeEvent[] = [];
      for (let i = 0; i < events.length; i++) {
        const o = i * 4;
        const w0 = words[o] ?? 0, w1 = words[o + 1] ?? 0, w2 = words[o + 2] ?? 0, w3 = words[o + 3] ?? 0;
        if (this.seen.hasWords(w0, w1, w2, w3) || !inGroup.addWords(w0, w1, w2, w3)) continue;
        const e = events[i];
        const line = eventLines[i];
        if (e === undefined || line === undefined) continue;
        fresh.push({ words, at: o });
        lines.push(line);
        stored.push(e);
      }
      results.push({ pending, result: { accepted: stored.length, duplicates: events.length - stored.length, fresh: stored } });
    }
    if (lines.length > 0) {
      try {
        // One statement (so one implicit transaction) for the whole group, waited for off the main thread: only
        // after it may the ids count as stored. The typed copy follows off the write path (`kick` below).
        this.insert ??= await this.conn.prepare(INSERT_LINES);
        this.insert.bindVarchar(1, lines.join('\n'));
        await this.insert.run();
      } catch (err) {
        for (const p of group) p.reject(err);
        return;
      }
    }
    for (const { words: w, at } of fresh) this.seen.addWords(w[at] ?? 0, w[at + 1] ?? 0, w[at + 2] ?? 0, w[at + 3] ?? 0);
    this.total += fresh.length;
    if (fresh.length > 0) {
      this.highWater?.set(this.total);
      this.typed?.kick();
    }
    for (const { pending, result } of results) pending.resolve(result);
  }

  async count(): Promise<number> {
    await this.writer;
    return this.countOf('SELECT count(*) FROM events');
  }

  async ids(limit: number): Promise<string[]> {
    await this.writer;
    const r = await this.conn.runAndReadAll("SELECT payload->>'$.id' FROM events ORDER BY received_at LIMIT $1", [limit]);
    return r.getRows().map((row) => String(row[0]));
  }

  async scan(types: readonly MarqueeEvent['type'][]): Promise<MarqueeEvent[]> {
    if (types.length === 0) return [];
    const rows = await this.query(
      `SELECT payload FROM events_v WHERE type IN (${types.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ts`,
      [...types],
    );
    return rows.map((r) => JSON.parse(r.payload as string) as MarqueeEvent);
  }

  async *scanEngagement(types: readonly MarqueeEvent['type'][], fromRowid = 0): AsyncIterable<EngagementRow[]> {
    if (types.length === 0) return;
    await this.writer;
    // Arrival order matters (each member's recent titles make the co-occurrence pairs), so it is asked for: a plain
    // scan kept it too (preserve_insertion_order), but a join or a setting change would not, and ORDER BY rowid over a
    // filtered scan measured about as fast (1.3M of 3M rows, file-backed: 0.47-0.56 s ordered, 0.67-0.72 s not).
    const placeholders = types.map((_, i) => `$${i + 2}`).join(', ');
    const compact = types.every((t) => COMPACT_TYPES.includes(t));
    const result = await this.conn.stream(
      compact
        ? `SELECT eng_type, eng_title, eng_member, eng_ts, received_at FROM events WHERE rowid >= $1 AND eng_type IN (${placeholders})
           ORDER BY rowid`
        : // Other types: one JSON parse per row (a list of paths). Unreadable rows were quarantined at open.
          `SELECT f[1], f[2], coalesce(f[3], f[4]), TRY_CAST(f[5] AS BIGINT), received_at FROM (
             SELECT json_extract_string(payload, ['$.type', '$.titleId', '$.userId', '$.anonymousId', '$.ts']) AS f, received_at, rowid AS r
             FROM events WHERE rowid >= $1)
           WHERE f[1] IN (${placeholders}) AND f[2] IS NOT NULL AND coalesce(f[3], f[4]) IS NOT NULL
           ORDER BY r`,
      [fromRowid, ...types],
    );
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const rows: EngagementRow[] = [];
      const typeV = chunk.getColumnVector(0), titleV = chunk.getColumnVector(1), memberV = chunk.getColumnVector(2);
      const tsV = chunk.getColumnVector(3), receivedV = chunk.getColumnVector(4);
      for (let i = 0; i < chunk.rowCount; i++) {
        const type = typeV.getItem(i);
        const titleId = titleV.getItem(i);
        const memberId = memberV.getItem(i);
        // Typed by the query's columns; checked anyway, since a stored row may come from an older version.
        if (!isOneOf(types, type) || typeof titleId !== 'string' || typeof memberId !== 'string') continue;
        const receivedAt = Number(receivedV.getItem(i));
        const ts = tsV.getItem(i);
        rows.push({ type, titleId, memberId, ts: ts === null ? receivedAt : Number(ts), receivedAt });
      }
      yield rows;
    }
  }

  async *scanArtwork(fromRowid = 0): AsyncIterable<ArtworkRow[]> {
    await this.writer;
    // Streamed in arrival order, a chunk at a time: memory per chunk, not per stored event. Rows the typed copy has
    // (all but the last few after a clean stop) are read from its columns; only the rest costs a JSON parse per row
    // (8 paths: at 5M events that alone took 200 s of a start under load).
    const types = ARTWORK_EVENT_TYPES;
    const placeholders = types.map((_, i) => `$${i + 3}`).join(', ');
    const [state] = (await this.conn.runAndReadAll('SELECT next_rowid FROM typed_events_state')).getRows();
    const copied = Number(state?.[0] ?? 0);
    // From row 0 (a rebuild, from an empty state), progress, pauses and completions of a (viewer, title) that never
    // had an impression with an artwork are left out: with nothing pending for them, they change nothing (most of the
    // rows of a store, and most of the replay's time when they were read). Play starts stay: they make the viewers'
    // histories. Keys are compared as one string: two keys that join the same text keep rows that change nothing.
    const key = "member_id || chr(31) || title_id";
    const joinable = fromRowid > 0 ? '' : `AND (type IN ('impression', 'play_start')
      OR ${key} IN (SELECT ${key} FROM typed_events WHERE type = 'impression' AND artwork_id IS NOT NULL))`;
    // Arrival order is asked for (ORDER BY), not assumed: without it two replays of one 1M-event store read the rows
    // in different orders, before the semi-join as after, and summed the viewers' histories and the fit in different
    // orders (priors apart in the last bits).
    yield* this.artworkRows(
      `SELECT ${typeIndex('type')}, title_id, member_id, ts, artwork_id, CASE WHEN type = 'impression' THEN slot::DOUBLE ELSE position END, duration, propensity,
              event_id, impression_id, row_name
       FROM typed_events
       WHERE src_rowid >= $2 AND src_rowid < $1 AND type IN (${placeholders}) AND title_id IS NOT NULL AND member_id IS NOT NULL
         AND (type <> 'impression' OR artwork_id IS NOT NULL) ${joinable}
       ORDER BY src_rowid`,
      [copied, fromRowid, ...types],
    );
    yield* this.artworkRows(
      `SELECT ${typeIndex('f[1]')}, f[2], coalesce(f[3], f[4]), coalesce(TRY_CAST(f[5] AS BIGINT), received_at), f[6],
              TRY_CAST(f[7] AS DOUBLE), TRY_CAST(f[8] AS DOUBLE), TRY_CAST(f[9] AS DOUBLE), lower(f[10]), lower(f[11]), f[12]
       FROM (
         SELECT json_extract_string(payload, ['$.type', '$.titleId', '$.userId', '$.anonymousId', '$.ts', '$.artwork.artworkId', '$.position', '$.duration',
                                              '$.artwork.propensity', '$.id', '$.impressionId', '$.row']) AS f, received_at, rowid AS r
         FROM events WHERE rowid >= greatest($1, $2))
       WHERE f[1] IN (${placeholders}) AND f[2] IS NOT NULL AND coalesce(f[3], f[4]) IS NOT NULL AND (f[1] <> 'impression' OR f[6] IS NOT NULL)
       ORDER BY r`,
      [copied, fromRowid, ...types],
    );
  }

  /**
   * Rows of (type as its index in ARTWORK_EVENT_TYPES, title, member, ts, artwork, position, duration, propensity,
   * event id, impression id, row), a chunk at a time. The type comes as a number: one string fewer to decode per row (each costs a TextDecoder call).
   */
  private async *artworkRows(sql: string, params: (string | number)[]): AsyncIterable<ArtworkRow[]> {
    const types = ARTWORK_EVENT_TYPES;
    const result = await this.conn.stream(sql, params);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const rows: ArtworkRow[] = [];
      const typeV = chunk.getColumnVector(0), titleV = chunk.getColumnVector(1), memberV = chunk.getColumnVector(2);
      const tsV = chunk.getColumnVector(3), artworkV = chunk.getColumnVector(4), positionV = chunk.getColumnVector(5);
      const durationV = chunk.getColumnVector(6), propensityV = chunk.getColumnVector(7);
      const idV = chunk.getColumnVector(8), impressionIdV = chunk.getColumnVector(9), rowV = chunk.getColumnVector(10);
      for (let i = 0; i < chunk.rowCount; i++) {
        const code = typeV.getItem(i);
        const type = typeof code === 'number' ? types[code] : undefined;
        const titleId = titleV.getItem(i);
        const memberId = memberV.getItem(i);
        // Typed by the query's columns; checked anyway, since a stored row may come from an older version.
        if (type === undefined || typeof titleId !== 'string' || typeof memberId !== 'string') continue;
        const row: ArtworkRow = { type, titleId, memberId, ts: Number(tsV.getItem(i)) };
        const artworkId = artworkV.getItem(i);
        if (type === 'impression' && typeof artworkId === 'string') {
          row.artworkId = artworkId;
          const propensity = propensityV.getItem(i);
          if (typeof propensity === 'number') row.propensity = propensity;
          const id = idV.getItem(i);
          if (typeof id === 'string') row.id = id;
          const shownIn = rowV.getItem(i);
          if (typeof shownIn === 'string') row.row = shownIn;
        }
        const impressionId = impressionIdV.getItem(i);
        if (type !== 'impression' && typeof impressionId === 'string') row.impressionId = impressionId;
        const position = positionV.getItem(i);
        const duration = durationV.getItem(i);
        if (typeof position === 'number') row.position = position;
        if (typeof duration === 'number') row.duration = duration;
        rows.push(row);
      }
      yield rows;
    }
  }

  /**
   * The rows committed so far: every row of `events` has a rowid below `nextRowid`, and there are `rows`. Runs in
   * the writer's place, so no commit is under way; by the time it resolves, every earlier commit's callers have
   * run their continuations (those are microtasks, this is a query), so aggregates updated after each commit cover
   * exactly these rows if read before the next await.
   */
  async committedRows(): Promise<{ nextRowid: number; rows: number }> {
    while (this.writer) await this.writer;
    if (this.closed) throw new Error('event store is closed');
    const run = this.conn.runAndReadAll('SELECT coalesce(max(rowid) + 1, 0)::BIGINT, count(*)::BIGINT FROM events');
    this.writer = run.then(
      () => {},
      () => {},
    ).then(() => {
      this.writer = null;
      if (this.queue.length > 0) this.writer = this.drain();
    });
    const [row] = (await run).getRows();
    return { nextRowid: Number(row?.[0] ?? 0), rows: Number(row?.[1] ?? 0) };
  }

  /** Rows of `events` below `nextRowid` (a snapshot's check that the rowids it covers are still those rows). */
  async rowsBefore(nextRowid: number): Promise<number> {
    const [row] = (await this.conn.runAndReadAll('SELECT count(*)::BIGINT FROM events WHERE rowid < $1', [nextRowid])).getRows();
    return Number(row?.[0] ?? 0);
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, reason: 'store is closed' };
    const t = Date.now();
    if (this.lastHealth && t - this.lastHealth.at < HEALTH_CACHE_MS) return this.lastHealth.health;
    let health: StoreHealth;
    await this.writer;
    try {
      await this.conn.run('UPDATE health_probe SET probed_at = $1', [t]);
      health = { ok: true };
    } catch (err) {
      health = { ok: false, reason: (err as Error).message };
    }
    this.lastHealth = { at: t, health };
    return health;
  }

  /** Read-only SQL for analytics and the trainer's store importer. */
  async query(sql: string, params: (string | number)[] = []): Promise<Record<string, unknown>[]> {
    await this.writer;
    const r = await this.conn.runAndReadAll(sql, params);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  /**
   * A connection of its own, for readers that should neither queue behind the writer nor see its open transaction:
   * DuckDB runs connections in parallel, each seeing committed data only. Closed with the store.
   */
  async connect(): Promise<SqlConnection> {
    if (this.closed) throw new Error('event store is closed');
    const c = await this.instance.connect();
    this.readers.push(c);
    return {
      query: async (sql, params = []) => {
        // No query may run while releaseMemory has the buffer pool lowered: it would fail for want of memory.
        while (this.releasing) await this.releasing;
        this.readsInFlight++;
        try {
          return (await c.runAndReadAll(sql, params)).getRowObjectsJS() as Record<string, unknown>[];
        } finally {
          if (--this.readsInFlight === 0) this.readsIdle?.();
        }
      },
    };
  }

  /**
   * Hands back to the OS the pages DuckDB keeps cached after a large read or catch-up: the start-up replays stream
   * every stored event through the buffer pool, and the typed copy and the rollups catching up on a backlog fill it
   * (up to `memory_limit`), ~120-140 MB left behind at rest at 1M events. Lowering the limit for a moment evicts
   * them. Holds the writer meanwhile, so no commit runs under the low limit, and holds the reader connections' queries
   * (the ones in flight end first), so none runs under it either: any would fail for want of memory.
   */
  async releaseMemory(): Promise<void> {
    while (this.writer) await this.writer;
    if (this.closed) return;
    const run = (async () => {
      // Readers first: new queries wait for the release, the ones in flight end before the limit drops.
      let reopen = () => {};
      this.releasing = new Promise<void>((r) => (reopen = r));
      try {
        while (this.readsInFlight > 0) await new Promise<void>((r) => (this.readsIdle = r));
        this.readsIdle = null;
        await this.lowerAndRestoreLimit();
      } finally {
        this.releasing = null;
        reopen();
      }
    })();
    this.writer = run
      .catch(() => {}) // nothing lost: the pages stay cached
      .then(() => {
        this.writer = null;
        if (this.queue.length > 0) this.writer = this.drain();
      });
    await this.writer;
  }

  private async lowerAndRestoreLimit(): Promise<void> {
    // The configured limit, else DuckDB's default read once: it prints limits rounded (488.2 MiB), so restoring
    // what it printed each time would drift.
    this.memoryLimit ??= String((await this.conn.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]);
    await this.conn.run(`SET memory_limit = '${RELEASE_LIMIT}'`);
    await this.conn.run(`SET memory_limit = '${this.memoryLimit}'`);
  }

  /** Resolves once every event committed before the call is in `typed_events` (see typed-events.ts). */
  typedEvents(): Promise<void> {
    return this.typed ? this.typed.catchUp() : Promise.reject(new Error('event store is not open'));
  }

  /** Stored events not in `typed_events` yet, as of its last catch-up (null before the first one ends). */
  typedEventsBehind(): number | null {
    return this.typed?.behind ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer;
    await this.typed?.stop();
    for (const c of this.readers) c.closeSync();
    this.conn.closeSync(); // destroys the prepared INSERTs with it
    this.instance.closeSync();
    await this.highWater?.flush();
  }
}

/** SQL: the index in ARTWORK_EVENT_TYPES of the type in `column` (NULL for any other type). */
function typeIndex(column: string): string {
  return `CASE ${column} ${ARTWORK_EVENT_TYPES.map((t, i) => `WHEN '${t}' THEN ${i}`).join(' ')} END`;
}

function isOneOf<T extends string>(options: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (options as readonly string[]).includes(value);
}

/**
 * One event as a line of INSERT_LINES: arrival time, the id's words (computed anyway for dedup), whether its
 * engagement columns are filled, and its JSON, tab-separated. JSON.stringify escapes every control character
 * inside strings, so the JSON holds no raw tab or newline to split on.
 */
function storedLine(e: MarqueeEvent, receivedAt: number, words: readonly [number, number, number, number]): string {
  return `${receivedAt}\t${words[0]}\t${words[1]}\t${words[2]}\t${words[3]}\t${COMPACT_TYPES.includes(e.type) ? 1 : 0}\t${JSON.stringify(e)}`;
}
