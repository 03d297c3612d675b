import type { MarqueeEvent } from '@marquee/core';

/** SQL on a connection of its own: see DuckDbEventStore.connect. */
export interface SqlConnection {
  query(sql: string, params?: (string | number)[]): Promise<Record<string, unknown>[]>;
}

/** The row an aggregate or a one-row state table always answers; none means the schema is broken, said by name. */
export function onlyRow(rows: readonly Record<string, unknown>[], what: string): Record<string, unknown> {
  const row = rows[0];
  if (!row) throw new Error(`${what}: the query answered no row`);
  return row;
}

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
  /** The ids of stored events in arrival order, at most `limit`: for operators and exactly-once checks. */
  ids(limit: number): Promise<string[]>;
  /** Stored events of these types, oldest first: to rebuild live aggregates at start. */
  scan(types: readonly MarqueeEvent['type'][]): Promise<MarqueeEvent[]>;
  close(): Promise<void>;
  /** Stored engagement rows by their parts, in arrival order, a chunk at a time: the start-up replay of live
   * aggregates without one object per stored event. Falls back to `scan` where an adapter lacks it. */
  scanEngagement?(types: readonly MarqueeEvent['type'][], fromRowid?: number): AsyncIterable<EngagementRow[]>;
  /** The events the artwork priors count (impressions that carry an artwork, plays and their progress), by their
   * parts, in arrival order, a chunk at a time: the start-up rebuild of the priors. Falls back to `scan`. From row 0
   * an adapter may leave out the rows that change nothing replayed from an empty state (engagement other than play
   * starts on a viewer and title with no impression that carries an artwork). */
  scanArtwork?(fromRowid?: number): AsyncIterable<ArtworkRow[]>;
  /** Whether the store takes writes now (a real write, cached briefly), with the reason when it does not. */
  health?(): Promise<StoreHealth>;
}

export interface EngagementRow {
  type: MarqueeEvent['type'];
  titleId: string;
  memberId: string;
  ts: number;
  receivedAt: number;
}

/** The parts of an event the artwork priors need (ArtworkAggregates). */
export interface ArtworkRow {
  type: MarqueeEvent['type'];
  titleId: string;
  memberId: string;
  ts: number;
  /** Impressions: the artwork shown, and the propensity it was chosen with (in (0, 1]). */
  artworkId?: string;
  propensity?: number;
  /** Progress, pause, complete: the playback position and the runtime, seconds. */
  position?: number;
  duration?: number;
  /** Impressions with an artwork: the event's id; playback: the impression it names (`impressionId`). Lower case. */
  id?: string;
  impressionId?: string;
  /** Impressions with an artwork: the row it was shown in (a title in two rows is two trials, as on the device). */
  row?: string;
}

/** The event types ArtworkAggregates counts. */
export const ARTWORK_EVENT_TYPES: readonly MarqueeEvent['type'][] = ['impression', 'play_start', 'progress', 'pause', 'complete'];

/** An event's parts for the artwork priors; null for an event about no title. */
export function artworkRow(e: MarqueeEvent): ArtworkRow | null {
  if (!('titleId' in e)) return null;
  const row: ArtworkRow = { type: e.type, titleId: e.titleId, memberId: e.userId ?? e.anonymousId ?? '', ts: e.ts };
  if (e.type === 'impression' && e.artwork) {
    row.artworkId = e.artwork.artworkId;
    row.propensity = e.artwork.propensity;
    row.id = e.id.toLowerCase();
    row.row = e.row;
  }
  if (e.type !== 'impression' && e.impressionId) row.impressionId = e.impressionId.toLowerCase();
  if ('position' in e) row.position = e.position;
  if ('duration' in e) row.duration = e.duration;
  return row;
}

export type StoreHealth = { ok: true } | { ok: false; reason: string };

/** What opening a store found and did, for the start-up log and `/readyz`. */
export interface StoreRecovery {
  /** Bytes of write-ahead log replayed at open (0 after a clean stop). */
  walBytes: number;
  /** Rows that could not be read back, moved out of `events` into `quarantine` at this open. */
  quarantined: number;
  /** Events in the store (events + quarantine) at open. */
  stored: number;
  /** The high-water count written after the last commit of the previous run, if any. */
  highWater: number | null;
  /** Acknowledged events missing at open (high-water above what is stored), e.g. after a truncated WAL. */
  lost: number;
}

/** One schema step of the event store's DuckDB file (store and analytics tables alike), applied once, in order. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
