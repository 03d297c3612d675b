/**
 * The store's own events as a logged-bandit log: every impression that carries an artwork choice becomes one
 * decision (the title's artworks with their theme features as the actions, the logged propensity, the impression's
 * row position), rewarded 1 when a quality play of that title by that viewer follows within the window. A play is
 * credited to the impression it names (`impressionId`), else to the one its play start came from (RewardJoiner); a
 * title shown in two rows is two trials, as on the device.
 */
import { artwork as aw, type ArtworkAggregatesState, type MarqueeEvent, type PendingShown } from '@marquee/core';
import { ARTWORK_EVENT_TYPES, artworkRow, type ArtworkRow, type EventStore } from '../store/types.ts';

export interface CatalogLookup {
  /** A title's artworks and their themes, and its genres (the between-viewer variance groups by the first). */
  get(titleId: string): { artworks: readonly { id: string; themes: readonly string[] }[]; genres?: readonly string[] } | undefined;
}

export interface DecisionLog {
  decisions: aw.LoggedDecision[];
  /** Impressions left out: no artwork logged, or an artwork the catalog does not know. */
  skipped: number;
}

/** Events in time order per viewer (the store keeps arrival order; sort by ts to be safe). */
export function decisionsFromEvents(events: Iterable<MarqueeEvent>, catalog: CatalogLookup, reward: aw.RewardDefinition = aw.QUALITY_PLAY): DecisionLog {
  const sorted = [...events].sort((a, b) => a.ts - b.ts);
  const joiner = new aw.RewardJoiner<number>(reward);
  const decisions: aw.LoggedDecision[] = [];
  const rewards: number[] = [];
  let skipped = 0;
  for (const e of sorted) {
    if (!('titleId' in e)) continue;
    const viewer = e.userId ?? e.anonymousId ?? '';
    const key = `${viewer}|${e.titleId}`;
    for (const s of joiner.expire(e.ts)) rewards[s.payload] = s.reward;
    if (e.type === 'impression') {
      const title = catalog.get(e.titleId);
      const k = title && e.artwork ? title.artworks.findIndex((a) => a.id === e.artwork!.artworkId) : -1;
      if (!title || !e.artwork || k < 0) {
        skipped++;
        continue;
      }
      const feats = aw.titleFeatures(title.artworks);
      const i = decisions.length;
      decisions.push({
        context: [],
        actions: title.artworks.map((a, j) => ({ id: a.id, features: Array.from(feats[j]!) })),
        action: k,
        position: e.position,
        reward: 0,
        propensity: e.artwork.propensity,
        meta: { viewer, titleId: e.titleId, ...(e.artwork.policy ? { policy: e.artwork.policy } : {}) },
      });
      rewards[i] = 0;
      for (const s of joiner.impression(key, e.titleId, e.ts, i, e.id.toLowerCase(), undefined, e.row)) rewards[s.payload] = s.reward;
      continue;
    }
    const p = 'position' in e ? e.position : undefined;
    const d = 'duration' in e ? e.duration : undefined;
    const s = joiner.engagement(key, e.type, e.ts, p, d, e.impressionId?.toLowerCase());
    if (s) rewards[s.payload] = s.reward;
  }
  decisions.forEach((d, i) => (d.reward = rewards[i] ?? 0));
  return { decisions, skipped };
}

/**
 * Live counts per (title, artwork) over the event stream, for the published priors, and the population's
 * history-context weights (aw.ContextWeightsLearner): each viewer's history (the titles they started playing, as
 * the device keeps it) at each impression, against whether it earned the reward, each impression weighted by
 * uniformLogWeight (below). The same rows in the same order
 * give the same counts and weights, whether they arrive live (observe) or come back from the store at start
 * (replayArtwork). Memory: per (title, artwork), per pending join and per viewer (a history of 13 numbers and the
 * between-viewer variance's 42 sums per genre they were shown), and one copy of the counts (the reference priors). A play, progress or
 * completion credits the impression it names (`impressionId`; the typed copy keeps impressions' ids since migration
 * 55), else the impression its play start came from, as on the device (core's RewardJoiner).
 */
export class ArtworkAggregates {
  /** Replaced only by `restore` (a snapshot), before the server listens. */
  counts = new aw.ArtworkCounts();
  private readonly joiner: aw.RewardJoiner<Shown>;
  private readonly playJoiner: aw.RewardJoiner<Shown>;
  private context = new aw.ContextWeightsLearner();
  /** How far viewers' own tastes stray from the population's prediction: published as the priors' betweenViewerVar. */
  private spread = new aw.BetweenViewerVariance();
  /**
   * The priors an impression's expected reward is measured against for `spread` (what the device expected of the
   * artwork: its rate plus the predicted taste), as the devices would have them. Refreshed at fixed impression counts
   * (referenceDue), never by when the priors were asked for, so the same rows give the same state live and at start.
   */
  private reference: aw.PriorRates | null = null;
  private readonly histories = new Map<string, aw.ViewerHistory>();
  private readonly features = new Map<string, Float64Array[]>();
  /** Each played title's theme profile (titleProfile), computed at its first play: the catalog is fixed while running. */
  private readonly profiles = new Map<string, Float64Array>();
  /** The model fitted at the counts' version it was fitted at (a fit is a 26 x 26 Cholesky). */
  private fitted: { changes: number; model: ReturnType<aw.ContextWeightsLearner['fit']> & { betweenViewerVar?: number } } | null = null;
  observed = 0;

  constructor(
    readonly reward: aw.RewardDefinition = aw.QUALITY_PLAY,
    /** The titles' artworks and their themes: without it there is no history context (no weights published). */
    private readonly catalog?: CatalogLookup,
  ) {
    this.joiner = new aw.RewardJoiner(reward);
    this.playJoiner = new aw.RewardJoiner(aw.CLICK);
  }

  observe(events: readonly MarqueeEvent[]): void {
    const rows: ArtworkRow[] = [];
    for (const e of events) {
      this.observed++;
      const r = artworkRow(e);
      if (r) rows.push(r);
    }
    this.observeRows(rows);
  }

  /**
   * The shown artwork's centred features, the viewer's context now and the impression's weight in the population
   * fit, when the catalog knows the artwork.
   */
  private contextRow(memberId: string, titleId: string, artworkId: string, propensity: number | undefined): Shown['context'] {
    const title = this.catalog?.get(titleId);
    const k = title ? title.artworks.findIndex((a) => a.id === artworkId) : -1;
    if (!title || k < 0) return undefined;
    let f = this.features.get(titleId);
    if (!f || f.length !== title.artworks.length) this.features.set(titleId, (f = aw.titleFeatures(title.artworks)));
    const h = this.histories.get(memberId);
    const x = f[k]!;
    const history = h ? aw.historyContext(h) : new Float64Array(aw.FEATURE_DIM);
    const ref = this.reference;
    const predicted = aw.predictedTaste(ref?.population ?? null, history);
    let base = ref ? ref.rate(titleId, artworkId) : 0;
    for (let i = 0; i < aw.FEATURE_DIM; i++) base += x[i]! * predicted[i]!;
    return { x, history, weight: uniformLogWeight(title.artworks.length, propensity), viewer: memberId, genre: aw.primaryGenre(title), base };
  }

  /**
   * Whether the reference priors are due for a refresh after this many impressions: each time the log has grown by
   * a sixteenth (a power of two: every impression up to 31, every 2,048 from 32,768, every 65,536 from a million).
   * The devices' priors are as stale as that or more (they refetch every 5 minutes), and a refresh copies every
   * artwork's counts: refreshed per impression, a replay of millions of rows would spend minutes copying.
   */
  private static referenceDue(impressions: number): boolean {
    return impressions % Math.max(1, 2 ** Math.floor(Math.log2(impressions)) / 16) === 0;
  }

  observeRows(rows: readonly ArtworkRow[]): void {
    for (const r of rows) {
      const key = `${r.memberId}|${r.titleId}`;
      if (r.type === 'impression') {
        if (!r.artworkId) continue;
        const shown: Shown = { titleId: r.titleId, artworkId: r.artworkId, context: this.contextRow(r.memberId, r.titleId, r.artworkId, r.propensity) };
        this.counts.impression(r.titleId, shown.artworkId);
        if (shown.context) {
          this.context.impression(shown.context.x, shown.context.history, shown.context.weight);
          this.spread.impression(shown.context.viewer, shown.context.genre, shown.context.x, shown.context.base);
        }
        if (this.catalog && ArtworkAggregates.referenceDue(this.counts.impressions)) {
          this.reference = new aw.PriorRates(this.counts.snapshot(this.reward, 0, 'r', { ...this.context.fit(), impressions: this.context.impressions }));
        }
        this.joiner.impression(key, r.titleId, r.ts, shown, r.id, undefined, r.row);
        this.playJoiner.impression(key, r.titleId, r.ts, shown, r.id, undefined, r.row);
        continue;
      }
      if (r.type === 'play_start') {
        const title = this.catalog?.get(r.titleId);
        if (title) {
          let profile = this.profiles.get(r.titleId);
          if (!profile) this.profiles.set(r.titleId, (profile = aw.titleProfile(title.artworks)));
          let h = this.histories.get(r.memberId);
          if (!h) this.histories.set(r.memberId, (h = aw.emptyHistory()));
          aw.addProfile(h, profile);
        }
      }
      const play = this.playJoiner.engagement(key, r.type, r.ts, r.position, r.duration, r.impressionId);
      if (play) this.counts.play(play.payload.titleId, play.payload.artworkId);
      const q = this.joiner.engagement(key, r.type, r.ts, r.position, r.duration, r.impressionId);
      if (q) {
        this.counts.qualityPlay(q.payload.titleId, q.payload.artworkId);
        const c = q.payload.context;
        if (c) {
          this.context.rewarded(c.x, c.history, 1, c.weight);
          this.spread.rewarded(c.viewer, c.genre, c.x, c.base);
        }
      }
    }
    // Bound the pending joins: anything older than the window can no longer be rewarded.
    const last = rows.length ? rows[rows.length - 1]!.ts : 0;
    if (this.joiner.size > 100_000) {
      this.joiner.expire(last);
      this.playJoiner.expire(last);
    }
  }

  /** Everything observed, as plain data in the maps' order (the start-up snapshot, server/src/snapshot.ts). */
  state(): ArtworkAggregatesState {
    const pending = (j: aw.RewardJoiner<Shown>): PendingShown[] =>
      j.entries().map(([key, p]) => {
        const c = p.payload.context;
        return {
          key, titleId: p.titleId, ts: p.ts, artworkId: p.payload.artworkId, ids: [...p.ids], ...(p.slot === undefined ? {} : { slot: p.slot }), engaged: p.engaged, rewarded: p.rewarded,
          ...(c ? { context: { x: Array.from(c.x), history: Array.from(c.history), weight: c.weight, viewer: c.viewer, genre: c.genre, base: c.base } } : {}),
        };
      });
    const historyMembers = [...this.histories.keys()];
    const histories = [...this.histories.values()];
    return {
      reward: { ...this.reward }, observed: this.observed, counts: this.counts.state(), context: this.context.state(),
      historyMembers, historySum: histories.flatMap((h) => h.sum), historyPlays: histories.map((h) => h.plays),
      spread: this.spread.state(), reference: this.reference?.priors ?? null,
      qualityPending: pending(this.joiner), playPending: pending(this.playJoiner),
    };
  }

  /**
   * Takes back a `state()` (this instance must be fresh, with the same reward definition and catalog); false when
   * the reward definition differs, and nothing is changed then.
   */
  restore(s: ArtworkAggregatesState): boolean {
    if (JSON.stringify(aw.RewardDefinitionSchema.parse(this.reward)) !== JSON.stringify(s.reward)) return false;
    this.counts = aw.ArtworkCounts.fromState(s.counts);
    this.context = aw.ContextWeightsLearner.fromState(s.context);
    this.spread = aw.BetweenViewerVariance.fromState(s.spread);
    this.reference = s.reference ? new aw.PriorRates(s.reference) : null;
    const dim = aw.FEATURE_DIM;
    s.historyMembers.forEach((m, i) => this.histories.set(m, { sum: s.historySum.slice(i * dim, (i + 1) * dim), plays: s.historyPlays[i] ?? 0 }));
    const entries = (list: PendingShown[]): [string, aw.PendingImpression<Shown>][] =>
      list.map((p) => {
        const c = p.context;
        const shown: Shown = { titleId: p.titleId, artworkId: p.artworkId, ...(c ? { context: { x: Float64Array.from(c.x), history: Float64Array.from(c.history), weight: c.weight, viewer: c.viewer, genre: c.genre, base: c.base } } : {}) };
        return [p.key, { titleId: p.titleId, ts: p.ts, payload: shown, ids: [...p.ids], ...(p.slot === undefined ? {} : { slot: p.slot }), engaged: p.engaged, rewarded: p.rewarded }];
      });
    this.joiner.restore(entries(s.qualityPending));
    this.playJoiner.restore(entries(s.playPending));
    this.observed = s.observed;
    this.fitted = null;
    return true;
  }

  priors(now: number): aw.ArtworkPriors {
    return this.counts.snapshot(this.reward, now, 'p', this.populationModel());
  }

  /**
   * The population's model of taste as published: the fit, the impressions it rests on and, once two viewers have two
   * impressions each, the between-viewer variance; none without a catalog or an impression.
   */
  private populationModel(): aw.ArtworkPriors['context'] {
    if (!this.catalog || this.context.impressions === 0) return undefined;
    if (this.fitted?.changes !== this.counts.changes) {
      const between = this.spread.estimate()?.betweenViewerVar;
      this.fitted = { changes: this.counts.changes, model: { ...this.context.fit(), ...(between !== undefined ? { betweenViewerVar: between } : {}) } };
    }
    return { ...this.fitted.model, impressions: this.context.impressions };
  }
}

interface Shown {
  titleId: string;
  artworkId: string;
  /** What the history-context regression and the between-viewer variance need, kept until the reward arrives. */
  context?: { x: Float64Array; history: Float64Array; weight: number; viewer: string; genre: string; base: number };
}

/**
 * The largest weight one impression gets in the population fit. Every policy here stays below it (Thompson
 * sampling's smallest propensity, 1/128, gives 128/K <= 64 for K >= 2; epsilon-greedy's epsilon/K gives 1/epsilon),
 * so it only bounds what a client's tiny logged propensity can do: 1e-300 would otherwise outweigh every other
 * impression, and overflow the fit to Infinity.
 */
export const MAX_IMPRESSION_WEIGHT = 100;

/**
 * An impression's weight in the population fit: 1 / (K x propensity), which makes a policy's log a uniform one in
 * expectation, so the artworks' centred features average zero within a title whatever the policy chose for whom
 * (unweighted, the reward's level and the viewer's appeal leak into the theme effects: README "Artwork"). An
 * impression without a logged propensity (a row written outside the API) counts as if shown uniformly.
 */
export function uniformLogWeight(artworks: number, propensity: number | undefined): number {
  if (propensity === undefined || !(propensity > 0)) return 1;
  return Math.min(MAX_IMPRESSION_WEIGHT, 1 / (artworks * propensity));
}

/**
 * Rebuilds the artwork counts from the store at start, a chunk at a time (memory per (title, artwork) and pending
 * join, never per stored event), so the priors a restarted server publishes are the ones it published before.
 */
export async function replayArtwork(store: EventStore, aggregates: ArtworkAggregates, fromRowid = 0): Promise<number> {
  let n = 0;
  if (store.scanArtwork) {
    for await (const rows of store.scanArtwork(fromRowid)) {
      aggregates.observeRows(rows);
      n += rows.length;
    }
  } else {
    if (fromRowid > 0) throw new Error('this store cannot replay from a row');
    const events = await store.scan(ARTWORK_EVENT_TYPES);
    aggregates.observe(events);
    n = events.length;
  }
  return n;
}
