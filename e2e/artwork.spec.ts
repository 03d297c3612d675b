/**
 * The artwork bandit through the real UI and API: two viewers of opposite artwork taste (one plays what is shown
 * with a dark image, the other only what is shown without one) converge to different artworks for the same titles,
 * and every impression that reaches the server carries the artwork with a propensity in (0, 1].
 *
 * Convergence is judged on what each viewer's own posterior prefers (the drawer's posterior mean score minus the
 * population rate it adds), not on the one Thompson draw a page happens to show (a draw still explores, so single
 * draws after a few plays pass or fail by chance), and not on the whole score: both viewers share the server's
 * priors, which the first viewer's plays have already moved towards dark.
 */
import type { Browser, Page } from '@playwright/test';
import type { HomePage, PageTitle } from '@marquee/sdk';
import { ADMIN_TOKEN, DEMO_ORIGIN, test, expect, openDemo } from './fixtures.ts';

const DARK = 'dark';
type Likes = (t: PageTitle) => boolean;
const likesDark: Likes = (t) => t.artwork.themes.includes(DARK);
const avoidsDark: Likes = (t) => !t.artwork.themes.includes(DARK);
const items = (p: HomePage) => p.rows.flatMap((r) => r.items);
/** What the viewer's own taste adds to an artwork's score (the drawer's posterior mean score minus its rate). */
const own = (a: { score: number; rate: number }) => a.score - a.rate;
/** The artwork the viewer's own posterior prefers for a card. */
const preferred = (t: PageTitle) => t.artwork.debug!.artworks.reduce((best, a) => (own(a) > own(best) ? a : best));

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
 * The viewer comes back after the device's cached priors went stale (the worker refetches them after 5 minutes): the
 * test drops the cache instead of waiting, and reloads. Without it a viewer judges by the priors of their first
 * visit, when the server had seen nothing and published no population model.
 */
async function comeBackLater(page: Page): Promise<void> {
  await page.evaluate(async () => {
    for (const { name } of await indexedDB.databases()) {
      if (!name) continue;
      await new Promise<void>((resolve) => {
        const req = indexedDB.open(name);
        req.onerror = () => resolve();
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('meta')) {
            db.close();
            resolve();
            return;
          }
          const tx = db.transaction('meta', 'readwrite');
          tx.objectStore('meta').delete('artwork-priors');
          tx.oncomplete = tx.onerror = () => {
            db.close();
            resolve();
          };
        };
      });
    }
  });
  earlierImpressions.set(page, (earlierImpressions.get(page) ?? 0) + (await page.evaluate(() => window.demo.impressions)));
  await page.reload();
  await page.waitForFunction(() => window.demo?.pages > 0);
}

/**
 * Plays `plays` titles the viewer likes, one at a time, each picked from the page as it is rendered now among the
 * titles with a dark and another artwork (where a play says something about dark); a page with nothing to their
 * taste sends them away and back (a reload).
 */
async function learn(page: Page, likes: Likes, plays: number, mixed: ReadonlySet<string>): Promise<number> {
  const played = new Set<string>();
  for (let tries = 0; played.size < plays && tries < plays * 3; tries++) {
    const p = (await page.evaluate(() => window.demo.page)) as HomePage;
    const pick = items(p).find((t) => mixed.has(t.titleId) && likes(t) && !played.has(t.titleId) && t.artwork.propensity < 1);
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

// FIXME (issue #10, open): not yet stable, and where it passes, not on margins above the prior's spread. Earlier
// sessions: judged on single Thompson draws 1 run in 3; on the posterior mean score 3 of 5; on each viewer's own taste
// (score - rate) 0 of 2 with artwork-2; once with artwork-3 on margins of +0.001 / -0.004 (a tenth of the prior sd).
// Fifth session, artwork-4 (prior covariance from the population fit's posterior, server fit weighted by
// 1 / (K x propensity) capped at 100), three runs under load:
// - judged with the priors each viewer fetched on their first visit (the device keeps them 5 minutes): passed twice,
//   A's mean dark margin +0.001 and +0.009, B's -0.136 and -0.107. A fetched before the server had any impression, so
//   no population model and the configured prior (sd 0.03: A's dark taste 0.015 after 16 plays); B fetched a model
//   fitted on A's first impressions, whose covariance is wide (sd ~0.1 per theme), so B's own plays moved B far.
// - judged after both come back with fresh priors (comeBackLater, as the product does after 5 minutes): failed. Both
//   viewers' priors are now wide (sd 0.06-0.09), but the population's shared dark effect, fitted on both viewers'
//   impressions with A's dark plays reweighted by up to 100, leans both to dark: A +0.023, B +0.005 (dark preferred
//   on 17 and 13 of 20 titles). With two viewers the population is the viewers themselves, and their own impressions
//   count twice (in the shared fit and in their own taste); the history weights that should separate them are not
//   determined by a few hundred impressions.
// A judge that passes for the right reason needs a server that has a population before the two viewers (seeded
// impressions of many viewers, so the shared fit is not made of the two viewers' own plays), not looser thresholds.
test.fixme('two viewers of opposite artwork taste converge to different artworks for the same titles', async ({ browser, api }) => {
  test.setTimeout(360_000);
  const catalog = (await (await fetch(`${api.url}/v1/catalog`)).json()).titles as { id: string; artworks: { id: string; themes: string[] }[] }[];
  /** Titles where the choice says something about dark: at least one dark and one other artwork. */
  const mixed = new Set(catalog.filter((t) => t.artworks.some((x) => x.themes.includes(DARK)) && t.artworks.some((x) => !x.themes.includes(DARK))).map((t) => t.id));
  const a = await viewer(browser, api.url, 'viewer-dark');
  const b = await viewer(browser, api.url, 'viewer-light');
  const playedA = await learn(a, likesDark, 16, mixed);
  const playedB = await learn(b, avoidsDark, 16, mixed);
  expect(playedA).toBeGreaterThanOrEqual(12);
  expect(playedB).toBeGreaterThanOrEqual(12);
  await comeBackLater(a);
  await comeBackLater(b);

  const pageA = (await a.evaluate(() => window.marquee.homepage({ refresh: false }))) as HomePage;
  const pageB = (await b.evaluate(() => window.marquee.homepage({ refresh: false }))) as HomePage;
  const byTitleB = new Map(items(pageB).map((t) => [t.titleId, t]));
  const common = items(pageA).filter((t) => byTitleB.has(t.titleId) && mixed.has(t.titleId));
  const preferredDark = (t: PageTitle) => preferred(t).themes.includes(DARK);
  const darkA = common.filter(preferredDark).length;
  const darkB = common.filter((t) => preferredDark(byTitleB.get(t.titleId)!)).length;
  const differ = common.filter((t) => preferred(byTitleB.get(t.titleId)!).artworkId !== preferred(t).artworkId).length;
  /** How much more the viewer's taste likes the title's best dark artwork than its best other one (rate units). */
  const darkMargin = (t: PageTitle) => {
    const best = (dark: boolean) => Math.max(...t.artwork.debug!.artworks.filter((x) => x.themes.includes(DARK) === dark).map(own));
    return best(true) - best(false);
  };
  const meanMargin = (ts: PageTitle[]) => ts.reduce((s, t) => s + darkMargin(t), 0) / ts.length;
  const marginA = meanMargin(common);
  const marginB = meanMargin(common.map((t) => byTitleB.get(t.titleId)!));
  const shownDarkA = common.filter((t) => t.artwork.themes.includes(DARK)).length;
  const shownDarkB = common.filter((t) => byTitleB.get(t.titleId)!.artwork.themes.includes(DARK)).length;
  console.log(`artwork selection in the worker for a page of ${items(pageA).length} cards: ${pageA.timings.artworkMs} ms (viewer A), ${pageB.timings.artworkMs} ms (viewer B)`);
  console.log(`common titles with a dark and another artwork: ${common.length}; preferred artwork dark for A ${darkA}, for B ${darkB}; different preferred artwork ${differ}; mean dark-over-other score margin A ${marginA.toFixed(3)}, B ${marginB.toFixed(3)}; shown (one Thompson draw) dark to A ${shownDarkA}, to B ${shownDarkB}`);
  const tastes = (t: PageTitle) => t.artwork.debug!.taste.map((x) => `${x.theme} ${x.mean.toFixed(3)} (sd ${x.sd.toFixed(3)})`).join(', ');
  console.log(`top tastes A: ${tastes(common[0]!)}; B: ${tastes(byTitleB.get(common[0]!.titleId)!)}`);
  expect(common.length).toBeGreaterThanOrEqual(5);
  // They part ways: each posterior leans the way its viewer played, different preferred artworks for most titles, and
  // dark preferred far more often by A than by B. (A's plays also teach it the themes that came with dark, so a
  // title's other artwork can still win for A where it carries those.)
  expect(marginA).toBeGreaterThan(0);
  expect(marginB).toBeLessThan(0);
  expect(differ / common.length).toBeGreaterThan(0.5);
  expect((darkA - darkB) / common.length).toBeGreaterThan(0.3);
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
