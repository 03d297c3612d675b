/**
 * The server's event store as training data, written against a minimal interface: anything that yields
 * {@link StoreEvent}s (a DuckDB query, a JSONL export, the synthetic world).
 *
 * Mapping: one token per (member, title, viewing). A viewing opens at the first `play_start` (or progress) of a title
 * and stays open until `complete`: a `play_start` that resumes an open viewing adds no token, so a resumed title never
 * becomes its own next target. `progress`/`pause` set the token's watched fraction to the latest position/duration
 * (the final fraction of the viewing); `complete` marks it complete (fraction 1) and closes the viewing, so a later
 * re-watch is a new token. `impression` becomes an impression token (kept only when the dataset is built with
 * includeImpressions). `custom` is ignored. The trainer and the SDK worker (serving) both build histories here.
 */
import type { Interaction, ItemMeta, RawData } from './types.ts';

export type StoreEventType = 'impression' | 'play_start' | 'progress' | 'pause' | 'complete' | 'custom';

export interface StoreEvent {
  userId?: string | null;
  anonymousId?: string | null;
  titleId: string;
  type: StoreEventType;
  /** Milliseconds or seconds since epoch, or an ISO string. */
  ts: number | string;
  /** Playback position, seconds (progress/pause/complete). */
  position?: number | null;
  /** Title duration, seconds. */
  duration?: number | null;
}

const tsOf = (t: number | string) => (typeof t === 'number' ? t : Date.parse(t));

export async function fromStoreEvents(
  events: Iterable<StoreEvent> | AsyncIterable<StoreEvent>,
  opts: { name?: string; items?: Map<string, ItemMeta> } = {},
): Promise<RawData> {
  const interactions: Interaction[] = [];
  /** Open play token per user+title. */
  const open = new Map<string, Interaction>();
  for await (const e of events as AsyncIterable<StoreEvent>) {
    const user = e.userId ?? e.anonymousId;
    if (!user || !e.titleId) continue;
    const ts = tsOf(e.ts);
    if (!Number.isFinite(ts)) throw new Error(`store: bad ts ${JSON.stringify(e.ts)}`);
    const key = `${user}\u0000${e.titleId}`;
    switch (e.type) {
      case 'impression':
        interactions.push({ user, item: e.titleId, ts, event: 'impression' });
        break;
      case 'play_start': {
        if (open.has(key)) break; // resuming the open viewing
        const it: Interaction = { user, item: e.titleId, ts, event: 'play', fraction: 0 };
        interactions.push(it);
        open.set(key, it);
        break;
      }
      case 'progress':
      case 'pause':
      case 'complete': {
        let it = open.get(key);
        if (!it) {
          // A progress/complete without a seen play_start still means the member watched it.
          it = { user, item: e.titleId, ts, event: 'play', fraction: 0 };
          interactions.push(it);
          open.set(key, it);
        }
        if (e.position != null && e.duration != null && e.duration > 0) {
          it.fraction = Math.max(0, Math.min(1, e.position / e.duration));
        }
        if (e.type === 'complete') {
          it.event = 'complete';
          it.fraction = 1;
          open.delete(key);
        }
        break;
      }
      default:
        break;
    }
  }
  return { name: opts.name ?? 'store', interactions, items: opts.items };
}

/** Parse a JSONL export (one StoreEvent per line). */
export function* parseStoreJsonl(text: string): Generator<StoreEvent> {
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (!line.trim()) continue;
    let e: StoreEvent;
    try {
      e = JSON.parse(line) as StoreEvent;
    } catch {
      throw new Error(`store: invalid JSON on line ${n}`);
    }
    yield e;
  }
}
