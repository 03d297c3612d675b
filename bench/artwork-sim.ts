/**
 * Runs an artwork policy through the synthetic world with feedback: each member's bandit sees the rewards of its own
 * impressions as they settle, and the population priors are republished from the policy's own log every
 * `priorsEvery` impressions (as the server's aggregates would be). Measures what a viewer cares about: quality plays
 * per impression, realised and expected (the world's true probability of the artwork shown), by how many
 * impressions the member had seen so far.
 */
import { artwork as aw } from '@marquee/core';
import { qualityPlayProbability, simulateEvents, type Title, type World } from '@marquee/core/synthetic';
import { uniformLogWeight } from '@marquee/server';

export type SimPolicy = aw.PolicyName | 'oracle';

export interface SimOptions {
  policy: SimPolicy;
  reward?: aw.RewardDefinition;
  config?: Partial<aw.BanditConfig>;
  priorsEvery?: number;
  /**
   * Learn the population's history-context weights from the policy's own log and publish them with the priors (as
   * the server does); false: no history context (every viewer's prior taste is zero).
   */
  historyContext?: boolean;
  /** Impression-count buckets (upper bounds, inclusive) per member. */
  buckets?: readonly number[];
  /** Publish this population model instead of the one fitted on the policy's own log (bench:artwork-fit). */
  fixedModel?: PopulationFit;
  /**
   * Weight each impression in the population fit by 1 / (K x its logged propensity), capped (uniformLogWeight),
   * reweighting the policy's log to a uniform one's, as the server does (default); false: unweighted, as the server
   * did before it kept the propensity (bench:artwork-fit --unweighted).
   */
  uniformWeights?: boolean;
  /**
   * Publish the empirical-Bayes between-viewer variance (BetweenViewerVariance on the policy's own log) with the
   * priors (default); false: the device's personal prior stays the configured one (noiseVar / priorPrecision).
   */
  betweenViewerVar?: boolean;
  /** Receives each impression's member, title and the member's history context at it (bench:artwork-fit). */
  trace?: { member: string; title: Title; context: Float64Array }[];
}

export type PopulationFit = Omit<ReturnType<aw.ContextWeightsLearner['fit']>, 'covariance'> & { covariance?: number[]; betweenViewerVar?: number };

export interface SimResult {
  policy: string;
  reward: string;
  impressions: number;
  plays: number;
  qualityPlays: number;
  /** Sum over impressions of the true P(quality play) of the artwork shown. */
  expectedQualityPlays: number;
  /** Impressions of titles that have a clickbait artwork, and how many showed it. */
  clickbaitEligible: number;
  clickbaitShown: number;
  byBucket: { upTo: number; impressions: number; qualityPlays: number; expectedQualityPlays: number }[];
  selectMs: number;
  /**
   * Per member (the unit of the bench's intervals: members are independent): impressions, expected quality plays,
   * and on the same impressions what the artwork shown added over a uniform choice (the mean of the title's
   * artworks' true probabilities) and what the oracle's would have (their maximum): exact uniform and oracle values
   * on the policy's own impressions, so a policy's share of the oracle's lift carries no noise from which titles
   * its members happened to be shown.
   */
  byMember: Map<string, { impressions: number; expected: number; lift: number; room: number }>;
  /** The population model fitted on the policy's own log, at the end. */
  fit: PopulationFit;
  /** The between-viewer variance estimated on the policy's own log, at the end (null: too few viewers). */
  betweenViewerVar: number | null;
}

export const DEFAULT_BUCKETS = [10, 30, 60, 100, Infinity] as const;

export function simulatePolicy(world: World, opts: SimOptions): SimResult {
  const reward = opts.reward ?? aw.QUALITY_PLAY;
  const buckets = opts.buckets ?? DEFAULT_BUCKETS;
  const priorsEvery = opts.priorsEvery ?? 2000;
  const counts = new aw.ArtworkCounts();
  const useHistory = opts.historyContext ?? true;
  const contextLearner = new aw.ContextWeightsLearner();
  const spread = new aw.BetweenViewerVariance();
  let priors = new aw.PriorRates(null);
  let bandit: aw.ArtworkBandit | null = null;
  let clock = 0;
  let selectMs = 0;
  const res: SimResult = {
    policy: opts.policy,
    reward: reward.kind,
    impressions: 0,
    plays: 0,
    qualityPlays: 0,
    expectedQualityPlays: 0,
    clickbaitEligible: 0,
    clickbaitShown: 0,
    byBucket: buckets.map((upTo) => ({ upTo, impressions: 0, qualityPlays: 0, expectedQualityPlays: 0 })),
    selectMs: 0,
    byMember: new Map(),
    fit: { themeEffects: [], weights: [], averageEffects: [], covariance: [] },
    betweenViewerVar: null,
  };
  interface Shown { title: Title; artworkId: string; bucket: number; x: Float64Array; context: Float64Array; weight: number; member: string; base: number }
  // The bandit learns from its own reward; the measurement always counts quality plays.
  let learn = new aw.RewardJoiner<Shown>(reward);
  let measure = new aw.RewardJoiner<Shown>(aw.QUALITY_PLAY);
  let member = '';
  let memberImpressions = 0;
  // The policy callback replaces the member's bandit; read through a function so the type stays what it is.
  const memberBandit = (): aw.ArtworkBandit | null => bandit;
  const settleLearn = (s: { payload: Shown; reward: number }[]) => {
    for (const { payload, reward: r } of s) {
      bandit?.observe(payload.title, payload.artworkId, r);
      if (useHistory && r > 0) {
        contextLearner.rewarded(payload.x, payload.context, r, payload.weight);
        spread.rewarded(payload.member, aw.primaryGenre(payload.title), payload.x, payload.base);
      }
    }
  };

  const policy = (memberId: string, title: Title): { artworkId: string; propensity: number } => {
    if (memberId !== member) {
      settleLearn(learn.flush());
      measure.flush();
      learn = new aw.RewardJoiner<Shown>(reward);
      measure = new aw.RewardJoiner<Shown>(aw.QUALITY_PLAY);
      member = memberId;
      memberImpressions = 0;
      bandit = opts.policy === 'oracle' ? null : new aw.ArtworkBandit(memberId, { ...opts.config, policy: opts.policy }, undefined, priors);
    }
    if (opts.policy === 'oracle') {
      let best = title.artworks[0]!.id;
      let bp = -1;
      for (const a of title.artworks) {
        const p = qualityPlayProbability(world, memberId, title.id, a.id, reward.minSeconds, reward.minFraction);
        if (p > bp) [bp, best] = [p, a.id];
      }
      return { artworkId: best, propensity: 1 };
    }
    settleLearn(learn.expire(clock));
    bandit!.priors = priors;
    const t0 = performance.now();
    const d = bandit!.choose(title, clock);
    selectMs += performance.now() - t0;
    return { artworkId: d.artworkId, propensity: d.propensity };
  };

  for (const e of simulateEvents(world, { artworkPolicy: policy })) {
    clock = e.ts;
    const key = e.titleId;
    if (e.type === 'impression') {
      const title = world.titleById.get(e.titleId)!;
      memberImpressions++;
      const b = buckets.findIndex((u) => memberImpressions <= u);
      const k = title.artworks.findIndex((a) => a.id === e.artworkId);
      const x = aw.titleFeatures(title.artworks)[k]!;
      const viewer = memberBandit();
      const context = viewer ? aw.historyContext(viewer.history) : new Float64Array(aw.FEATURE_DIM);
      const weight = (opts.uniformWeights ?? true) ? uniformLogWeight(title.artworks.length, e.propensity) : 1;
      // What the device expected of this artwork before the viewer's own data: the rate plus the predicted taste.
      const predicted = aw.predictedTaste(priors.population, context);
      const base = priors.rate(e.titleId, e.artworkId!) + x.reduce((s, v, i) => s + v * predicted[i]!, 0);
      if (useHistory) {
        contextLearner.impression(x, context, weight);
        spread.impression(e.userId, aw.primaryGenre(title), x, base);
      }
      opts.trace?.push({ member: e.userId, title, context });
      const shown: Shown = { title, artworkId: e.artworkId!, bucket: b, x, context, weight, member: e.userId, base };
      res.impressions++;
      const eq = qualityPlayProbability(world, e.userId, e.titleId, e.artworkId!);
      res.expectedQualityPlays += eq;
      const perMember = res.byMember.get(e.userId) ?? { impressions: 0, expected: 0, lift: 0, room: 0 };
      let mean = 0;
      let max = 0;
      for (const a of title.artworks) {
        const pa = a.id === e.artworkId ? eq : qualityPlayProbability(world, e.userId, e.titleId, a.id);
        mean += pa / title.artworks.length;
        if (pa > max) max = pa;
      }
      perMember.impressions++;
      perMember.expected += eq;
      perMember.lift += eq - mean;
      perMember.room += max - mean;
      res.byMember.set(e.userId, perMember);
      res.byBucket[b]!.impressions++;
      res.byBucket[b]!.expectedQualityPlays += eq;
      if (title.artworks.some((a) => a.themes.includes('clickbait'))) {
        res.clickbaitEligible++;
        if (title.artworks.find((a) => a.id === e.artworkId)?.themes.includes('clickbait')) res.clickbaitShown++;
      }
      counts.impression(e.titleId, e.artworkId!);
      settleLearn(learn.impression(key, e.titleId, e.ts, shown));
      measure.impression(key, e.titleId, e.ts, shown);
      if (res.impressions % priorsEvery === 0) {
        const between = opts.betweenViewerVar === false ? undefined : spread.estimate()?.betweenViewerVar;
        const withSpread = between !== undefined ? { betweenViewerVar: between } : {};
        const context = opts.fixedModel ? { ...opts.fixedModel, impressions: contextLearner.impressions } : useHistory ? { ...contextLearner.fit(), ...withSpread, impressions: contextLearner.impressions } : undefined;
        priors = new aw.PriorRates(counts.snapshot(reward, e.ts, 'p', context));
      }
      continue;
    }
    if (e.type === 'play_start') {
      res.plays++;
      memberBandit()?.played(world.titleById.get(e.titleId)!);
      if (e.artworkId) counts.play(e.titleId, e.artworkId);
    }
    const l = learn.engagement(key, e.type, e.ts, e.position, e.duration);
    if (l) {
      settleLearn([l]);
      if (reward.kind === 'quality-play') counts.qualityPlay(e.titleId, l.payload.artworkId);
    }
    const m = measure.engagement(key, e.type, e.ts, e.position, e.duration);
    if (m) {
      res.qualityPlays++;
      res.byBucket[m.payload.bucket]!.qualityPlays++;
      if (reward.kind === 'play') counts.qualityPlay(e.titleId, m.payload.artworkId);
    }
  }
  settleLearn(learn.flush());
  res.selectMs = selectMs;
  res.fit = contextLearner.fit();
  res.betweenViewerVar = spread.estimate()?.betweenViewerVar ?? null;
  return res;
}
