/**
 * The artwork bandit through the real UI and API: two viewers of opposite artwork taste (one plays what is shown
 * with a dark image, the other only what is shown without one) converge to different artworks for the same titles,
 * and every impression that reaches the server carries the artwork with a propensity in (0, 1].
 *
 * Convergence is judged on what each viewer's own posterior prefers (the drawer's posterior mean score minus the
 * population rate it adds), not on the one Thompson draw a page happens to show (a draw still explores, so single
 * draws after a few plays pass or fail by chance), and not on the whole score: both viewers share the population's
 * rates, which say nothing about either of them.
 */
import type { Browser, Page } from '@playwright/test';
import type { HomePage, PageTitle } from '@marquee/sdk';
import { artwork as aw, SCHEMA_VERSION, uuidv7 } from '@marquee/core';
import { ADMIN_TOKEN, DEMO_ORIGIN, test, expect, openDemo } from './fixtures.ts';

const DARK = 'dark';
type Likes = (t: PageTitle) => boolean;
const likesDark: Likes = (t) => t.artwork.themes.includes(DARK);
const avoidsDark: Likes = (t) => !t.artwork.themes.includes(DARK);
const items = (p: HomePage) => p.rows.flatMap((r) => r.items);
type CatalogTitle = { id: string; runtimeMin: number; artworks: { id: string; themes: string[] }[] };

/**
 * A population before the two viewers, through the API: 300 other viewers, each shown a page of 60 of the titles with
 * a dark and another artwork, the artwork uniformly at random (logged with propensity 1/K). Half of them play 1 in 25
 * of the titles shown with a dark image and 1 in 250 of the others; the other half the reverse. So the population's
 * shared fit is made of many viewers, not of the two under test, finds no dark effect for everyone (the halves
 * cancel) and publishes a between-viewer variance that says viewers differ. Its rates are a page's, as the two
 * viewers' are (a play or two in a page of 80): the device learns from each impression's reward minus the published
 * rate, so a population that played 1 in 5 of what it saw (an earlier seed) made every card the viewers left
 * unplayed a strong negative, and the dark cards a viewer is shown more as it learns pulled its dark taste back to 0.
 * Returns what it stored.
 */
async function seedPopulation(apiUrl: string, titles: readonly CatalogTitle[]): Promise<{ impressions: number; qualityPlays: number }> {
  const rng = new aw.Rng(10);
  const events: Record<string, unknown>[] = [];
  let ts = Date.now() - 3_600_000;
  let impressions = 0;
  let qualityPlays = 0;
  for (let u = 0; u < 300; u++) {
    const who = { schemaVersion: SCHEMA_VERSION, userId: `seed-viewer-${u}`, sessionId: `seed-session-${u}` };
    const fan = u % 2 === 0;
    for (let i = 0; i < 60; i++) {
      const t = titles[rng.int(titles.length)]!;
      const k = rng.int(t.artworks.length);
      const artwork = { artworkId: t.artworks[k]!.id, propensity: 1 / t.artworks.length };
      events.push({ ...who, id: uuidv7(), ts: ts++, type: 'impression', titleId: t.id, row: 'Top Picks', position: i, artwork });
      impressions++;
      const dark = t.artworks[k]!.themes.includes(DARK);
      if (rng.next() >= (dark === fan ? 0.04 : 0.004)) continue;
      qualityPlays++;
      events.push({ ...who, id: uuidv7(), ts: ts++, type: 'play_start', titleId: t.id, artwork });
      events.push({ ...who, id: uuidv7(), ts: ts++, type: 'progress', titleId: t.id, position: 1200, duration: t.runtimeMin * 60 });
    }
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(`${apiUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'dev-write-key', events: events.slice(i, i + 500) }) });
    expect(res.status).toBe(200);
  }
  return { impressions, qualityPlays };
}

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

/**
 * Through the demo's UI: pick a card, play, seek to 20 minutes (a quality play), pause. False when the card is not on
 * screen: a newer page (the re-ranks a play's events bring) may be rendering, the screen cleared for it and the title
 * perhaps ranked out of it, after the test read the page; waiting for that card is what timed out in the sixth
 * session's run with stickiness.
 */
async function playFromCard(page: Page, titleId: string): Promise<boolean> {
  try {
    await page.locator(`section.row .card[data-title="${titleId}"]`).first().click({ timeout: 5_000 });
  } catch {
    return false;
  }
  await page.locator('#play').click();
  await page.locator('#seek').evaluate((el: HTMLInputElement) => {
    el.value = '1200';
    el.dispatchEvent(new Event('change'));
  });
  await page.locator('#pause').click();
  return true;
}

/** Impressions a page tracked before it was reloaded (the demo's counter starts again at each load). */
const earlierImpressions = new Map<Page, number>();

/**
 * Reloads the page once every impression it showed is stored on the device: one still on its way to the worker is
 * lost with the page, and the count of what reached the server would miss it.
 */
async function reload(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.demo.impressionsQueued - window.demo.impressions)).toBe(0);
  await reload(page);
}
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
  await reload(page);
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
      await reload(page);
      continue;
    }
    const before = await page.evaluate(() => window.demo.pages);
    if (!(await playFromCard(page, pick.titleId))) continue;
    played.add(pick.titleId);
    await expect.poll(() => page.evaluate(() => window.demo.pages)).toBeGreaterThan(before); // re-ranked, re-rendered
  }
  return played.size;
}

// FIXME (issue #10, open): not reliable; why, as measured in the seventh session (all under load, load average 3-8).
// Fixed and kept: plays are credited to the impression they came from (core RewardJoiner; the demo names the clicked
// card's own impression); the seeded population's rates are a page's, as the viewers' are (seedPopulation); reloads
// wait for the impressions in flight (the final count check missed them: failed twice); a card click that a newer
// render cleared from the screen is retried instead of waited for (that was the earlier 15 s stickiness timeout, and
// it timed out a 24-play run here too: a play's events re-rank, the page re-renders, the screen is cleared for it).
// What stays: the evidence is small. With the population's between-viewer variance at 0.0009 (sd 0.03), 16 quality
// plays among ~1,350 settled impressions move a viewer's dark taste to ~0.01 (posterior sd 0.039). Of three runs that
// got to the checks, two passed every convergence check (preferred dark for A on 37-38 of ~60 common titles, for B on
// 1-3; different on 39) but on mean dark margins of +0.001 and +0.002 for A (B -0.011, -0.007), and one failed (A
// +0.005, B +0.005): chance, not a pass.
// 24 plays each did not finish in 8 minutes under load (a page render of 80 cards per play, reloads when nothing to a
// viewer's taste is on screen). Next: a test that can show convergence in less time (fewer cards per page, or a
// smaller catalog for the test's server), run three times on a quiet machine.
test.fixme('two viewers of opposite artwork taste converge to different artworks for the same titles', async ({ browser, api }) => {
  test.setTimeout(360_000);
  const catalog = (await (await fetch(`${api.url}/v1/catalog`)).json()).titles as CatalogTitle[];
  /** Titles where the choice says something about dark: at least one dark and one other artwork. */
  const mixedTitles = catalog.filter((t) => t.artworks.some((x) => x.themes.includes(DARK)) && t.artworks.some((x) => !x.themes.includes(DARK)));
  const mixed = new Set(mixedTitles.map((t) => t.id));
  const seeded = await seedPopulation(api.url, mixedTitles.slice(0, 150));
  const published = (await (await fetch(`${api.url}/v1/artwork/priors`)).json()) as { impressions: number; context?: { betweenViewerVar?: number } };
  expect(published.impressions).toBe(seeded.impressions);
  console.log(`seeded population: ${seeded.impressions} impressions, ${seeded.qualityPlays} quality plays; published between-viewer variance ${published.context?.betweenViewerVar?.toFixed(4)}`);
  expect(published.context?.betweenViewerVar).toBeGreaterThan(0);
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
  const learned = (t: PageTitle) => `${t.artwork.debug!.updates} settled impressions, ${t.artwork.debug!.historyPlays} plays`;
  console.log(`top tastes A: ${tastes(common[0]!)} (${learned(common[0]!)}); B: ${tastes(byTitleB.get(common[0]!.titleId)!)} (${learned(byTitleB.get(common[0]!.titleId)!)})`);
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
  for (const p of [a, b]) await expect.poll(() => p.evaluate(() => window.demo.impressionsQueued - window.demo.impressions)).toBe(0);
  await a.evaluate(() => window.marquee.flush());
  await b.evaluate(() => window.marquee.flush());
  const shown = (await impressionsOf(a)) + (await impressionsOf(b));
  const stored = async () => {
    const res = await fetch(`${api.url}/v1/admin/artwork/ope?target=uniform`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { decisions: number; skipped: number };
    return body.decisions + body.skipped;
  };
  await expect.poll(stored, { timeout: 30_000 }).toBeGreaterThanOrEqual(seeded.impressions + shown);
  expect(await stored()).toBe(seeded.impressions + shown);
  const res = await fetch(`${api.url}/v1/admin/artwork/ope?target=uniform`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const report = (await res.json()) as { decisions: number; skipped: number };
  expect(report.skipped).toBe(0);
  const priors = (await (await fetch(`${api.url}/v1/artwork/priors`)).json()) as { impressions: number; artworks: { qualityPlays: number }[] };
  expect(priors.impressions).toBe(seeded.impressions + shown);
  expect(priors.artworks.reduce((s, x) => s + x.qualityPlays, 0)).toBe(seeded.qualityPlays + playedA + playedB);
});
