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

/**
 * A held impression's join state, as persisted (the device's ArtworkState, the server's snapshot). Defaults: state
 * written before impressions were joined by id had none of it (an unnamed impression nothing was played from).
 */
export const PendingJoinSchema = z.object({
  ids: z.array(z.string()).default([]),
  slot: z.string().optional(),
  engaged: z.boolean().default(false),
  rewarded: z.boolean().default(false),
});

export interface PendingImpression<P> {
  titleId: string;
  ts: number;
  payload: P;
  /** The impression events this trial stands for (a re-render of the same choice adds its id); empty when unnamed. */
  ids: string[];
  /** Where on the page it was shown (the device: the row), when the key's title can be on screen more than once. */
  slot?: string;
  /** The title's current playback started from it: playback events that name no impression are its. */
  engaged: boolean;
  /** Rewarded already; kept while engaged so that the rest of that playback rewards no other impression. */
  rewarded: boolean;
}

export interface Settled<P> {
  payload: P;
  reward: number;
}

/**
 * Joins impressions to the plays that follow them, for one stream of events (a viewer on the device; all viewers on
 * the server when keyed by viewer and title). An impression is settled with reward 1 at its first rewarding event
 * within the window, with 0 once the window has passed or when a newer impression of the same key replaces it
 * before anything was played from it.
 *
 * Which impression a playback event credits: the one it names (`impressionId`), and none when that one is no longer
 * pending; unnamed, the one the key's last play start engaged (a play's re-render shows the title again, and that
 * fresh impression must not take the quality play of the one that was clicked); a play start with neither goes to
 * the latest impression.
 */
export class RewardJoiner<P> {
  /** Per key, oldest first: a key holds at most the engaged impression and the latest one per slot. */
  private readonly pending = new Map<string, PendingImpression<P>[]>();
  private count = 0;
  constructor(private readonly def: RewardDefinition) {}

  /**
   * Records an impression (`id`: its event id, when known; `slot`: where it was shown). Earlier impressions of the
   * key in the same slot that nothing was played from are settled with 0 (the card now shows another), unless
   * `sameChoice` says the latest unrewarded one there shows what this one shows: then this one joins it as the same
   * trial (a re-render of a held artwork, also while it plays, is not a new decision).
   */
  impression(key: string, titleId: string, ts: number, payload: P, id?: string, sameChoice?: (shown: P) => boolean, slot?: string): Settled<P>[] {
    const list = this.pending.get(key) ?? [];
    const last = list.findLast((p) => p.slot === slot);
    if (last && !last.rewarded && sameChoice?.(last.payload)) {
      if (id !== undefined) last.ids.push(id);
      return [];
    }
    const out: Settled<P>[] = [];
    const kept: PendingImpression<P>[] = [];
    for (const p of list) {
      if (p.engaged || p.slot !== slot) kept.push(p);
      else out.push({ payload: p.payload, reward: 0 });
    }
    kept.push({ titleId, ts, payload, ids: id === undefined ? [] : [id], ...(slot === undefined ? {} : { slot }), engaged: false, rewarded: false });
    this.count += kept.length - list.length;
    this.pending.set(key, kept);
    return out;
  }

  /**
   * An engagement event on `key` (`impressionId`: the impression it names, if any); returns the impression it
   * settles with reward 1, if any.
   */
  engagement(key: string, type: string, ts: number, position?: number, duration?: number, impressionId?: string): Settled<P> | null {
    const list = this.pending.get(key);
    if (!list) return null;
    const target =
      impressionId !== undefined
        ? list.find((p) => p.ids.includes(impressionId))
        : type === 'play_start'
          ? list.findLast((p) => !p.rewarded)
          : (list.find((p) => p.engaged) ?? list.findLast((p) => !p.rewarded));
    if (!target || target.rewarded || ts - target.ts > this.def.windowMs || ts < target.ts) return null;
    if (type === 'play_start' && !target.engaged) {
      // One playback per viewer and title at a time: an earlier one's impression stops owning unnamed playback.
      for (const p of list) if (p.engaged) p.engaged = false;
      target.engaged = true;
      this.drop(key, list, (p) => p.rewarded && !p.engaged);
    }
    if (!isRewarding(this.def, type, position, duration)) return null;
    target.rewarded = true;
    if (!target.engaged) this.drop(key, list, (p) => p === target);
    return { payload: target.payload, reward: 1 };
  }

  private drop(key: string, list: PendingImpression<P>[], gone: (p: PendingImpression<P>) => boolean): void {
    const kept = list.filter((p) => !gone(p));
    if (kept.length === list.length) return;
    this.count -= list.length - kept.length;
    if (kept.length) this.pending.set(key, kept);
    else this.pending.delete(key);
  }

  /** Settles with reward 0 every impression whose window ended before `now` (a rewarded one just leaves). */
  expire(now: number): Settled<P>[] {
    const out: Settled<P>[] = [];
    for (const [k, list] of this.pending) {
      for (const p of list) if (now - p.ts > this.def.windowMs && !p.rewarded) out.push({ payload: p.payload, reward: 0 });
      this.drop(k, list, (p) => now - p.ts > this.def.windowMs);
    }
    return out;
  }

  /** Settles everything still pending with reward 0 (end of a log). */
  flush(): Settled<P>[] {
    const out = [...this.pending.values()].flat().filter((p) => !p.rewarded).map((p) => ({ payload: p.payload, reward: 0 }));
    this.pending.clear();
    this.count = 0;
    return out;
  }

  /** Impressions held: unsettled ones and rewarded ones whose playback goes on. */
  get size(): number {
    return this.count;
  }

  /** The held impressions by key, in the order they were recorded per key (what a snapshot keeps). */
  entries(): [string, PendingImpression<P>][] {
    return [...this.pending].flatMap(([k, list]) => list.map((p): [string, PendingImpression<P>] => [k, p]));
  }

  /** Puts back impressions taken with `entries()`, in their order, after any already held. */
  restore(entries: Iterable<[string, PendingImpression<P>]>): void {
    for (const [k, p] of entries) {
      const list = this.pending.get(k);
      if (list) list.push(p);
      else this.pending.set(k, [p]);
      this.count++;
    }
  }
}
