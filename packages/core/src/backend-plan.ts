/**
 * Which tfjs backend runs which part of a re-rank: the encoder's incremental update, or the catalog scoring. The
 * probe measures both on every backend; a plan may put them on two backends when that measured faster than any one
 * backend, the user vector crossing between them as a small Float32Array (read on one, uploaded on the other).
 * Pure: the SDK's probe and the benches decide with the same arithmetic.
 */
import { z } from 'zod';
import { BACKEND_NAMES, BackendNameSchema, type BackendName } from './device-store.ts';

/** One backend's measured medians, ms. */
export const OperationTimingsSchema = z.object({
  /** One re-rank on this backend alone: update and scoring with no read between them (what a one-backend plan runs). */
  rerankMs: z.number().nonnegative(),
  /** The incremental update, ending in a read of the user vector (what a plan does before handing it over). */
  updateMs: z.number().nonnegative(),
  /** Upload of the user vector, scores of the candidates, and their read. */
  scoreMs: z.number().nonnegative(),
});
export type OperationTimings = z.infer<typeof OperationTimingsSchema>;

export const BackendPlanSchema = z.object({
  /** Runs the encoder (the model's weights live here): the worker's current tfjs backend. */
  update: BackendNameSchema,
  /** Holds the catalog matrix and scores it; equal to `update` for a one-backend plan. */
  scoring: BackendNameSchema,
  /** The plan's measured cost per re-rank, ms (a mixed plan: update + switches + scoring). */
  estimatedMs: z.number().nonnegative(),
});
export type BackendPlan = z.infer<typeof BackendPlanSchema>;

/** What the SDK's worker asks the probe worker to measure. */
export const ProbeRequestSchema = z.object({ backends: z.array(BackendNameSchema).min(1), wasmPaths: z.string().optional() });
export type ProbeRequest = z.infer<typeof ProbeRequestSchema>;

/** What the probe worker posts back: per-operation timings, the cost of a backend switch, and the plan. */
export const ProbeResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    operations: z.partialRecord(BackendNameSchema, OperationTimingsSchema),
    /** Median ms of switching tfjs's backend there and back between two started backends (the most of any pair). */
    switchMs: z.number().nonnegative(),
    plan: BackendPlanSchema,
    /** Backends that did not start or failed the probe, and why. */
    tried: z.array(z.object({ name: BackendNameSchema, ok: z.boolean(), reason: z.string().optional() })),
  }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type ProbeResult = z.infer<typeof ProbeResultSchema>;

/**
 * A mixed plan is taken only when it beats the best one-backend plan by this fraction: two backends cost a second
 * backend's code, memory and start-up, which a few percent do not pay for (and auto only has to come within 1.1x).
 */
export const MIXED_PLAN_MIN_GAIN = 0.1;

/**
 * The fastest plan for the measured `operations`: the best one backend, or an update backend plus a different
 * scoring backend when `updateMs + switchMs + scoreMs` is at least MIXED_PLAN_MIN_GAIN below it. Ties go to the
 * earlier backend of BACKEND_NAMES, so the same measurements always give the same plan.
 */
export function choosePlan(operations: Partial<Record<BackendName, OperationTimings>>, switchMs: number): BackendPlan {
  const measured = BACKEND_NAMES.filter((b) => operations[b] !== undefined);
  let single: BackendPlan | null = null;
  for (const b of measured) {
    const ms = operations[b]?.rerankMs ?? Infinity;
    if (!single || ms < single.estimatedMs) single = { update: b, scoring: b, estimatedMs: ms };
  }
  if (!single) throw new RangeError('choosePlan: no backend was measured');
  let mixed: BackendPlan | null = null;
  for (const u of measured) {
    for (const s of measured) {
      if (u === s) continue;
      const ms = (operations[u]?.updateMs ?? Infinity) + switchMs + (operations[s]?.scoreMs ?? Infinity);
      if (!mixed || ms < mixed.estimatedMs) mixed = { update: u, scoring: s, estimatedMs: ms };
    }
  }
  return mixed && mixed.estimatedMs * (1 + MIXED_PLAN_MIN_GAIN) < single.estimatedMs ? mixed : single;
}

/** A benchmark's measurements of one backend's re-rank after a play: the update alone, and the whole re-rank, ms. */
export interface MeasuredRerank {
  updateMs: number;
  rerankMs: number;
}

/**
 * What a bench measured a configuration to cost: a one-backend plan's own re-rank, or a mixed plan estimated from one
 * backend's update, the switch there and back, and the other's re-rank less its update. Null when either backend was
 * not measured.
 */
export function measuredPlanMs(
  measured: Partial<Record<BackendName, MeasuredRerank>>,
  plan: Pick<BackendPlan, 'update' | 'scoring'>,
  switchMs: number,
): number | null {
  const a = measured[plan.update];
  const b = measured[plan.scoring];
  if (!a || !b) return null;
  return plan.update === plan.scoring ? a.rerankMs : a.updateMs + switchMs + (b.rerankMs - b.updateMs);
}

/**
 * The fastest configuration among those a bench measured, to judge auto's plan by (no MIXED_PLAN_MIN_GAIN: this is
 * the best, not a choice). Null when nothing was measured.
 */
export function bestMeasuredPlan(measured: Partial<Record<BackendName, MeasuredRerank>>, switchMs: number): BackendPlan | null {
  let best: BackendPlan | null = null;
  for (const update of BACKEND_NAMES) {
    for (const scoring of BACKEND_NAMES) {
      const ms = measuredPlanMs(measured, { update, scoring }, switchMs);
      if (ms !== null && (!best || ms < best.estimatedMs)) best = { update, scoring, estimatedMs: ms };
    }
  }
  return best;
}
