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

/** One engagement event of this device's viewer, as the model's store importer reads it. */
export interface HistoryRecord {
  seq?: number;
  titleId: string;
  type: 'play_start' | 'progress' | 'pause' | 'complete';
  ts: number;
  position?: number;
  duration?: number;
}

export interface MarqueeDB extends DBSchema {
  outbox: { key: number; value: OutboxRecord };
  meta: { key: string; value: unknown };
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
