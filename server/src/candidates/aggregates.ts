/**
 * Live aggregates over the event stream, kept in memory and updated as events are committed: popularity, trending
 * and title-to-title co-occurrence. Rebuilt from the store at start, then incremental.
 *
 * Trending uses forward decay: an event at time t adds exp(lambda * (t - t0)) to its title's score. Every score
 * decays at the same rate, so the ranking at any later time equals the ranking by these sums, and no timer has to
 * touch every title. (Rebase t0 if the process lives for hundreds of half-lives.)
 */
import type { MarqueeEvent } from '@marquee/core';

export interface AggregateOptions {
  /** Half-life of the trending score. Default one day. */
  trendingHalfLifeMs?: number;
  /** How many recent titles per member pair up into co-occurrences. Default 20. */
  recentPerMember?: number;
  t0?: number;
}

/** What counts as engagement: starting or finishing a title, not being shown it. */
const ENGAGEMENT: Partial<Record<MarqueeEvent['type'], number>> = { play_start: 1, complete: 1 };
export const ENGAGEMENT_TYPES = Object.keys(ENGAGEMENT) as MarqueeEvent['type'][];

export interface Scored {
  titleId: string;
  score: number;
}

export class LiveAggregates {
  private readonly plays = new Map<string, number>();
  private readonly trend = new Map<string, number>();
  private readonly cooc = new Map<string, Map<string, number>>();
  private readonly recent = new Map<string, string[]>();
  private readonly lambda: number;
  private readonly recentPerMember: number;
  private readonly t0: number;
  private sortedCache = new Map<'plays' | 'trend', Scored[]>();
  /** Events observed so far. */
  observed = 0;

  constructor(opts: AggregateOptions = {}) {
    this.lambda = Math.LN2 / (opts.trendingHalfLifeMs ?? 86_400_000);
    this.recentPerMember = opts.recentPerMember ?? 20;
    this.t0 = opts.t0 ?? Date.UTC(2025, 0, 1);
  }

  observe(events: readonly MarqueeEvent[]): void {
    for (const e of events) {
      this.observed++;
      if (!('titleId' in e) || !ENGAGEMENT[e.type]) continue;
      const title = e.titleId;
      const member = e.userId ?? e.anonymousId!;
      this.plays.set(title, (this.plays.get(title) ?? 0) + 1);
      this.trend.set(title, (this.trend.get(title) ?? 0) + Math.exp(this.lambda * (e.ts - this.t0)));
      const history = this.recent.get(member) ?? [];
      if (!history.includes(title)) {
        for (const other of history) {
          this.bump(title, other);
          this.bump(other, title);
        }
        history.push(title);
        if (history.length > this.recentPerMember) history.shift();
        this.recent.set(member, history);
      }
      this.sortedCache.clear();
    }
  }

  private bump(a: string, b: string): void {
    let row = this.cooc.get(a);
    if (!row) this.cooc.set(a, (row = new Map()));
    row.set(b, (row.get(b) ?? 0) + 1);
  }

  private sorted(kind: 'plays' | 'trend'): Scored[] {
    let list = this.sortedCache.get(kind);
    if (!list) {
      const src = kind === 'plays' ? this.plays : this.trend;
      list = [...src].map(([titleId, score]) => ({ titleId, score })).sort((a, b) => b.score - a.score || (a.titleId < b.titleId ? -1 : 1));
      this.sortedCache.set(kind, list);
    }
    return list;
  }

  popular(k: number): Scored[] {
    return this.sorted('plays').slice(0, k);
  }

  /** Trending scores as decayed event counts at `now`. */
  trending(k: number, now = Date.now()): Scored[] {
    const scale = Math.exp(-this.lambda * (now - this.t0));
    return this.sorted('trend').slice(0, k).map((s) => ({ titleId: s.titleId, score: s.score * scale }));
  }

  /**
   * Titles watched by the same members as `titleId`, by co-occurrence / sqrt(plays(a) * plays(b)) (cosine on the
   * member-title matrix), which keeps blockbusters from being "similar" to everything.
   */
  similar(titleId: string, k: number): Scored[] {
    const row = this.cooc.get(titleId);
    if (!row) return [];
    const pa = this.plays.get(titleId) ?? 1;
    const out: Scored[] = [];
    for (const [other, n] of row) out.push({ titleId: other, score: n / Math.sqrt(pa * (this.plays.get(other) ?? 1)) });
    out.sort((a, b) => b.score - a.score || (a.titleId < b.titleId ? -1 : 1));
    return out.slice(0, k);
  }

  playsOf(titleId: string): number {
    return this.plays.get(titleId) ?? 0;
  }

  recentOf(member: string): readonly string[] {
    return this.recent.get(member) ?? [];
  }
}
