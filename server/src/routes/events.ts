import { Hono } from 'hono';
import {
  INGEST_LIMITS,
  IngestRequestSchema,
  describeIssues,
  judgeEvent,
  type IngestResponse,
  type MarqueeEvent,
} from '@marquee/core';
import type { EventStore } from '../store/types.ts';
import { jsonError } from '../errors.ts';
import { guardedJson, type GuardOptions } from '../middleware/guarded-body/index.ts';

export interface EventRoutesOptions extends GuardOptions {
  store: EventStore;
  /** Told about every newly stored event (after the commit) and its arrival time, e.g. to update live aggregates. */
  onStored?: (events: readonly MarqueeEvent[], receivedAt: number) => void;
  /** Called after every append attempt: whether the last commit worked (for `/readyz`). */
  onCommit?: (error: unknown) => void;
  /** The accepted `ts` window around the arrival time. */
  tsPastMs: number;
  tsFutureMs: number;
  now: () => number;
}

/**
 * `POST /v1/events`: `{writeKey, events}` in, `{accepted, duplicates, rejected}` out, answered only after the
 * store has committed. `text/plain` is accepted beside JSON because sendBeacon and no-preflight fetches send it;
 * for the same reason the write key may come as `?key=` (or the `x-marquee-key` header).
 *
 * Each event is judged alone (schema, well-formed strings, bounded props, `ts` within the window around the
 * arrival time): one bad event is rejected with its reason, never the batch.
 */
export function eventRoutes(opts: EventRoutesOptions): Hono {
  const { store, now, onStored, onCommit } = opts;
  const app = new Hono();
  app.post('/', async (c) => {
    const guarded = await guardedJson(c, opts, INGEST_LIMITS.maxBodyBytes);
    if (!guarded.ok) return guarded.response;
    const parsed = IngestRequestSchema.safeParse(guarded.body);
    if (!parsed.success) {
      const tooMany = parsed.error.issues.some((i) => i.code === 'too_big' && i.path[0] === 'events');
      return tooMany
        ? jsonError(c, 413, 'too many events', `at most ${INGEST_LIMITS.maxEventsPerBatch} per batch`)
        : jsonError(c, 400, 'invalid batch', describeIssues(parsed.error));
    }

    const receivedAt = now();
    const earliest = receivedAt - opts.tsPastMs;
    const latest = receivedAt + opts.tsFutureMs;
    const valid: MarqueeEvent[] = [];
    const rejected: IngestResponse['rejected'] = [];
    const events = parsed.data.events;
    for (let index = 0; index < events.length; index++) {
      const r = judgeEvent(events[index]);
      if (!r.ok) rejected.push({ index, reason: r.reason });
      else if (r.event.ts < earliest) rejected.push({ index, reason: `ts: more than ${opts.tsPastMs / 1000} s before the server's clock` });
      else if (r.event.ts > latest) rejected.push({ index, reason: `ts: more than ${opts.tsFutureMs / 1000} s after the server's clock` });
      else valid.push(r.event);
    }

    let stored = { accepted: 0, duplicates: 0 };
    if (valid.length > 0) {
      try {
        const result = await store.append(valid, receivedAt);
        onCommit?.(null);
        stored = { accepted: result.accepted, duplicates: result.duplicates };
        onStored?.(result.fresh, receivedAt);
      } catch (err) {
        onCommit?.(err);
        console.error('event store append failed:', err);
        c.header('Retry-After', '1');
        return jsonError(c, 503, 'storage unavailable', 'retry later');
      }
    }
    return c.json({ ...stored, rejected } satisfies IngestResponse);
  });
  return app;
}
