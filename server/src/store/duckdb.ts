import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { MarqueeEvent } from '@marquee/core';
import { MIGRATIONS } from './migrations.ts';
import type { AppendResult, EventStore } from './types.ts';

const STAGING = 'staging';
/** How long a small group waits for company, and the size at which it stops waiting. */
const GROUP_LINGER_MS = 2;
const GROUP_TARGET_EVENTS = 2000;

interface PendingAppend {
  events: readonly MarqueeEvent[];
  receivedAt: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The embedded event store: one DuckDB file in the data directory, nothing else to run.
 *
 * Exactly-once without a unique index: every write goes through one writer that holds the set of stored ids
 * (rebuilt from the table at open). Requests that arrive while a write is running are committed together in the
 * next one (group commit), so throughput grows with concurrency instead of paying one commit per request.
 * Memory cost: roughly 100 bytes per stored id.
 *
 * The appender's flush is synchronous, and a flush to the file waits for the disk with the event loop blocked.
 * So rows are appended to an in-memory staging table (no disk), then moved to `events` by an INSERT that DuckDB
 * runs off the main thread: requests keep being parsed and validated while the commit waits for the disk.
 */
export class DuckDbEventStore implements EventStore {
  private readonly seen = new Set<string>();
  private queue: PendingAppend[] = [];
  private writer: Promise<void> | null = null;
  private appender: DuckDBAppender | null = null;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** Opens (creating if needed) `<dataDir>/events.duckdb`, or an in-memory database for `':memory:'`. */
  static async open(dataDir: string): Promise<DuckDbEventStore> {
    let path = ':memory:';
    if (dataDir !== ':memory:') {
      await mkdir(dataDir, { recursive: true });
      path = join(dataDir, 'events.duckdb');
    }
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    const store = new DuckDbEventStore(instance, conn);
    await store.migrate();
    await conn.run(`ATTACH ':memory:' AS ${STAGING}; CREATE TABLE ${STAGING}.pending (received_at BIGINT, payload VARCHAR)`);
    await store.loadSeenIds();
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

  private async loadSeenIds(): Promise<void> {
    const reader = await this.conn.runAndReadAll("SELECT payload->>'$.id' FROM events");
    for (const [id] of reader.getRows()) this.seen.add(id as string);
  }

  append(events: readonly MarqueeEvent[], receivedAt: number): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ events, receivedAt, resolve, reject });
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
    const fresh = new Set<string>();
    const results: AppendResult[] = [];
    try {
      this.appender ??= await this.conn.createAppender('pending', 'main', STAGING);
      const a = this.appender;
      for (const { events, receivedAt } of group) {
        const stored: MarqueeEvent[] = [];
        for (const e of events) {
          if (this.seen.has(e.id) || fresh.has(e.id)) continue;
          fresh.add(e.id);
          appendRow(a, e, receivedAt);
          stored.push(e);
        }
        results.push({ accepted: stored.length, duplicates: events.length - stored.length, fresh: stored });
      }
      a.flushSync(); // into memory: fast
      // One commit for the whole group, waited for off the main thread: only after it may the ids count as stored.
      await this.conn.run(`INSERT INTO events SELECT received_at, payload FROM ${STAGING}.pending`);
    } catch (err) {
      this.dropAppender();
      for (const p of group) p.reject(err);
      return;
    } finally {
      await this.conn.run(`DELETE FROM ${STAGING}.pending`).catch(() => {});
    }
    for (const id of fresh) this.seen.add(id);
    group.forEach((p, i) => p.resolve(results[i]));
  }

  private dropAppender(): void {
    try {
      this.appender?.clear();
      this.appender?.closeSync();
    } catch {
      // The appender is unusable after a failed flush; a fresh one is made on the next write.
    }
    this.appender = null;
  }

  async count(): Promise<number> {
    await this.writer;
    const r = await this.conn.runAndReadAll('SELECT count(*) FROM events');
    return Number(r.getRows()[0][0]);
  }

  async scan(types: readonly MarqueeEvent['type'][]): Promise<MarqueeEvent[]> {
    if (types.length === 0) return [];
    const rows = await this.query(
      `SELECT payload FROM events_v WHERE type IN (${types.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ts`,
      [...types],
    );
    return rows.map((r) => JSON.parse(r.payload as string) as MarqueeEvent);
  }

  /** Read-only SQL for analytics and the trainer's store importer. */
  async query(sql: string, params: (string | number)[] = []): Promise<Record<string, unknown>[]> {
    await this.writer;
    const r = await this.conn.runAndReadAll(sql, params);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer;
    this.appender?.closeSync();
    this.appender = null;
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function appendRow(a: DuckDBAppender, e: MarqueeEvent, receivedAt: number): void {
  a.appendBigInt(BigInt(receivedAt));
  a.appendVarchar(JSON.stringify(e));
  a.endRow();
}
