/**
 * The SDK worker's IndexedDB stores, every key and value shape in one place. Every record is parsed when read (one
 * written by an older SDK, or damaged, is dropped with its reason), so no module trusts what the store hands back.
 *
 * Databases: the device database (`dbName`: outbox, identity, backend choice, model manifest) and one per profile
 * (`profileDatabaseName`: history, catalog and candidate caches, experiments, artwork state). Both have the same
 * three stores: `outbox`, `history` and `meta` (key -> value below).
 */
import { z } from 'zod';
import { ArtworkAssignmentSchema, ArtworkPriorsSchema, PendingJoinSchema, POLICY_NAMES, ViewerHistorySchema } from './artwork/index.ts';
import { CandidateSchema } from './candidates.ts';
import { CatalogTitleSchema } from './catalog.ts';
import { EventSchema, describeIssues } from './events.ts';
import { ActiveExperimentsSchema } from './experiments.ts';
import { IdentityRecordSchema } from './identity.ts';
import { ModelManifestSchema } from './manifest.ts';
import { ENGAGEMENT_EVENTS } from './vocabulary.ts';

/** `outbox` store: events waiting to be sent, in insertion order across tabs. */
export const OutboxRecordSchema = z.object({
  /** Auto-increment key. */
  seq: z.number().int().optional(),
  event: EventSchema,
  /** UTF-8 bytes of `JSON.stringify(event)`, for byte-bounded batches. */
  bytes: z.number().int().nonnegative(),
});
export type OutboxRecord = z.infer<typeof OutboxRecordSchema>;

export const HistoryRecordSchema = z.object({
  seq: z.number().int().optional(),
  titleId: z.string(),
  type: z.enum(ENGAGEMENT_EVENTS),
  ts: z.number(),
  position: z.number().optional(),
  duration: z.number().optional(),
});
/** `history` store: one engagement event of this profile's viewer, as the model's store importer reads it. */
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

export const CountersSchema = z.object({
  acknowledged: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
});
export type Counters = z.infer<typeof CountersSchema>;

export const CachedCandidatesSchema = z.object({
  candidates: z.array(CandidateSchema),
  fetchedAt: z.number(),
  /** Engagement events in the history when fetched: the cache goes stale after a few more. */
  historyLength: z.number().int().nonnegative(),
});
export type CachedCandidates = z.infer<typeof CachedCandidatesSchema>;

export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export const BackendNameSchema = z.enum(BACKEND_NAMES);
export type BackendName = z.infer<typeof BackendNameSchema>;

export const BackendChoiceSchema = z.object({
  /** The candidate backends and the user agent it was measured for: a change of either measures again. */
  key: z.string(),
  name: BackendNameSchema,
  /** Where catalog scoring runs when a mixed plan measured fastest (absent: on `name` too). */
  scoring: BackendNameSchema.optional(),
  /** Median ms of one re-rank per backend. */
  timings: z.partialRecord(BackendNameSchema, z.number()).optional(),
});
export type BackendChoice = z.infer<typeof BackendChoiceSchema>;

export const ArtworkStateSchema = z.object({
  version: z.literal(1),
  viewer: z.string(),
  policy: z.enum(POLICY_NAMES),
  /** The POLICY_VERSION the state was learned under (absent before artwork-3). */
  policyVersion: z.string().optional(),
  taste: z.object({ A: z.array(z.number()), b: z.array(z.number()), n: z.number().int().nonnegative() }),
  /** The titles the viewer played, as the history context (a state from before it starts with none). */
  history: ViewerHistorySchema.optional(),
  assignments: z.array(ArtworkAssignmentSchema),
  /** Impressions not yet settled by a play or the reward window, and rewarded ones whose playback goes on. */
  pending: z.array(PendingJoinSchema.extend({ titleId: z.string(), artworkId: z.string(), ts: z.number() })),
});
export type ArtworkState = z.infer<typeof ArtworkStateSchema>;

export const CachedPriorsSchema = z.object({ fetchedAt: z.number(), etag: z.string().nullable(), priors: ArtworkPriorsSchema });
export type CachedPriors = z.infer<typeof CachedPriorsSchema>;

/** Experiment id -> variant already exposed in one session for one unit. */
export const ExposuresLoggedSchema = z.record(z.string(), z.string());

/** Every fixed key of the `meta` store and the shape of its value. */
export const META_SCHEMAS = {
  /** Device database. */
  identity: IdentityRecordSchema,
  /** Where SDK versions before profiles kept the anonymous id; read once to carry it over. */
  anonymousId: z.string(),
  counters: CountersSchema,
  'backend:choice': BackendChoiceSchema,
  'model:manifest': ModelManifestSchema,
  /** Profile databases. */
  catalog: z.array(CatalogTitleSchema),
  candidates: CachedCandidatesSchema,
  experiments: ActiveExperimentsSchema,
  artwork: ArtworkStateSchema,
  'artwork-priors': CachedPriorsSchema,
} as const;

/** Exposures are logged per session and unit: `exposed:<sessionId>:<unit>`. */
export type ExposedKey = `exposed:${string}`;
export function exposedKey(sessionId: string, unit: string): ExposedKey {
  return `exposed:${sessionId}:${unit}`;
}

export type MetaKey = keyof typeof META_SCHEMAS | ExposedKey;
type SchemaOf<K extends MetaKey> = K extends keyof typeof META_SCHEMAS ? (typeof META_SCHEMAS)[K] : typeof ExposuresLoggedSchema;
export type MetaValue<K extends MetaKey> = z.infer<SchemaOf<K>>;

export function metaSchema<K extends MetaKey>(key: K): SchemaOf<K> {
  const schema = key.startsWith('exposed:') ? ExposuresLoggedSchema : META_SCHEMAS[key as keyof typeof META_SCHEMAS];
  return schema as SchemaOf<K>;
}

/** A record read back from a store: of its shape, or the reason it is not (written by an older SDK, or damaged). */
export type StoredRead<T> = { ok: true; value: T } | { ok: false; reason: string };

function readStored<S extends z.ZodType>(schema: S, raw: unknown): StoredRead<z.output<S>> {
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, reason: describeIssues(r.error) };
}

/** A stored `meta` value under `key` (present: `raw` is not undefined) as its key's shape. */
export function parseMeta<K extends MetaKey>(key: K, raw: unknown): StoredRead<MetaValue<K>> {
  return readStored(metaSchema(key), raw) as StoredRead<MetaValue<K>>;
}

/** An `outbox` record as read back. */
export function parseOutboxRecord(raw: unknown): StoredRead<OutboxRecord> {
  return readStored(OutboxRecordSchema, raw);
}

/** A `history` record as read back. */
export function parseHistoryRecord(raw: unknown): StoredRead<HistoryRecord> {
  return readStored(HistoryRecordSchema, raw);
}
