/**
 * The homepage as a viewer sees it: built on the device from the published model, re-ranked after plays, still
 * personalized when the server is gone.
 */
import type { Page } from '@playwright/test';
import type { HomePage } from '@marquee/sdk';
import { ARTIFACTS } from './global-setup.ts';
import { test, expect, openDemo } from './fixtures.ts';

const homepage = (page: Page, refresh = true) => page.evaluate((r) => window.marquee.homepage({ refresh: r }), refresh);
const genreShare = (p: HomePage, rowKind: string, genre: string) => {
  const row = p.rows.find((r) => r.kind === rowKind);
  if (!row || row.items.length === 0) return 0;
  return row.items.filter((t) => t.genres.includes(genre)).length / row.items.length;
};

async function ready(page: Page, version: string) {
  await expect.poll(async () => (await page.evaluate(() => window.marquee.modelStatus())).version, { timeout: 60_000 }).toBe(version);
}

/** Plays a title to the end through the demo's SDK, as the player would report it. */
async function watch(page: Page, titleId: string) {
  await page.evaluate(async (id) => {
    await window.marquee.playStart({ titleId: id });
    await window.marquee.progress({ titleId: id, position: 2700, duration: 5400 });
    await window.marquee.complete({ titleId: id, position: 5400, duration: 5400 });
  }, titleId);
}

test('a viewer who plays two romance titles sees romance move up their page', async ({ page, api }) => {
  const version = await api.publishModel(`${ARTIFACTS}home`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await ready(page, version);
  const before = await homepage(page);
  expect(before.modelVersion).toBe(version);
  // Candidates came from the server: the worker's keyed request (x-marquee-key, CORS preflight) was let in.
  expect(before.candidates.from).toBe('server');
  expect(before.rows.map((r) => r.kind)).toContain('top');

  const catalog = (await (await fetch(`${api.url}/v1/catalog`)).json()).titles as { id: string; genres: string[] }[];
  const romance = catalog.filter((t) => t.genres.length === 1 && t.genres[0] === 'romance').slice(0, 2);
  const pages: HomePage[] = [];
  await page.exposeFunction('onTestPage', (p: HomePage) => pages.push(p));
  await page.evaluate(() => window.marquee.onPage((p) => (window as never as { onTestPage: (p: unknown) => void }).onTestPage(p)));
  for (const t of romance) await watch(page, t.id);
  await expect.poll(() => pages.length).toBeGreaterThan(0); // re-ranked right after the plays, pushed to the page

  const after = await homepage(page);
  console.log(`romance share of Top Picks: ${genreShare(before, 'top', 'romance').toFixed(2)} -> ${genreShare(after, 'top', 'romance').toFixed(2)}`);
  expect(genreShare(after, 'top', 'romance')).toBeGreaterThan(genreShare(before, 'top', 'romance'));
  expect(after.rows.map((r) => r.id)).toContain('genre:romance');
  const because = after.rows.filter((r) => r.kind === 'because').map((r) => r.id);
  expect(because.some((id) => romance.some((t) => id === `because:${t.id}`)) || after.rows.some((r) => r.id === 'genre:romance')).toBe(true);
  // Nothing twice, nothing already watched, and every row says why.
  const shown = after.rows.filter((r) => r.kind !== 'continue').flatMap((r) => r.items.map((t) => t.titleId));
  expect(new Set(shown).size).toBe(shown.length);
  for (const t of romance) expect(shown).not.toContain(t.id);
  for (const r of after.rows) expect(r.reason).not.toBe('');
  // The demo shows the rows.
  await expect(page.locator('section.row[data-row="genre:romance"]')).toBeVisible();
});

test('with the server gone, a reload still shows a personalized page from the cache', async ({ page, api }) => {
  const version = await api.publishModel(`${ARTIFACTS}home`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await ready(page, version);
  await homepage(page);
  await page.evaluate(async () => {
    await window.marquee.playStart({ titleId: 't0005' });
    await window.marquee.progress({ titleId: 't0005', position: 900, duration: 5400 });
  });
  await homepage(page); // candidates fetched and cached for this history
  await api.server.stop();
  await page.reload();
  await page.waitForFunction(() => window.demo?.pages > 0);
  const offline = await homepage(page);
  expect(offline.modelVersion).toBe(version);
  expect(offline.candidates.from).toBe('cache');
  expect(offline.rows[0]).toMatchObject({ kind: 'continue' });
  expect(offline.rows[0]?.items.map((t) => t.titleId)).toEqual(['t0005']);
  expect(offline.rows.find((r) => r.kind === 'top')!.items.length).toBeGreaterThan(3);
  await expect(page.locator('section.row[data-kind="continue"]')).toBeVisible();
  await api.start(api.server.port);
});

test('1,000 re-ranks leave the worker holding no more tensors', async ({ page, api }) => {
  const version = await api.publishModel(`${ARTIFACTS}home`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await ready(page, version);
  await homepage(page);
  await page.evaluate(() => window.marquee.playStart({ titleId: 't0003' }));
  await homepage(page, false);
  const before = await page.evaluate(() => window.marquee.memory());
  await page.evaluate(async () => {
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) await window.marquee.progress({ titleId: 't0003', position: i * 5, duration: 5400 });
      await window.marquee.homepage({ refresh: false });
    }
  });
  const after = await page.evaluate(() => window.marquee.memory());
  expect(after.numTensors).toBe(before.numTensors);
});
