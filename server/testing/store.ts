/**
 * For tests and benchmarks: write straight into a data directory's DuckDB file, bypassing the API, as an operator,
 * an older version or a bulk import could. `prefill` makes millions of valid events in SQL (seconds, where the
 * API would take minutes); `plantRows` writes raw payloads, bad ones included.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbEventStore } from '../src/store/duckdb.ts';

async function withDatabase<T>(dataDir: string, fn: (run: (sql: string, params?: (string | number)[]) => Promise<void>) => Promise<T>): Promise<T> {
  // Open once through the store so the schema is there, then write with a plain connection.
  await (await DuckDbEventStore.open(dataDir, { log: () => {} })).close();
  const instance = await DuckDBInstance.create(join(dataDir, 'events.duckdb'));
  const conn = await instance.connect();
  try {
    return await fn(async (sql, params) => void (await conn.run(sql, params)));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * `n` valid events (impressions, plays, progress, completions over 2,000 titles and 5,000 members) with UUIDv7 ids,
 * arrived `receivedAt`, in the shape the API stores, with the typed copy caught up as a running server keeps it
 * (a start then finds what a restart finds, not a bulk import's backlog).
 */
export async function prefill(dataDir: string, n: number, receivedAt = Date.now()): Promise<void> {
  await withDatabase(dataDir, async (run) => {
    const word = (k: number) => `('0x' || substr(h, ${k * 8 + 1}, 8))::UINTEGER`;
    // Plays and completions also get the engagement columns the store writes beside them (migration 4).
    const engaged = (col: string) => `CASE WHEN type IN ('play_start', 'complete') THEN ${col} END`;
    await run(`
      INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3, eng_ts, eng_type, eng_title, eng_member)
      SELECT $1::BIGINT, CASE i % 4
        WHEN 0 THEN json_object('id', id, 'ts', ts, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', member, 'titleId', title, 'type', type, 'row', 'Top Picks', 'position', i % 40)
        WHEN 1 THEN json_object('id', id, 'ts', ts, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', member, 'titleId', title, 'type', type)
        ELSE json_object('id', id, 'ts', ts, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', member, 'titleId', title, 'type', type, 'position', CASE WHEN i % 4 = 2 THEN i % 3600 ELSE 3600 END, 'duration', 3600)
      END::VARCHAR, ${word(0)}, ${word(1)}, ${word(2)}, ${word(3)}, ${engaged('ts')}, ${engaged('type')}, ${engaged('title')}, ${engaged('member')}
      FROM (
        SELECT i, id, replace(id, '-', '') AS h, $1::BIGINT - i % 86400000 AS ts, 'u' || (i % 5000) AS member,
               ['impression', 'play_start', 'progress', 'complete'][i % 4 + 1] AS type,
               't' || CASE WHEN i % 4 = 0 THEN i % 2000 ELSE (i * 7) % 2000 END AS title
        FROM (SELECT i, uuidv7()::VARCHAR AS id FROM range($2::BIGINT) t(i)))`, [receivedAt, n]);
  });
  const store = await DuckDbEventStore.open(dataDir, { log: () => {} });
  try {
    await store.typedEvents();
  } finally {
    await store.close();
  }
}

/** Raw rows as they are, unchecked: how a test plants what the API would refuse. */
export async function plantRows(dataDir: string, payloads: readonly string[], receivedAt = Date.now()): Promise<void> {
  await withDatabase(dataDir, async (run) => {
    for (const p of payloads) await run('INSERT INTO events (received_at, payload) VALUES ($1, $2)', [receivedAt, p]);
  });
}
