/**
 * The server's snapshot of its in-memory aggregates (server/src/snapshot.ts): the live candidate aggregates
 * (popularity, trending, co-occurrence, each member's recent titles) and the artwork priors' state (counts, the
 * population fit's sufficient statistics, each viewer's history, the impressions still waiting for a play), with the
 * watermark of the store's rows they cover. A restart loads it and replays only the rows past the watermark instead
 * of every stored event. Kept in DATA_DIR as a file, so parsed on the way in like every other boundary; anything
 * that does not match (another format, schema migration, catalog or set of options) is rebuilt from the store.
 *
 * Large parts are flat arrays of numbers indexing into a table of strings: at millions of events the pairs and
 * members run to millions of entries, and one object each would cost more to parse than replaying the events.
 */
import { z } from 'zod';
import { ArtworkCountsStateSchema, ArtworkPriorsSchema, BetweenViewerVarianceStateSchema, ContextWeightsStateSchema, FEATURE_DIM, PendingJoinSchema, RewardDefinitionSchema } from './artwork/index.ts';

/** Bumped whenever the snapshot's layout or the meaning of a field changes: an older one is rebuilt, never read. */
export const AGGREGATES_SNAPSHOT_FORMAT = 4;

const count = z.number().int().nonnegative();
const index = count;

export const LiveAggregatesStateSchema = z
  .object({
    halfLifeMs: z.number().positive(),
    recentPerMember: z.number().int().positive(),
    t0: z.number().finite(),
    observed: count,
    /** Every title with a play, in the order first seen; plays and trend are parallel to it. */
    titles: z.array(z.string()),
    plays: z.array(count),
    trend: z.array(z.number().finite().nonnegative()),
    /** Co-occurrence rows: row i is title coocTitle[i] with coocLength[i] entries of (coocOther, coocCount). */
    coocTitle: z.array(index),
    coocLength: z.array(count),
    coocOther: z.array(index),
    coocCount: z.array(count),
    /** Member i's recent titles are recentLength[i] entries of recentTitle, oldest first. */
    members: z.array(z.string()),
    recentLength: z.array(count),
    recentTitle: z.array(index),
  })
  .superRefine((s, ctx) => {
    const sum = (a: number[]) => a.reduce((n, x) => n + x, 0);
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (s.plays.length !== s.titles.length || s.trend.length !== s.titles.length) fail('plays and trend must be parallel to titles');
    if (s.coocLength.length !== s.coocTitle.length || sum(s.coocLength) !== s.coocOther.length || s.coocCount.length !== s.coocOther.length) fail('co-occurrence arrays do not match');
    if (s.recentLength.length !== s.members.length || sum(s.recentLength) !== s.recentTitle.length) fail('recent arrays do not match');
    const n = s.titles.length;
    if ([s.coocTitle, s.coocOther, s.recentTitle].some((a) => a.some((i) => i >= n))) fail('a title index is out of range');
  });
export type LiveAggregatesState = z.infer<typeof LiveAggregatesStateSchema>;

const vector = z.array(z.number().finite()).length(FEATURE_DIM);

/** An impression waiting for its play: what the artwork aggregates keep until the reward arrives. */
export const PendingShownSchema = PendingJoinSchema.extend({
  key: z.string(),
  titleId: z.string(),
  ts: z.number().finite(),
  artworkId: z.string(),
  /**
   * The population fit's row: the artwork's centred features, the viewer's context then, the impression's weight;
   * and the between-viewer variance's: the viewer, the title's primary genre and what the device expected of the
   * artwork then (`base`).
   */
  context: z.object({ x: vector, history: vector, weight: z.number().finite().positive(), viewer: z.string(), genre: z.string(), base: z.number().finite() }).optional(),
});
export type PendingShown = z.infer<typeof PendingShownSchema>;

export const ArtworkAggregatesStateSchema = z
  .object({
    reward: RewardDefinitionSchema,
    observed: count,
    counts: ArtworkCountsStateSchema,
    context: ContextWeightsStateSchema,
    /** Member i's history: historySum[13 i .. 13 i + 12] and historyPlays[i]. */
    historyMembers: z.array(z.string()),
    historySum: z.array(z.number().finite()),
    historyPlays: z.array(count),
    /** The between-viewer variance's sums per viewer and genre. */
    spread: BetweenViewerVarianceStateSchema,
    /** The priors each impression's expected reward (`base`) is measured against, refreshed as the counts grow. */
    reference: ArtworkPriorsSchema.nullable(),
    /** The quality-play join's and the play join's pending impressions, in the order they were recorded. */
    qualityPending: z.array(PendingShownSchema),
    playPending: z.array(PendingShownSchema),
  })
  .superRefine((s, ctx) => {
    const n = s.historyMembers.length;
    if (s.historyPlays.length !== n || s.historySum.length !== n * FEATURE_DIM) ctx.addIssue({ code: 'custom', message: 'history arrays do not match' });
  });
export type ArtworkAggregatesState = z.infer<typeof ArtworkAggregatesStateSchema>;

export const AggregatesSnapshotSchema = z.object({
  format: z.literal(AGGREGATES_SNAPSHOT_FORMAT),
  /** The store's schema version (its last migration) when written: another one is rebuilt. */
  schemaVersion: count,
  /** What the aggregates were computed against: a fingerprint of the catalog's titles and artworks. */
  catalog: z.string(),
  /** The store's rows covered: every row of `events` with rowid < nextRowid, `rows` of them. */
  watermark: z.object({ nextRowid: count, rows: count }),
  writtenAt: z.number().int(),
  live: LiveAggregatesStateSchema,
  artwork: ArtworkAggregatesStateSchema,
});
export type AggregatesSnapshot = z.infer<typeof AggregatesSnapshotSchema>;
