/**
 * Off-policy evaluation over a logged-bandit format: what a target policy's mean reward would have been, estimated
 * from decisions another (logging) policy made, with a 95% interval and the effective sample size.
 *
 * Intervals use the normal approximation (estimate +- 1.96 standard errors) by default: the per-decision terms of IPS
 * and DR are i.i.d. means; SNIPS's standard error comes from the delta method for a ratio; replay's interval is
 * Wilson's for binary rewards (normal otherwise). Unequal weights make the estimate and its standard error move
 * together (a log that under-samples a rare high-weight action is low on both), so the normal interval undercovers
 * on small or low-propensity logs; `bootstrap` asks IPS, SNIPS and DR for a studentized bootstrap interval instead
 * (`bootstrapT`). Read the effective sample size beside either.
 */
import { z } from 'zod';
import { cholesky, choleskySolve } from './taste.ts';
import { fnv1a32, Rng } from './random.ts';
import { quantile } from '../stats.ts';

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
  /** How [ciLow, ciHigh] was computed: estimate +- 1.96 stdError, Wilson's score interval, or bootstrap-t. */
  interval: z.enum(['normal', 'wilson', 'bootstrap-t']),
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
  const e: Estimate = { estimator, value, ciLow: value - Z95 * se, ciHigh: value + Z95 * se, stdError: se, ess, n, interval: 'normal' };
  if (note) e.note = note;
  return e;
}

/** A bootstrap-t interval in place of the normal one: `resamples` resamples of the log, drawn from a stream seeded by `seed`. */
export type BootstrapOption = { resamples: number; seed: number };

/**
 * Studentized bootstrap (bootstrap-t) 95% interval of a mean of terms a_i (`b` null: IPS, DR) or of a ratio
 * sum a_i / sum b_i (SNIPS: a = w r, b = w). Each resample draws n decisions with replacement and computes
 * t* = (V* - V) / se*, with se* the same formula as the estimate's own standard error (sample sd / sqrt(n) for a
 * mean; sqrt(sum (a - V b)^2) / sum b for the ratio); the interval is [V - t*(97.5%) se, V - t*(2.5%) se] (quantiles
 * type 7). Why studentized rather than percentile: the error of these estimators is skewed and correlated with their
 * standard error, which the percentile interval does not correct and bootstrap-t does (second-order accurate, Hall
 * 1988). A resample with se* = 0 counts as t* = 0 when V* = V, else +-infinity (the interval then says so); one with
 * sum b = 0 (SNIPS: no weight at all) has no estimate and is left out. The draws
 * come from `Rng(fnv1a32("bootstrap|" + seed))`, so a run is repeatable.
 */
export function bootstrapT(a: ArrayLike<number>, b: ArrayLike<number> | null, value: number, se: number, opt: BootstrapOption): [number, number] {
  const n = a.length;
  const rng = new Rng(fnv1a32(`bootstrap|${opt.seed}`));
  const t: number[] = [];
  for (let k = 0; k < opt.resamples; k++) {
    let sa = 0;
    let saa = 0;
    let sb = 0;
    let sab = 0;
    let sbb = 0;
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      const x = a[j]!;
      sa += x;
      saa += x * x;
      if (b) {
        const y = b[j]!;
        sb += y;
        sab += x * y;
        sbb += y * y;
      }
    }
    let v: number;
    let s: number;
    if (b) {
      v = sb > 0 ? sa / sb : NaN;
      s = sb > 0 ? Math.sqrt(Math.max(0, saa - 2 * v * sab + v * v * sbb)) / sb : NaN;
    } else {
      v = sa / n;
      s = n > 1 ? Math.sqrt(Math.max(0, (saa - n * v * v) / (n - 1)) / n) : 0;
    }
    // A resample without any weight (SNIPS) has no estimate and is left out.
    if (Number.isFinite(v)) t.push(s > 1e-12 * Math.max(1, Math.abs(v)) ? (v - value) / s : v === value ? 0 : (v - value) * Infinity);
  }
  if (t.length === 0) return [-Infinity, Infinity];
  t.sort((x, y) => x - y);
  // Interpolating next to an infinite t* gives NaN (0 x infinity): the infinite end is the quantile then.
  const at = (p: number) => {
    const x = quantile(t, p);
    return Number.isNaN(x) ? t[Math.floor((t.length - 1) * p)]! : x;
  };
  return [value - at(0.975) * se, value - at(0.025) * se];
}

function withBootstrap(e: Estimate, a: ArrayLike<number>, b: ArrayLike<number> | null, opt: BootstrapOption | undefined): Estimate {
  if (!opt || !Number.isFinite(e.value)) return e;
  const [lo, hi] = bootstrapT(a, b, e.value, e.stdError, opt);
  return { ...e, ciLow: lo, ciHigh: hi, interval: 'bootstrap-t' };
}

/** Wilson's score interval for a proportion p observed over m (possibly effective) trials. */
function wilson(p: number, m: number): [number, number] {
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * m)) / (1 + z2 / m);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / m + z2 / (4 * m * m))) / (1 + z2 / m);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * When every decision the target would show has the same 0/1 reward (no quality play among them, or only plays), the
 * spread of IPS's and SNIPS's terms is 0 and the normal (or bootstrap) interval is a point: certainty claimed from a
 * few effective decisions (OBD's `priors` target: 44). The interval is then Wilson's for SNIPS's proportion over the
 * effective sample size (Kish's (sum w)^2 / sum w^2), times mean(w) for IPS (IPS = mean(w) x SNIPS).
 */
function collapsed(e: Estimate, w: Float64Array, log: readonly LoggedDecision[]): Estimate | null {
  if (e.stdError !== 0 || !(e.ess > 0)) return null;
  let reward: number | null = null;
  let sw = 0;
  for (let i = 0; i < log.length; i++) {
    if (w[i] === 0) continue;
    const r = log[i]!.reward;
    if ((r !== 0 && r !== 1) || (reward !== null && r !== reward)) return null;
    reward = r;
    sw += w[i]!;
  }
  if (reward === null) return null;
  const scale = e.estimator === 'ips' ? sw / log.length : 1;
  const [lo, hi] = wilson(reward, e.ess);
  return { ...e, ciLow: scale * lo, ciHigh: scale * hi, interval: 'wilson', note: [e.note, `every weighted decision has reward ${reward}: Wilson interval over the effective sample size`].filter(Boolean).join('; ') };
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

/**
 * Inverse propensity scoring: V = (1/n) sum w_i r_i. Unbiased without clipping; clipping trades bias for variance.
 * The decisions are independent and the propensities known, so the terms w_i r_i are i.i.d. and
 * Var(V) = Var(w r) / n, estimated by the terms' sample variance (n - 1) over n. With clipping this is the variance
 * of the clipped estimator; its bias (the clipped-off weight) is not in the interval.
 */
export function ips(log: readonly LoggedDecision[], target: TargetPolicy, clip?: number, bootstrap?: BootstrapOption): Estimate {
  const w = importanceWeights(log, target, clip);
  const terms = Float64Array.from(log, (d, i) => w[i]! * d.reward);
  const { mean, se } = meanSe(terms);
  const e = summary('ips', mean, se, effectiveSampleSize(w), log.length, clip !== undefined ? `weights clipped at ${clip}` : undefined);
  return collapsed(e, w, log) ?? withBootstrap(e, terms, null, bootstrap);
}

/**
 * Self-normalised IPS: V = sum w_i r_i / sum w_i, a ratio of two means, so not IPS's variance. Delta method:
 * V - V* ~ (mean(w r) - V* mean(w)) / E[w] = mean(w (r - V*)) / E[w], hence Var(V) ~ E[w^2 (r - V*)^2] / (n E[w]^2),
 * estimated by plugging in V and mean(w): se = sqrt(sum w_i^2 (r_i - V)^2) / sum w_i.
 */
export function snips(log: readonly LoggedDecision[], target: TargetPolicy, clip?: number, bootstrap?: BootstrapOption): Estimate {
  const w = importanceWeights(log, target, clip);
  const wr = Float64Array.from(log, (d, i) => w[i]! * d.reward);
  let sw = 0;
  let swr = 0;
  for (let i = 0; i < log.length; i++) {
    sw += w[i]!;
    swr += wr[i]!;
  }
  if (sw === 0) return summary('snips', NaN, NaN, 0, log.length, 'the target never chooses a logged action');
  const v = swr / sw;
  let s2 = 0;
  for (let i = 0; i < log.length; i++) s2 += (wr[i]! - w[i]! * v) ** 2;
  const e = summary('snips', v, Math.sqrt(s2) / sw, effectiveSampleSize(w), log.length);
  return collapsed(e, w, log) ?? withBootstrap(e, wr, w, bootstrap);
}

/**
 * Replay (Li et al. 2011): the target picks an action per decision (a seeded draw from its probabilities); the
 * decisions where it matches the logged one are kept, and their mean reward is the estimate. Unbiased only on a
 * uniformly random log over the same number of actions everywhere, which the note says: a decision is kept with
 * probability sum_a pi(a) / K, so where K varies (titles with 3 to 6 artworks) the kept ones over-represent the
 * decisions with few actions (measured in bench:ope: the oracle's replay estimate 0.61 standard errors low on average,
 * its interval covering 90.6% of 1,000 logs).
 */
export function replay(log: readonly LoggedDecision[], target: TargetPolicy, seed = 1): Estimate {
  const rng = new Rng(fnv1a32(`replay|${seed}`));
  const kept: number[] = [];
  let uniform = true;
  const actionCount = log[0]?.actions.length ?? 0;
  let sameActionCount = true;
  log.forEach((d, i) => {
    if (Math.abs(d.propensity - 1 / d.actions.length) > 1e-9) uniform = false;
    if (d.actions.length !== actionCount) sameActionCount = false;
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
  const note = !uniform
    ? 'the log is not uniformly random: replay is biased here'
    : !sameActionCount
      ? 'the number of actions varies across decisions: replay over-weights those with few and is biased here'
      : undefined;
  const e = summary('replay', mean, se, kept.length, log.length, note);
  if (kept.every((r) => r === 0 || r === 1)) {
    // Binary rewards: the Wilson interval, which stays honest at 0 or 1 successes where the normal one collapses.
    [e.ciLow, e.ciHigh] = wilson(mean, kept.length);
    e.interval = 'wilson';
  }
  return e;
}

/** A direct model: predicted reward of an action in a decision. */
export type RewardModel = (d: LoggedDecision, action: number) => number;

/** Slots with their own intercept in the direct model; later positions share the last one. */
const DM_POSITIONS = 8;

/**
 * Ridge regression of the reward on the decision's features (the logged action's), fitted on `fit`: 1, the context,
 * the action's features, the position one-hot (up to 8 slots). Predictions read the coefficients directly (no
 * feature vector per call): DR asks for every available action of every decision.
 */
export function fitRewardModel(fit: readonly LoggedDecision[], ridge = 1): RewardModel {
  let ctxDim = 0;
  let actDim = 0;
  for (const d of fit) {
    ctxDim = Math.max(ctxDim, d.context.length);
    actDim = Math.max(actDim, d.actions[d.action]!.features.length);
  }
  const posBase = 1 + ctxDim + actDim;
  const p = posBase + DM_POSITIONS;
  const XtX = new Float64Array(p * p);
  const Xty = new Float64Array(p);
  // The decision's non-zero features as (index, value) pairs: the one-hot and theme features are mostly zero.
  const idx = new Int32Array(p);
  const val = new Float64Array(p);
  for (const d of fit) {
    let nz = 0;
    idx[nz] = 0;
    val[nz++] = 1;
    for (let i = 0; i < ctxDim; i++) {
      const x = d.context[i] ?? 0;
      if (x !== 0) (idx[nz] = 1 + i), (val[nz++] = x);
    }
    const af = d.actions[d.action]!.features;
    for (let i = 0; i < actDim; i++) {
      const x = af[i] ?? 0;
      if (x !== 0) (idx[nz] = 1 + ctxDim + i), (val[nz++] = x);
    }
    idx[nz] = posBase + Math.min(d.position, DM_POSITIONS - 1);
    val[nz++] = 1;
    // idx is increasing, so v >= u fills the upper triangle; mirrored below.
    for (let u = 0; u < nz; u++) {
      const i = idx[u]!;
      const fi = val[u]!;
      Xty[i] = Xty[i]! + fi * d.reward;
      for (let v = u; v < nz; v++) {
        const k = i * p + idx[v]!;
        XtX[k] = XtX[k]! + fi * val[v]!;
      }
    }
  }
  for (let i = 0; i < p; i++) {
    XtX[i * p + i] = XtX[i * p + i]! + ridge;
    for (let j = 0; j < i; j++) XtX[i * p + j] = XtX[j * p + i]!;
  }
  const beta = choleskySolve(cholesky(XtX, p), Xty, p);
  return (d, a) => {
    let s = beta[0]!;
    for (let i = 0; i < ctxDim; i++) s += (d.context[i] ?? 0) * beta[1 + i]!;
    const af = d.actions[a]!.features;
    for (let i = 0; i < actDim; i++) s += (af[i] ?? 0) * beta[1 + ctxDim + i]!;
    return s + beta[posBase + Math.min(d.position, DM_POSITIONS - 1)]!;
  };
}

/**
 * The direct models of DR's 2-fold cross-fit: `[0]` predicts the even-indexed decisions and is fitted on the odd ones,
 * `[1]` the reverse. They do not depend on the target, so one pair serves every target evaluated on a log.
 */
export function crossFitRewardModels(log: readonly LoggedDecision[]): readonly [RewardModel, RewardModel] {
  return [fitRewardModel(log.filter((_, i) => i % 2 === 1)), fitRewardModel(log.filter((_, i) => i % 2 === 0))];
}

/**
 * Doubly robust: the mean of phi_i = sum_a pi(a|x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)), with the direct model q
 * cross-fitted on two halves (`crossFitRewardModels`: each half is predicted by the model fitted on the other), so its
 * own errors do not leak into the estimate.
 *
 * Standard error: sd(phi) / sqrt(n), with phi computed with the fitted q, so the interval carries the direct
 * model's part of the variance (sum_a pi q - w q) as estimated, not IPS's. Why that is the whole variance: the
 * logged propensities are the true ones, so E[phi_i | q] = V for any q fixed apart from decision i; a decision's q
 * comes from the other half, so given that half its half's phi are i.i.d. with mean V. Writing
 * phi(q) = phi(q*) + (phi(q) - phi(q*)) for the limit q*, the second part has mean zero given the other half and
 * size O(|q - q*|), so it adds to the variance only at second order, O(|q - q*|^2 / n) (the cross-fitting argument
 * of double machine learning); var(phi) with the fitted q estimates the first-order term.
 */
export function doublyRobust(
  log: readonly LoggedDecision[],
  target: TargetPolicy,
  opts: { clip?: number; model?: RewardModel; models?: readonly [RewardModel, RewardModel]; bootstrap?: BootstrapOption } = {},
): Estimate {
  const models = opts.model ? [opts.model, opts.model] : (opts.models ?? crossFitRewardModels(log));
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
  // The bootstrap resamples the terms with the fitted models held fixed: their part of the variance is second order.
  const e = summary('dr', mean, se, effectiveSampleSize(w), log.length, opts.model ? undefined : 'direct model: ridge on context, action features and position, 2-fold cross-fitted');
  return withBootstrap(e, terms, null, opts.bootstrap);
}

/** Every estimator for one target. */
export function evaluatePolicy(
  log: readonly LoggedDecision[],
  target: TargetPolicy,
  name: string,
  opts: { clip?: number; seed?: number; models?: readonly [RewardModel, RewardModel]; bootstrapResamples?: number } = {},
): OpeReport {
  const bootstrap = opts.bootstrapResamples ? { resamples: opts.bootstrapResamples, seed: opts.seed ?? 1 } : undefined;
  let r = 0;
  for (const d of log) r += d.reward;
  return {
    target: name,
    decisions: log.length,
    loggedValue: log.length ? r / log.length : NaN,
    clip: opts.clip ?? null,
    estimates: [
      replay(log, target, opts.seed),
      ips(log, target, opts.clip, bootstrap),
      snips(log, target, opts.clip, bootstrap),
      doublyRobust(log, target, { clip: opts.clip, models: opts.models, bootstrap }),
    ],
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
