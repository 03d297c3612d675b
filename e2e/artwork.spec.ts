/**
 * The artwork bandit through the real UI and API: two viewers of opposite artwork taste (one plays what is shown
 * with a dark image, the other only what is shown without one) converge to different artworks for the same titles,
 * and every impression that reaches the server carries the artwork with a propensity in (0, 1].
 */
import type { Browser, Page } from '@playwright/test';
import type { HomePage, PageTitle } from '@marquee/sdk';
import { ADMIN_TOKEN, DEMO_ORIGIN, test, expect, openDemo } from './fixtures.ts';

const DARK = 'dark';
type Likes = (t: PageTitle) => boolean;
const likesDark: Likes = (t) => t.artwork.themes.includes(DARK);
const avoidsDark: Likes = (t) => !t.artwork.themes.includes(DARK);
/** Titles where the choice says something about dark: at least one dark and one other artwork. */
const items = (p: HomePage) => p.rows.flatMap((r) => r.items);

async function viewer(browser: Browser, apiUrl: string, user: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: DEMO_ORIGIN });
  const page = await context.newPage();
  // Stickiness off for the test, so learning shows within minutes instead of a week; the backend is irrelevant here.
  await openDemo(page, apiUrl, { user, backends: 'cpu', choice: 'first', artworkStickyMs: '0' });
  return page;
}

/** Through the demo's UI: pick a card, play, seek to 20 minutes (a quality play), pause. */
async function playFromCard(page: Page, titleId: string): Promise<void> {
  await page.locator(`section.row .card[data-title="${titleId}"]`).first().click();
  await page.locator('#play').click();
  await page.locator('#seek').evaluate((el: HTMLInputElement) => {
    el.value = '1200';
    el.dispatchEvent(new Event('change'));
  });
  await page.locator('#pause').click();
}

/** Impressions a page tracked before it was reloaded (the demo's counter starts again at each load). */
const earlierImpressions = new Map<Page, number>();
const impressionsOf = async (page: Page) => (earlierImpressions.get(page) ?? 0) + (await page.evaluate(() => window.demo.impressions));

/**
 * Plays `plays` titles the viewer likes, one at a time, each picked from the page as it is rendered now; a page with
 * nothing to their taste sends them away and back (a reload).
 */
async function learn(page: Page, likes: Likes, plays: number): Promise<number> {
  const played = new Set<string>();
  for (let tries = 0; played.size < plays && tries < plays * 3; tries++) {
    const p = (await page.evaluate(() => window.demo.page)) as HomePage;
    const pick = items(p).find((t) => likes(t) && !played.has(t.titleId) && t.artwork.propensity < 1);
    if (!pick) {
      // Nothing to the viewer's taste on this page: they come back later. With stickiness off, the next page draws
      // its artworks again.
      earlierImpressions.set(page, (earlierImpressions.get(page) ?? 0) + (await page.evaluate(() => window.demo.impressions)));
      await page.reload();
      await page.waitForFunction(() => window.demo?.pages > 0);
      continue;
    }
    const before = await page.evaluate(() => window.demo.pages);
    await playFromCard(page, pick.titleId);
    played.add(pick.titleId);
    await expect.poll(() => page.evaluate(() => window.demo.pages)).toBeGreaterThan(before); // re-ranked, re-rendered
  }
  return played.size;
}

// FIXME (issue #10, open): flaky, passed 1 run in 3 on a quiet machine. Fixed here: Thompson draws were seeded per
// 30-minute visit even with stickiness off, so in an unlucky visit viewer A never saw a dark artwork and could not
// learn (seedKeyFor now never outlasts the stickiness window), and the impression count now survives reloads.
// Left: the final comparison reads one Thompson draw per title after ~16 plays each; dark shown to A / B came out
// 8/4, 2/3 and 8/7 of 9-12 titles. It needs more plays per viewer, or a comparison of posterior means (the debug
// drawer's taste) instead of single draws.
test.fixme('two viewers of opposite artwork taste converge to different artworks for the same titles', async ({ browser, api }) => {
  test.setTimeout(240_000);
  const a = await viewer(browser, api.url, 'viewer-dark');
  const b = await viewer(browser, api.url, 'viewer-light');
  const playedA = await learn(a, likesDark, 16);
  const playedB = await learn(b, avoidsDark, 16);
  expect(playedA).toBeGreaterThanOrEqual(10);
  expect(playedB).toBeGreaterThanOrEqual(10);

  const pageA = (await a.evaluate(() => window.marquee.homepage({ refresh: false }))) as HomePage;
  const pageB = (await b.evaluate(() => window.marquee.homepage({ refresh: false }))) as HomePage;
  const byTitleB = new Map(items(pageB).map((t) => [t.titleId, t]));
  const catalog = (await (await fetch(`${api.url}/v1/catalog`)).json()).titles as { id: string; artworks: { id: string; themes: string[] }[] }[];
  const mixed = new Set(catalog.filter((t) => t.artworks.some((x) => x.themes.includes(DARK)) && t.artworks.some((x) => !x.themes.includes(DARK))).map((t) => t.id));
  const common = items(pageA).filter((t) => byTitleB.has(t.titleId) && mixed.has(t.titleId));
  const darkA = common.filter((t) => t.artwork.themes.includes(DARK)).length;
  const darkB = common.filter((t) => byTitleB.get(t.titleId)!.artwork.themes.includes(DARK)).length;
  const differ = common.filter((t) => byTitleB.get(t.titleId)!.artwork.artworkId !== t.artwork.artworkId).length;
  console.log(`artwork selection in the worker for a page of ${items(pageA).length} cards: ${pageA.timings.artworkMs} ms (viewer A), ${pageB.timings.artworkMs} ms (viewer B)`);
  console.log(`common titles with a dark and another artwork: ${common.length}; dark shown to A ${darkA}, to B ${darkB}; different artwork ${differ}`);
  expect(common.length).toBeGreaterThanOrEqual(5);
  // Thompson sampling still explores, so not every card follows the taste; the two viewers must clearly part ways.
  expect(darkA / common.length).toBeGreaterThan(0.55);
  expect(darkB / common.length).toBeLessThan(0.45);
  expect((darkA - darkB) / common.length).toBeGreaterThan(0.3);
  expect(differ / common.length).toBeGreaterThan(0.5);
  // The drawer explains a card: the chosen artwork, its propensity, the policy and the learned taste.
  await a.locator(`section.row .card[data-title="${common[0]!.titleId}"]`).first().hover();
  await expect(a.locator('#debug-artwork .pol')).toContainText('thompson');
  await expect(a.locator('#debug-artwork .taste')).toContainText(DARK);

  // Every impression that reached the server carries an artwork choice with a propensity in (0, 1].
  await a.evaluate(() => window.marquee.flush());
  await b.evaluate(() => window.marquee.flush());
  const shown = (await impressionsOf(a)) + (await impressionsOf(b));
  await expect.poll(async () => {
    const res = await fetch(`${api.url}/v1/admin/artwork/ope?target=uniform`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { decisions: number; skipped: number };
    return body.decisions + body.skipped;
  }, { timeout: 30_000 }).toBe(shown);
  const res = await fetch(`${api.url}/v1/admin/artwork/ope?target=uniform`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const report = (await res.json()) as { decisions: number; skipped: number };
  expect(report.skipped).toBe(0);
  const priors = (await (await fetch(`${api.url}/v1/artwork/priors`)).json()) as { impressions: number; artworks: { qualityPlays: number }[] };
  expect(priors.impressions).toBe(shown);
  expect(priors.artworks.reduce((s, x) => s + x.qualityPlays, 0)).toBe(playedA + playedB);
});
