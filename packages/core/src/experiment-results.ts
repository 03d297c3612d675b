/**
 * The wire shape of an experiment's analysis (`GET /v1/experiments/:id/results`, read by `npm run experiment`),
 * and the exposure event the SDK logs. One schema, parsed on arrival.
 */
import { z } from 'zod';

/** A custom event with this name and exactly one `experiments` entry records an exposure. */
export const EXPOSURE_EVENT = '$exposure';

const interval = z.tuple([z.number(), z.number()]);

export const DifferenceSchema = z.object({
  estimate: z.number(),
  relative: z.number().optional(),
  se: z.number(),
  ci: interval,
  pValue: z.number(),
});

export const MetricResultSchema = z.object({
  metric: z.string(),
  /** 'mean' per unit (Welch), 'ratio' of sums (delta method), 'proportion' of eligible units (Welch on 0/1). */
  kind: z.enum(['mean', 'ratio', 'proportion']),
  /** Per variant: units counted and the value. */
  arms: z.array(z.object({ variant: z.string(), n: z.number(), value: z.number() })),
  /** Each treatment against the control. */
  vsControl: z.array(
    z.object({
      variant: z.string(),
      fixedHorizon: DifferenceSchema,
      alwaysValid: z.object({ ci: interval, pValue: z.number() }),
      /** CUPED with the pre-exposure period as covariate, next to the raw estimate (metrics that have one). */
      cuped: DifferenceSchema.extend({ theta: z.number(), widthRatio: z.number() }).optional(),
    }),
  ),
});
export type MetricResult = z.infer<typeof MetricResultSchema>;

const perTeam = z.object({ A: z.number(), B: z.number() });

/**
 * Interleaving (a variant with `interleaveWith`): team A is the variant's own ranking, team B the one in
 * `interleaveWith`. Per unit, the sign of (plays credited to A - plays credited to B); the preference is their mean.
 */
export const InterleavingResultSchema = z.object({
  variant: z.string(),
  /** Units with at least one interleaved impression. */
  units: z.number(),
  impressions: perTeam,
  plays: perTeam,
  wins: perTeam.extend({ ties: z.number() }),
  /** Mean of +1 (A won) / -1 (B won) / 0 per unit, in [-1, 1]; > 0 favours A. */
  preference: DifferenceSchema.omit({ relative: true }),
});
export type InterleavingResult = z.infer<typeof InterleavingResultSchema>;

export const ExperimentResultsSchema = z.object({
  experiment: z.string(),
  control: z.string(),
  computedAt: z.number(),
  tookMs: z.number(),
  eventsScanned: z.number().optional(),
  /** Exposed units per variant, the exposure events they logged (one per session), and the designed weight. */
  units: z.array(z.object({ variant: z.string(), exposed: z.number(), exposureEvents: z.number(), designWeight: z.number() })),
  /** Units exposed to more than one variant (counted in their first): a bucketing or logging bug when > 0. */
  unitsInSeveralVariants: z.number(),
  srm: z.object({ chiSquare: z.number(), df: z.number(), pValue: z.number(), mismatch: z.boolean() }),
  metrics: z.array(MetricResultSchema),
  /** Present for experiments with an interleaving variant. */
  interleaving: z.array(InterleavingResultSchema).optional(),
  inference: z.object({ fixedHorizon: z.string(), alwaysValid: z.string(), cuped: z.string(), alpha: z.number() }),
  definitions: z.record(z.string(), z.string()),
});
export type ExperimentResults = z.infer<typeof ExperimentResultsSchema>;
