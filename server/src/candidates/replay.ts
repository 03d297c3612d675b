/**
 * Rebuilds live aggregates from the store at start, a chunk at a time: memory stays per title, pair and member,
 * never per stored event. Each event counts at its arrival time (or its `ts` when earlier), as live ones do.
 */
import type { EventStore } from '../store/types.ts';
import { ENGAGEMENT_TYPES, type LiveAggregates } from './aggregates.ts';

/** `fromRowid`: only the stored rows from there on (the rest came from a snapshot, server/src/snapshot.ts). */
export async function replayAggregates(store: EventStore, aggregates: LiveAggregates, fromRowid = 0): Promise<number> {
  let n = 0;
  if (store.scanEngagement) {
    for await (const rows of store.scanEngagement(ENGAGEMENT_TYPES, fromRowid)) {
      for (const r of rows) aggregates.observeEngagement(r.type, r.titleId, r.memberId, Math.min(r.ts, r.receivedAt));
      n += rows.length;
    }
  } else {
    if (fromRowid > 0) throw new Error('this store cannot replay from a row');
    const events = await store.scan(ENGAGEMENT_TYPES);
    aggregates.observe(events);
    n = events.length;
  }
  return n;
}
