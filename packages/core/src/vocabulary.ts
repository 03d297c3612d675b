/**
 * The house vocabulary: one meaning per word, used by every package.
 *
 * - **engagement event**: a viewer acting on a title beyond being shown it: `play_start`, `progress`, `pause`,
 *   `complete` (`ENGAGEMENT_EVENTS`). The device's history keeps exactly these; an `impression` is not engagement.
 * - **play**: one `play_start`, a viewer starting a title. Analytics' `plays` counts these.
 * - **play signal**: what the server's live aggregates count for popularity, trending and co-occurrence: starting or
 *   finishing a title (`PLAY_SIGNAL_EVENTS`, one each), so a title watched to the end counts twice.
 * - **seen title**: a title with any engagement event in the viewer's history (`seenTitles`). Seen titles are never
 *   recommended again: ranking and every row leave them out; the ones in progress come back only in
 *   Continue Watching (`isInProgress`).
 * - **finished title**: a seen title with a `complete` event, or watched to 95% or more.
 * - **new arrival**: a catalog title among the newest by year (the candidate source `new`).
 * - **fresh**: only for artwork, a choice made now rather than an assignment kept by stickiness.
 * - **stale**: a device cache past its age or its count of new engagement events, refetched on the next page.
 */
import type { MarqueeEvent } from './events.ts';

export const ENGAGEMENT_EVENTS = ['play_start', 'progress', 'pause', 'complete'] as const;
export type EngagementEventType = (typeof ENGAGEMENT_EVENTS)[number];
export type EngagementEvent = Extract<MarqueeEvent, { type: EngagementEventType }>;

export function isEngagementEvent(e: MarqueeEvent): e is EngagementEvent {
  return (ENGAGEMENT_EVENTS as readonly string[]).includes(e.type);
}

export const PLAY_SIGNAL_EVENTS = ['play_start', 'complete'] as const satisfies readonly EngagementEventType[];
export type PlaySignalType = (typeof PLAY_SIGNAL_EVENTS)[number];

export function isPlaySignal(type: string): type is PlaySignalType {
  return (PLAY_SIGNAL_EVENTS as readonly string[]).includes(type);
}

/** Seen titles: every title the history names (`HistoryEntry`s are built from engagement events only). */
export function seenTitles(history: readonly { titleId: string }[]): Set<string> {
  return new Set(history.map((h) => h.titleId));
}
