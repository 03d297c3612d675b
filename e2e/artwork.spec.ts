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
 * A population before the two viewers, through the API: 300 other viewers, each shown 20 of the titles with a dark
 * and another artwork, the artwork uniformly at random (logged with propensity 1/K). Half of them play 4 in 10 of
 * the titles shown with a dark image and 1 in 20 of the others; the other half the reverse. So the population's
 * shared fit is made of many viewers, not of the two under test, finds no dark effect for everyone (the halves
 * cancel) and publishes a between-viewer variance that says viewers differ. Returns what it stored.
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
    for (let i = 0; i < 20; i++) {
      const t = titles[rng.int(titles.length)]!;
      const k = rng.int(t.artworks.length);
      const artwork = { artworkId: t.artworks[k]!.id, propensity: 1 / t.artworks.length };
      events.push({ ...who, id: uuidv7(), ts: ts++, type: 'impression', titleId: t.id, row: 'Top Picks', position: i, artwork });
      impressions++;
      const dark = t.artworks[k]!.themes.includes(DARK);
      if (rng.next() >= (dark === fan ? 0.4 : 0.05)) continue;
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

// FIXME (issue #10, open). The server now holds a population before the two viewers arrive (seedPopulation): with
// only the two of them the shared fit was made of their own plays (fifth session: 0 of 3 runs on fresh priors). Sixth
// session, artwork-5, one run under load: the seeded server published a between-viewer variance of 0.0677 (sd 0.26),
// and still both viewers' own tastes missed dark (A's mean dark margin -0.012, B's -0.019; dark preferred for A on 15
// of 72 common titles, for B on 5). Found why the viewers' plays teach so little: with stickiness 0 a play re-ranks
// and re-renders the page, the played card comes back with a fresh artwork, and the device (ArtworkChooser.record)
// joins the quality play to the title's latest impression, not to the one the play started from (the play carries
// its impressionId, which the device ignores), so A's plays reward whatever the re-render drew. With stickiness
// 15 s instead, the run timed out at a card click (not diagnosed). Next: attribute plays by impressionId on the
// device (and the server's join), then judge again; not looser thresholds.
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
  }, { timeout: 30_000 }).toBe(seeded.impressions + shown);
  const res = await fetch(`${api.url}/v1/admin/artwork/ope?target=uniform`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const report = (await res.json()) as { decisions: number; skipped: number };
  expect(report.skipped).toBe(0);
  const priors = (await (await fetch(`${api.url}/v1/artwork/priors`)).json()) as { impressions: number; artworks: { qualityPlays: number }[] };
  expect(priors.impressions).toBe(seeded.impressions + shown);
  expect(priors.artworks.reduce((s, x) => s + x.qualityPlays, 0)).toBe(seeded.qualityPlays + playedA + playedB);
});
