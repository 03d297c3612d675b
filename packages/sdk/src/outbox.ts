/**
 * The durable queue between `track()` and the network. An event is in IndexedDB before `track` resolves, so a
 * reload, a crash or a closed tab loses nothing; it leaves only when the server has answered for it.
 */
import { parseOutboxRecord, takeBatch, utf8Length, type BatchLimits, type MarqueeEvent } from '@marquee/core';
import { getMeta, readMeta, warnDamaged, type Counters, type Database, type OutboxRecord } from './db.ts';

const ZERO: Counters = { acknowledged: 0, rejected: 0, dropped: 0 };

export interface Batch {
  seqs: number[];
  events: MarqueeEvent[];
  bytes: number;
}

export class Outbox {
  private pending: { record: OutboxRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writeScheduled = false;

  constructor(
    private readonly db: Database,
    private readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`outbox capacity must be a positive integer, got ${capacity}`);
  }

  /**
   * Resolves once the event is committed. Calls made in the same task share one transaction, which is what
   * keeps a burst of tracking calls cheap.
   */
  add(event: MarqueeEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record: { event, bytes: utf8Length(JSON.stringify(event)) }, resolve, reject });
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        queueMicrotask(() => void this.writePending());
      }
    });
  }

  private async writePending(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    this.writeScheduled = false;
    try {
      const tx = this.db.transaction(['outbox', 'meta'], 'readwrite');
      const outbox = tx.objectStore('outbox');
      for (const { record } of group) void outbox.add(record);
      const size = await outbox.count();
      if (size > this.capacity) {
        // Drop the oldest, and count them: an app must be able to see that it lost events.
        let excess = size - this.capacity;
        let cursor = await outbox.openCursor();
        while (cursor && excess > 0) {
          void cursor.delete();
          excess--;
          cursor = await cursor.continue();
        }
        const meta = tx.objectStore('meta');
        const c = (await readMeta(meta, 'counters')) ?? ZERO;
        await meta.put({ ...c, dropped: c.dropped + (size - this.capacity) }, 'counters');
      }
      await tx.done;
      for (const p of group) p.resolve();
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  }

  /**
   * The oldest events that fit the limits, without removing them. A stored record that is not an outbox record
   * (damaged, or another SDK version's) can never be sent: it is logged, removed and counted as dropped.
   */
  async peek(limits: BatchLimits): Promise<Batch> {
    const tx = this.db.transaction('outbox', 'readonly');
    const records: (OutboxRecord & { seq: number })[] = [];
    const damaged: number[] = [];
    let cursor = await tx.store.openCursor();
    let bytes = 0;
    while (cursor && records.length < limits.maxEvents) {
      const read = parseOutboxRecord(cursor.value);
      if (read.ok) {
        records.push({ ...read.value, seq: cursor.primaryKey });
        bytes += read.value.bytes;
        if (bytes > limits.maxBytes) break;
      } else {
        warnDamaged('outbox', read.reason);
        damaged.push(cursor.primaryKey);
      }
      cursor = await cursor.continue();
    }
    if (damaged.length > 0) await this.settle(damaged, { dropped: damaged.length });
    const n = takeBatch(records.map((r) => r.bytes), limits);
    const taken = records.slice(0, n);
    return {
      seqs: taken.map((r) => r.seq),
      events: taken.map((r) => r.event),
      bytes: taken.reduce((s, r) => s + r.bytes, 0),
    };
  }

  /** Removes answered events and adds to the counters, in one transaction. */
  async settle(seqs: readonly number[], delta: Partial<Counters>): Promise<void> {
    const tx = this.db.transaction(['outbox', 'meta'], 'readwrite');
    const outbox = tx.objectStore('outbox');
    for (const seq of seqs) void outbox.delete(seq);
    const meta = tx.objectStore('meta');
    const c = (await readMeta(meta, 'counters')) ?? ZERO;
    await meta.put(
      {
        acknowledged: c.acknowledged + (delta.acknowledged ?? 0),
        rejected: c.rejected + (delta.rejected ?? 0),
        dropped: c.dropped + (delta.dropped ?? 0),
      },
      'counters',
    );
    await tx.done;
  }

  async size(): Promise<number> {
    return this.db.count('outbox');
  }

  /** Insertion time of the oldest waiting event, or undefined when empty. */
  async oldestTs(): Promise<number | undefined> {
    // Damaged records are passed over here and removed by the next peek.
    for (let cursor = await this.db.transaction('outbox').store.openCursor(); cursor; cursor = await cursor.continue()) {
      const read = parseOutboxRecord(cursor.value);
      if (read.ok) return read.value.event.ts;
    }
    return undefined;
  }

  async counters(): Promise<Counters> {
    return (await getMeta(this.db, 'counters')) ?? ZERO;
  }
}
