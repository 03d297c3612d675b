/**
 * The analytics dashboard against a real API process: a store seeded with a launch world (titles launching over
 * time, plays after impressions in several rows) and an experiment run on simulated members, and an empty one. Checks that every chart drew data (points
 * recorded and pixels on its canvas, not only an element), that a forecast comes back and reads sensibly, and
 * saves screenshots in the test output.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { ExperimentResultsSchema, ExperimentSchema } from '@marquee/core';
import { DuckDbEventStore, ExperimentDefinitions, seedLaunchWorld, simulateExperimentEvents, writeLaunchWorldCatalog } from '@marquee/server';
import { ADMIN_TOKEN, Api, expect, test } from './fixtures.ts';

const WORLD = { world: { titles: 200, members: 400 }, launches: { spanDays: 365, hoursScale: 150, appealSample: 100 } };
const CHARTS = ['hours', 'top', 'trending', 'take', 'artwork', 'live'] as const;
/**
 * An experiment with two treatments, run on simulated members (exposures, impressions and plays through the real
 * bucketing): `more` plays 40% more than control, `same` as much. The forest plot draws both differences.
 */
/** Inside the launch world's year (2024), so its events read as part of that history on the other charts. */
const EXPERIMENT_START = Date.UTC(2024, 8, 1);
const EXPERIMENT = ExperimentSchema.parse({
  id: 'row-order',
  traffic: 1,
  variants: [{ id: 'control', weight: 1 }, { id: 'more', weight: 1 }, { id: 'same', weight: 1 }],
});

async function withApi(seed: boolean, body: (api: Api) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'marquee-e2e-dashboard-'));
  try {
    if (seed) {
      const store = await DuckDbEventStore.open(dir);
      await seedLaunchWorld(store, WORLD);
      await store.append(simulateExperimentEvents(EXPERIMENT, { units: 600, seed: 3, effect: { more: 1.4 }, startTs: EXPERIMENT_START }), Date.now());
      await store.close();
      await ExperimentDefinitions.inDataDir(dir).write([EXPERIMENT], 0);
      await writeLaunchWorldCatalog(dir, WORLD);
    }
    const api = new Api(dir);
    await api.start();
    try {
      await body(api);
    } finally {
      await api.server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function signIn(page: Page, apiUrl: string): Promise<void> {
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto(`/dashboard.html?api=${encodeURIComponent(apiUrl)}`);
  await page.getByPlaceholder('ADMIN_TOKEN').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.waitForFunction(() => window.dashboard?.readyMs !== null, undefined, { timeout: 60_000 });
}

/** Share of a chart canvas's pixels that are not transparent or background: > 0 once something was drawn. */
const inkOf = (page: Page, chart: string) =>
  page.locator(`[data-chart="${chart}"] canvas`).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
    return ink / (d.length / 4);
  });

test('the dashboard draws every chart from a seeded store and answers a forecast', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  await withApi(true, async (api) => {
    await page.goto('/dashboard.html');
    await expect(page.getByRole('form', { name: 'Admin sign-in' })).toBeVisible();
    await signIn(page, api.url);
    const sections = await page.evaluate(() => window.dashboard.sections);
    for (const chart of CHARTS) {
      expect(sections[chart], chart).toBe('data');
      expect(Number(await page.locator(`[data-chart="${chart}"]`).getAttribute('data-points')), chart).toBeGreaterThan(0);
      expect(await inkOf(page, chart), chart).toBeGreaterThan(0.01);
      // Axes with units and a legend on every chart.
      await expect(page.locator(`[data-chart="${chart}"] .u-legend`), chart).toBeVisible();
    }
    // The forest plot: both treatments' differences from control, each the API's estimate inside its interval.
    expect(sections.experiments).toBe('data');
    const answer = await fetch(`${api.url}/v1/experiments/${EXPERIMENT.id}/results`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const results = ExperimentResultsSchema.parse(await answer.json());
    const plays = results.metrics.find((m) => m.metric === 'plays_per_unit')!;
    expect(plays.vsControl.map((v) => v.variant)).toEqual(['more', 'same']);
    const forest = page.locator('[data-chart="experiments"]');
    const drawn = JSON.parse((await forest.getAttribute('data-drawn'))!) as {
      items: { name: string; value: number; low: number; high: number; y: number; yLow: number; yHigh: number }[];
      zeroY: number;
    };
    expect(drawn.items.map((i) => i.name)).toEqual(['row-order · more vs control (plays_per_unit)', 'row-order · same vs control (plays_per_unit)']);
    drawn.items.forEach((item, i) => {
      const v = plays.vsControl[i]!.fixedHorizon;
      expect(item).toMatchObject({ value: v.estimate, low: v.ci[0], high: v.ci[1] });
      expect(item.low).toBeLessThan(item.value);
      expect(item.value).toBeLessThan(item.high);
      // On the canvas (y grows downwards): the whisker spans the point, and has a length.
      expect(item.yHigh).toBeLessThan(item.y);
      expect(item.y).toBeLessThan(item.yLow);
    });
    // +40% plays: the whole interval above no effect (drawn above the zero line); no effect: the interval spans it.
    expect(drawn.items[0]!.low).toBeGreaterThan(0);
    expect(drawn.items[0]!.yLow).toBeLessThan(drawn.zeroY);
    expect(drawn.items[1]!.low).toBeLessThan(0);
    expect(drawn.items[1]!.high).toBeGreaterThan(0);
    expect(drawn.items[1]!.yHigh).toBeLessThan(drawn.zeroY);
    expect(drawn.items[1]!.yLow).toBeGreaterThan(drawn.zeroY);
    expect(Number(await forest.getAttribute('data-points'))).toBe(2);
    expect(await inkOf(page, 'experiments')).toBeGreaterThan(0.01);
    await expect(forest.locator('.u-legend')).toContainText('difference from control');
    await expect(page.locator('#kpis')).toContainText('viewing hours');
    await expect(page.locator('[data-chart="top"] .u-legend')).toContainText('viewing hours');
    await page.screenshot({ path: testInfo.outputPath('dashboard.png'), fullPage: true });

    // An acquisition: a drama of 2025, 120 minutes, comparable to the first title of the catalog.
    await page.locator('input[name="genres"]').fill('drama');
    await page.locator('input[name="year"]').fill('2025');
    await page.locator('input[name="runtime"]').fill('120');
    await page.locator('input[name="cost"]').fill('50000');
    await page.locator('input[name="comparables"]').fill('t001');
    await page.getByRole('button', { name: 'Forecast' }).click();
    await expect(page.locator('[data-field="h28"]')).toContainText('80%');
    const f = await page.evaluate(() => window.dashboard.forecast!);
    expect(f.first28Days.p10).toBeLessThan(f.first28Days.p50);
    expect(f.first28Days.p50).toBeLessThan(f.first28Days.p90);
    // What the page shows is the answer: the median hours and the cost per hour viewed.
    const shown = Number((await page.locator('[data-field="h28"] b').textContent())!.replace(/,/g, ''));
    expect(shown).toBe(Math.round(f.first28Days.p50));
    const basis = f.costPerHour.basis === 'firstYear' ? f.firstYear! : f.first28Days;
    expect(f.costPerHour.p50).toBeCloseTo(50_000 / basis.p50, 6);
    await expect(page.locator('[data-field="cph"] b')).toHaveText(f.costPerHour.p50.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    await expect(page.locator('.comparables')).toContainText('t001');
    expect(Number(await page.locator('[data-chart="forecast"]').getAttribute('data-points'))).toBe(19);
    expect(await inkOf(page, 'forecast')).toBeGreaterThan(0.01);
    await page.locator('#h-forecast').scrollIntoViewIfNeeded();
    await page.screenshot({ path: testInfo.outputPath('dashboard-forecast.png'), fullPage: true });
  });
});

test('an empty store gives clear empty states, and a forecast says why it cannot answer', async ({ page }, testInfo) => {
  await withApi(false, async (api) => {
    await signIn(page, api.url);
    const sections = await page.evaluate(() => window.dashboard.sections);
    for (const chart of ['hours', 'top', 'trending', 'take', 'artwork'] as const) {
      expect(sections[chart], chart).toBe('empty');
      await expect(page.locator(`[data-chart="${chart}"] .empty-state`), chart).toContainText('No events in this range yet');
    }
    // No experiment is defined on this server: the section says how to add one rather than drawing nothing.
    expect(sections.experiments).toBe('empty');
    await expect(page.locator('[data-chart="experiments"] .empty-state')).toContainText('No experiment is defined');
    await page.getByRole('button', { name: 'Forecast' }).click();
    await expect(page.locator('#forecast-error')).toContainText('not enough history');
    await page.screenshot({ path: testInfo.outputPath('dashboard-empty.png'), fullPage: true });
  });
});

test('a wrong token is refused with a message', async ({ page }) => {
  await withApi(false, async (api) => {
    await page.goto(`/dashboard.html?api=${encodeURIComponent(api.url)}`);
    await page.getByPlaceholder('ADMIN_TOKEN').fill('wrong');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await expect(page.locator('#login-error')).toContainText('admin token was refused');
  });
});
