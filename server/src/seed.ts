/** The synthetic world's history as stored events: what the bootstrap seeds on a first start, and benches reuse. */
import { SCHEMA_VERSION, uuidv7, type MarqueeEvent } from '@marquee/core';
import { simulateEvents, type SyntheticEvent, type World } from '@marquee/core/synthetic';
import type { DuckDbEventStore } from './store/duckdb.ts';

/** One synthetic-world event as the SDK would have sent it: UUIDv7 id, member id as userId, the world's session. */
export function toMarqueeEvent(e: SyntheticEvent): MarqueeEvent {
  const base = { id: uuidv7(), ts: e.ts, schemaVersion: SCHEMA_VERSION as typeof SCHEMA_VERSION, sessionId: e.sessionId, userId: e.userId, titleId: e.titleId };
  const artwork = e.artworkId && e.propensity ? { artwork: { artworkId: e.artworkId, propensity: e.propensity } } : {};
  switch (e.type) {
    case 'impression':
      return { ...base, ...artwork, type: 'impression', row: e.row ?? 'Home', position: e.slot ?? 0 };
    case 'play_start':
      return { ...base, ...artwork, type: 'play_start' };
    default:
      return { ...base, type: e.type, position: e.position ?? 0, duration: e.duration! };
  }
}

/** Appends the world's whole history to the store in batches; returns how many events were written. */
export async function seedSyntheticHistory(
  store: DuckDbEventStore,
  world: World,
  opts: { batchSize?: number; log?: (line: string) => void } = {},
): Promise<number> {
  const size = opts.batchSize ?? 20_000;
  const log = opts.log ?? (() => {});
  let batch: MarqueeEvent[] = [];
  let written = 0;
  let lastLog = performance.now();
  const flush = async () => {
    if (!batch.length) return;
    const r = await store.append(batch, Date.now());
    written += r.accepted;
    batch = [];
    if (performance.now() - lastLog > 2000) {
      lastLog = performance.now();
      log(`  ... ${written.toLocaleString('en-US')} events`);
    }
  };
  for (const e of simulateEvents(world)) {
    batch.push(toMarqueeEvent(e));
    if (batch.length >= size) await flush();
  }
  await flush();
  return written;
}
