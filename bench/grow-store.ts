/**
 * Fills a DuckDB store to a given size for the analytics benchmarks: the synthetic world's history (seed 1, 1,000
 * members: ~611k events) through the store, then copies made inside DuckDB (each copy: other member and session
 * ids, fresh event ids, shifted a few days) until it holds `target` events. The copies are written without the
 * store's id words: the API fills them in when it next opens the store.
 */
import { createWorld } from '@marquee/core/synthetic';
import { join } from 'node:path';
import { type DuckDbEventStore, seedSyntheticHistory } from '@marquee/server';

export async function growSyntheticStore(store: DuckDbEventStore, target: number, log: (s: string) => void): Promise<number> {
  let t = performance.now();
  const base = await seedSyntheticHistory(store, createWorld(), { log });
  log(`seeded ${base.toLocaleString('en-US')} events from the synthetic world in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  for (let copy = 1; (await store.count()) < target; copy++) {
    const left = target - (await store.count());
    await store.query(
      `INSERT INTO events (received_at, payload) SELECT received_at, json_merge_patch(payload, json_object(
         'id', uuid()::VARCHAR,
         'ts', (payload->>'$.ts')::BIGINT + ${copy} * 3 * 86400000,
         'userId', (payload->>'$.userId') || '-c${copy}',
         'sessionId', (payload->>'$.sessionId') || '-c${copy}'))
       FROM events WHERE rowid < $1 LIMIT $2`,
      [base, left],
    );
  }
  const stored = await store.count();
  log(`copied up to ${stored.toLocaleString('en-US')} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return stored;
}

/**
 * Fills the (empty, open) store with the events of the data directory `from`, e.g. one grown by an earlier run:
 * several runs, or two checkouts (whatever their other tables), then measure the same events. Returns the count.
 */
export async function copyDataDir(from: string, store: DuckDbEventStore): Promise<number> {
  await store.query(`ATTACH '${join(from, 'events.duckdb')}' AS source (READ_ONLY)`);
  // The engagement columns (migration 4) are derived from the payload, so any source schema version works.
  await store.query(`
    INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3, eng_ts, eng_type, eng_title, eng_member)
    SELECT received_at, payload, id_w0, id_w1, id_w2, id_w3,
           CASE WHEN engaged THEN g[4]::BIGINT END, CASE WHEN engaged THEN g[1] END, CASE WHEN engaged THEN g[2] END,
           CASE WHEN engaged THEN coalesce(g[3], g[5]) END
    FROM (
      SELECT *, g[1] IN ('play_start', 'complete') AND g[2] IS NOT NULL AND coalesce(g[3], g[5]) IS NOT NULL AS engaged
      FROM (SELECT *, json_extract_string(payload, ['$.type', '$.titleId', '$.userId', '$.ts', '$.anonymousId']) AS g
            FROM source.events))`);
  await store.query('DETACH source');
  return store.count();
}
