/**
 * The store's own events as a logged-bandit log: every impression that carries an artwork choice becomes one
 * decision (the title's artworks with their theme features as the actions, the logged propensity, the impression's
 * row position), rewarded 1 when a quality play of that title by that viewer follows within the window.
 */
import { artwork as aw, type MarqueeEvent } from '@marquee/core';

export interface CatalogLookup {
  get(titleId: string): { artworks: readonly { id: string; themes: readonly string[] }[] } | undefined;
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
      for (const s of joiner.impression(key, e.titleId, e.ts, i)) rewards[s.payload] = s.reward;
      continue;
    }
    const p = 'position' in e ? e.position : undefined;
    const d = 'duration' in e ? e.duration : undefined;
    const s = joiner.engagement(key, e.type, e.ts, p, d);
    if (s) rewards[s.payload] = s.reward;
  }
  decisions.forEach((d, i) => (d.reward = rewards[i] ?? 0));
  return { decisions, skipped };
}

/** Live counts per (title, artwork) over the event stream, for the published priors. */
export class ArtworkAggregates {
  readonly counts = new aw.ArtworkCounts();
  private readonly joiner: aw.RewardJoiner<{ titleId: string; artworkId: string }>;
  private readonly playJoiner: aw.RewardJoiner<{ titleId: string; artworkId: string }>;
  observed = 0;

  constructor(readonly reward: aw.RewardDefinition = aw.QUALITY_PLAY) {
    this.joiner = new aw.RewardJoiner(reward);
    this.playJoiner = new aw.RewardJoiner(aw.CLICK);
  }

  observe(events: readonly MarqueeEvent[]): void {
    for (const e of events) {
      this.observed++;
      if (!('titleId' in e)) continue;
      const key = `${e.userId ?? e.anonymousId}|${e.titleId}`;
      if (e.type === 'impression') {
        if (!e.artwork) continue;
        const shown = { titleId: e.titleId, artworkId: e.artwork.artworkId };
        this.counts.impression(e.titleId, shown.artworkId);
        this.joiner.impression(key, e.titleId, e.ts, shown);
        this.playJoiner.impression(key, e.titleId, e.ts, shown);
        continue;
      }
      const p = 'position' in e ? e.position : undefined;
      const d = 'duration' in e ? e.duration : undefined;
      const play = this.playJoiner.engagement(key, e.type, e.ts, p, d);
      if (play) this.counts.play(play.payload.titleId, play.payload.artworkId);
      const q = this.joiner.engagement(key, e.type, e.ts, p, d);
      if (q) this.counts.qualityPlay(q.payload.titleId, q.payload.artworkId);
    }
    // Bound the pending joins: anything older than the window can no longer be rewarded.
    const last = events.length ? events[events.length - 1]!.ts : 0;
    if (this.joiner.size > 100_000) {
      this.joiner.expire(last);
      this.playJoiner.expire(last);
    }
  }

  priors(now: number): aw.ArtworkPriors {
    return this.counts.snapshot(this.reward, now, 'p');
  }
}
