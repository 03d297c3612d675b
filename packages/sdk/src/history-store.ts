/**
 * One profile's engagement history on the device (the `history` store): what the model encodes and the page's
 * exclusion rules read. Kept in memory after the first read; capped, oldest first out.
 */
import { isEngagementEvent, parseHistoryRecord, type MarqueeEvent } from '@marquee/core';
import { warnDamaged, type Database, type HistoryRecord } from './db.ts';

const HISTORY_CAP = 5000;

export class HistoryStore {
  private records: HistoryRecord[] | null = null;

  constructor(private readonly db: Database) {}

  async all(): Promise<HistoryRecord[]> {
    this.records ??= await readHistory(this.db);
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

/** Every parsed record of a `history` store, oldest first; damaged ones are logged and deleted. */
export async function readHistory(db: Database): Promise<HistoryRecord[]> {
  const tx = db.transaction('history', 'readonly');
  const [values, keys] = await Promise.all([tx.store.getAll(), tx.store.getAllKeys()]);
  const records: HistoryRecord[] = [];
  const damaged: number[] = [];
  values.forEach((raw, i) => {
    const read = parseHistoryRecord(raw);
    if (read.ok) return void records.push(read.value);
    warnDamaged('history', read.reason);
    const key = keys[i];
    if (key !== undefined) damaged.push(key);
  });
  if (damaged.length > 0) {
    const del = db.transaction('history', 'readwrite');
    for (const key of damaged) void del.store.delete(key);
    await del.done;
  }
  return records;
}
