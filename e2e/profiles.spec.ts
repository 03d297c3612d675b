/**
 * Two profiles of one household in one browser: each gets its own page from its own history; signing out leaves
 * nothing of the member in IndexedDB.
 */
import type { Page } from '@playwright/test';
import type { HomePage } from '@marquee/sdk';
import { ARTIFACTS } from './global-setup.ts';
import { test, expect, openDemo, stats } from './fixtures.ts';

const homepage = (page: Page) => page.evaluate(() => window.marquee.homepage({ refresh: true }));
const shownIds = (p: HomePage) => p.rows.flatMap((r) => r.items.map((t) => t.titleId));

async function watch(page: Page, titleIds: string[]) {
  await page.evaluate(async (ids) => {
    for (const id of ids) {
      await window.marquee.playStart({ titleId: id });
      await window.marquee.complete({ titleId: id, position: 5400, duration: 5400 });
    }
  }, titleIds);
}

/** Every value of every object store of every IndexedDB database of the origin, as JSON, by database. */
const dumpIndexedDb = (page: Page) =>
  page.evaluate(async () => {
    const out: Record<string, string> = {};
    for (const { name } of await indexedDB.databases()) {
      if (!name) continue;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const values: unknown[] = [];
      for (const store of Array.from(db.objectStoreNames)) {
        const all = await new Promise<unknown[]>((resolve, reject) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        values.push({ store, all });
      }
      db.close();
      out[name] = JSON.stringify(values);
    }
    return out;
  });

test('two profiles in one browser get two pages; sign-out leaves nothing of the member', async ({ page, api }) => {
  const version = await api.publishModel(`${ARTIFACTS}home`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await expect.poll(async () => (await page.evaluate(() => window.marquee.modelStatus())).version, { timeout: 60_000 }).toBe(version);
  const catalog = (await (await fetch(`${api.url}/v1/catalog`)).json()).titles as { id: string; genres: string[] }[];
  const only = (g: string) => catalog.filter((t) => t.genres.length === 1 && t.genres[0] === g).slice(0, 3).map((t) => t.id);
  const romance = only('romance');
  const other = catalog.flatMap((t) => t.genres.slice(0, 1)).find((g) => g !== 'romance' && only(g).length === 3)!;
  const otherTitles = only(other);

  const anonymous = await page.evaluate(() => window.marquee.identity());
  const signedIn = await page.evaluate(() => window.marquee.identify('member-42'));
  expect(signedIn).toMatchObject({ userId: 'member-42', anonymousId: anonymous.anonymousId });

  await page.evaluate(() => window.marquee.setProfile('alice'));
  await watch(page, romance);
  const alice = await homepage(page);
  await page.evaluate(() => window.marquee.setProfile('bob'));
  expect((await homepage(page)).rows.filter((r) => r.kind === 'because')).toEqual([]); // a new profile: no history yet
  await watch(page, otherTitles);
  const bob = await homepage(page);

  // Each profile's page comes from its own history only.
  const continueOf = (p: HomePage) => p.rows.filter((r) => r.kind === 'because' || r.kind === 'continue').flatMap((r) => r.id);
  console.log(`alice rows: ${alice.rows.map((r) => r.id).join(', ')}\nbob rows:   ${bob.rows.map((r) => r.id).join(', ')}`);
  expect(alice.rows.map((r) => r.id)).toContain('genre:romance');
  expect(bob.rows.map((r) => r.id)).toContain(`genre:${other}`);
  expect(bob.rows.map((r) => r.id)).not.toContain('genre:romance');
  expect(continueOf(alice).some((id) => otherTitles.some((t) => id.includes(t)))).toBe(false);
  expect(continueOf(bob).some((id) => romance.some((t) => id.includes(t)))).toBe(false);
  expect(shownIds(alice)).not.toEqual(shownIds(bob));
  // The demo shows the profile it is on.
  await expect(page.locator(`section.row[data-row="genre:${other}"]`)).toBeVisible();
  // Back to alice: her page again, from her history.
  await page.evaluate(() => window.marquee.setProfile('alice'));
  expect((await homepage(page)).rows.map((r) => r.id)).toContain('genre:romance');
  await expect(page.locator('section.row[data-row="genre:romance"]')).toBeVisible();

  const before = await dumpIndexedDb(page);
  expect(Object.keys(before)).toEqual(expect.arrayContaining(['marquee:profile:alice', 'marquee:profile:bob']));
  expect(Object.values(before).join()).toContain('member-42');

  // Sign-out.
  const after = await page.evaluate(() => window.marquee.reset());
  expect(after.userId).toBeUndefined();
  expect(after.anonymousId).not.toBe(anonymous.anonymousId);
  await expect.poll(async () => (await stats(page)).outbox).toBe(0);
  const left = await dumpIndexedDb(page);
  expect(Object.keys(left).filter((n) => /alice|bob/.test(n))).toEqual([]);
  const everything = Object.values(left).join();
  expect(everything).not.toContain('member-42');
  expect(everything).not.toContain(anonymous.anonymousId);
  const history = Object.values(left).flatMap((json) => (JSON.parse(json) as { store: string; all: unknown[] }[]).filter((s) => s.store === 'history').flatMap((s) => s.all));
  expect(history).toEqual([]);
});

test('after optOut nothing is queued or sent, across a reload, until optIn', async ({ page, api }) => {
  await openDemo(page, api.url, { backends: 'wasm' });
  await page.evaluate(() => window.marquee.flush());
  await api.expectCount(await page.evaluate(() => window.demo.impressions), 500);
  const base = await api.count();
  // Queued while offline, then the viewer opts out: it is dropped, never sent.
  await page.context().setOffline(true);
  expect(await page.evaluate(() => window.marquee.playStart({ titleId: 't0001' }))).not.toBeNull();
  expect((await stats(page)).outbox).toBeGreaterThan(0);
  await page.evaluate(() => window.marquee.optOut());
  expect((await stats(page)).outbox).toBe(0);
  await page.context().setOffline(false);
  const state = await page.evaluate(async () => {
    const ids = [await window.marquee.playStart({ titleId: 't0002' }), await window.marquee.custom('rated', { stars: 5 })];
    return { ids, stats: await window.marquee.flush(), identity: await window.marquee.identity() };
  });
  expect(state.ids).toEqual([null, null]);
  expect(state.stats.outbox).toBe(0);
  expect(state.identity.consent).toEqual({ tracking: false, personalization: false });
  await page.reload();
  await page.waitForFunction(() => window.demo?.pages > 0); // renders (impressions are not tracked either)
  expect((await page.evaluate(() => window.marquee.identity())).consent.tracking).toBe(false);
  expect(await page.evaluate(() => window.marquee.progress({ titleId: 't0003', position: 1, duration: 10 }))).toBeNull();
  await page.evaluate(() => window.marquee.flush());
  await api.expectCount(base, 1000);

  await page.evaluate(() => window.marquee.optIn());
  const id = await page.evaluate(() => window.marquee.playStart({ titleId: 't0004' }));
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  await page.evaluate(() => window.marquee.flush());
  await expect.poll(() => api.count()).toBeGreaterThan(base);
});
