/**
 * The artwork learner on a world where the answer is known: a viewer whose quality-play probability is exactly
 * linear in the artwork's theme features (the bandit's own model), with a taste we set. Thompson sampling must find
 * that taste and the artworks it prefers; if it cannot here, its weak showing in the synthetic world would be a bug.
 */
import { describe, expect, it } from 'vitest';
import { artwork as aw } from '../src/index.ts';

const THEMES = aw.ARTWORK_THEMES.filter((t) => t !== 'clickbait');
const rng = new aw.Rng(7);
const titles: aw.BanditTitle[] = Array.from({ length: 300 }, (_, i) => ({
  id: `t${i}`,
  artworks: Array.from({ length: 3 + rng.int(3) }, (_, a) => ({
    id: `t${i}-a${a}`,
    themes: rng.next() < 0.5 ? [rng.pick(THEMES)] : [rng.pick(THEMES), rng.pick(THEMES)],
  })),
}));
/** The viewer's true taste, in reward-rate units per theme: likes dark and romance, dislikes bright. */
const truth = new Float64Array(aw.FEATURE_DIM);
truth[aw.themeIndex('dark')!] = 0.2;
truth[aw.themeIndex('romance')!] = 0.12;
truth[aw.themeIndex('bright')!] = -0.15;
/** The viewer plays far more than the population's rates say (no priors: the fallback rate, 0.03). */
const BASE = 0.3;
const trueRates = (t: aw.BanditTitle) => aw.titleFeatures(t.artworks).map((x) => BASE + x.reduce((s, v, i) => s + v * truth[i]!, 0));

function run(policy: aw.PolicyName, impressions: number) {
  // Stickiness off and one impression per visit: every impression is a fresh choice from the current posterior.
  // This viewer's tastes (0.12-0.2) are several times a synthetic member's, so the prior is sized for them (sd 0.19)
  // rather than the default's (sd 0.03, the synthetic world's theme effects).
  const bandit = new aw.ArtworkBandit('known-viewer', { policy, stickinessMs: 0, priorPrecision: 4 });
  const world = new aw.Rng(11);
  let late = { policy: 0, uniform: 0, oracle: 0 };
  for (let n = 0; n < impressions; n++) {
    const title = titles[n % titles.length]!;
    const d = bandit.choose(title, n * aw.VISIT_MS);
    const p = trueRates(title);
    const k = title.artworks.findIndex((a) => a.id === d.artworkId);
    bandit.observe(title, d.artworkId, world.next() < p[k]! ? 1 : 0);
    if (n >= impressions - 1000) {
      late.policy += p[k]!;
      late.uniform += p.reduce((s, v) => s + v, 0) / p.length;
      late.oracle += Math.max(...p);
    }
  }
  return { bandit, share: (late.policy - late.uniform) / (late.oracle - late.uniform) };
}

describe('the artwork learner on a world with a known answer', () => {
  const { bandit, share } = run('thompson', 4000);

  it('recovers the viewer’s taste: the liked and disliked themes, in order, near their true size', () => {
    const post = bandit.posterior;
    const sd = (i: number) => Math.sqrt(bandit.config.noiseVar * post.inv[i * aw.TASTE_DIM + i]!);
    for (const theme of ['dark', 'romance', 'bright']) {
      const i = aw.themeIndex(theme)!;
      expect(Math.abs(post.mean[i]! - truth[i]!)).toBeLessThan(3 * sd(i));
    }
    const m = (t: string) => post.mean[aw.themeIndex(t)!]!;
    expect(m('dark')).toBeGreaterThan(m('romance'));
    expect(m('romance')).toBeGreaterThan(0.05);
    expect(m('bright')).toBeLessThan(-0.05);
    // The viewer's offset from the population's rate is the bias's, not the taste's.
    expect(post.mean[aw.FEATURE_DIM]!).toBeCloseTo(BASE - 0.03, 1);
  });

  it('Thompson sampling earns at least 80% of the oracle’s lift over uniform once it has learned (last 1,000 of 4,000 impressions)', () => {
    expect(share).toBeGreaterThan(0.8);
  });
});

/**
 * The history context: viewers whose taste follows what they played (a viewer of romantic titles likes the romantic
 * image), each seen a few times only. The population's weights are learned from all of them at once; a new viewer
 * with a history then gets the artwork their history predicts before a single impression of their own.
 */
describe('the history context on a world where the answer is known', () => {
  const romance = aw.themeIndex('romance')!;
  const dark = aw.themeIndex('dark')!;
  /** True taste per theme: 0.3 x the share of the theme in the viewer's history context. */
  const W_TRUE = 1;
  const world = new aw.Rng(5);
  const learner = new aw.ContextWeightsLearner();
  const romanceTitles = titles.filter((t) => t.artworks.some((a) => a.themes.includes('romance')));
  const darkTitles = titles.filter((t) => t.artworks.some((a) => a.themes.includes('dark')));
  for (let v = 0; v < 16_000; v++) {
    // Each viewer played 2-20 titles, a share of them romantic (a share drawn per viewer), the rest dark.
    let h = aw.emptyHistory();
    const romantic = world.next();
    for (let p = 0, n = 2 + world.int(19); p < n; p++) h = aw.addPlayed(h, world.pick(world.next() < romantic ? romanceTitles : darkTitles).artworks);
    const c = aw.historyContext(h);
    for (let i = 0; i < 20; i++) {
      const t = world.pick(titles);
      const f = aw.titleFeatures(t.artworks);
      const k = world.int(t.artworks.length);
      const p = 0.3 + f[k]!.reduce((s, x, j) => s + x * W_TRUE * c[j]!, 0);
      learner.impression(f[k]!, c);
      if (world.next() < p) learner.rewarded(f[k]!, c);
    }
  }
  const { themeEffects, weights, averageEffects } = learner.fit();

  it('learns the population’s weights for the themes the histories carry', () => {
    expect(learner.impressions).toBe(320_000);
    for (const i of [romance, dark]) expect(Math.abs(weights[i]! - W_TRUE)).toBeLessThan(0.25);
    // No theme is liked for itself here: the shared effects stay near zero.
    for (const i of [romance, dark]) expect(Math.abs(themeEffects[i]!)).toBeLessThan(0.05);
  });

  it('gives a new viewer with a romantic history the romantic image, and one with a dark history the dark one', () => {
    const counts = new aw.ArtworkCounts();
    const priors = new aw.PriorRates(counts.snapshot(aw.QUALITY_PLAY, 0, 'p', { themeEffects, weights, averageEffects, impressions: learner.impressions }));
    const title = { id: 'new-title', artworks: [{ id: 'r', themes: ['romance'] }, { id: 'd', themes: ['dark'] }, { id: 'b', themes: ['bright'] }] };
    const chosen = (pool: aw.BanditTitle[]) => {
      const b = new aw.ArtworkBandit('viewer', { policy: 'epsilon-greedy', epsilon: 0 }, undefined, priors);
      for (const t of pool.slice(0, 8)) b.played(t);
      return b.choose(title, 0).artworkId;
    };
    expect(chosen(romanceTitles)).toBe('r');
    expect(chosen(darkTitles)).toBe('d');
    // No history: the prior taste is what every viewer shares, the theme effects alone.
    const fresh = new aw.ArtworkBandit('viewer', { policy: 'epsilon-greedy', epsilon: 0 }, undefined, priors);
    expect(Array.from(fresh.posterior.mean.subarray(0, aw.FEATURE_DIM))).toEqual(themeEffects.map((e) => expect.closeTo(e, 12)));
  });
});

describe('the population regression with weights', () => {
  it('an impression of weight 2 counts as the same impression twice (what reweighting a log to uniform relies on)', () => {
    const x = aw.titleFeatures([{ themes: ['dark'] }, { themes: ['romance'] }])[0]!;
    const c = aw.historyContext(aw.addPlayed(aw.emptyHistory(), [{ themes: ['dark'] }]));
    const y = aw.titleFeatures([{ themes: ['bright'] }, { themes: ['comedic', 'dark'] }])[1]!;
    const twice = new aw.ContextWeightsLearner();
    const weighted = new aw.ContextWeightsLearner();
    for (let i = 0; i < 2; i++) {
      twice.impression(x, c);
      twice.rewarded(x, c);
    }
    weighted.impression(x, c, 2);
    weighted.rewarded(x, c, 1, 2);
    for (const l of [twice, weighted]) l.impression(y, c);
    const a = twice.fit();
    const b = weighted.fit();
    expect(b.themeEffects).toEqual(a.themeEffects.map((v) => expect.closeTo(v, 12)));
    expect(b.weights).toEqual(a.weights.map((v) => expect.closeTo(v, 12)));
    expect(Math.abs(a.themeEffects[aw.themeIndex('dark')!]!)).toBeGreaterThan(0.01);
  });
});

/**
 * Thompson sampling's draw scale comes from data: the population part from how well the population's fit is
 * determined, the personal part from how far viewers stray from it (empirical Bayes), not from a fixed prior.
 */
describe('the prior taste’s variance', () => {
  const x = aw.titleFeatures([{ themes: ['dark'] }, { themes: ['romance'] }, { themes: ['bright'] }]);
  const c = aw.historyContext(aw.addPlayed(aw.emptyHistory(), [{ themes: ['dark'] }]));

  const D = aw.FEATURE_DIM;
  const P = 2 * D;
  const dark = aw.themeIndex('dark')!;
  /** Theme i's effect variance, history weight variance and their covariance in a fit's covariance. */
  const entries = (C: ArrayLike<number>, i: number) => ({ effect: C[i * P + i]!, weight: C[(D + i) * P + D + i]!, cross: C[i * P + D + i]! });

  it('the fit’s covariance is its prior with no data and shrinks with data', () => {
    const empty = new aw.ContextWeightsLearner().fit(1).covariance;
    // Effects as contrasts with the mean of 13: variance 1 - 1/13 under the ridge's prior, weights 1, no covariance.
    expect(entries(empty, dark)).toEqual({ effect: expect.closeTo(1 - 1 / D, 12), weight: 1, cross: 0 });
    // Two histories, so the theme effects and the history weights are told apart.
    const c2 = aw.historyContext(aw.addPlayed(aw.addPlayed(aw.emptyHistory(), [{ themes: ['dark'] }]), [{ themes: ['dark'] }]));
    const fitAfter = (n: number) => {
      const l = new aw.ContextWeightsLearner();
      for (let i = 0; i < n; i++) for (const f of x) for (const h of [c, c2]) l.impression(f, h);
      return entries(l.fit(1).covariance, dark);
    };
    const [u0, u1, u2] = [entries(empty, dark), fitAfter(100), fitAfter(1000)];
    expect(u1.effect).toBeLessThan(u0.effect);
    expect(u1.weight).toBeLessThan(u0.weight);
    expect(u2.effect).toBeLessThan(u1.effect);
    expect(u2.weight).toBeLessThan(u1.weight);
    // Weighted: one impression of weight 100 is one impression's information, not a hundred's (the sandwich).
    const once = new aw.ContextWeightsLearner();
    once.impression(x[0]!, c);
    const heavy = new aw.ContextWeightsLearner();
    heavy.impression(x[0]!, c, 100);
    const hundred = new aw.ContextWeightsLearner();
    for (let i = 0; i < 100; i++) hundred.impression(x[0]!, c);
    expect(entries(heavy.fit(1).covariance, dark).effect).toBeGreaterThan(entries(once.fit(1).covariance, dark).effect);
    expect(entries(heavy.fit(1).covariance, dark).effect).toBeGreaterThan(2 * entries(hundred.fit(1).covariance, dark).effect);
  });

  it('a new viewer’s prior sd per theme is sqrt(noiseVar x the fit’s variance at their context + the between-viewer variance)', () => {
    const zeros = new Array<number>(D).fill(0);
    const covariance = new Array<number>(P * P).fill(0);
    for (let i = 0; i < D; i++) {
      covariance[i * P + i] = 0.004;
      covariance[(D + i) * P + D + i] = 0.1;
      covariance[i * P + D + i] = covariance[(D + i) * P + i] = -0.001;
    }
    const context = { themeEffects: zeros, weights: zeros, averageEffects: zeros, impressions: 1, covariance, betweenViewerVar: 0.0004 };
    const priors = new aw.PriorRates(new aw.ArtworkCounts().snapshot(aw.QUALITY_PLAY, 0, 'p', context));
    const b = new aw.ArtworkBandit('v', {}, undefined, priors);
    b.played({ id: 't', artworks: [{ id: 'a', themes: ['dark'] }] });
    const cd = aw.historyContext(b.history)[dark]!;
    const expected = Math.sqrt(0.15 * (0.004 + cd * cd * 0.1 - 2 * cd * 0.001) + 0.0004);
    expect(b.tasteSummary(aw.ARTWORK_THEMES)[dark]!.sd).toBeCloseTo(expected, 10);
    // Priors without either part: the configured prior, as before (sd sqrt(0.15 / 150)).
    const old = new aw.ArtworkBandit('v', {}, undefined, new aw.PriorRates(new aw.ArtworkCounts().snapshot(aw.QUALITY_PLAY, 0, 'p', { themeEffects: zeros, weights: zeros, averageEffects: zeros, impressions: 1 })));
    expect(old.tasteSummary(aw.ARTWORK_THEMES)[dark]!.sd).toBeCloseTo(Math.sqrt(0.15 / 150), 12);
  });

  /** Viewers whose taste strays from the prediction by delta ~ N(0, tau^2) per theme, 120 impressions each. */
  function estimate(tau: number, seed: number) {
    const r = new aw.Rng(seed);
    const spread = new aw.BetweenViewerVariance();
    const features = new Map(titles.map((t) => [t.id, aw.titleFeatures(t.artworks)]));
    const genre = new Map(titles.map((t, i) => [t.id, `g${i % 4}`]));
    for (let v = 0; v < 3000; v++) {
      const delta = Float64Array.from({ length: aw.FEATURE_DIM }, () => tau * r.normal());
      // Viewers also differ in how much they play overall: that offset must not count as taste.
      const offset = 0.1 * (r.next() - 0.5);
      for (let i = 0; i < 120; i++) {
        const t = r.pick(titles);
        const f = features.get(t.id)!;
        const k = r.int(t.artworks.length);
        const base = 0.2;
        spread.impression(`v${v}`, genre.get(t.id)!, f[k]!, base);
        if (r.next() < base + offset + f[k]!.reduce((s, xi, j) => s + xi * delta[j]!, 0)) spread.rewarded(`v${v}`, genre.get(t.id)!, f[k]!, base);
      }
    }
    return spread.estimate()!;
  }

  it('recovers the between-viewer variance of tastes it was given, and finds ~0 where viewers do not differ', () => {
    const e = estimate(0.1, 11);
    expect(e.viewers).toBe(3000);
    expect(e.noiseVar).toBeGreaterThan(0.14);
    expect(e.noiseVar).toBeLessThan(0.18);
    expect(Math.sqrt(e.betweenViewerVar)).toBeGreaterThan(0.07);
    expect(Math.sqrt(e.betweenViewerVar)).toBeLessThan(0.13);
    expect(Math.sqrt(estimate(0, 12).betweenViewerVar)).toBeLessThan(0.04);
  });

  /**
   * No viewer's artwork taste differs from the prediction (tau = 0), but viewers differ in how much they play each
   * genre (sd 0.15 in rate), and each genre's titles have one artwork with the genre's own theme. The policy picks
   * the artwork it expects to earn most: a viewer's history says which genre they play most, so that genre's theme
   * wins on its titles, and elsewhere nothing separates the artworks (a uniform choice). The theme is then shown
   * exactly on the titles the viewer plays more, whatever the artwork.
   */
  it('does not count a policy-driven genre appeal as artwork taste, which means per viewer alone did', () => {
    const HOME = ['romance', 'action', 'dark', 'comedic'] as const;
    const others = THEMES.filter((t) => !(HOME as readonly string[]).includes(t));
    const r = new aw.Rng(21);
    const genreTitles = Array.from({ length: 200 }, (_, i) => ({
      genre: `g${i % HOME.length}`,
      artworks: Array.from({ length: 3 }, (_, a) => ({ id: `a${a}`, themes: [a === 0 ? HOME[i % HOME.length]! : r.pick(others)] })),
    })).map((t) => ({ ...t, features: aw.titleFeatures(t.artworks) }));
    const byGenre = new aw.BetweenViewerVariance();
    const byViewer = new aw.BetweenViewerVariance();
    for (let v = 0; v < 3000; v++) {
      const appeal = HOME.map(() => 0.15 * r.normal());
      const favourite = appeal.indexOf(Math.max(...appeal));
      for (let i = 0; i < 120; i++) {
        const t = r.pick(genreTitles);
        const f = t.features;
        const k = t.genre === `g${favourite}` ? 0 : r.int(3);
        const base = 0.2;
        const rewarded = r.next() < Math.min(0.99, Math.max(0.01, base + appeal[Number(t.genre.slice(1))]!));
        for (const [spread, genre] of [[byGenre, t.genre], [byViewer, '']] as const) {
          spread.impression(`v${v}`, genre, f[k]!, base);
          if (rewarded) spread.rewarded(`v${v}`, genre, f[k]!, base);
        }
      }
    }
    // Per viewer alone: sd 0.115 here, several times the default prior's 0.03.
    expect(Math.sqrt(byViewer.estimate()!.betweenViewerVar)).toBeGreaterThan(0.08);
    expect(Math.sqrt(byGenre.estimate()!.betweenViewerVar)).toBeLessThan(0.02);
  });
});
