/**
 * An experiment's results from its unit rows: exposed units and SRM, then per metric each treatment against the
 * control with a fixed-horizon interval (Welch; delta method for the take rate), an always-valid one (mSPRT), and
 * CUPED next to the raw estimate where a pre-exposure covariate exists. All statistics come from @marquee/core.
 */
import {
  controlOf, cuped, cupedSums, interleavingResults, moments, ratioDifference, sequentialTest, srmTest, welch,
  type Experiment, type ExperimentResults, type MetricResult, type RatioSums, type UnitTeamCredit,
} from '@marquee/core';
import { PRE_PERIOD_MS, QUALITY_FRACTION, type UnitRow } from './units.ts';

/** The mSPRT's mixing scale: effects of about 5% of the control mean are the ones it is tuned to find fastest. */
export const MSPRT_RELATIVE_TAU = 0.05;

/** An experiment with a variant that interleaves two rankers (team draft in Top Picks). */
export const interleaves = (e: Experiment) => e.variants.some((v) => v.params.interleaveWith !== undefined);

/** `credits`: the units' team credits (interleaving.ts), for an experiment that interleaves. */
export function analyse(e: Experiment, rows: readonly UnitRow[], opts: { alpha?: number; computedAt?: number; tookMs?: number; credits?: readonly UnitTeamCredit[] } = {}): ExperimentResults {
  const alpha = opts.alpha ?? 0.05;
  const control = controlOf(e);
  const variants = e.variants.map((v) => v.id);
  const byVariant = new Map(variants.map((v) => [v, [] as UnitRow[]]));
  for (const r of rows) byVariant.get(r.variant)?.push(r);
  const exposed = variants.map((v) => byVariant.get(v)!.length);
  // One variant (an interleaving-only experiment) has no ratio to mismatch.
  const srm = variants.length > 1 ? srmTest(exposed, e.variants.map((v) => v.weight)) : { chiSquare: 0, df: 0, pValue: 1, mismatch: false };
  const treatments = variants.filter((v) => v !== control);
  const arm = (v: string) => byVariant.get(v)!;

  const alwaysValid = (d: ReturnType<typeof welch>, controlValue: number) => {
    if (!(d.se > 0)) return { ci: d.ci, pValue: d.pValue };
    const tau = Math.abs(controlValue) * MSPRT_RELATIVE_TAU;
    const s = sequentialTest(d, tau > 0 ? tau * tau : Math.max(d.se * d.se, 1e-12), alpha);
    return { ci: s.ci, pValue: s.pValue };
  };
  const plain = (d: ReturnType<typeof welch>) => ({ estimate: d.estimate, relative: d.relative, se: d.se, ci: d.ci, pValue: d.pValue });

  const meanMetric = (metric: string, y: (r: UnitRow) => number, x?: (r: UnitRow) => number): MetricResult => {
    const c = arm(control);
    const mc = moments(c.map(y));
    return {
      metric,
      kind: 'mean',
      arms: variants.map((v) => ({ variant: v, n: arm(v).length, value: moments(arm(v).map(y)).mean })),
      vsControl: treatments.map((t) => {
        const d = welch(mc, moments(arm(t).map(y)), alpha);
        const out: MetricResult['vsControl'][number] = { variant: t, fixedHorizon: plain(d), alwaysValid: alwaysValid(d, mc.mean) };
        if (x && c.length > 1 && arm(t).length > 1) {
          const cu = cuped(cupedSums(c.map(y), c.map(x)), cupedSums(arm(t).map(y), arm(t).map(x)), alpha);
          out.cuped = { ...plain(cu), theta: cu.theta, widthRatio: cu.widthRatio };
        }
        return out;
      }),
    };
  };

  const proportion = (metric: string, y: (r: UnitRow) => number | null): MetricResult => {
    const values = (v: string) => arm(v).map(y).filter((b): b is number => b !== null);
    const mc = moments(values(control));
    return {
      metric,
      kind: 'proportion',
      arms: variants.map((v) => ({ variant: v, n: values(v).length, value: moments(values(v)).mean })),
      // Units whose day has not ended yet are not counted; a comparison needs two units per arm.
      vsControl: treatments.filter((t) => mc.n > 1 && values(t).length > 1).map((t) => {
        const d = welch(mc, moments(values(t)), alpha);
        return { variant: t, fixedHorizon: plain(d), alwaysValid: alwaysValid(d, mc.mean) };
      }),
    };
  };

  const takeRate = (): MetricResult => {
    const sums = (v: string): RatioSums => {
      const s = { n: 0, sumX: 0, sumY: 0, sumXX: 0, sumYY: 0, sumXY: 0 };
      for (const r of arm(v)) {
        s.n++;
        s.sumX += r.plays;
        s.sumY += r.impressions;
        s.sumXX += r.plays ** 2;
        s.sumYY += r.impressions ** 2;
        s.sumXY += r.plays * r.impressions;
      }
      return s;
    };
    const rate = (s: RatioSums) => (s.sumY > 0 ? s.sumX / s.sumY : 0);
    const sc = sums(control);
    return {
      metric: 'homepage_take_rate',
      kind: 'ratio',
      arms: variants.map((v) => ({ variant: v, n: arm(v).length, value: rate(sums(v)) })),
      vsControl: treatments.map((t) => {
        const ok = sc.n > 1 && sc.sumY > 0 && sums(t).n > 1 && sums(t).sumY > 0;
        const d = ok ? ratioDifference(sc, sums(t), alpha) : { estimate: 0, se: 0, ci: [0, 0] as [number, number], pValue: 1, df: Infinity };
        return { variant: t, fixedHorizon: plain(d), alwaysValid: alwaysValid(d, rate(sc)) };
      }),
    };
  };

  const enough = variants.every((v) => arm(v).length >= 2);
  return {
    experiment: e.id,
    control,
    computedAt: opts.computedAt ?? Date.now(),
    tookMs: opts.tookMs ?? 0,
    units: variants.map((v, i) => ({ variant: v, exposed: exposed[i]!, exposureEvents: arm(v).reduce((n, r) => n + r.exposures, 0), designWeight: e.variants[i]!.weight })),
    unitsInSeveralVariants: rows.filter((r) => r.nVariants > 1).length,
    srm: { chiSquare: srm.chiSquare, df: srm.df, pValue: srm.pValue, mismatch: srm.mismatch },
    metrics: enough
      ? [
          meanMetric('plays_per_unit', (r) => r.plays, (r) => r.prePlays),
          meanMetric('quality_plays_per_unit', (r) => r.qualityPlays, (r) => r.prePlays),
          meanMetric('viewing_hours_per_unit', (r) => r.viewingHours, (r) => r.preViewingHours),
          takeRate(),
          proportion('day1_return', (r) => r.day1),
          proportion('day7_return', (r) => r.day7),
        ]
      : [],
    ...(interleaves(e) ? { interleaving: interleavingResults(opts.credits ?? [], variants, alpha) } : {}),
    inference: {
      fixedHorizon: `Welch t, two-sided, ${100 * (1 - alpha)}% (delta method, normal, for ratio metrics): valid when read once at the planned end`,
      alwaysValid: `mixture SPRT (normal mixture, tau = ${MSPRT_RELATIVE_TAU * 100}% of the control mean): valid however often it is read`,
      cuped: `CUPED with the same metric over the ${PRE_PERIOD_MS / 86_400_000} days before exposure as covariate (theta pooled over arms)`,
      alpha,
    },
    definitions: {
      exposed_unit: 'a member (userId, else anonymousId) with a $exposure event for the experiment; variant of the first exposure',
      plays_per_unit: 'play_start events at or after the first exposure, per exposed unit',
      quality_plays_per_unit: `(session, title) pairs watched to at least ${QUALITY_FRACTION * 100}% of the duration after exposure, per unit`,
      viewing_hours_per_unit: 'furthest position per (session, title) after exposure, summed, in hours, per unit',
      homepage_take_rate: 'plays / impressions after exposure (ratio of sums, delta method)',
      day1_return: 'share of units with any event on day 1 after exposure (units whose day 1 has ended)',
      day7_return: 'share of units with any event on day 7 after exposure (units whose day 7 has ended)',
      ...(interleaves(e)
        ? {
            interleaving_preference:
              "team A is the variant's own ranking, team B the ranking in interleaveWith; a play_start is credited to the team of the interleaved impression it names (impressionId, same unit); per unit +1 when more plays went to A, -1 when more went to B, 0 otherwise (no play included); the preference is the mean over units with an interleaved impression, normal 95% interval",
          }
        : {}),
      ...(enough ? {} : { note: 'fewer than two exposed units in some variant: no metrics yet' }),
    },
  };
}
