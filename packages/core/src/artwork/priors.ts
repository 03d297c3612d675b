/**
 * Population priors: what the server publishes (`GET /v1/artwork/priors`) from its live aggregates and the device
 * caches with the catalog. A new viewer's scores are these rates, so they start from the population's best artwork.
 *
 * Rates are shrunk: an artwork's rate towards its title's, a title's towards the global rate, so an artwork shown
 * five times does not look like a winner.
 */
import { z } from 'zod';
import type { PopulationTaste } from './context.ts';
import { FEATURE_DIM } from './features.ts';
import { RewardDefinitionSchema } from './reward.ts';

const count = z.number().int().nonnegative();

export const ArtworkStatsSchema = z.object({
  titleId: z.string().min(1),
  artworkId: z.string().min(1),
  impressions: count,
  plays: count,
  qualityPlays: count,
});
export type ArtworkStats = z.infer<typeof ArtworkStatsSchema>;

export const ArtworkPriorsSchema = z.object({
  /** Changes whenever any count changes: the device refetches when it differs. */
  version: z.string().min(1),
  generatedAt: z.number().int().nonnegative(),
  reward: RewardDefinitionSchema,
  impressions: count,
  rewards: count,
  artworks: z.array(ArtworkStatsSchema),
  /**
   * The population's model of taste (see context.ts): per theme, the effect at an empty history, the weight of the
   * viewer's history context and the effect on the average viewer, fitted on `impressions` impressions. Absent: every viewer starts at the rates alone.
   */
  context: z.object({
    themeEffects: z.array(z.number().finite()).length(FEATURE_DIM),
    weights: z.array(z.number().finite()).length(FEATURE_DIM),
    averageEffects: z.array(z.number().finite()).length(FEATURE_DIM),
    impressions: count,
    /** The fit's posterior covariance over the noise variance (PopulationTaste.covariance): how well it is determined. */
    covariance: z.array(z.number().finite()).length(4 * FEATURE_DIM * FEATURE_DIM).optional(),
    /** Empirical-Bayes variance of a viewer's taste around the prediction (BetweenViewerVariance), rate units^2. */
    betweenViewerVar: z.number().finite().nonnegative().optional(),
  }).optional(),
});
export type ArtworkPriors = z.infer<typeof ArtworkPriorsSchema>;

export interface Shrinkage {
  /**
   * Pseudo-impressions pulling an artwork towards its title's rate: the binomial variance of a rate (~0.1 x 0.9)
   * over the variance of true artwork rates within a title (~0.01^2, artwork effects being a point or so), ~900.
   * With 20 (until artwork-2) an artwork with five impressions and one quality play outranked its siblings by two
   * points, more than any real artwork effect, so the rates' noise decided the population's and every viewer's
   * choices.
   */
  artwork: number;
  /** Pseudo-impressions pulling a title towards the global rate. */
  title: number;
  /** Rate assumed with no data at all. */
  fallback: number;
}
export const SHRINKAGE_DEFAULTS: Readonly<Shrinkage> = Object.freeze({ artwork: 1000, title: 50, fallback: 0.03 });

/** Reward counts of the priors' reward kind. */
const rewardOf = (s: ArtworkStats, kind: ArtworkPriors['reward']['kind']) => (kind === 'play' ? s.plays : s.qualityPlays);

/** Rates per artwork id from priors, ready for selection; unknown artworks get their title's or the global rate. */
export class PriorRates {
  private readonly byArtwork = new Map<string, ArtworkStats>();
  private readonly byTitle = new Map<string, { impressions: number; rewards: number }>();
  readonly global: number;
  /** The population's model of taste, when the priors carry it. */
  readonly population: PopulationTaste | null;

  constructor(
    readonly priors: ArtworkPriors | null,
    private readonly shrink: Shrinkage = SHRINKAGE_DEFAULTS,
  ) {
    const kind = priors?.reward.kind ?? 'quality-play';
    for (const s of priors?.artworks ?? []) {
      this.byArtwork.set(s.artworkId, s);
      const t = this.byTitle.get(s.titleId) ?? { impressions: 0, rewards: 0 };
      t.impressions += s.impressions;
      t.rewards += rewardOf(s, kind);
      this.byTitle.set(s.titleId, t);
    }
    const c = priors?.context;
    this.population = c
      ? {
          themeEffects: Float64Array.from(c.themeEffects),
          weights: Float64Array.from(c.weights),
          averageEffects: Float64Array.from(c.averageEffects),
          ...(c.covariance ? { covariance: Float64Array.from(c.covariance) } : {}),
          ...(c.betweenViewerVar !== undefined ? { betweenViewerVar: c.betweenViewerVar } : {}),
        }
      : null;
    this.global = priors && priors.impressions > 0 ? (priors.rewards + shrink.fallback * 100) / (priors.impressions + 100) : shrink.fallback;
  }

  titleRate(titleId: string): number {
    const t = this.byTitle.get(titleId);
    return t ? (t.rewards + this.shrink.title * this.global) / (t.impressions + this.shrink.title) : this.global;
  }

  rate(titleId: string, artworkId: string): number {
    const tr = this.titleRate(titleId);
    const s = this.byArtwork.get(artworkId);
    if (!s) return tr;
    const r = rewardOf(s, this.priors?.reward.kind ?? 'quality-play');
    return (r + this.shrink.artwork * tr) / (s.impressions + this.shrink.artwork);
  }

  rates(titleId: string, artworkIds: readonly string[]): number[] {
    return artworkIds.map((a) => this.rate(titleId, a));
  }
}

/** Counts per (title, artwork), kept live by whoever sees the events (server aggregates, the benchmark). */
/** ArtworkCounts as plain data (the server's aggregates snapshot keeps it); `stats` in insertion order. */
export const ArtworkCountsStateSchema = z.object({
  stats: z.array(ArtworkStatsSchema),
  impressions: count,
  plays: count,
  qualityPlays: count,
  changes: count,
});
export type ArtworkCountsState = z.infer<typeof ArtworkCountsStateSchema>;

export class ArtworkCounts {
  private readonly stats = new Map<string, ArtworkStats>();
  impressions = 0;
  plays = 0;
  qualityPlays = 0;
  /** Bumped on every change: part of the published version. */
  changes = 0;

  private get(titleId: string, artworkId: string): ArtworkStats {
    let s = this.stats.get(artworkId);
    if (!s) this.stats.set(artworkId, (s = { titleId, artworkId, impressions: 0, plays: 0, qualityPlays: 0 }));
    return s;
  }
  impression(titleId: string, artworkId: string): void {
    this.get(titleId, artworkId).impressions++;
    this.impressions++;
    this.changes++;
  }
  play(titleId: string, artworkId: string): void {
    this.get(titleId, artworkId).plays++;
    this.plays++;
    this.changes++;
  }
  qualityPlay(titleId: string, artworkId: string): void {
    this.get(titleId, artworkId).qualityPlays++;
    this.qualityPlays++;
    this.changes++;
  }
  state(): ArtworkCountsState {
    const { impressions, plays, qualityPlays, changes } = this;
    return { stats: [...this.stats.values()].map((s) => ({ ...s })), impressions, plays, qualityPlays, changes };
  }

  static fromState(s: ArtworkCountsState): ArtworkCounts {
    const c = new ArtworkCounts();
    for (const a of s.stats) c.stats.set(a.artworkId, { ...a });
    Object.assign(c, { impressions: s.impressions, plays: s.plays, qualityPlays: s.qualityPlays, changes: s.changes });
    return c;
  }

  snapshot(reward: ArtworkPriors['reward'], now: number, versionPrefix = 'p', context?: ArtworkPriors['context']): ArtworkPriors {
    return {
      ...(context ? { context } : {}),
      version: `${versionPrefix}${this.changes}`,
      generatedAt: now,
      reward,
      impressions: this.impressions,
      rewards: reward.kind === 'play' ? this.plays : this.qualityPlays,
      artworks: [...this.stats.values()].map((s) => ({ ...s })),
    };
  }
}
