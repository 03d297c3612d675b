import { describe, expect, it } from 'vitest';
import { BackendPlanSchema, bestMeasuredPlan, choosePlan, measuredPlanMs, MIXED_PLAN_MIN_GAIN, ProbeResultSchema, type OperationTimings } from '../src/index.ts';

const op = (rerankMs: number, updateMs: number, scoreMs: number): OperationTimings => ({ rerankMs, updateMs, scoreMs });

describe('choosePlan', () => {
  it('keeps one backend when it is fastest at both operations (this machine: wasm)', () => {
    // The shape of a SwiftShader machine's probe: software GPU backends slower at everything.
    const plan = choosePlan({ webgpu: op(122, 80, 45), webgl: op(27, 12, 16), wasm: op(6.1, 2.4, 4.0), cpu: op(16, 3.1, 13) }, 0.05);
    expect(plan).toEqual({ update: 'wasm', scoring: 'wasm', estimatedMs: 6.1 });
  });

  it('splits update and scoring when that measured faster by more than the margin, switches included', () => {
    // A real GPU: many small dispatches make its update slow; its catalog scoring is fast.
    const plan = choosePlan({ webgpu: op(10.5, 9.5, 1.2), wasm: op(6.0, 1.6, 4.3), cpu: op(45, 39.7, 4.8) }, 0.1);
    expect(plan).toEqual({ update: 'wasm', scoring: 'webgpu', estimatedMs: 1.6 + 0.1 + 1.2 });
  });

  it('stays on one backend when the mixed plan wins by less than the margin, or when the switch eats the gain', () => {
    const one = op(10, 5, 5);
    const almost = 10 / (1 + MIXED_PLAN_MIN_GAIN) + 0.01; // mixed: 4 + 0 + (almost - 4)
    expect(choosePlan({ wasm: one, webgl: op(20, 10, almost - 4) }, 0)).toMatchObject({ update: 'wasm', scoring: 'wasm' });
    expect(choosePlan({ wasm: one, webgl: op(20, 10, 1) }, 0)).toMatchObject({ update: 'wasm', scoring: 'webgl' });
    expect(choosePlan({ wasm: one, webgl: op(20, 10, 1) }, 4)).toMatchObject({ update: 'wasm', scoring: 'wasm' });
  });

  it('is deterministic on ties (BACKEND_NAMES order) and refuses no measurement', () => {
    expect(choosePlan({ cpu: op(5, 2, 3), wasm: op(5, 2, 3) }, 0)).toEqual({ update: 'wasm', scoring: 'wasm', estimatedMs: 5 });
    expect(() => choosePlan({}, 0)).toThrow(/no backend was measured/);
  });

  it('a probe answer is parsed with its schema on arrival', () => {
    const plan = choosePlan({ wasm: op(6, 2, 4) }, 0);
    expect(BackendPlanSchema.parse(plan)).toEqual(plan);
    expect(ProbeResultSchema.safeParse({ ok: true, operations: { wasm: op(6, 2, 4) }, switchMs: 0, plan, tried: [] }).success).toBe(true);
    expect(ProbeResultSchema.safeParse({ ok: true, operations: { metal: op(6, 2, 4) }, switchMs: 0, plan, tried: [] }).success).toBe(false);
    expect(ProbeResultSchema.safeParse({ ok: true, plan }).success).toBe(false);
  });
});

describe('bestMeasuredPlan', () => {
  it('takes the fastest measured configuration, a mixed one estimated from its halves plus the switch', () => {
    // The shape of a real GPU's bench: a slow update, fast scoring, against wasm's fast update.
    const measured = { webgpu: { updateMs: 9.5, rerankMs: 11 }, wasm: { updateMs: 1.6, rerankMs: 6 } };
    expect(bestMeasuredPlan(measured, 0.2)).toEqual({ update: 'wasm', scoring: 'webgpu', estimatedMs: 1.6 + 0.2 + (11 - 9.5) });
    // A switch dearer than the gain leaves the best one-backend plan.
    expect(bestMeasuredPlan(measured, 5)).toEqual({ update: 'wasm', scoring: 'wasm', estimatedMs: 6 });
    expect(bestMeasuredPlan({}, 0)).toBeNull();
  });
});

describe('measuredPlanMs', () => {
  it('costs a chosen plan from the same measurements as the best, so a choice equal to the best scores exactly 1x', () => {
    const measured = { webgpu: { updateMs: 9.5, rerankMs: 11 }, wasm: { updateMs: 1.6, rerankMs: 6 } };
    const best = bestMeasuredPlan(measured, 0.2);
    expect(best && measuredPlanMs(measured, best, 0.2)).toBe(best?.estimatedMs);
    expect(measuredPlanMs(measured, { update: 'wasm', scoring: 'wasm' }, 0.2)).toBe(6);
    expect(measuredPlanMs(measured, { update: 'webgpu', scoring: 'wasm' }, 0.2)).toBeCloseTo(9.5 + 0.2 + (6 - 1.6), 12);
    // A plan on a backend the bench could not start has no measured cost.
    expect(measuredPlanMs(measured, { update: 'cpu', scoring: 'wasm' }, 0.2)).toBeNull();
  });
});
