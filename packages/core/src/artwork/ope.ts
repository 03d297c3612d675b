/**
 * Off-policy evaluation over a logged-bandit format: what a target policy's mean reward would have been, estimated
 * from decisions another (logging) policy made, with a 95% interval and the effective sample size.
 *
 * Intervals use the normal approximation (estimate +- 1.96 standard errors): the per-decision terms of IPS and DR
 * are i.i.d. means; SNIPS's standard error comes from the delta method for a ratio; replay's interval is Wilson's
 * for binary rewards (normal otherwise). With heavy-tailed weights (a low-propensity log) the approximation is optimistic: read the effective
 * sample size beside it.
 */
import { z } from 'zod';
import { cholesky } from './taste.ts';
import { fnv1a32, Rng } from './random.ts';

/**
 * One logged decision. `actions` are the choices that were available (each with its features), `action` the index
 * of the one shown, `propensity` the probability the logging policy had of showing it, `reward` what followed (a
 * quality play: 0/1), `position` the slot it was shown in.
 */
export const LoggedDecisionSchema = z.object({
  context: z.array(z.number().finite()).default([]),
  actions: z.array(z.object({ id: z.string().min(1), features: z.array(z.number().finite()).default([]) })).min(1),
  action: z.number().int().nonnegative(),
  position: z.number().int().nonnegative().default(0),
  reward: z.number().finite(),
  propensity: z.number().gt(0).lte(1),
  /** Who/what it was (viewer, title, impression id): for targets that need it, never used by the estimators. */
  meta: z.record(z.string(), z.string()).optional(),
}).refine((d) => d.action < d.actions.length, { message: 'action must index into actions', path: ['action'] });
export type LoggedDecision = z.infer<typeof LoggedDecisionSchema>;

/** A target policy: the probability of each of a decision's actions (sums to 1). */
export type TargetPolicy = (d: LoggedDecision, index: number) => readonly number[];

export const EstimateSchema = z.object({
  estimator: z.enum(['replay', 'ips', 'snips', 'dr', 'dm']),
  value: z.number(),
  ciLow: z.number(),
  ciHigh: z.number(),
  stdError: z.number(),
  /** Effective sample size: (sum w)^2 / sum w^2 for weighted estimators, matched decisions for replay. */
  ess: z.number(),
  n: z.number().int(),
  note: z.string().optional(),
});
export type Estimate = z.infer<typeof EstimateSchema>;

export const OpeReportSchema = z.object({
  target: z.string(),
  decisions: z.number().int(),
  loggedValue: z.number(),
  clip: z.number().nullable(),
  estimates: z.array(EstimateSchema),
});
export type OpeReport = z.infer<typeof OpeReportSchema>;

const Z95 = 1.959963984540054;

function summary(estimator: Estimate['estimator'], value: number, se: number, ess: number, n: number, note?: string): Estimate {
  const e: Estimate = { estimator, value, ciLow: value - Z95 * se, ciHigh: value + Z95 * se, stdError: se, ess, n };
  if (note) e.note = note;
  return e;
}

function meanSe(terms: ArrayLike<number>): { mean: number; se: number } {
  const n = terms.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += terms[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (terms[i]! - mean) ** 2;
  return { mean, se: n > 1 ? Math.sqrt(v / (n - 1) / n) : 0 };
}

/** Importance weights pi(a_i)/p_i, clipped at `clip` when given. */
export function importanceWeights(log: readonly LoggedDecision[], target: TargetPolicy, clip?: number): Float64Array {
  const w = new Float64Array(log.length);
  log.forEach((d, i) => {
    const x = target(d, i)[d.action]! / d.propensity;
    w[i] = clip !== undefined ? Math.min(x, clip) : x;
  });
  return w;
}

export function effectiveSampleSize(w: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i]!;
    s2 += w[i]! * w[i]!;
  }
  return s2 > 0 ? (s * s) / s2 : 0;
}

/** Inverse propensity scoring: mean of w_i r_i. Unbiased without clipping; clipping trades bias for variance. */
export function ips(log: readonly LoggedDecision[], target: TargetPolicy, clip?: number): Estimate {
  const w = importanceWeights(log, target, clip);
  const terms = Float64Array.from(log, (d, i) => w[i]! * d.reward);
  const { mean, se } = meanSe(terms);
  return summary('ips', mean, se, effectiveSampleSize(w), log.length, clip !== undefined ? `weights clipped at ${clip}` : undefined);
}

/** Self-normalised IPS: sum w r / sum w; delta-method standard error. */
export function snips(log: readonly LoggedDecision[], target: TargetPolicy, clip?: number): Estimate {
  const w = importanceWeights(log, target, clip);
  let sw = 0;
  let swr = 0;
  log.forEach((d, i) => {
    sw += w[i]!;
    swr += w[i]! * d.reward;
  });
  if (sw === 0) return summary('snips', NaN, NaN, 0, log.length, 'the target never chooses a logged action');
  const v = swr / sw;
  let s2 = 0;
  log.forEach((d, i) => {
    s2 += (w[i]! * (d.reward - v)) ** 2;
  });
  return summary('snips', v, Math.sqrt(s2) / sw, effectiveSampleSize(w), log.length);
}

/**
 * Replay (Li et al. 2011): the target picks an action per decision (a seeded draw from its probabilities); the
 * decisions where it matches the logged one are kept, and their mean reward is the estimate. Unbiased only on a
 * uniformly random log, which the note says.
 */
export function replay(log: readonly LoggedDecision[], target: TargetPolicy, seed = 1): Estimate {
  const rng = new Rng(fnv1a32(`replay|${seed}`));
  const kept: number[] = [];
  let uniform = true;
  log.forEach((d, i) => {
    if (Math.abs(d.propensity - 1 / d.actions.length) > 1e-9) uniform = false;
    const p = target(d, i);
    let u = rng.next();
    let a = p.length - 1;
    for (let k = 0; k < p.length; k++) if ((u -= p[k]!) < 0) {
      a = k;
      break;
    }
    if (a === d.action) kept.push(d.reward);
  });
  if (kept.length === 0) return summary('replay', NaN, NaN, 0, log.length, 'no logged decision matched the target');
  const { mean, se } = meanSe(kept);
  const note = uniform ? undefined : 'the log is not uniformly random: replay is biased here';
  const e = summary('replay', mean, se, kept.length, log.length, note);
  if (kept.every((r) => r === 0 || r === 1)) {
    // Binary rewards: the Wilson interval, which stays honest at 0 or 1 successes where the normal one collapses.
    const m = kept.length;
    const z2 = Z95 * Z95;
    const centre = (mean + z2 / (2 * m)) / (1 + z2 / m);
    const half = (Z95 * Math.sqrt((mean * (1 - mean)) / m + z2 / (4 * m * m))) / (1 + z2 / m);
    e.ciLow = Math.max(0, centre - half);
    e.ciHigh = Math.min(1, centre + half);
  }
  return e;
}

/** A direct model: predicted reward of an action in a decision. */
export type RewardModel = (d: LoggedDecision, action: number) => number;

/** Features of the direct model: 1, the context, the action's features, the position one-hot (up to 8 slots). */
function dmFeatures(d: LoggedDecision, a: number, ctxDim: number, actDim: number): Float64Array {
  const f = new Float64Array(1 + ctxDim + actDim + 8);
  f[0] = 1;
  for (let i = 0; i < ctxDim; i++) f[1 + i] = d.context[i] ?? 0;
  const af = d.actions[a]!.features;
  for (let i = 0; i < actDim; i++) f[1 + ctxDim + i] = af[i] ?? 0;
  f[1 + ctxDim + actDim + Math.min(d.position, 7)] = 1;
  return f;
}

/** Ridge regression of the reward on the decision's features (the logged action's), fitted on `fit`. */
export function fitRewardModel(fit: readonly LoggedDecision[], ridge = 1): RewardModel {
  const ctxDim = Math.max(0, ...fit.map((d) => d.context.length));
  const actDim = Math.max(0, ...fit.map((d) => d.actions[d.action]!.features.length));
  const p = 1 + ctxDim + actDim + 8;
  const XtX = new Float64Array(p * p);
  const Xty = new Float64Array(p);
  for (const d of fit) {
    const f = dmFeatures(d, d.action, ctxDim, actDim);
    for (let i = 0; i < p; i++) {
      const fi = f[i] ?? 0;
      if (fi === 0) continue;
      Xty[i] = (Xty[i] ?? 0) + fi * d.reward;
      for (let j = 0; j < p; j++) XtX[i * p + j] = (XtX[i * p + j] ?? 0) + fi * (f[j] ?? 0);
    }
  }
  for (let i = 0; i < p; i++) XtX[i * p + i] = (XtX[i * p + i] ?? 0) + ridge;
  const L = cholesky(XtX, p);
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = Xty[i]!;
    for (let k = 0; k < i; k++) s -= L[i * p + k]! * y[k]!;
    y[i] = s / L[i * p + i]!;
  }
  const beta = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k * p + i]! * beta[k]!;
    beta[i] = s / L[i * p + i]!;
  }
  return (d, a) => {
    const f = dmFeatures(d, a, ctxDim, actDim);
    let s = 0;
    for (let i = 0; i < p; i++) if (f[i] !== 0) s += f[i]! * beta[i]!;
    return s;
  };
}

/**
 * Doubly robust: DM(x) + w (r - q(x, a)), with a direct model cross-fitted on two halves (each half is predicted by
 * the model fitted on the other), so its own errors do not leak into the estimate.
 */
export function doublyRobust(log: readonly LoggedDecision[], target: TargetPolicy, opts: { clip?: number; model?: RewardModel } = {}): Estimate {
  const models: RewardModel[] = opts.model
    ? [opts.model, opts.model]
    : [fitRewardModel(log.filter((_, i) => i % 2 === 1)), fitRewardModel(log.filter((_, i) => i % 2 === 0))];
  const w = importanceWeights(log, target, opts.clip);
  const terms = new Float64Array(log.length);
  log.forEach((d, i) => {
    const q = models[i % 2]!;
    const p = target(d, i);
    let dm = 0;
    for (let a = 0; a < p.length; a++) if (p[a]! > 0) dm += p[a]! * q(d, a);
    terms[i] = dm + w[i]! * (d.reward - q(d, d.action));
  });
  const { mean, se } = meanSe(terms);
  return summary('dr', mean, se, effectiveSampleSize(w), log.length, opts.model ? undefined : 'direct model: ridge on context, action features and position, 2-fold cross-fitted');
}

/** Every estimator for one target. */
export function evaluatePolicy(log: readonly LoggedDecision[], target: TargetPolicy, name: string, opts: { clip?: number; seed?: number } = {}): OpeReport {
  let r = 0;
  for (const d of log) r += d.reward;
  return {
    target: name,
    decisions: log.length,
    loggedValue: log.length ? r / log.length : NaN,
    clip: opts.clip ?? null,
    estimates: [replay(log, target, opts.seed), ips(log, target, opts.clip), snips(log, target, opts.clip), doublyRobust(log, target, { clip: opts.clip })],
  };
}

/** Standard targets that need nothing but the log. */
export const uniformTarget: TargetPolicy = (d) => new Array<number>(d.actions.length).fill(1 / d.actions.length);

/** Greedy on a score per action (ties split evenly): e.g. the population's rates. */
export function greedyTarget(score: (d: LoggedDecision, action: number) => number): TargetPolicy {
  return (d) => {
    const s = d.actions.map((_, a) => score(d, a));
    const m = Math.max(...s);
    const best = s.map((x) => (x >= m - 1e-12 ? 1 : 0));
    const n = best.reduce((a: number, b) => a + b, 0);
    return best.map((b) => b / n);
  };
}

/** Per-action reward rate in a log (by action id, shrunk towards the log's mean by `prior` pseudo-decisions). */
export function actionRates(log: readonly LoggedDecision[], prior = 20): (id: string) => number {
  let total = 0;
  const by = new Map<string, { n: number; r: number }>();
  for (const d of log) {
    const id = d.actions[d.action]!.id;
    const s = by.get(id) ?? { n: 0, r: 0 };
    s.n++;
    s.r += d.reward;
    by.set(id, s);
    total += d.reward;
  }
  const mean = log.length ? total / log.length : 0;
  return (id) => {
    const s = by.get(id);
    return s ? (s.r + prior * mean) / (s.n + prior) : mean;
  };
}
