import type { MarqueeEvent } from '@marquee/core';

export interface AppendResult {
  /** Events stored by this call. */
  accepted: number;
  /** Events whose id was already stored (a resent batch), or repeated within the call: stored once. */
  duplicates: number;
  /** The events this call stored (not the duplicates): what live aggregates should count. */
  fresh: readonly MarqueeEvent[];
}

/**
 * Where accepted events live. The contract every adapter keeps:
 * - `append` resolves only once the new events are durably committed (the server answers the client after it);
 * - an event id is stored at most once, however often it is sent, across restarts.
 * DuckDB is the embedded default; a PostgreSQL adapter for several server instances implements the same.
 */
export interface EventStore {
  append(events: readonly MarqueeEvent[], receivedAt: number): Promise<AppendResult>;
  count(): Promise<number>;
  /** Stored events of these types, oldest first: to rebuild live aggregates at start. */
  scan(types: readonly MarqueeEvent['type'][]): Promise<MarqueeEvent[]>;
  close(): Promise<void>;
}
