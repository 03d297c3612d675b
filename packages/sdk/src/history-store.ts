/**
 * One profile's engagement history on the device (the `history` store): what the model encodes and the page's
 * exclusion rules read. Kept in memory after the first read; capped, oldest first out.
 */
import { isEngagementEvent, type MarqueeEvent } from '@marquee/core';
import type { Database, HistoryRecord } from './db.ts';

const HISTORY_CAP = 5000;

export class HistoryStore {
  private records: HistoryRecord[] | null = null;

  constructor(private readonly db: Database) {}

  async all(): Promise<HistoryRecord[]> {
    this.records ??= await this.db.getAll('history');
    return this.records;
  }

  /** Keeps `e` when it is an engagement event; answers whether it was kept. */
  async record(e: MarqueeEvent): Promise<boolean> {
    if (!isEngagementEvent(e)) return false;
    const rec: HistoryRecord = { titleId: e.titleId, type: e.type, ts: e.ts };
    if ('duration' in e) Object.assign(rec, { position: e.position, duration: e.duration });
    const records = await this.all();
    const seq = await this.db.add('history', rec);
    records.push({ ...rec, seq });
    if (records.length > HISTORY_CAP) {
      const old = records.splice(0, records.length - HISTORY_CAP);
      const tx = this.db.transaction('history', 'readwrite');
      for (const r of old) if (r.seq !== undefined) void tx.store.delete(r.seq);
      await tx.done;
    }
    return true;
  }
}
