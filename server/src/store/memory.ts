import type { MarqueeEvent } from '@marquee/core';
import { ARTWORK_EVENT_TYPES, artworkRow, type AppendResult, type ArtworkRow, type EngagementRow, type EventStore } from './types.ts';

/** For tests and throwaway demos: same dedup rules as the real stores, nothing survives a restart. */
export class MemoryEventStore implements EventStore {
  readonly events = new Map<string, MarqueeEvent & { receivedAt: number }>();

  async append(events: readonly MarqueeEvent[], receivedAt: number): Promise<AppendResult> {
    const fresh: MarqueeEvent[] = [];
    for (const e of events) {
      if (this.events.has(e.id)) continue;
      this.events.set(e.id, { ...e, receivedAt });
      fresh.push(e);
    }
    return { accepted: fresh.length, duplicates: events.length - fresh.length, fresh };
  }

  async count(): Promise<number> {
    return this.events.size;
  }

  async ids(limit: number): Promise<string[]> {
    return [...this.events.keys()].slice(0, limit);
  }

  async scan(types: readonly MarqueeEvent['type'][]): Promise<MarqueeEvent[]> {
    return [...this.events.values()].filter((e) => types.includes(e.type)).sort((a, b) => a.ts - b.ts);
  }

  async *scanEngagement(types: readonly MarqueeEvent['type'][]): AsyncIterable<EngagementRow[]> {
    const rows: EngagementRow[] = [];
    for (const e of this.events.values()) {
      if (!types.includes(e.type) || !('titleId' in e)) continue;
      rows.push({ type: e.type, titleId: e.titleId, memberId: e.userId ?? e.anonymousId!, ts: e.ts, receivedAt: e.receivedAt });
    }
    yield rows;
  }

  async *scanArtwork(): AsyncIterable<ArtworkRow[]> {
    const rows: ArtworkRow[] = [];
    for (const e of this.events.values()) {
      const r = ARTWORK_EVENT_TYPES.includes(e.type) ? artworkRow(e) : null;
      if (r) rows.push(r);
    }
    yield rows;
  }

  async close(): Promise<void> {}
}
