/**
 * The artwork bandit on the device: one viewer's taste posterior, sticky assignments and unsettled impressions,
 * kept in IndexedDB (`meta/artwork`, parsed with core's ArtworkStateSchema on load); population priors fetched from
 * `GET /v1/artwork/priors` and cached beside the catalog. Chooses an artwork per card (the pure policy in
 * @marquee/core/artwork), and learns from the viewer's own impressions and quality plays as they are tracked.
 */
import { artwork as aw, type ArtworkState, type CatalogTitle, type MarqueeEvent } from '@marquee/core';
import { getMeta, putMeta, type Database } from './db.ts';
import type { ArtworkDebug, PageArtwork } from './protocol.ts';

/** Priors are refetched when older than this (the server's version changes with every count). */
const PRIORS_MAX_AGE_MS = 5 * 60_000;

export class ArtworkChooser {
  private bandit: aw.ArtworkBandit | null = null;
  /** Keyed by title; an impression's id names it, so a play credits the impression it came from. */
  private pending: aw.RewardJoiner<Shown>;
  private priorsFetchedAt = 0;
  private priorsEtag: string | null = null;
  private loading: Promise<void> | null = null;
  private titles = new Map<string, CatalogTitle>();
  private saveQueue: Promise<void> = Promise.resolve();
  /** The debug drawer's taste summary, computed once per posterior rather than per card. */
  private topTaste: { post: aw.TastePosterior; top: ArtworkDebug['taste'] } | null = null;

  private db: Database;
  /** The seed identity: the viewer's (and profile's) own database name on this device. */
  private viewer: string;
  /** An experiment's artwork policy (`params.artworkPolicy`), in place of the configured one. */
  private experimentPolicy: aw.PolicyName | null = null;

  constructor(
    /** The current viewer's database: it changes on identify, reset or a profile switch, and the state with it. */
    private readonly dbOf: () => Database,
    private readonly endpoint: string,
    private readonly config: Partial<aw.BanditConfig> = {},
    private readonly reward: aw.RewardDefinition = aw.QUALITY_PLAY,
  ) {
    this.db = dbOf();
    this.viewer = this.db.name;
    this.pending = new aw.RewardJoiner(reward);
  }

  /**
   * The policy an experiment's variant names, or null for the configured one. An unknown name keeps the configured
   * policy and says so. A change reloads the state at the next prepare(): a state kept under another policy is not
   * carried over (see load).
   */
  usePolicy(name: string | null): void {
    const known = name === null || (aw.POLICY_NAMES as readonly string[]).includes(name);
    if (!known) console.warn(`marquee: unknown artwork policy ${name} (known: ${aw.POLICY_NAMES.join(', ')}): the configured policy serves`);
    const next = known ? (name as aw.PolicyName | null) : null;
    if (next === this.experimentPolicy) return;
    this.experimentPolicy = next;
    this.bandit = null;
    this.pending = new aw.RewardJoiner(this.reward);
    this.loading = null;
  }

  /** Loads the state once per viewer, and the priors when stale (offline: the cached ones). */
  async prepare(catalog: readonly CatalogTitle[]): Promise<void> {
    if (this.titles.size !== catalog.length) this.titles = new Map(catalog.map((t) => [t.id, t]));
    if (this.dbOf() !== this.db) {
      // Another viewer: nothing of the previous one's taste, assignments or pending rewards stays in memory.
      this.db = this.dbOf();
      this.viewer = this.db.name;
      this.bandit = null;
      this.pending = new aw.RewardJoiner(this.reward);
      this.priorsFetchedAt = 0;
      this.loading = null;
    }
    this.loading ??= this.load();
    await this.loading;
    if (Date.now() - this.priorsFetchedAt > PRIORS_MAX_AGE_MS) await this.fetchPriors();
  }

  private async load(): Promise<void> {
    const policy = this.experimentPolicy ?? this.config.policy ?? aw.BANDIT_DEFAULTS.policy;
    const stored = await getMeta(this.db, 'artwork');
    // A state from another policy version starts afresh: its taste was learned under another prior (artwork-3 changed
    // the prior precision) and its assignments were chosen by another model.
    const state = stored && stored.viewer === this.viewer && stored.policy === policy && stored.policyVersion === aw.POLICY_VERSION ? stored : null;
    this.bandit = new aw.ArtworkBandit(this.viewer, { ...this.config, policy }, state?.taste, undefined, new Map((state?.assignments ?? []).map((a) => [a.titleId, a])));
    if (state?.history) this.bandit.history = state.history;
    this.pending.restore((state?.pending ?? []).map(({ artworkId, ...p }) => [p.titleId, { ...p, payload: { titleId: p.titleId, artworkId } }]));
    const cached = await getMeta(this.db, 'artwork-priors');
    if (cached) {
      this.bandit.priors = new aw.PriorRates(cached.priors);
      this.priorsFetchedAt = cached.fetchedAt;
      this.priorsEtag = cached.etag;
    }
  }

  private async fetchPriors(): Promise<void> {
    try {
      const res = await fetch(`${this.endpoint}/v1/artwork/priors`, { headers: this.priorsEtag ? { 'If-None-Match': this.priorsEtag } : {} });
      this.priorsFetchedAt = Date.now();
      if (res.status === 304) return;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const priors = aw.ArtworkPriorsSchema.parse(await res.json());
      this.priorsEtag = res.headers.get('etag');
      this.bandit!.priors = new aw.PriorRates(priors);
      await putMeta(this.db, 'artwork-priors', { fetchedAt: this.priorsFetchedAt, etag: this.priorsEtag, priors });
    } catch {
      // Offline or no artwork service: the cached priors (or none: every artwork at the fallback rate).
    }
  }

  /** The artwork for a card: the held assignment or a fresh choice, with what it rests on. */
  present(title: CatalogTitle, now = Date.now()): PageArtwork {
    const b = this.bandit;
    if (!b || title.artworks.length === 0) {
      const art = title.artworks[0];
      return { artworkId: art?.id ?? '', themes: art?.themes ?? [], propensity: 1 };
    }
    const d = b.choose(title, now);
    const art = title.artworks.find((a) => a.id === d.artworkId)!;
    return { artworkId: d.artworkId, themes: art.themes, propensity: d.propensity, policy: d.policy, policyVersion: d.policyVersion, debug: this.explain(title, d) };
  }

  private explain(title: CatalogTitle, d: aw.ArtworkDecision): ArtworkDebug {
    const b = this.bandit!;
    const ids = title.artworks.map((a) => a.id);
    const rates = b.priors.rates(title.id, ids);
    const feats = b.features(title);
    const mean = b.posterior.mean;
    const scores = feats.map((x, k) => rates[k]! + x.reduce((s, v, i) => s + v * mean[i]!, 0));
    if (this.topTaste?.post !== b.posterior) {
      const top = b.tasteSummary(aw.ARTWORK_THEMES).filter((t) => t.mean !== 0).sort((x, y) => Math.abs(y.mean) - Math.abs(x.mean)).slice(0, 4);
      this.topTaste = { post: b.posterior, top: top.map((t) => ({ theme: t.theme, mean: round(t.mean), sd: round(t.sd) })) };
    }
    return {
      sticky: d.sticky,
      chosenAt: d.chosenAt,
      updates: b.taste.n,
      historyPlays: b.history.plays,
      artworks: title.artworks.map((a, k) => ({ artworkId: a.id, themes: a.themes, rate: round(rates[k]!), score: round(scores[k]!), probability: d.selection ? round(d.selection.probabilities[k]!) : null })),
      taste: this.topTaste.top,
    };
  }

  /**
   * Every tracked event of this viewer: impressions open a reward window, engagement may settle it. A play, progress
   * or completion credits the impression it names (`impressionId`): a play re-renders the page, and the played card's
   * fresh impression must not take the reward of the one that was clicked.
   */
  async record(e: MarqueeEvent): Promise<void> {
    if (!this.bandit || !('titleId' in e)) return;
    let changed = this.settleAll(this.pending.expire(e.ts));
    if (e.type === 'impression' && e.artwork) {
      const shown = { titleId: e.titleId, artworkId: e.artwork.artworkId };
      // A re-render of the held artwork is the same trial, not a new decision; a card in another row is another trial.
      changed = this.settleAll(this.pending.impression(e.titleId, e.titleId, e.ts, shown, e.id, (prev) => prev.artworkId === shown.artworkId, e.row)) || changed;
      changed = true;
    } else if (e.type !== 'impression') {
      if (e.type === 'play_start') {
        const t = this.titles.get(e.titleId);
        if (t) {
          this.bandit.played(t);
          changed = true;
        }
      }
      const position = 'position' in e ? e.position : undefined;
      const duration = 'duration' in e ? e.duration : undefined;
      const s = this.pending.engagement(e.titleId, e.type, e.ts, position, duration, e.impressionId?.toLowerCase());
      if (s) changed = this.settleAll([s]) || changed;
      // The join's engaged mark is state to persist too.
      if (e.type === 'play_start') changed = true;
    }
    if (changed) await this.save();
  }

  private settleAll(settled: aw.Settled<Shown>[]): boolean {
    let changed = false;
    for (const s of settled) changed = this.settle(s.payload.titleId, s.payload.artworkId, s.reward) || changed;
    return changed;
  }

  private settle(titleId: string, artworkId: string, reward: number): boolean {
    const t = this.titles.get(titleId);
    if (!t) return false;
    this.bandit!.observe(t, artworkId, reward);
    return true;
  }

  private save(): Promise<void> {
    const b = this.bandit!;
    const state: ArtworkState = {
      version: 1,
      viewer: this.viewer,
      policy: b.config.policy,
      policyVersion: aw.POLICY_VERSION,
      taste: b.taste,
      history: b.history,
      assignments: [...b.assignments.values()].slice(-5000),
      pending: this.pending.entries().map(([, p]) => ({ titleId: p.titleId, ts: p.ts, artworkId: p.payload.artworkId, ids: p.ids, ...(p.slot === undefined ? {} : { slot: p.slot }), engaged: p.engaged, rewarded: p.rewarded })),
    };
    this.saveQueue = this.saveQueue.then(() => putMeta(this.db, 'artwork', state));
    return this.saveQueue;
  }
}

/** What a held impression showed. */
interface Shown {
  titleId: string;
  artworkId: string;
}

const round = (x: number) => Math.round(x * 10000) / 10000;
