/**
 * Live aggregates over the event stream, kept in memory and updated as events are committed: popularity, trending
 * and title-to-title co-occurrence. Rebuilt from the store at start, then incremental.
 *
 * Trending uses forward decay: an event at time t adds exp(lambda * (t - t0)) to its title's score. Every score
 * decays at the same rate, so the ranking at any later time equals the ranking by these sums, and no timer has to
 * touch every title. When the weights grow large the reference time moves forward and every score is scaled down
 * once (rebase), so they never overflow however long the process lives.
 *
 * Time is the server's: an event counts at its arrival time (or its own `ts` when that is earlier, so a replayed
 * history keeps its shape); a client's clock can never push a title into the future. Memory is per title, per
 * title pair and per member, never per event: the start-up replay streams the store through `observeEngagement`.
 */
import { isPlaySignal, PLAY_SIGNAL_EVENTS, type LiveAggregatesState, type MarqueeEvent } from '@marquee/core';

export interface AggregateOptions {
  /** Half-life of the trending score. Default one day. */
  trendingHalfLifeMs?: number;
  /** How many recent titles per member pair up into co-occurrences. Default 20. */
  recentPerMember?: number;
  t0?: number;
}

/** exp(300) is ~1e130: far from overflow, and a rebase every 300 / ln 2 ~ 430 half-lives is cheap. */
const MAX_EXPONENT = 300;

/** What the aggregates count: play signals (vocabulary.ts), starting or finishing a title, not being shown it. */
export const ENGAGEMENT_TYPES: readonly MarqueeEvent['type'][] = PLAY_SIGNAL_EVENTS;

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
  private readonly halfLifeMs: number;
  private readonly recentPerMember: number;
  private t0: number;
  private sortedCache = new Map<'plays' | 'trend', Scored[]>();
  /** Titles whose scores changed since each cached list was built. */
  private touched = { plays: new Set<string>(), trend: new Set<string>() };
  /** Events observed so far. */
  observed = 0;

  constructor(opts: AggregateOptions = {}) {
    this.halfLifeMs = opts.trendingHalfLifeMs ?? 86_400_000;
    this.lambda = Math.LN2 / this.halfLifeMs;
    this.recentPerMember = opts.recentPerMember ?? 20;
    this.t0 = opts.t0 ?? Date.UTC(2025, 0, 1);
  }

  /** Newly stored events; `receivedAt` (the arrival time) caps each event's time. */
  observe(events: readonly MarqueeEvent[], receivedAt?: number): void {
    for (const e of events) {
      if (!('titleId' in e)) {
        this.observed++;
        continue;
      }
      this.observeEngagement(e.type, e.titleId, e.userId ?? e.anonymousId!, receivedAt === undefined ? e.ts : Math.min(e.ts, receivedAt));
    }
  }

  /** One stored event by its parts (the start-up replay streams these without building event objects). */
  observeEngagement(type: MarqueeEvent['type'], title: string, member: string, time: number): void {
    this.observed++;
    if (!isPlaySignal(type)) return;
    // A time that is not a finite number counts at the reference time rather than poisoning every score.
    const t = Number.isFinite(time) ? time : this.t0;
    this.plays.set(title, (this.plays.get(title) ?? 0) + 1);
    if (this.lambda * (t - this.t0) > MAX_EXPONENT) this.rebase(t);
    this.trend.set(title, (this.trend.get(title) ?? 0) + Math.exp(this.lambda * (t - this.t0)));
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
    this.touched.plays.add(title);
    this.touched.trend.add(title);
  }

  /** Moves the reference time to `t0`: every trending score is multiplied by the same factor, order unchanged. */
  private rebase(t0: number): void {
    const factor = Math.exp(-this.lambda * (t0 - this.t0));
    for (const [title, score] of this.trend) this.trend.set(title, score * factor);
    this.t0 = t0;
    this.sortedCache.delete('trend');
  }

  private bump(a: string, b: string): void {
    let row = this.cooc.get(a);
    if (!row) this.cooc.set(a, (row = new Map()));
    row.set(b, (row.get(b) ?? 0) + 1);
  }

  /**
   * Titles by descending score (ties by id). Scores only grow and untouched titles keep their relative order, so a
   * cached list is repaired in O(n + t log t) for t touched titles: drop them, sort them, merge them back in. A full
   * sort only when most titles changed (start-up replay).
   */
  private sorted(kind: 'plays' | 'trend'): Scored[] {
    const src = kind === 'plays' ? this.plays : this.trend;
    const touched = this.touched[kind];
    let list = this.sortedCache.get(kind);
    if (list && touched.size === 0) return list;
    if (!list || touched.size > src.size / 4) {
      list = [...src].map(([titleId, score]) => ({ titleId, score })).sort(byScore);
    } else {
      const fresh = [...touched].map((titleId) => ({ titleId, score: src.get(titleId)! })).sort(byScore);
      const merged: Scored[] = new Array(src.size);
      let i = 0;
      let j = 0;
      let o = 0;
      for (;;) {
        const kept = list[i];
        const changed = fresh[j];
        if (kept && touched.has(kept.titleId)) i++;
        else if (kept && (!changed || byScore(kept, changed) <= 0)) (merged[o++] = kept), i++;
        else if (changed) (merged[o++] = changed), j++;
        else break;
      }
      merged.length = o;
      list = merged;
    }
    touched.clear();
    this.sortedCache.set(kind, list);
    return list;
  }

  /** Everything observed, as plain data in the maps' order (the start-up snapshot, server/src/snapshot.ts). */
  state(): LiveAggregatesState {
    const titles = [...this.plays.keys()];
    const at = new Map(titles.map((t, i) => [t, i]));
    const idx = (t: string) => at.get(t) ?? -1; // every title paired or recent has a play, so is in `titles`
    const s: LiveAggregatesState = {
      halfLifeMs: this.halfLifeMs, recentPerMember: this.recentPerMember, t0: this.t0, observed: this.observed,
      titles, plays: titles.map((t) => this.plays.get(t) ?? 0), trend: titles.map((t) => this.trend.get(t) ?? 0),
      coocTitle: [], coocLength: [], coocOther: [], coocCount: [], members: [], recentLength: [], recentTitle: [],
    };
    for (const [a, row] of this.cooc) {
      s.coocTitle.push(idx(a));
      s.coocLength.push(row.size);
      for (const [b, n] of row) s.coocOther.push(idx(b)), s.coocCount.push(n);
    }
    for (const [m, recent] of this.recent) {
      s.members.push(m);
      s.recentLength.push(recent.length);
      for (const t of recent) s.recentTitle.push(idx(t));
    }
    return s;
  }

  /** Aggregates as `state()` left them; null when they were kept with other options than these (rebuild then). */
  static fromState(s: LiveAggregatesState, opts: AggregateOptions = {}): LiveAggregates | null {
    const a = new LiveAggregates({ ...opts, t0: s.t0 });
    if (a.halfLifeMs !== s.halfLifeMs || a.recentPerMember !== s.recentPerMember) return null;
    const title = (i: number) => s.titles[i] ?? '';
    s.titles.forEach((t, i) => {
      a.plays.set(t, s.plays[i] ?? 0);
      a.trend.set(t, s.trend[i] ?? 0);
    });
    let j = 0;
    s.coocTitle.forEach((t, i) => {
      const row = new Map<string, number>();
      for (const end = j + (s.coocLength[i] ?? 0); j < end; j++) row.set(title(s.coocOther[j] ?? -1), s.coocCount[j] ?? 0);
      a.cooc.set(title(t), row);
    });
    j = 0;
    s.members.forEach((m, i) => {
      const recent: string[] = [];
      for (const end = j + (s.recentLength[i] ?? 0); j < end; j++) recent.push(title(s.recentTitle[j] ?? -1));
      a.recent.set(m, recent);
    });
    a.observed = s.observed;
    return a;
  }

  popular(k: number): Scored[] {
    return this.sorted('plays').slice(0, k);
  }

  /** Trending scores as decayed event counts at `now`. */
  trending(k: number, now = Date.now()): Scored[] {
    // Never scale up: if the clock reads earlier than the reference time, scores are read at the reference time,
    // so every score stays at most (count x e^300) and finite.
    const elapsed = now - this.t0;
    const scale = elapsed > 0 ? Math.exp(-this.lambda * elapsed) : 1;
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

function byScore(a: Scored, b: Scored): number {
  return b.score - a.score || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0);
}
