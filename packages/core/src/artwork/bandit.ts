/**
 * One viewer's artwork bandit: the policy, the viewer's taste posterior, the population priors and the sticky
 * assignments, in one object the worker and the benchmark both drive. Pure: no storage, no clock of its own.
 */
import { addPlayed, emptyHistory, historyContext, predictedTaste, priorTasteCovariance, type PopulationTaste, type ViewerHistory } from './context.ts';
import { FEATURE_DIM, titleFeatures } from './features.ts';
import { BANDIT_DEFAULTS, POLICY_VERSION, select, tasteDraws, type BanditConfig, type Selection } from './policies.ts';
import { PriorRates } from './priors.ts';
import { seedKeyFor, stillHolds, type ArtworkAssignment } from './sticky.ts';
import { cholesky, choleskySolve, emptyTaste, posterior, TASTE_DIM, updateTaste, type TastePosterior, type ViewerTaste } from './taste.ts';

export interface BanditTitle {
  id: string;
  artworks: readonly { id: string; themes: readonly string[] }[];
}

export interface ArtworkDecision extends ArtworkAssignment {
  /** True when an earlier assignment was kept (stickiness), false for a fresh choice. */
  sticky: boolean;
  /** The selection behind a fresh choice (scores, probabilities of every artwork); absent when kept. */
  selection?: Selection & { artworkIds: string[]; rates: number[] };
}

export class ArtworkBandit {
  readonly config: BanditConfig;
  /** The titles the viewer played: the context the population's weights (in the priors) turn into a prior taste. */
  history: ViewerHistory = emptyHistory();
  private post: TastePosterior | null = null;
  /** What the cached posterior was computed from: the priors' model and the history may change under it. */
  private postFrom: { model: PopulationTaste | null; plays: number } | null = null;
  private draws: { seedKey: string; post: TastePosterior; W: Float64Array } | null = null;
  private readonly featureCache = new Map<string, Float64Array[]>();

  constructor(
    readonly viewer: string,
    config: Partial<BanditConfig> = {},
    public taste: ViewerTaste = emptyTaste(config.priorPrecision ?? BANDIT_DEFAULTS.priorPrecision),
    public priors: PriorRates = new PriorRates(null),
    readonly assignments: Map<string, ArtworkAssignment> = new Map(),
  ) {
    this.config = { ...BANDIT_DEFAULTS, ...config };
  }

  get posterior(): TastePosterior {
    const model = this.priors.population;
    if (this.post && this.postFrom?.model === model && this.postFrom.plays === this.history.plays) return this.post;
    this.postFrom = { model, plays: this.history.plays };
    if (!model) return (this.post = posterior(this.taste));
    // Prior N(m0, S): the population's prediction for this history, as uncertain as the population's fit is at it
    // plus how far viewers stray from it (priorTasteCovariance); the bias keeps the configured prior.
    const context = historyContext(this.history);
    const m0 = predictedTaste(model, context);
    const { noiseVar, priorPrecision } = this.config;
    const D = FEATURE_DIM;
    const S = priorTasteCovariance(model, context, noiseVar, noiseVar / priorPrecision, new Float64Array(D * D));
    // Precision over the noise variance: noiseVar S^-1, column by column from S's Cholesky factor.
    const L = cholesky(S, D);
    const delta = new Float64Array(D * D);
    const e = new Float64Array(D);
    for (let c = 0; c < D; c++) {
      e.fill(0);
      e[c] = noiseVar;
      const col = choleskySolve(L, e, D);
      for (let r = 0; r < D; r++) delta[r * D + c] = col[r]! - (r === c ? priorPrecision : 0);
    }
    const shift = new Float64Array(TASTE_DIM);
    for (let r = 0; r < D; r++) {
      let s = 0;
      for (let c = 0; c < D; c++) s += (delta[r * D + c]! + (r === c ? priorPrecision : 0)) * m0[c]!;
      shift[r] = s;
    }
    return (this.post = posterior(this.taste, shift, delta));
  }

  /** The viewer started playing this title: their history context grows. */
  played(title: BanditTitle): void {
    this.history = addPlayed(this.history, title.artworks);
  }

  features(title: BanditTitle): Float64Array[] {
    let f = this.featureCache.get(title.id);
    if (!f || f.length !== title.artworks.length) this.featureCache.set(title.id, (f = titleFeatures(title.artworks)));
    return f;
  }

  /** The artwork for this title now: the held assignment, or a fresh choice (which then holds). */
  choose(title: BanditTitle, now: number): ArtworkDecision {
    const ids = title.artworks.map((a) => a.id);
    const held = this.assignments.get(title.id);
    if (stillHolds(held, ids, this.config.policy, now, this.config.stickinessMs)) return { ...held, sticky: true };
    const seedKey = seedKeyFor(this.viewer, now, this.config.stickinessMs);
    const features = this.features(title);
    const rates = this.priors.rates(title.id, ids);
    const model = this.priors.population;
    // Non-contextual: the population's best is its rate plus the themes' effects on the average viewer (no history).
    const shared = this.config.policy === 'population' && model ? model.averageEffects : null;
    const scores = shared ? rates.map((r, k) => r + (features[k]?.reduce((s, v, i) => s + v * (shared[i] ?? 0), 0) ?? 0)) : rates;
    const personal = this.config.policy === 'thompson' || this.config.policy === 'linucb' || this.config.policy === 'epsilon-greedy';
    const taste = personal ? this.posterior : undefined;
    let draws: Float64Array | undefined;
    if (this.config.policy === 'thompson') {
      if (!this.draws || this.draws.seedKey !== seedKey || this.draws.post !== taste) this.draws = { seedKey, post: taste!, W: tasteDraws(this.config, taste, seedKey) };
      draws = this.draws.W;
    }
    const sel = select(this.config, { features, rates: scores, taste, seedKey, item: title.id, draws });
    const artworkId = ids[sel.index]!;
    const policy = this.config.policy;
    this.assignments.set(title.id, { titleId: title.id, artworkId, propensity: sel.propensity, policy, policyVersion: POLICY_VERSION, chosenAt: now, seedKey });
    const selection = { index: sel.index, propensity: sel.propensity, probabilities: sel.probabilities, scores: sel.scores, bonus: sel.bonus, artworkIds: ids, rates: scores };
    return { titleId: title.id, artworkId, propensity: sel.propensity, policy, policyVersion: POLICY_VERSION, chosenAt: now, seedKey, sticky: false, selection };
  }

  /** A settled impression: the artwork shown and whether it earned the reward. */
  observe(title: BanditTitle, artworkId: string, reward: number): void {
    const k = title.artworks.findIndex((a) => a.id === artworkId);
    if (k < 0) return;
    this.taste = updateTaste(this.taste, this.features(title)[k]!, reward, this.priors.rate(title.id, artworkId));
    this.post = null;
  }

  /** The viewer's learned taste per theme (posterior mean and sd), for the debug drawer. */
  tasteSummary(themes: readonly string[]): { theme: string; mean: number; sd: number }[] {
    const p = this.posterior;
    const d = p.mean.length;
    return themes.map((theme, i) => ({ theme, mean: p.mean[i]!, sd: Math.sqrt(this.config.noiseVar * p.inv[i * d + i]!) }));
  }
}
