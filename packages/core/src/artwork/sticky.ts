/**
 * Stickiness: once chosen, a viewer's artwork for a title stays for `stickinessMs`; exploration happens across titles
 * and visits, never by flicker within a page. The record is what the device keeps per title (IndexedDB) and what it
 * logs with every impression of that title while the choice holds.
 */
import { z } from 'zod';
import { POLICY_NAMES } from './policies.ts';

export const ArtworkAssignmentSchema = z.object({
  titleId: z.string().min(1),
  artworkId: z.string().min(1),
  propensity: z.number().gt(0).lte(1),
  policy: z.enum(POLICY_NAMES),
  policyVersion: z.string(),
  chosenAt: z.number().int().nonnegative(),
  /** The seed key of the choice: replay recomputes the propensity from it. */
  seedKey: z.string(),
});
export type ArtworkAssignment = z.infer<typeof ArtworkAssignmentSchema>;

/** Whether an earlier assignment still holds: same artwork set, same policy, inside the window. */
export function stillHolds(a: ArtworkAssignment | undefined, artworkIds: readonly string[], policy: string, now: number, stickinessMs: number): a is ArtworkAssignment {
  return !!a && a.policy === policy && artworkIds.includes(a.artworkId) && now - a.chosenAt < stickinessMs && now >= a.chosenAt;
}

/** A visit, for seeding: fresh choices within one share their Thompson draws. */
export const VISIT_MS = 30 * 60_000;

/**
 * The seed key of the choices made now: the viewer and the visit (so replay can rebuild it). A visit never outlasts
 * the stickiness window: a viewer whose choices may change sooner than a visit (down to every render, with
 * stickiness 0) gets fresh draws when they do; otherwise a bad draw would hold every fresh choice for the whole visit.
 */
export function seedKeyFor(viewer: string, now: number, stickinessMs = Infinity): string {
  const visit = Math.max(1, Math.min(VISIT_MS, stickinessMs));
  return `${viewer}|${Math.floor(now / visit)}`;
}
