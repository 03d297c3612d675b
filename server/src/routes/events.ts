import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import {
  EventSchema,
  INGEST_LIMITS,
  IngestRequestSchema,
  describeIssues,
  type IngestResponse,
  type MarqueeEvent,
} from '@marquee/core';
import type { EventStore } from '../store/types.ts';
import { jsonError } from '../errors.ts';

export interface EventRoutesOptions {
  store: EventStore;
  /** Told about every newly stored event (after the commit), e.g. to update live aggregates. */
  onStored?: (events: readonly MarqueeEvent[]) => void;
  writeKeys: ReadonlySet<string>;
  now: () => number;
}

/**
 * `POST /v1/events`: `{writeKey, events}` in, `{accepted, duplicates, rejected}` out, answered only after the
 * store has committed. `text/plain` is accepted beside JSON because sendBeacon and no-preflight fetches send it;
 * for the same reason the write key may come as `?key=`.
 */
export function eventRoutes({ store, writeKeys, now, onStored }: EventRoutesOptions): Hono {
  const app = new Hono();
  app.post(
    '/',
    bodyLimit({
      maxSize: INGEST_LIMITS.maxBodyBytes,
      onError: (c) => jsonError(c, 413, 'body too large', `at most ${INGEST_LIMITS.maxBodyBytes} bytes`),
    }),
    async (c) => {
      const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json' && type !== 'text/plain') {
        return jsonError(c, 415, 'unsupported content type', 'send application/json or text/plain');
      }
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return jsonError(c, 400, 'malformed JSON');
      }
      const parsed = IngestRequestSchema.safeParse(body);
      if (!parsed.success) {
        const tooMany = parsed.error.issues.some((i) => i.code === 'too_big' && i.path[0] === 'events');
        return tooMany
          ? jsonError(c, 413, 'too many events', `at most ${INGEST_LIMITS.maxEventsPerBatch} per batch`)
          : jsonError(c, 400, 'invalid batch', describeIssues(parsed.error));
      }
      const writeKey = parsed.data.writeKey ?? c.req.query('key');
      if (!writeKey || !writeKeys.has(writeKey)) return jsonError(c, 401, 'unknown write key');

      const valid: MarqueeEvent[] = [];
      const rejected: IngestResponse['rejected'] = [];
      parsed.data.events.forEach((raw, index) => {
        const r = EventSchema.safeParse(raw);
        if (r.success) valid.push(r.data);
        else rejected.push({ index, reason: describeIssues(r.error) });
      });

      let stored = { accepted: 0, duplicates: 0 };
      if (valid.length > 0) {
        try {
          const result = await store.append(valid, now());
          stored = { accepted: result.accepted, duplicates: result.duplicates };
          onStored?.(result.fresh);
        } catch (err) {
          console.error('event store append failed:', err);
          c.header('Retry-After', '1');
          return jsonError(c, 503, 'storage unavailable', 'retry later');
        }
      }
      return c.json({ ...stored, rejected } satisfies IngestResponse);
    },
  );
  return app;
}
