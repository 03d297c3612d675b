/**
 * Artwork selection policies, pure and deterministic given a seed. Each returns the chosen artwork, its exact
 * propensity and the probability of every artwork (so a log can be replayed and a target policy evaluated offline).
 *
 * - uniform: 1/K each.
 * - population: the population's best rate (non-contextual), epsilon-greedy; closed form.
 * - epsilon-greedy: the viewer's posterior mean score, epsilon-greedy; closed form.
 * - linucb: posterior mean + alpha * sd; deterministic (ties split evenly); closed form.
 * - thompson (default): a draw of the viewer's taste from the posterior picks the artwork, except for a uniform
 *   floor: epsilon (10%) of choices are uniform at random. A visit draws `thompsonDraws` (128) tastes from a stream
 *   seeded by its seed key (viewer and visit); each card is chosen by one of them, picked by a stream seeded by the
 *   seed key and the title, so the cards of a page are chosen by different draws. The propensity is epsilon / K plus
 *   (1 - epsilon) times the share of the 128 draws won by the chosen artwork: the exact probability of the choice
 *   given the visit's draws, never below epsilon / K, which replaying the log with the viewer's state recomputes.
 *   Why the floor (artwork-5): the population's model that every viewer's prior comes from is fitted on the policy's
 *   own log reweighted by 1 / (K x propensity). Without a floor Thompson sampling leaves the artworks it avoids with
 *   Monte-Carlo propensities of 1/128 or so, which both under-weights them (a true 0.001 logs as 1/128) and makes
 *   the few that are shown weigh up to 128 / K: on its own log the fit's history weights came out at -3.3 where a
 *   uniform log's are +0.02 to +0.28, and the policy chose below uniform (bench:artwork, README "Artwork"). With
 *   1,024 draws the fit was no longer wild but noisy (weights -0.25 to +0.23; 1% of the oracle's lift); with the
 *   floor every weight is at most 1 / epsilon and the fit's history weights came out +0.01 to +0.44.
 *
 * Scores are in reward-rate units: score = population rate + taste . centred theme features.
 */
import { z } from 'zod';
import { FEATURE_DIM } from './features.ts';
import { fnv1a32, Rng } from './random.ts';
import { cholesky, TASTE_DIM, type TastePosterior } from './taste.ts';

export const POLICY_NAMES = ['thompson', 'linucb', 'epsilon-greedy', 'population', 'uniform'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
/** Bumped whenever a policy's choices or propensities change for the same inputs. */
export const POLICY_VERSION = 'artwork-5';

export const BanditConfigSchema = z.object({
  policy: z.enum(POLICY_NAMES),
  /** Reward noise variance (a ~20% quality-play rate has Bernoulli variance ~0.16). */
  noiseVar: z.number().positive(),
  /**
   * Prior precision of the taste weights: prior sd = sqrt(noiseVar / priorPrecision). 150 gives sd 0.03 in
   * quality-play rate per theme: the size of a theme's effect (a logit effect of ~0.5 at a ~10% play rate moves the
   * rate by a few points). A wider prior (4 until artwork-2: sd 0.19) let Thompson sampling draw tastes ten times
   * larger than any real one, and so explore at random.
   */
  priorPrecision: z.number().positive(),
  /**
   * Share of choices made uniformly at random: epsilon-greedy's and population's exploration, and Thompson sampling's
   * floor (every artwork keeps a propensity of at least epsilon / K, so the population fit's weights stay bounded).
   */
  epsilon: z.number().min(0).max(1),
  ucbAlpha: z.number().nonnegative(),
  thompsonDraws: z.number().int().min(1).max(100_000),
  /** A viewer's artwork for a title is kept this long once chosen. */
  stickinessMs: z.number().int().nonnegative(),
});
export type BanditConfig = z.infer<typeof BanditConfigSchema>;

export const BANDIT_DEFAULTS: Readonly<BanditConfig> = Object.freeze({
  policy: 'thompson',
  noiseVar: 0.15,
  priorPrecision: 150,
  epsilon: 0.1,
  ucbAlpha: 1,
  thompsonDraws: 128,
  stickinessMs: 7 * 86_400_000,
});

export interface SelectionInput {
  /** Centred features of each artwork (titleFeatures). */
  features: readonly ArrayLike<number>[];
  /** Population reward rate of each artwork (priors). */
  rates: readonly number[];
  /** The viewer's posterior; absent for a viewer the policy does not personalise (uniform, population). */
  taste?: TastePosterior;
  /** Identity of this decision (the viewer and the visit, see seedKeyFor): seeds every random draw. */
  seedKey: string;
  /** What is being chosen for (the title id): seeds the policy's own draws together with seedKey. */
  item: string;
  /** Thompson sampling's taste draws for this seedKey and posterior (tasteDraws), when the caller caches them. */
  draws?: Float64Array;
}

export interface Selection {
  index: number;
  propensity: number;
  /** Probability of each artwork under the policy (Monte-Carlo for Thompson). Sums to 1. */
  probabilities: number[];
  /** What the choice rests on: posterior mean scores, plus the UCB bonus for LinUCB. */
  scores: number[];
  bonus?: number[];
}

export function select(cfg: BanditConfig, input: SelectionInput): Selection {
  const K = input.features.length;
  if (K === 0) throw new RangeError('artwork selection: a title without artwork');
  if (input.rates.length !== K) throw new RangeError(`artwork selection: ${K} artworks but ${input.rates.length} rates`);
  const means = meanScores(input);
  // Thompson's randomness is its taste draws; the other policies draw from a stream of their own per decision.
  if (cfg.policy === 'thompson') return thompson(cfg, input, means);
  const rng = new Rng(fnv1a32(`${input.seedKey}|${input.item}`));
  switch (cfg.policy) {
    case 'uniform': {
      const index = rng.int(K);
      return { index, propensity: 1 / K, probabilities: new Array<number>(K).fill(1 / K), scores: means };
    }
    case 'population':
      return epsilonGreedy(input.rates.slice(), cfg.epsilon, rng, means);
    case 'epsilon-greedy':
      return epsilonGreedy(means, cfg.epsilon, rng, means);
    case 'linucb': {
      const bonus = input.features.map((x) => cfg.ucbAlpha * Math.sqrt(cfg.noiseVar * quad(input.taste, x)));
      const ucb = means.map((m, k) => m + bonus[k]!);
      const best = argmaxSet(ucb);
      const index = best[rng.int(best.length)]!;
      const probabilities = ucb.map((_, k) => (best.includes(k) ? 1 / best.length : 0));
      return { index, propensity: probabilities[index]!, probabilities, scores: means, bonus };
    }
  }
}

function meanScores(input: SelectionInput): number[] {
  const mu = input.taste?.mean;
  return input.features.map((x, k) => {
    let s = input.rates[k]!;
    if (mu) for (let i = 0; i < FEATURE_DIM; i++) s += mu[i]! * x[i]!;
    return s;
  });
}

/** x^T A^-1 x over the taste weights (the bias is the same for every artwork); with no posterior, no uncertainty. */
function quad(taste: TastePosterior | undefined, x: ArrayLike<number>): number {
  if (!taste) return 0;
  let s = 0;
  for (let i = 0; i < FEATURE_DIM; i++) {
    if (x[i] === 0) continue;
    for (let j = 0; j < FEATURE_DIM; j++) s += x[i]! * taste.inv[i * TASTE_DIM + j]! * x[j]!;
  }
  return s;
}

/** Indices within 1e-12 of the maximum. */
function argmaxSet(v: readonly number[]): number[] {
  let m = -Infinity;
  for (const x of v) if (x > m) m = x;
  const out: number[] = [];
  v.forEach((x, k) => {
    if (x >= m - 1e-12) out.push(k);
  });
  return out;
}

function epsilonGreedy(values: number[], epsilon: number, rng: Rng, scores: number[]): Selection {
  const K = values.length;
  const best = argmaxSet(values);
  const probabilities = values.map((_, k) => epsilon / K + (best.includes(k) ? (1 - epsilon) / best.length : 0));
  const u = rng.next();
  const index = u < epsilon ? rng.int(K) : best[rng.int(best.length)]!;
  return { index, propensity: probabilities[index]!, probabilities, scores };
}

/**
 * Taste draws for Thompson sampling: `thompsonDraws` samples of the viewer's taste from N(mean, noiseVar * A^-1), from
 * the stream seeded by `seedKey`. One set serves every fresh choice of a visit, each card choosing by its own draw
 * among them, which keeps a 50-card page to one Cholesky and D x FEATURE_DIM normals.
 */
export function tasteDraws(cfg: BanditConfig, taste: TastePosterior | undefined, seedKey: string): Float64Array {
  const d = FEATURE_DIM;
  const D = cfg.thompsonDraws;
  // The taste weights' marginal: the FEATURE_DIM block of the posterior covariance (the bias decides nothing).
  const cov = new Float64Array(d * d);
  if (taste) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] = cfg.noiseVar * taste.inv[i * TASTE_DIM + j]!;
  else for (let i = 0; i < d; i++) cov[i * d + i] = cfg.noiseVar / cfg.priorPrecision;
  const L = cholesky(cov, d);
  const rng = new Rng(fnv1a32(`thompson|${seedKey}`));
  const out = new Float64Array(D * d);
  const z = new Float64Array(d);
  for (let k = 0; k < D; k++) {
    for (let i = 0; i < d; i++) z[i] = rng.normal();
    for (let i = 0; i < d; i++) {
      let v = taste ? taste.mean[i]! : 0;
      for (let j = 0; j <= i; j++) v += L[i * d + j]! * z[j]!;
      out[k * d + i] = v;
    }
  }
  return out;
}

/**
 * Each draw scores every artwork (rate + draw . features); the card's own draw chooses, all draws give the
 * propensities. Until artwork-5 draw 0 chose every card of a visit: one sampled taste for the whole page, a page all
 * dark in one visit and all romance in the next, which ties a theme to everything else about the visit (a viewer
 * plays only so many titles per visit). Measured alone the change is small (bench:artwork's Thompson share -0.032 ->
 * -0.028 at 2,000 members; +0.04 with the world's two-plays-per-session cap lifted, 600 members); the uniform floor
 * is what moved it (see the header).
 * The hot loop of a page (cards x artworks x draws). Only the differences between a title's artworks decide, so each
 * artwork is scored on its features minus the first artwork's (draw . x_0 is the same for every artwork): centred
 * features are nonzero on every theme of the title, the differences only on the two artworks' own tags (a third of
 * the work). The differences are packed once per call into flat sparse arrays (ascending theme order).
 */
function thompson(cfg: BanditConfig, input: SelectionInput, means: number[]): Selection {
  const K = means.length;
  if (K === 1) return { index: 0, propensity: 1, probabilities: [1], scores: means };
  const d = FEATURE_DIM;
  const D = cfg.thompsonDraws;
  const W = input.draws ?? tasteDraws(cfg, input.taste, input.seedKey);
  if (W.length !== D * d) throw new RangeError(`artwork selection: ${W.length / d} taste draws, the config says ${D}`);
  const x0 = input.features[0]!;
  const { start, idx, val, rate, counts } = scratchFor(K);
  counts.fill(0, 0, K);
  start[0] = 0;
  let nnz = 0;
  for (let a = 0; a < K; a++) {
    const x = input.features[a]!;
    rate[a] = input.rates[a]!;
    if (a > 0) for (let i = 0; i < d; i++) {
      // Equal entries subtract to exactly 0: artworks with the same tags keep exactly equal scores (ties as before).
      const v = x[i]! - x0[i]!;
      if (v !== 0) {
        idx[nnz] = i;
        val[nnz++] = v;
      }
    }
    start[a + 1] = nnz;
  }
  // The card's own stream picks its draw and, epsilon of the time, a uniform choice instead (the floor).
  const own = new Rng(fnv1a32(`${input.seedKey}|${input.item}`));
  const chooser = own.int(D);
  const floor = cfg.epsilon;
  const explore = own.next() < floor ? own.int(K) : -1;
  let chosen = 0;
  for (let k = 0; k < D; k++) {
    const off = k * d;
    let best = 0;
    let bestScore = rate[0]!;
    for (let a = 1; a < K; a++) {
      let v = rate[a]!;
      for (let j = start[a]!, end = start[a + 1]!; j < end; j++) v += val[j]! * W[off + idx[j]!]!;
      if (v > bestScore) {
        bestScore = v;
        best = a;
      }
    }
    counts[best]!++;
    if (k === chooser) chosen = best;
  }
  const probabilities = new Array<number>(K);
  for (let a = 0; a < K; a++) probabilities[a] = floor / K + ((1 - floor) * counts[a]!) / D;
  if (explore >= 0) chosen = explore;
  return { index: chosen, propensity: probabilities[chosen]!, probabilities, scores: means };
}

/**
 * Thompson's working arrays, reused across calls (selection is synchronous, so one set serves every caller): five
 * typed arrays allocated per card were a tenth of a page's time in garbage collection.
 */
let scratch = { K: 0, start: new Int32Array(0), idx: new Int32Array(0), val: new Float64Array(0), rate: new Float64Array(0), counts: new Int32Array(0) };
function scratchFor(K: number): typeof scratch {
  if (scratch.K < K) {
    const n = Math.max(K, 2 * scratch.K);
    scratch = { K: n, start: new Int32Array(n + 1), idx: new Int32Array(n * FEATURE_DIM), val: new Float64Array(n * FEATURE_DIM), rate: new Float64Array(n), counts: new Int32Array(n) };
  }
  return scratch;
}
