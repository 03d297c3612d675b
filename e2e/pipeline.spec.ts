/**
 * Events tracked in the page reach the store exactly once, whatever happens on the way: checked against a real API
 * process with a real DuckDB directory, by count and then by identity (the ids the page got back against the ids
 * the server stored).
 */
import { test, expect, openDemo, trackMany, stats, impressions, trackedIds } from './fixtures.ts';

test('a normal session: every event arrives once, the panel shows it', async ({ page, api }) => {
  await openDemo(page, api.url);
  // As a viewer: pick a title, play, seek, pause, complete.
  await page.locator('.card').nth(2).click();
  await page.getByRole('button', { name: 'Play' }).click();
  await page.locator('#seek').fill('1200'); // fires one change event: a seek
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Complete' }).click();
  const viewerEvents = 4; // play_start, progress (seek), pause, complete
  await trackMany(page, 150);
  const expected = async () => (await impressions(page)) + viewerEvents + 150;
  await api.expectCount(expected);
  await expect(page.locator('[data-stat="acknowledged"]')).toHaveText(String(await expected()));
  await expect(page.locator('[data-stat="outbox"]')).toHaveText('0');
  await expect(page.locator('[data-stat="dropped"]')).toHaveText('0');
  await api.expectStoredExactly(await trackedIds(page));
});

test('offline for a while, then back online', async ({ page, context, api }) => {
  await openDemo(page, api.url);
  const shown = () => impressions(page);
  await api.expectCount(shown, 0);
  const before = await api.count();
  await context.setOffline(true);
  await trackMany(page, 60);
  await page.waitForTimeout(1500);
  expect(await api.count()).toBe(before);
  expect((await stats(page)).outbox).toBe(60);
  await expect(page.locator('[data-stat="online"]')).toHaveText('offline');
  await context.setOffline(false);
  await api.expectCount(async () => (await shown()) + 60);
  expect((await stats(page)).outbox).toBe(0);
  await api.expectStoredExactly(await trackedIds(page));
});

test('the page reloaded while events are queued', async ({ page, api, chaos }) => {
  await openDemo(page, chaos.url);
  await api.expectCount(() => impressions(page), 0);
  const firstLoad = await impressions(page);
  chaos.failWith(503);
  await trackMany(page, 80);
  expect((await stats(page)).outbox).toBeGreaterThanOrEqual(80);
  const beforeReload = await trackedIds(page);
  await page.reload();
  await page.waitForFunction(() => window.demo?.pages > 0);
  expect(await api.count()).toBe(firstLoad);
  chaos.heal();
  await api.expectCount(async () => firstLoad + (await impressions(page)) + 80);
  await api.expectStoredExactly([...beforeReload, ...(await trackedIds(page))]);
});

test('the server answering 500 for a while', async ({ page, api, chaos }) => {
  await openDemo(page, chaos.url);
  await api.expectCount(() => impressions(page), 0);
  const before = await api.count();
  chaos.failWith(500, '1');
  await trackMany(page, 120);
  await expect.poll(() => chaos.failures).toBeGreaterThanOrEqual(2);
  await expect.poll(async () => (await stats(page)).retrying).toBeGreaterThan(0);
  expect(await api.count()).toBe(before);
  chaos.heal();
  await api.expectCount(async () => (await impressions(page)) + 120);
  expect((await stats(page)).retrying).toBe(0);
  await api.expectStoredExactly(await trackedIds(page));
});

test('the server killed and restarted mid-stream', async ({ page, api }) => {
  await openDemo(page, api.url);
  const streaming = page.evaluate(async () => {
    for (let i = 0; i < 300; i++) {
      await window.marquee.progress({ titleId: 'title-0007', position: i, duration: 6000 });
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 25));
    }
  });
  await page.waitForTimeout(300);
  await api.crashAndRestart(1000);
  await streaming;
  await api.expectCount(async () => (await impressions(page)) + 300);
  await api.expectStoredExactly(await trackedIds(page));
});

test('two tabs tracking at once', async ({ context, api }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  await Promise.all([openDemo(a, api.url), openDemo(b, api.url)]);
  await Promise.all([trackMany(a, 200, 'title-0001'), trackMany(b, 200, 'title-0002')]);
  await api.expectCount(async () => (await impressions(a)) + (await impressions(b)) + 400);
  await api.expectStoredExactly([...(await trackedIds(a)), ...(await trackedIds(b))]);
});
