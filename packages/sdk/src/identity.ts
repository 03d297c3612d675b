/**
 * The identity lifecycle in the worker: who the viewer is (anonymous id, member, profile), what they allow
 * (tracking, on-device personalization), and which IndexedDB database holds their history and page caches.
 *
 * Storage: the device database (`dbName`) keeps what is not personal (the outbox, whose events already say whose
 * they are, the backend choice, the model) and this module's identity record. Each profile's history and caches
 * live in a database of their own (`profileDatabaseName`), handed to the homepage: whatever the page keeps there
 * is per profile, and `reset()` removes it by deleting whole databases.
 *
 * Every change is parsed first (zod) and rejected with a readable error; changes run one at a time; other tabs of
 * the origin hear of them on a BroadcastChannel and follow.
 */
import { deleteDB } from 'idb';
import {
  DEFAULT_PROFILE,
  EventSchema,
  IdentityRecordSchema,
  OptOutOptionsSchema,
  ProfileIdSchema,
  SCHEMA_VERSION,
  UserIdSchema,
  parseContract,
  nonPersonalDatabaseName,
  profileDatabaseName,
  uuidv7,
  type EventInput,
  type IdentityRecord,
  type IdentityState,
  type MarqueeEvent,
} from '@marquee/core';
import { getMeta, openDatabase, putMeta, readMeta, type Database } from './db.ts';
import { readHistory } from './history-store.ts';
import type { IdentityApi } from './protocol.ts';


/** What the homepage offers the lifecycle (Homepage implements it). */
export interface PageTarget {
  /** Later builds read and write `db`; nothing of the previous viewer stays in memory. */
  useDatabase(db: Database): Promise<void>;
  /** Whether the page may send the viewer's recent titles and embedding to the server for candidates. */
  shareHistory: boolean;
}

export interface ViewerDeps {
  /** The device database (outbox, identity record). */
  db: Database;
  dbName: string;
  sessionId: string;
  /** The member the app passed to createPersonalizer, if any: it wins over the stored one. */
  userId?: string;
  /** Puts an event in the outbox (and wakes the sender). */
  enqueue(event: MarqueeEvent): Promise<void>;
  /** Sends what is queued now, best effort. */
  flush(): Promise<void>;
}


export class Viewer implements IdentityApi {
  private page: PageTarget | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly channel: BroadcastChannel | null;

  private constructor(
    private readonly deps: ViewerDeps,
    private record: IdentityRecord,
    /** The database the page reads now: the profile's, or the non-personal one. */
    private pageDb: Database,
  ) {
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`marquee-identity:${deps.dbName}`) : null;
    if (this.channel) this.channel.onmessage = () => void this.serial(() => this.follow());
  }

  static async open(deps: ViewerDeps): Promise<Viewer> {
    const tx = deps.db.transaction('meta', 'readwrite');
    const stored = await readMeta(tx.store, 'identity');
    let record: IdentityRecord;
    if (stored) {
      record = stored;
    } else {
      const legacy = await readMeta(tx.store, 'anonymousId');
      record = {
        anonymousId: legacy || uuidv7(),
        profileId: DEFAULT_PROFILE,
        profiles: [DEFAULT_PROFILE],
        consent: { tracking: true, personalization: true },
      };
    }
    if (deps.userId !== undefined) record = { ...record, userId: parseContract(UserIdSchema, deps.userId, 'createPersonalizer: userId') };
    await tx.store.put(record, 'identity');
    await tx.done;
    const pageDb = await openPageDb(deps.dbName, record);
    if (!stored) await moveLegacyHistory(deps.db, pageDb);
    return new Viewer(deps, record, pageDb);
  }

  get tracking(): boolean {
    return this.record.consent.tracking;
  }

  get personalization(): boolean {
    return this.record.consent.personalization;
  }

  /** The database the homepage should be built on now. */
  get pageDatabase(): Database {
    return this.pageDb;
  }

  /** The homepage is up (after tfjs loaded): from now on it follows every change. */
  async attach(page: PageTarget): Promise<void> {
    await this.serial(async () => {
      this.page = page;
      page.shareHistory = this.tracking;
      await page.useDatabase(this.pageDb);
    });
  }

  /**
   * The whole event for `input`: envelope, identity, validated. Throws a TypeError naming each problem, so a
   * bad event is refused at `track()` instead of by the server later.
   */
  stamp(input: EventInput): MarqueeEvent {
    if ((input as { type?: unknown })?.type === 'alias') throw new TypeError('track: alias events come from identify(userId)');
    return this.envelope(input, 'track');
  }

  private envelope(input: object, what: string): MarqueeEvent {
    const { userId, anonymousId, profileId } = this.record;
    const who = userId ? { userId } : { anonymousId };
    const event = {
      ...input,
      id: uuidv7(),
      ts: Date.now(),
      schemaVersion: SCHEMA_VERSION,
      sessionId: this.deps.sessionId,
      ...who,
      ...(profileId === DEFAULT_PROFILE ? {} : { profileId }),
    };
    return parseContract(EventSchema, event, `${what}: invalid event`);
  }

  async identity(): Promise<IdentityState> {
    const { profiles: _, ...state } = this.record;
    return state;
  }

  /**
   * An anonymous viewer signed in: their events carry `userId` from now on, the history on the device stays theirs,
   * and an alias event (anonymousId -> userId) tells the server. Another member must `reset()` first.
   */
  identify(userId: string): Promise<IdentityState> {
    return this.serial(async () => {
      const id = parseContract(UserIdSchema, userId, 'identify(userId)');
      if (this.record.userId === id) return this.identity();
      if (this.record.userId) throw new Error('identify: another member is signed in on this device; call reset() on sign-out first');
      const alias = this.envelope({ type: 'alias', userId: id, anonymousId: this.record.anonymousId }, 'identify');
      if (this.tracking) await this.deps.enqueue(alias);
      await this.save({ ...this.record, userId: id });
      return this.identity();
    });
  }

  /** Another viewer of the household: their own history and page caches from now on. */
  setProfile(profileId: string): Promise<IdentityState> {
    return this.serial(async () => {
      const id = parseContract(ProfileIdSchema, profileId, 'setProfile(profileId)');
      if (this.record.profileId !== id) {
        const profiles = this.record.profiles.includes(id) ? this.record.profiles : [...this.record.profiles, id];
        await this.save({ ...this.record, profileId: id, profiles });
        await this.repoint();
      }
      return this.identity();
    });
  }

  /**
   * Sign-out: every profile database on this device is deleted and the viewer becomes a new anonymous one; what is
   * queued (the member's last events included) is sent first. Consent is kept. Events that cannot be sent now
   * (offline) stay queued until they are.
   */
  reset(): Promise<IdentityState> {
    return this.serial(async () => {
      // The page lets go of the profile first: nothing can write to a database being deleted.
      const neutral = await openDatabase(nonPersonalDatabaseName(this.deps.dbName));
      await this.page?.useDatabase(neutral);
      const old = this.pageDb;
      this.pageDb = neutral;
      old.close();
      const profiles = this.record.profiles;
      // New events are the new viewer's from here on; the flush then sends the member's last ones.
      await this.save({ anonymousId: uuidv7(), profileId: DEFAULT_PROFILE, profiles: [DEFAULT_PROFILE], consent: this.record.consent });
      await this.deps.flush().catch(() => {});
      for (const p of profiles) await deleteDB(profileDatabaseName(this.deps.dbName, p));
      await this.repoint();
      if (this.pageDb !== neutral) neutral.close();
      return this.identity();
    });
  }

  /**
   * No tracking: the outbox is emptied and nothing more is queued or sent (persisted, for every tab). With
   * `{personalization: true}` the device keeps the history and personalizes the page from it, without sending it.
   */
  optOut(opts: { personalization?: boolean } = {}): Promise<IdentityState> {
    return this.serial(async () => {
      const o = parseContract(OptOutOptionsSchema, opts ?? {}, 'optOut(options)');
      await this.save({ ...this.record, consent: { tracking: false, personalization: o.personalization ?? false } });
      await this.deps.db.clear('outbox');
      await this.repoint();
      return this.identity();
    });
  }

  optIn(): Promise<IdentityState> {
    return this.serial(async () => {
      await this.save({ ...this.record, consent: { tracking: true, personalization: true } });
      await this.repoint();
      return this.identity();
    });
  }

  close(): void {
    this.channel?.close();
    this.pageDb.close();
  }

  private async save(record: IdentityRecord): Promise<void> {
    this.record = parseContract(IdentityRecordSchema, record, 'identity');
    await putMeta(this.deps.db, 'identity', this.record);
    this.channel?.postMessage('changed');
  }

  /** Another tab changed the identity: load it and follow. */
  private async follow(): Promise<void> {
    const stored = await getMeta(this.deps.db, 'identity');
    if (!stored) return;
    this.record = stored;
    await this.repoint();
  }

  /** Points the page at the database the record asks for, if it is not there already. */
  private async repoint(): Promise<void> {
    const name = pageDbName(this.deps.dbName, this.record);
    if (this.page) this.page.shareHistory = this.tracking;
    if (this.pageDb.name === name) return;
    const next = await openPageDb(this.deps.dbName, this.record);
    await this.page?.useDatabase(next);
    const old = this.pageDb;
    this.pageDb = next;
    old.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/**
 * Earlier SDK versions kept one history (and the page caches) in the device database: it becomes the default
 * profile's, so an upgrade loses nothing, and a later reset() finds it where it deletes.
 */
async function moveLegacyHistory(device: Database, profile: Database): Promise<void> {
  const old = await readHistory(device);
  if (old.length > 0) {
    const tx = profile.transaction('history', 'readwrite');
    for (const { seq: _, ...rec } of old) void tx.store.add(rec);
    await tx.done;
  }
  const tx = device.transaction(['history', 'meta'], 'readwrite');
  void tx.objectStore('history').clear();
  for (const key of ['candidates', 'catalog'] as const) void tx.objectStore('meta').delete(key);
  await tx.done;
}

function pageDbName(dbName: string, r: IdentityRecord): string {
  return r.consent.personalization ? profileDatabaseName(dbName, r.profileId) : nonPersonalDatabaseName(dbName);
}

/** Opens the page's database; it closes itself when another tab deletes it (reset), so the deletion never hangs. */
async function openPageDb(dbName: string, r: IdentityRecord): Promise<Database> {
  const db = await openDatabase(pageDbName(dbName, r));
  db.addEventListener('versionchange', () => db.close());
  return db;
}
