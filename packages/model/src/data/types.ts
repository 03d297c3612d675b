/** Shared data types: raw interactions from importers, and the indexed dataset the trainer and evaluator use. */

export type EventKind = 'impression' | 'play' | 'complete';

/** Event type index carried by a token (0 = unknown, e.g. a rating). */
export const EVENT_INDEX: Readonly<Record<EventKind | 'unknown', number>> = Object.freeze({ unknown: 0, impression: 1, play: 2, complete: 3 });

export interface Interaction {
  user: string;
  item: string;
  /** Time in any monotone unit (seconds, ms); ties keep input order. */
  ts: number;
  event?: EventKind;
  /** Watched fraction in [0, 1]. */
  fraction?: number;
}

export interface ItemMeta {
  title?: string;
  genres?: string[];
  year?: number;
}

export interface RawData {
  name: string;
  interactions: Interaction[];
  /** Metadata by external item id; items only here (no interactions) enter the vocabulary as cold items. */
  items?: Map<string, ItemMeta>;
}

/** One user's chronological token sequence. Items are 1-based model ids (0 = padding). */
export interface UserSeq {
  user: string;
  items: Int32Array;
  events: Uint8Array;
  fracs: Uint8Array;
}

export interface Dataset {
  name: string;
  /** External id of model item i+1 at index i. */
  itemIds: string[];
  itemMeta: ItemMeta[];
  genres: string[];
  yearBucketStart: number;
  yearBucketWidth: number;
  numYearBuckets: number;
  seqs: UserSeq[];
  interactions: number;
}

/** Watched fraction -> bucket (0 unknown, 1..5 quintiles). */
export function fractionBucket(f: number | undefined): number {
  if (f === undefined || !Number.isFinite(f)) return 0;
  return 1 + Math.min(4, Math.max(0, Math.floor(f * 5)));
}

/** Year -> bucket index (0 unknown). */
export function yearBucket(year: number | undefined, start: number, width: number, numBuckets: number): number {
  if (year === undefined || !Number.isFinite(year) || numBuckets <= 1) return 0;
  return 1 + Math.min(numBuckets - 2, Math.max(0, Math.floor((year - start) / width)));
}

/** A token is a training/evaluation target unless it is an impression. */
export const isTargetEvent = (e: number) => e !== EVENT_INDEX.impression;
