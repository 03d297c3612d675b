/**
 * What rewards the bandit: a quality play, never a click alone. A quality play is a play of the impressed title that
 * reaches `minSeconds` or `minFraction` of the runtime within `windowMs` of the impression. `kind: 'play'` (any play
 * start) exists only to show what a click-rewarded bandit does.
 */
import { z } from 'zod';

export const RewardDefinitionSchema = z.object({
  kind: z.enum(['quality-play', 'play']),
  minSeconds: z.number().nonnegative(),
  minFraction: z.number().min(0).max(1),
  windowMs: z.number().int().positive(),
});
export type RewardDefinition = z.infer<typeof RewardDefinitionSchema>;

export const QUALITY_PLAY: Readonly<RewardDefinition> = Object.freeze({ kind: 'quality-play', minSeconds: 900, minFraction: 0.25, windowMs: 6 * 3600_000 });
export const CLICK: Readonly<RewardDefinition> = Object.freeze({ ...QUALITY_PLAY, kind: 'play' });

/** Whether a playback position counts as a quality play (a play start counts only for `kind: 'play'`). */
export function isRewarding(def: RewardDefinition, type: string, position?: number, duration?: number): boolean {
  if (type === 'play_start') return def.kind === 'play';
  if (type !== 'progress' && type !== 'pause' && type !== 'complete') return false;
  if (def.kind === 'play') return true;
  if (type === 'complete') return true;
  if (position === undefined) return false;
  return position >= def.minSeconds || (duration !== undefined && duration > 0 && position / duration >= def.minFraction);
}

export interface PendingImpression<P> {
  titleId: string;
  ts: number;
  payload: P;
}

/**
 * Joins impressions to the plays that follow them, for one stream of events (a viewer on the device; all viewers on
 * the server when keyed by viewer). An impression is settled with reward 1 at its first rewarding event within the
 * window, with 0 once the window has passed. A play is credited to the latest impression of its title.
 */
export class RewardJoiner<P> {
  private readonly pending = new Map<string, PendingImpression<P>>();
  constructor(private readonly def: RewardDefinition) {}

  /** Records an impression; an earlier unsettled impression of the same key is settled with reward 0. */
  impression(key: string, titleId: string, ts: number, payload: P): { payload: P; reward: number }[] {
    const out: { payload: P; reward: number }[] = [];
    const prev = this.pending.get(key);
    if (prev) out.push({ payload: prev.payload, reward: 0 });
    this.pending.set(key, { titleId, ts, payload });
    return out;
  }

  /** An engagement event on `key` (viewer + title); returns the impression it settles with reward 1, if any. */
  engagement(key: string, type: string, ts: number, position?: number, duration?: number): { payload: P; reward: number } | null {
    const p = this.pending.get(key);
    if (!p || ts - p.ts > this.def.windowMs || ts < p.ts) return null;
    if (!isRewarding(this.def, type, position, duration)) return null;
    this.pending.delete(key);
    return { payload: p.payload, reward: 1 };
  }

  /** Settles with reward 0 every impression whose window ended before `now`. */
  expire(now: number): { payload: P; reward: number }[] {
    const out: { payload: P; reward: number }[] = [];
    for (const [k, p] of this.pending) {
      if (now - p.ts > this.def.windowMs) {
        out.push({ payload: p.payload, reward: 0 });
        this.pending.delete(k);
      }
    }
    return out;
  }

  /** Settles everything still pending with reward 0 (end of a log). */
  flush(): { payload: P; reward: number }[] {
    const out = [...this.pending.values()].map((p) => ({ payload: p.payload, reward: 0 }));
    this.pending.clear();
    return out;
  }

  get size(): number {
    return this.pending.size;
  }

  /** The unsettled impressions by key, in the order they were recorded (what a snapshot keeps). */
  entries(): [string, PendingImpression<P>][] {
    return [...this.pending];
  }

  /** Puts back unsettled impressions taken with `entries()`, in their order, after any already pending. */
  restore(entries: Iterable<[string, PendingImpression<P>]>): void {
    for (const [k, p] of entries) this.pending.set(k, p);
  }
}
