/** The worker's IndexedDB schema, opened with idb. All tabs of an origin share it. */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { MarqueeEvent } from '@marquee/core';

export interface OutboxRecord {
  /** Insertion order across all tabs (auto-increment key). */
  seq?: number;
  event: MarqueeEvent;
  /** UTF-8 bytes of `JSON.stringify(event)`, for byte-bounded batches. */
  bytes: number;
}

export interface Counters {
  acknowledged: number;
  rejected: number;
  dropped: number;
}

export interface MarqueeDB extends DBSchema {
  outbox: { key: number; value: OutboxRecord };
  meta: { key: string; value: unknown };
}

export type Database = IDBPDatabase<MarqueeDB>;

export function openDatabase(name: string): Promise<Database> {
  return openDB<MarqueeDB>(name, 1, {
    upgrade(db) {
      db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
      db.createObjectStore('meta');
    },
  });
}
