/**
 * The worker's IndexedDB schema, opened with idb. All tabs of an origin share it. The shapes and the `meta` keys
 * are the contracts in @marquee/core (device-store.ts). Every store hands back `unknown`: a value is used only once
 * parsed with its core schema (`getMeta`/`readMeta`, the outbox and the history store), so a record written by an
 * older SDK, or damaged, is dropped with a logged reason where it is read, never trusted and crashing later.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { parseMeta, type MetaKey, type MetaValue } from '@marquee/core';

export type { Counters, HistoryRecord, OutboxRecord } from '@marquee/core';

export interface MarqueeDB extends DBSchema {
  /** OutboxRecord values. */
  outbox: { key: number; value: unknown };
  /** META_SCHEMAS values by key. */
  meta: { key: MetaKey; value: unknown };
  /** HistoryRecord values: the viewer's own engagement history, stays on the device, feeds the model. */
  history: { key: number; value: unknown };
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

/** Says in the console that a stored record was not of its store's shape and is left out. */
export function warnDamaged(store: string, reason: string): void {
  console.warn(`marquee: dropped a stored ${store} record that is not of its shape (written by another SDK version, or damaged): ${reason}`);
}

/** The `meta` value under `key`, parsed; undefined when absent or of another shape (then logged; the next write replaces it). */
export async function getMeta<K extends MetaKey>(db: Database, key: K): Promise<MetaValue<K> | undefined> {
  return metaValue(key, await db.get('meta', key));
}

/** The same inside a transaction, from its `meta` store. */
export async function readMeta<K extends MetaKey>(store: { get(key: MetaKey): Promise<unknown> }, key: K): Promise<MetaValue<K> | undefined> {
  return metaValue(key, await store.get(key));
}

function metaValue<K extends MetaKey>(key: K, raw: unknown): MetaValue<K> | undefined {
  if (raw === undefined) return undefined;
  const read = parseMeta(key, raw);
  if (read.ok) return read.value;
  warnDamaged(`meta "${key}"`, read.reason);
  return undefined;
}

export async function putMeta<K extends MetaKey>(db: Database, key: K, value: MetaValue<K>): Promise<void> {
  await db.put('meta', value, key);
}
