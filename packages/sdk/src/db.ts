/**
 * The worker's IndexedDB schema, opened with idb. All tabs of an origin share it. The shapes and the `meta` keys
 * are the contracts in @marquee/core (device-store.ts); `meta` values are read only through `getMeta`/`readMeta`,
 * which parse them.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { parseMeta, type HistoryRecord, type MetaKey, type MetaValue, type OutboxRecord } from '@marquee/core';

export type { Counters, HistoryRecord, OutboxRecord } from '@marquee/core';

export interface MarqueeDB extends DBSchema {
  outbox: { key: number; value: OutboxRecord };
  meta: { key: MetaKey; value: MetaValue<MetaKey> };
  /** The viewer's own engagement history: stays on the device, feeds the model. */
  history: { key: number; value: HistoryRecord };
}

export type Database = IDBPDatabase<MarqueeDB>;

export function openDatabase(name: string): Promise<Database> {
  return openDB<MarqueeDB>(name, 2, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        db.createObjectStore('meta');
      }
      if (oldVersion < 2) db.createObjectStore('history', { keyPath: 'seq', autoIncrement: true });
    },
  });
}

/** The `meta` value under `key`, parsed; undefined when absent or of another shape (an older SDK's, or damaged). */
export async function getMeta<K extends MetaKey>(db: Database, key: K): Promise<MetaValue<K> | undefined> {
  return parseMeta(key, await db.get('meta', key));
}

/** The same inside a transaction, from its `meta` store. */
export async function readMeta<K extends MetaKey>(store: { get(key: MetaKey): Promise<unknown> }, key: K): Promise<MetaValue<K> | undefined> {
  return parseMeta(key, await store.get(key));
}

export async function putMeta<K extends MetaKey>(db: Database, key: K, value: MetaValue<K>): Promise<void> {
  await db.put('meta', value, key);
}
