/** The wire contract of `POST /v1/events`, shared by the SDK's sender and the server. */
import { z } from 'zod';

export const INGEST_LIMITS = {
  /** Upper bound of a request body; a keepalive flush stays far below it (64 KiB). */
  maxBodyBytes: 1024 * 1024,
  maxEventsPerBatch: 1000,
} as const;

/**
 * The header that carries a write key. A key in this header (or in `?key=`) is checked before the body is read, so
 * a client without a valid key never costs the server a parse; sendBeacon cannot set headers and uses `?key=`.
 */
export const WRITE_KEY_HEADER = 'x-marquee-key';

/** Only the envelope is checked here; each event is validated on its own so one bad event never sinks a batch. */
export const IngestRequestSchema = z.object({
  writeKey: z.string().min(1).optional(),
  events: z.array(z.unknown()).min(1).max(INGEST_LIMITS.maxEventsPerBatch),
});

export const IngestResponseSchema = z.object({
  accepted: z.number().int().nonnegative(),
  /** Events already stored (a retry): acknowledged, not stored twice. */
  duplicates: z.number().int().nonnegative(),
  /** Events refused, by their index in the batch. */
  rejected: z.array(z.object({ index: z.number().int().nonnegative(), reason: z.string() })),
});
export type IngestResponse = z.infer<typeof IngestResponseSchema>;

/** Every 4xx/5xx body of the API. */
export const ErrorResponseSchema = z.object({ error: z.string(), detail: z.string().optional() });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
