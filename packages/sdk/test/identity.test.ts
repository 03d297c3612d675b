import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { EventSchema, type MarqueeEvent } from '@marquee/core';
import { openDatabase, type Database } from '../src/db.ts';
import { readHistory } from '../src/history-store.ts';
import { Viewer, type PageTarget } from '../src/identity.ts';

let n = 0;

/** A device: its database, what reached the outbox, and a homepage stand-in that writes history where it is pointed. */
async function device(opts: { userId?: string } = {}) {
  const dbName = `identity-${++n}`;
  const db = await openDatabase(dbName);
  const queued: MarqueeEvent[] = [];
  const order: string[] = [];
  const deps = {
    db,
    dbName,
    sessionId: 'tab-1',
    userId: opts.userId,
    enqueue: async (e: MarqueeEvent) => {
      queued.push(e);
      await db.add('outbox', { event: e, bytes: 1 });
    },
    flush: async () => void order.push('flush'),
  };
  const page: PageTarget & { db: Database | null; watch(titleId: string): Promise<void>; titles(): Promise<string[]> } = {
    db: null,
    shareHistory: true,
    async useDatabase(next) {
      order.push(`use ${next.name}`);
      this.db = next;
    },
    async watch(titleId) {
      await this.db!.add('history', { titleId, type: 'play_start', ts: Date.now() });
    },
    async titles() {
      return (await readHistory(this.db!)).map((h) => h.titleId);
    },
  };
  const viewer = await Viewer.open(deps);
  await viewer.attach(page);
  return { viewer, db, dbName, queued, page, order, reopen: (userId?: string) => Viewer.open({ ...deps, userId }) };
}

const databases = async () => (await indexedDB.databases()).map((d) => d.name);

describe('identity lifecycle', () => {
  it('stamps events with a persistent anonymous id, and refuses invalid ones with the reason', async () => {
    const d = await device();
    const e = d.viewer.stamp({ type: 'play_start', titleId: 't1' });
    expect(EventSchema.parse(e)).toEqual(e);
    expect(e.anonymousId).toBe((await d.viewer.identity()).anonymousId);
    expect(e.userId).toBeUndefined();
    expect((await d.reopen()).stamp({ type: 'play_start', titleId: 't2' }).anonymousId).toBe(e.anonymousId);
    expect(() => d.viewer.stamp({ type: 'progress', titleId: 't1', position: 10, duration: 0 })).toThrow(/track: invalid event: duration/);
    expect(() => d.viewer.stamp({ type: 'nope' } as never)).toThrow(/track: invalid event/);
    expect(() => d.viewer.stamp({ type: 'alias' } as never)).toThrow(/identify/);
  });

  it('identify links the anonymous viewer to the member with one alias event, and keeps their history', async () => {
    const d = await device();
    await d.page.watch('t1');
    const { anonymousId } = await d.viewer.identity();
    const state = await d.viewer.identify('member-42');
    expect(state).toMatchObject({ userId: 'member-42', anonymousId });
    expect(d.queued).toHaveLength(1);
    expect(d.queued[0]).toMatchObject({ type: 'alias', userId: 'member-42', anonymousId });
    expect(EventSchema.safeParse(d.queued[0]).success).toBe(true);
    expect(await d.page.titles()).toEqual(['t1']); // same database: the history is now the member's
    const next = d.viewer.stamp({ type: 'play_start', titleId: 't2' });
    expect(next.userId).toBe('member-42');
    expect(next.anonymousId).toBeUndefined();

    await d.viewer.identify('member-42'); // again: nothing new
    expect(d.queued).toHaveLength(1);
    await expect(d.viewer.identify('member-7')).rejects.toThrow(/reset\(\)/);
    await expect(d.viewer.identify('')).rejects.toThrow(/identify\(userId\): a userId must not be empty/);
    expect((await (await d.reopen()).identity()).userId).toBe('member-42');
  });

  it('gives each profile its own history, and tags their events', async () => {
    const d = await device();
    await d.viewer.setProfile('alice');
    await d.page.watch('romance-1');
    await d.viewer.setProfile('bob');
    expect(await d.page.titles()).toEqual([]);
    await d.page.watch('action-1');
    expect(d.viewer.stamp({ type: 'play_start', titleId: 'x' }).profileId).toBe('bob');
    await d.viewer.setProfile('alice');
    expect(await d.page.titles()).toEqual(['romance-1']);
    expect(d.page.db!.name).toBe(`${d.dbName}:profile:alice`);
    await expect(d.viewer.setProfile('../etc')).rejects.toThrow(/setProfile\(profileId\): a profile id may only hold/);
    expect((await (await d.reopen()).identity()).profileId).toBe('alice');
  });

  it('reset sends what is queued, then deletes every profile on the device and starts a new anonymous viewer', async () => {
    const d = await device();
    await d.viewer.identify('member-42');
    await d.page.watch('t-default');
    await d.viewer.setProfile('kids');
    await d.page.watch('t-kids');
    await d.viewer.optOut({ personalization: true });
    const before = await d.viewer.identity();
    expect(await databases()).toEqual(expect.arrayContaining([`${d.dbName}:profile:default`, `${d.dbName}:profile:kids`]));

    const after = await d.viewer.reset();
    expect(d.order.indexOf('flush')).toBeLessThan(d.order.lastIndexOf(`use ${d.dbName}:profile:default`));
    expect(after.userId).toBeUndefined();
    expect(after.profileId).toBe('default');
    expect(after.anonymousId).not.toBe(before.anonymousId);
    expect(after.consent).toEqual({ tracking: false, personalization: true }); // a sign-out does not undo an opt-out
    expect(await databases()).not.toContain(`${d.dbName}:profile:kids`);
    expect(await d.page.titles()).toEqual([]); // the default profile starts empty
    const stored = JSON.stringify(await d.db.getAll('meta'));
    expect(stored).not.toContain('member-42');
    expect(stored).not.toContain(before.anonymousId);
  });

  it('optOut empties the outbox, stops tracking for good, and stops personalizing unless allowed', async () => {
    const d = await device();
    await d.viewer.identify('member-42');
    expect(await d.db.count('outbox')).toBe(1);
    const state = await d.viewer.optOut();
    expect(state.consent).toEqual({ tracking: false, personalization: false });
    expect(await d.db.count('outbox')).toBe(0);
    expect(d.viewer.tracking).toBe(false);
    expect(d.page.db!.name).toBe(`${d.dbName}:non-personal`);
    expect(d.page.shareHistory).toBe(false);
    expect((await d.reopen()).tracking).toBe(false); // persisted

    await d.viewer.optOut({ personalization: true });
    expect(d.page.db!.name).toBe(`${d.dbName}:profile:default`);
    expect(d.page.shareHistory).toBe(false); // personalized on the device, nothing of it sent
    await expect(d.viewer.optOut({ personalisation: true } as never)).rejects.toThrow(/optOut\(options\)/);

    await d.viewer.optIn();
    expect(d.viewer.tracking).toBe(true);
    expect(d.page.shareHistory).toBe(true);
    expect((await d.reopen()).personalization).toBe(true);
  });

  it('an upgrade from one shared history moves it into the default profile', async () => {
    const dbName = `identity-legacy-${++n}`;
    const legacy = await openDatabase(dbName);
    await legacy.put('meta', 'anon-from-v1', 'anonymousId');
    await legacy.put('meta', { candidates: [], fetchedAt: 1, historyLength: 1 }, 'candidates');
    await legacy.add('history', { titleId: 't-old', type: 'complete', ts: 1 });
    const viewer = await Viewer.open({ db: legacy, dbName, sessionId: 's', enqueue: async () => {}, flush: async () => {} });
    expect((await viewer.identity()).anonymousId).toBe('anon-from-v1');
    expect((await readHistory(viewer.pageDatabase)).map((h) => h.titleId)).toEqual(['t-old']);
    expect(await legacy.count('history')).toBe(0);
    expect(await legacy.get('meta', 'candidates')).toBeUndefined();
  });

  it('other tabs follow a change: an opt-out in one stops tracking in the other', async () => {
    const a = await device();
    const b = await Viewer.open({ db: await openDatabase(a.dbName), dbName: a.dbName, sessionId: 'tab-2', enqueue: async () => {}, flush: async () => {} });
    expect(b.tracking).toBe(true);
    await a.viewer.optOut();
    await vi.waitFor(() => expect(b.tracking).toBe(false));
    await a.viewer.setProfile('kids');
    await vi.waitFor(() => expect(b.pageDatabase.name).toBe(`${a.dbName}:non-personal`)); // not personalized: no profile db
    await a.viewer.optIn();
    await vi.waitFor(() => expect(b.pageDatabase.name).toBe(`${a.dbName}:profile:kids`));
    b.close();
  });

  it('the app-given userId wins over the stored one', async () => {
    const d = await device({ userId: 'member-1' });
    expect((await d.viewer.identity()).userId).toBe('member-1');
    expect((await (await d.reopen('member-2')).identity()).userId).toBe('member-2');
    await expect(d.reopen('')).rejects.toThrow(/createPersonalizer: userId/);
  });
});
