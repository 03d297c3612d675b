/**
 * A ranking experiment end to end: definitions edited on the server, assignment on each device, the variant's
 * ranking weights applied in the worker, exposures logged once per session, results from the event store.
 */
import type { Browser, Page } from '@playwright/test';
import { assignVariant, ExperimentResultsSchema, ExperimentSchema, SCHEMA_VERSION, uuidv7 } from '@marquee/core';
import { ARTIFACTS } from './global-setup.ts';
import { test, expect, ADMIN_TOKEN, DEMO_ORIGIN } from './fixtures.ts';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const EXPERIMENT = ExperimentSchema.parse({
  id: 'rank-weights-e2e',
  surface: 'ranking',
  traffic: 1,
  variants: [
    { id: 'control', weight: 1, params: {} },
    // Popularity counted against a title: the least played first. Nothing about the page stays the same.
    { id: 'long-tail', weight: 1, params: { rankWeights: { model: 1, popularity: -1, trending: 0 } } },
  ],
});

/** The first user ids that land in each variant, by the same bucketing the worker uses. */
function viewers(): Record<string, string> {
  const found: Record<string, string> = {};
  for (let i = 0; Object.keys(found).length < 2 && i < 1000; i++) {
    const a = assignVariant(EXPERIMENT, `e2e-viewer-${i}`, Date.now());
    if (a && !found[a.variant]) found[a.variant] = `e2e-viewer-${i}`;
  }
  return found;
}

async function open(browser: Browser, apiUrl: string, user: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const q = new URLSearchParams({ api: apiUrl, maxAgeMs: '300', retryMaxMs: '1500', backends: 'wasm', user });
  await page.goto(`${DEMO_ORIGIN}/?${q}`);
  await page.waitForFunction(() => window.demo?.pages > 0);
  return page;
}

const topPicks = (page: Page) =>
  page.evaluate(async () => {
    const p = await window.marquee.homepage({ refresh: true });
    return { ids: p.rows.find((r) => r.kind === 'top')!.items.map((t) => t.titleId), experiments: p.experiments ?? [] };
  });

/** Popularity the server knows: the catalog's first 40 titles played 40, 39, ... 1 times. */
async function seedPopularity(apiUrl: string): Promise<{ id: string }[]> {
  const catalog = (await (await fetch(`${apiUrl}/v1/catalog`)).json()).titles as { id: string }[];
  const events = catalog.slice(0, 40).flatMap((t, i) =>
    Array.from({ length: 40 - i }, (_, k) => ({ id: uuidv7(), ts: Date.now(), schemaVersion: SCHEMA_VERSION, sessionId: `seed-${k}`, userId: `seed-${k}`, type: 'play_start', titleId: t.id })),
  );
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(`${apiUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'dev-write-key', events: events.slice(i, i + 500) }) });
    expect(res.status).toBe(200);
  }
  return catalog;
}

test('two viewers in different variants see different rows; exposures reach the server once per session; results show both arms', async ({ browser, api }) => {
  await api.publishModel(`${ARTIFACTS}home`);
  const catalog = await seedPopularity(api.url);
  const put = await fetch(`${api.url}/v1/experiments/admin`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ baseVersion: 0, experiments: [EXPERIMENT] }) });
  expect(put.status).toBe(200);

  const who = viewers();
  const control = await open(browser, api.url, who.control!);
  const treatment = await open(browser, api.url, who['long-tail']!);
  expect(await control.evaluate(() => window.marquee.variant('rank-weights-e2e'))).toMatchObject({ variant: 'control' });
  expect(await treatment.evaluate(() => window.marquee.variant('rank-weights-e2e'))).toMatchObject({ variant: 'long-tail' });

  const a = await topPicks(control);
  const b = await topPicks(treatment);
  expect(a.experiments).toEqual([{ experiment: 'rank-weights-e2e', variant: 'control' }]);
  expect(b.experiments).toEqual([{ experiment: 'rank-weights-e2e', variant: 'long-tail' }]);
  expect(a.ids.length).toBeGreaterThan(3);
  expect(a.ids).not.toEqual(b.ids);
  // The control page leads with the most played title, the long-tail page does not.
  expect(a.ids[0]).toBe(catalog[0]!.id);
  expect(b.ids.slice(0, 5)).not.toContain(catalog[0]!.id);

  // More pages and a reload in the same tab: still the same session, so no second exposure.
  await topPicks(control);
  await control.reload();
  await control.waitForFunction(() => window.demo?.pages > 0);
  await topPicks(control);
  const results = async () => {
    const res = await fetch(`${api.url}/v1/experiments/rank-weights-e2e/results`, { headers: auth });
    return ExperimentResultsSchema.parse(await res.json());
  };
  const exposures = async () => Object.fromEntries((await results()).units.map((u) => [u.variant, [u.exposed, u.exposureEvents]]));
  await expect.poll(exposures, { timeout: 30_000 }).toEqual({ control: [1, 1], 'long-tail': [1, 1] });
  await new Promise((r) => setTimeout(r, 1500));
  expect(await exposures()).toEqual({ control: [1, 1], 'long-tail': [1, 1] });

  // A new tab is a new session: one more exposure for that viewer, still one unit.
  const second = await control.context().newPage();
  const q = new URLSearchParams({ api: api.url, maxAgeMs: '300', retryMaxMs: '1500', backends: 'wasm', user: who.control! });
  await second.goto(`${DEMO_ORIGIN}/?${q}`);
  await second.waitForFunction(() => window.demo?.pages > 0);
  await expect.poll(exposures, { timeout: 30_000 }).toEqual({ control: [1, 2], 'long-tail': [1, 1] });

  const r = await results();
  expect(r.units.map((u) => u.variant)).toEqual(['control', 'long-tail']);
  // One viewer per arm is too few to compare: the results say so rather than print an interval.
  expect(r.metrics).toEqual([]);
  expect(r.definitions.note).toMatch(/fewer than two exposed units/);
  expect(r.srm.mismatch).toBe(false);
  expect(r.unitsInSeveralVariants).toBe(0);
});

test('an interleaved Top Picks row: each impression reaches the server with its team, a play is credited to its team, the results report the preference', async ({ browser, api }) => {
  await api.publishModel(`${ARTIFACTS}home`);
  await seedPopularity(api.url);
  const IL = ExperimentSchema.parse({
    id: 'model-vs-pop-e2e',
    surface: 'ranking',
    traffic: 1,
    // Team A: the page's own ranking (the default blend); team B: popularity alone.
    variants: [{ id: 'mix', weight: 1, params: { interleaveWith: { model: 0, popularity: 1, trending: 0 } } }],
  });
  const put = await fetch(`${api.url}/v1/experiments/admin`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ baseVersion: 0, experiments: [IL] }) });
  expect(put.status).toBe(200);
  const page = await open(browser, api.url, 'e2e-interleaved-viewer');
  await page.waitForFunction(() => window.demo.page?.rows.find((r) => r.kind === 'top')?.items.every((t) => t.interleaving));

  const top = await page.evaluate(() => window.demo.page!.rows.find((r) => r.kind === 'top')!.items.map((t) => t.interleaving!));
  expect(top.length).toBeGreaterThan(3);
  expect(new Set(top.map((t) => `${t.experiment}/${t.variant}`))).toEqual(new Set(['model-vs-pop-e2e/mix']));
  const a = top.filter((t) => t.team === 'A').length;
  // Team draft: the two rankers take turns, so neither has more than one title over the other.
  expect(Math.abs(a - (top.length - a))).toBeLessThanOrEqual(1);
  // The other rows carry no team.
  expect(await page.locator('section.row:not([data-kind="top"]) .card[data-team]').count()).toBe(0);

  const interleaving = async () => {
    const res = await fetch(`${api.url}/v1/experiments/model-vs-pop-e2e/results`, { headers: auth });
    return ExperimentResultsSchema.parse(await res.json()).interleaving?.[0];
  };
  // Every card of the row was logged as an impression with its team and reached the store.
  await expect.poll(async () => { const r = await interleaving(); return r ? r.impressions.A + r.impressions.B : 0; }, { timeout: 30_000 }).toBeGreaterThanOrEqual(top.length);
  const before = (await interleaving())!;
  expect(before.impressions.A).toBeGreaterThan(0);
  expect(before.impressions.B).toBeGreaterThan(0);
  expect(before.plays).toEqual({ A: 0, B: 0 });

  // Play a title team B placed: the play names its impression, and the store credits it to B.
  await page.locator('section.row[data-kind="top"] .card[data-team="B"]').first().click();
  await page.locator('#play').click();
  await expect.poll(async () => (await interleaving())?.plays, { timeout: 30_000 }).toEqual({ A: 0, B: 1 });
  const r = (await interleaving())!;
  expect(r).toMatchObject({ variant: 'mix', units: 1, wins: { A: 0, B: 1, ties: 0 } });
  expect(r.preference.estimate).toBe(-1);
  expect(r.preference.ci).toHaveLength(2);
});
