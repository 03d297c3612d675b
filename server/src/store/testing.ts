/**
 * For tests and benchmarks: write straight into a data directory's DuckDB file, bypassing the API, as an operator,
 * an older version or a bulk import could. `prefill` makes millions of valid events in SQL (seconds, where the
 * API would take minutes); `plantRows` writes raw payloads, bad ones included.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbEventStore } from './duckdb.ts';
import { INSERT_TYPED_EVENTS } from './typed-events.ts';

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
 * arrived `receivedAt`, in the shape the API stores.
 */
export async function prefill(dataDir: string, n: number, receivedAt = Date.now()): Promise<void> {
  await withDatabase(dataDir, async (run) => {
    const word = (k: number) => `('0x' || substr(h, ${k * 8 + 1}, 8))::UINTEGER`;
    await run(`
      INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3)
      SELECT $1::BIGINT, CASE i % 4
        WHEN 0 THEN json_object('id', id, 'ts', $1::BIGINT - i % 86400000, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', 'u' || (i % 5000), 'titleId', 't' || (i % 2000), 'type', 'impression', 'row', 'Top Picks', 'position', i % 40)
        WHEN 1 THEN json_object('id', id, 'ts', $1::BIGINT - i % 86400000, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', 'u' || (i % 5000), 'titleId', 't' || ((i * 7) % 2000), 'type', 'play_start')
        WHEN 2 THEN json_object('id', id, 'ts', $1::BIGINT - i % 86400000, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', 'u' || (i % 5000), 'titleId', 't' || ((i * 7) % 2000), 'type', 'progress', 'position', i % 3600, 'duration', 3600)
        ELSE json_object('id', id, 'ts', $1::BIGINT - i % 86400000, 'schemaVersion', 1, 'sessionId', 's' || (i % 997), 'userId', 'u' || (i % 5000), 'titleId', 't' || ((i * 7) % 2000), 'type', 'complete', 'position', 3600, 'duration', 3600)
      END::VARCHAR, ${word(0)}, ${word(1)}, ${word(2)}, ${word(3)}
      FROM (SELECT i, id, replace(id, '-', '') AS h FROM (SELECT i, uuidv7()::VARCHAR AS id FROM range($2::BIGINT) t(i)))`, [receivedAt, n]);
    // The engagement copy the store writes beside each play and completion (migration 3).
    await run(`
      INSERT INTO engagement
      SELECT received_at, (payload->>'$.ts')::BIGINT, payload->>'$.type', payload->>'$.titleId', payload->>'$.userId'
      FROM events WHERE payload->>'$.type' IN ('play_start', 'complete') AND received_at = $1::BIGINT`, [receivedAt]);
    // And the typed copy every reader shares (typed-events.ts), also written beside each event by the store.
    await run(INSERT_TYPED_EVENTS('events', `received_at = ${Number(receivedAt)}`));
  });
}

/** Raw rows as they are, unchecked: how a test plants what the API would refuse. */
export async function plantRows(dataDir: string, payloads: readonly string[], receivedAt = Date.now()): Promise<void> {
  await withDatabase(dataDir, async (run) => {
    for (const p of payloads) await run('INSERT INTO events (received_at, payload) VALUES ($1, $2)', [receivedAt, p]);
  });
}
