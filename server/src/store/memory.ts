import type { MarqueeEvent } from '@marquee/core';
import type { AppendResult, EventStore } from './types.ts';

/** For tests and throwaway demos: same dedup rules as the real stores, nothing survives a restart. */
export class MemoryEventStore implements EventStore {
  readonly events = new Map<string, MarqueeEvent & { receivedAt: number }>();

  async append(events: readonly MarqueeEvent[], receivedAt: number): Promise<AppendResult> {
    let accepted = 0;
    for (const e of events) {
      if (this.events.has(e.id)) continue;
      this.events.set(e.id, { ...e, receivedAt });
      accepted++;
    }
    return { accepted, duplicates: events.length - accepted };
  }

  async count(): Promise<number> {
    return this.events.size;
  }

  async close(): Promise<void> {}
}
