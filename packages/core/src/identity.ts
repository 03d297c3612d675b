/**
 * Who the device's viewer is, and what they allow: the identity lifecycle's shapes (the worker's IndexedDB record
 * and the arguments of identify / setProfile / optOut, parsed in the worker before anything changes).
 *
 * - `anonymousId`: this device's viewer before sign-in; a new one after `reset()`.
 * - `userId`: the signed-in member (account), set by `identify()`.
 * - `profileId`: the viewer within the account (a household's profiles); each profile keeps its own history and
 *   page caches on the device, in an IndexedDB database of its own (`profileDatabaseName`).
 * - `consent`: `tracking` (events leave the device) and `personalization` (the device keeps a history and ranks
 *   with it). Kept across `reset()`: a sign-out does not undo an opt-out.
 */
import { z } from 'zod';
import { LIMITS } from './events.ts';

export const UserIdSchema = z.string().trim().min(1, 'a userId must not be empty').max(LIMITS.idLength);

/** Profile ids name IndexedDB databases, so they are short and plain. */
export const ProfileIdSchema = z
  .string()
  .min(1, 'a profile id must not be empty')
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'a profile id may only hold letters, digits, "_" and "-"');

export const DEFAULT_PROFILE = 'default';

export const ConsentSchema = z.object({
  /** Events are queued and sent to the server. */
  tracking: z.boolean(),
  /** The viewer's history is kept on the device and personalizes the page. */
  personalization: z.boolean(),
});

export const OptOutOptionsSchema = z
  .object({
    /** Keep personalizing the page from what stays on the device (nothing is sent). Default false. */
    personalization: z.boolean().optional(),
  })
  .strict();

/** The worker's identity record (IndexedDB `meta`, key `identity`), shared by the tabs of an origin. */
export const IdentityRecordSchema = z.object({
  anonymousId: z.string().min(1).max(LIMITS.idLength),
  userId: UserIdSchema.optional(),
  profileId: ProfileIdSchema,
  /** Every profile that has a database on this device, so that `reset()` can remove them all. */
  profiles: z.array(ProfileIdSchema),
  consent: ConsentSchema,
});

export type Consent = z.infer<typeof ConsentSchema>;
export type OptOutOptions = z.infer<typeof OptOutOptionsSchema>;
export type IdentityRecord = z.infer<typeof IdentityRecordSchema>;
/** What `identity()` answers: the record without the bookkeeping. */
export type IdentityState = Omit<IdentityRecord, 'profiles'>;

/** The IndexedDB database holding one profile's history and caches. */
export function profileDatabaseName(dbName: string, profileId: string): string {
  return `${dbName}:profile:${ProfileIdSchema.parse(profileId)}`;
}

/** Where the page comes from while the viewer has not allowed personalization: no history, never written to. */
export function nonPersonalDatabaseName(dbName: string): string {
  return `${dbName}:non-personal`;
}
