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

/** Plays `plays` titles the viewer likes, one at a time, each picked from the page as it is rendered now. */
async function learn(page: Page, likes: Likes, plays: number): Promise<number> {
  const played = new Set<string>();
  for (let tries = 0; played.size < plays && tries < plays * 3; tries++) {
    const p = (await page.evaluate(() => window.demo.page)) as HomePage;
    const pick = items(p).find((t) => likes(t) && !played.has(t.titleId) && t.artwork.propensity < 1);
    if (!pick) break;
    const before = await page.evaluate(() => window.demo.pages);
    await playFromCard(page, pick.titleId);
    played.add(pick.titleId);
    await expect.poll(() => page.evaluate(() => window.demo.pages)).toBeGreaterThan(before); // re-ranked, re-rendered
  }
  return played.size;
}

// FIXME (issue #10, open): fails on main since the merge with the server-safety, identity and model branches. After
// one play the page holds 21 cards (Continue Watching, Top Picks, one genre row; candidates 'popular' and 'new' only)
// and none other shows a dark artwork; the Thompson draws are seeded per visit (sticky.ts seedKeyFor) and impressions
// without a play only settle after the 6-hour reward window, so reloading shows the same choices and viewer A stops
// after 1 play (10 needed). Passed on the issue-10 branch before that merge (dark shown to A on 12 of 13 titles).
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
  expect(darkB / common.length).toBeLessThan(0.35);
  expect((darkA - darkB) / common.length).toBeGreaterThan(0.3);
  expect(differ / common.length).toBeGreaterThan(0.5);
  // The drawer explains a card: the chosen artwork, its propensity, the policy and the learned taste.
  await a.locator(`section.row .card[data-title="${common[0]!.titleId}"]`).first().hover();
  await expect(a.locator('#debug-artwork .pol')).toContainText('thompson');
  await expect(a.locator('#debug-artwork .taste')).toContainText(DARK);

  // Every impression that reached the server carries an artwork choice with a propensity in (0, 1].
  await a.evaluate(() => window.marquee.flush());
  await b.evaluate(() => window.marquee.flush());
  const shown = (await a.evaluate(() => window.demo.impressions)) + (await b.evaluate(() => window.demo.impressions));
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
