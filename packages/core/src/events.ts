/**
 * The event contract shared by the SDK (which creates events), the server (which validates and stores them)
 * and the trainer (which learns from them). Every event is self-describing: `schemaVersion` says which shape
 * it has, so the server can keep accepting old SDKs after the schema grows.
 */
import { z } from 'zod';
import { jsonBoundsProblem, wellFormedString } from './well-formed.ts';

export const SCHEMA_VERSION = 1;

/** Bounds that keep one event small enough for a 64 KiB keepalive batch to hold many of them. */
export const LIMITS = {
  idLength: 128,
  nameLength: 200,
  customPropsBytes: 4096,
  /** Nesting of custom props below the top object, and their keys plus array items at all levels together. */
  customPropsDepth: 5,
  customPropsEntries: 100,
} as const;

// Every string is well-formed Unicode: a lone surrogate stored once makes the row unreadable later.
const id = wellFormedString(1, LIMITS.idLength);
const name = wellFormedString(1, LIMITS.nameLength);
const seconds = z.number().finite().nonnegative();

/** Which variant of an experiment this viewer was exposed to when the event happened. */
export const ExposureSchema = z.object({ experiment: id, variant: id });

/** Which ranker placed a title in an interleaved row: A the variant's own ranking, B the one it is compared with. */
export const TeamSchema = z.enum(['A', 'B']);

/**
 * On an impression of an interleaved row (team-draft, `interleaveWith` in an experiment's variant): the experiment,
 * the viewer's variant and the team that placed this title. A play that names the impression (`impressionId`) is
 * credited to that team.
 */
export const InterleavingTeamSchema = z.object({ experiment: id, variant: id, team: TeamSchema });

/**
 * The artwork shown and the probability with which the bandit chose it: logged so that offline replay can
 * correct for the exploration policy (IPS). `propensity` is in (0, 1].
 */
export const ArtworkChoiceSchema = z.object({
  artworkId: id,
  propensity: z.number().gt(0).lte(1),
  policy: wellFormedString(0, LIMITS.nameLength).optional(),
  policyVersion: wellFormedString(0, LIMITS.nameLength).optional(),
});

const base = z.object({
  // Canonical lower case before anything compares ids: `0190...ABC` and `0190...abc` are one event.
  id: z.uuid({ version: 'v7' }).transform((s) => s.toLowerCase()),
  ts: z.number().int().positive(),
  schemaVersion: z.literal(SCHEMA_VERSION),
  sessionId: id,
  userId: id.optional(),
  anonymousId: id.optional(),
  /** The viewer within the account (one of a household's profiles), when the player has set one. */
  profileId: id.optional(),
  experiments: z.array(ExposureSchema).max(50).optional(),
});

/** `impressionId`: on plays and completions, the id of the impression event they came from (artwork attribution). */
const titleEvent = base.extend({ titleId: id, artwork: ArtworkChoiceSchema.optional(), impressionId: id.optional() });
const playback = titleEvent.extend({ position: seconds, duration: seconds.positive() });

export const ImpressionSchema = titleEvent.extend({
  type: z.literal('impression'),
  row: name,
  position: z.number().int().nonnegative(),
  interleaving: InterleavingTeamSchema.optional(),
});
export const PlayStartSchema = titleEvent.extend({ type: z.literal('play_start') });
export const ProgressSchema = playback.extend({ type: z.literal('progress') });
export const PauseSchema = playback.extend({ type: z.literal('pause') });
export const CompleteSchema = playback.extend({ type: z.literal('complete') });
export const CustomSchema = base.extend({
  type: z.literal('custom'),
  name,
  props: z
    .record(z.string(), z.unknown())
    .optional()
    .superRefine((p, ctx) => {
      if (p === undefined) return;
      const problem = jsonBoundsProblem(p, {
        maxDepth: LIMITS.customPropsDepth,
        maxEntries: LIMITS.customPropsEntries,
        maxChars: LIMITS.customPropsBytes,
      });
      if (problem) ctx.addIssue({ code: 'custom', message: `props: ${problem}` });
    }),
});

/**
 * An anonymous viewer signed in (`identify`): from now on their events carry `userId`, and this event tells the
 * server that the earlier `anonymousId` was the same person, so their anonymous history joins the member's.
 */
export const AliasSchema = base.extend({ type: z.literal('alias'), userId: id, anonymousId: id });

export const EventSchema = z
  .discriminatedUnion('type', [
    ImpressionSchema,
    PlayStartSchema,
    ProgressSchema,
    PauseSchema,
    CompleteSchema,
    CustomSchema,
    AliasSchema,
  ])
  .refine((e) => e.userId !== undefined || e.anonymousId !== undefined, {
    message: 'an event needs a userId or an anonymousId',
    path: ['userId'],
  });

export type MarqueeEvent = z.infer<typeof EventSchema>;
export type EventType = MarqueeEvent['type'];
export type Exposure = z.infer<typeof ExposureSchema>;
export type ArtworkChoice = z.infer<typeof ArtworkChoiceSchema>;
export type Team = z.infer<typeof TeamSchema>;
export type InterleavingTeam = z.infer<typeof InterleavingTeamSchema>;

/** What the caller supplies for each event type; the SDK adds id, ts, schemaVersion and identity. */
type Envelope = 'id' | 'ts' | 'schemaVersion' | 'sessionId' | 'userId' | 'anonymousId' | 'profileId';
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventInput<T extends EventType = EventType> = DistributiveOmit<Extract<MarqueeEvent, { type: T }>, Envelope>;

/** One line per problem, with the path into the event: readable in a 4xx body and in a console. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Parses what arrived over a boundary (a response, a file, a stored value) or throws a TypeError that names it and
 * every problem: a malformed answer fails where it enters, not three calls later.
 */
export function parseContract<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new TypeError(`${what}: ${describeIssues(r.error)}`);
  return r.data;
}
