/**
 * Fills a DuckDB store to a given size for the analytics benchmarks: the synthetic world's history (seed 1, 1,000
 * members: ~611k events) through the store, then copies made inside DuckDB (each copy: other member and session
 * ids, fresh event ids, shifted a few days) until it holds `target` events. The copies are written without the
 * store's id words: the API fills them in when it next opens the store.
 */
import { createWorld } from '@marquee/core/synthetic';
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
