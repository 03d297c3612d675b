/**
 * Wire shapes of the admin analytics routes (`/v1/admin/analytics/*`): what the dashboard asks and what it gets.
 * Definitions shared by the server's SQL and the dashboard's labels:
 * - a play is one (session, title) with a `play_start` or any playback event;
 * - its watched seconds are the furthest position it reached (progress, pause, complete);
 * - a quality play watched at least QUALITY_PLAY_FRACTION of the title (the artwork bandit's reward, not a click);
 * - completion rate = plays with a `complete` / plays;
 * - take rate = impressions followed by a play of that title in the same session / impressions.
 * Every aggregate describing fewer than `k` distinct members is suppressed (k-anonymity floor, default 10).
 * `members` is a group's distinct members over the range, exactly (the server's reach rollups).
 */
import { z } from 'zod';

export const QUALITY_PLAY_FRACTION = 0.25;
export const DEFAULT_K_ANONYMITY = 10;
export const ANALYTICS_MAX_LIMIT = 1000;

const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');

/** Query string of every analytics route: an inclusive UTC date range and a row limit. */
export const AnalyticsQueryFields = z.object({
  from: isoDay.optional(),
  to: isoDay.optional(),
  limit: z.coerce.number().int().min(1).max(ANALYTICS_MAX_LIMIT).default(20),
});
/** The fields plus a route's own (`extra`), with the range checked. */
export const analyticsQuery = <E extends z.ZodRawShape>(extra: E) =>
  AnalyticsQueryFields.extend(extra).refine(
    (q) => {
      const { from, to } = q as { from?: string; to?: string };
      return !from || !to || from <= to;
    },
    { message: 'from must not be after to', path: ['from'] },
  );
export const AnalyticsQuerySchema = analyticsQuery({});
export type AnalyticsQuery = z.infer<typeof AnalyticsQuerySchema>;

export const TitleStatsQuerySchema = analyticsQuery({
  by: z.enum(['title', 'genre']).default('title'),
  sort: z.enum(['hours', 'plays', 'members']).default('hours'),
});

/** The range a response actually covers (null when the store has no events) and what the floor removed. */
const envelope = {
  from: isoDay.nullable(),
  to: isoDay.nullable(),
  k: z.number().int(),
  /** Groups left out because fewer than k members are behind them. */
  suppressed: z.number().int().nonnegative(),
};

const playMeasures = {
  plays: z.number().int(),
  qualityPlays: z.number().int(),
  hours: z.number(),
  completionRate: z.number(),
  members: z.number().int(),
};

export const TitleStatsSchema = z.object({
  ...envelope,
  by: z.enum(['title', 'genre']),
  rows: z.array(z.object({ key: z.string(), name: z.string(), ...playMeasures })),
});
export type TitleStats = z.infer<typeof TitleStatsSchema>;

export const DailyStatsSchema = z.object({
  ...envelope,
  days: z.array(z.object({ day: isoDay, ...playMeasures, activeMembers: z.number().int() })),
});
export type DailyStats = z.infer<typeof DailyStatsSchema>;

/** A proportion with its 95% Wilson score interval. */
export const RateSchema = z.object({ rate: z.number(), low: z.number(), high: z.number() });
export type Rate = z.infer<typeof RateSchema>;

export const TakeRateStatsSchema = z.object({
  ...envelope,
  cells: z.array(
    z.object({ row: z.string(), position: z.number().int(), impressions: z.number().int(), plays: z.number().int(), members: z.number().int(), take: RateSchema }),
  ),
});
export type TakeRateStats = z.infer<typeof TakeRateStatsSchema>;

export const ArtworkStatsSchema = z.object({
  ...envelope,
  rows: z.array(
    z.object({
      titleId: z.string(),
      name: z.string(),
      artworkId: z.string(),
      impressions: z.number().int(),
      plays: z.number().int(),
      qualityPlays: z.number().int(),
      members: z.number().int(),
      take: RateSchema,
      qualityTake: RateSchema,
    }),
  ),
});
export type ArtworkStats = z.infer<typeof ArtworkStatsSchema>;

/** Titles whose plays grew most in the last `windowDays` (ending at `to`) over the window before it. */
export const TrendingStatsSchema = z.object({
  ...envelope,
  windowDays: z.number().int(),
  rows: z.array(
    z.object({ titleId: z.string(), name: z.string(), plays: z.number().int(), previousPlays: z.number().int(), growth: z.number(), members: z.number().int() }),
  ),
});
export type TrendingStats = z.infer<typeof TrendingStatsSchema>;

/** Events stored per minute over the last `minutes` minutes, by arrival time: the live event rate. */
export const LiveRateSchema = z.object({
  minutes: z.number().int(),
  now: z.number(),
  perMinute: z.array(z.object({ minute: z.number(), events: z.number().int() })),
});
export type LiveRate = z.infer<typeof LiveRateSchema>;

/**
 * 95% Wilson score interval of a proportion: stays inside [0, 1] and is honest for small counts, where the
 * normal approximation gives negative lows. Golden vectors in test/analytics.test.ts.
 */
export function wilsonInterval(successes: number, trials: number, z95 = 1.959963984540054): Rate {
  if (trials <= 0) return { rate: 0, low: 0, high: 0 };
  const p = successes / trials;
  const z2 = z95 * z95;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

