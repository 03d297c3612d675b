/**
 * The event contract shared by the SDK (which creates events), the server (which validates and stores them)
 * and the trainer (which learns from them). Every event is self-describing: `schemaVersion` says which shape
 * it has, so the server can keep accepting old SDKs after the schema grows.
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

/** Bounds that keep one event small enough for a 64 KiB keepalive batch to hold many of them. */
export const LIMITS = {
  idLength: 128,
  nameLength: 200,
  customPropsBytes: 4096,
} as const;

const id = z.string().min(1).max(LIMITS.idLength);
const seconds = z.number().finite().nonnegative();

/** Which variant of an experiment this viewer was exposed to when the event happened. */
export const ExposureSchema = z.object({ experiment: id, variant: id });

/**
 * The artwork shown and the probability with which the bandit chose it: logged so that offline replay can
 * correct for the exploration policy (IPS). `propensity` is in (0, 1].
 */
export const ArtworkChoiceSchema = z.object({
  artworkId: id,
  propensity: z.number().gt(0).lte(1),
  policy: z.string().max(LIMITS.nameLength).optional(),
  policyVersion: z.string().max(LIMITS.nameLength).optional(),
});

const base = z.object({
  id: z.uuid({ version: 'v7' }),
  ts: z.number().int().positive(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  sessionId: id,
  userId: id.optional(),
  anonymousId: id.optional(),
  experiments: z.array(ExposureSchema).max(50).optional(),
});

/** `impressionId`: on plays and completions, the id of the impression event they came from (artwork attribution). */
const titleEvent = base.extend({ titleId: id, artwork: ArtworkChoiceSchema.optional(), impressionId: id.optional() });
const playback = titleEvent.extend({ position: seconds, duration: seconds.positive() });

export const ImpressionSchema = titleEvent.extend({
  type: z.literal('impression'),
  row: z.string().min(1).max(LIMITS.nameLength),
  position: z.number().int().nonnegative(),
});
export const PlayStartSchema = titleEvent.extend({ type: z.literal('play_start') });
export const ProgressSchema = playback.extend({ type: z.literal('progress') });
export const PauseSchema = playback.extend({ type: z.literal('pause') });
export const CompleteSchema = playback.extend({ type: z.literal('complete') });
export const CustomSchema = base.extend({
  type: z.literal('custom'),
  name: z.string().min(1).max(LIMITS.nameLength),
  props: z
    .record(z.string(), z.unknown())
    .optional()
    .refine((p) => p === undefined || JSON.stringify(p).length <= LIMITS.customPropsBytes, {
      message: `props must serialize to at most ${LIMITS.customPropsBytes} bytes`,
    }),
});

export const EventSchema = z
  .discriminatedUnion('type', [
    ImpressionSchema,
    PlayStartSchema,
    ProgressSchema,
    PauseSchema,
    CompleteSchema,
    CustomSchema,
  ])
  .refine((e) => e.userId !== undefined || e.anonymousId !== undefined, {
    message: 'an event needs a userId or an anonymousId',
    path: ['userId'],
  });

export type MarqueeEvent = z.infer<typeof EventSchema>;
export type EventType = MarqueeEvent['type'];
export type Exposure = z.infer<typeof ExposureSchema>;
export type ArtworkChoice = z.infer<typeof ArtworkChoiceSchema>;

/** What the caller supplies for each event type; the SDK adds id, ts, schemaVersion and identity. */
type Envelope = 'id' | 'ts' | 'schemaVersion' | 'sessionId' | 'userId' | 'anonymousId';
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventInput<T extends EventType = EventType> = DistributiveOmit<Extract<MarqueeEvent, { type: T }>, Envelope>;

/** One line per problem, with the path into the event: readable in a 4xx body and in a console. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
