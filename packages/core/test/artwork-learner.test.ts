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
  const bandit = new aw.ArtworkBandit('known-viewer', { policy, stickinessMs: 0 });
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
