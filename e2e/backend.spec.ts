/** The worker's tfjs backend: WebGPU under SwiftShader when the flag is on, a clean fallback when it is not. */
import { choosePlan } from '@marquee/core';
import { test, expect, openDemo, trackMany, impressions } from './fixtures.ts';

test('the worker gets webgpu on a software adapter and says so', async ({ page, api }) => {
  await openDemo(page, api.url, { choice: 'first' });
  const report = await page.evaluate(() => window.marquee.backend());
  expect(report.name).toBe('webgpu');
  expect(report.adapterArchitecture).toBe('swiftshader');
  expect(report.adapterKind).toBe('software');
  await expect(page.locator('#backend')).toHaveText('webgpu (software adapter)');
});

test('without WebGPU the worker falls back and events still flow @no-webgpu', async ({ page, api }) => {
  await openDemo(page, api.url, { choice: 'first' }); // the order webgpu, webgl, wasm, cpu
  const report = await page.evaluate(() => window.marquee.backend());
  expect(report.name).not.toBe('webgpu');
  expect(['webgl', 'wasm', 'cpu']).toContain(report.name);
  expect(report.tried[0]).toMatchObject({ name: 'webgpu', ok: false });
  await trackMany(page, 20);
  await api.expectCount(async () => (await impressions(page)) + 20);
});

test('a forced backend list is honoured', async ({ page, api }) => {
  await openDemo(page, api.url, { backends: 'wasm,cpu' });
  const report = await page.evaluate(() => window.marquee.backend());
  expect(report.name).toBe('wasm');
});

test('auto: a first run starts at once on wasm, measures every backend beside it (by operation), and later runs use the plan', async ({ page, api }) => {
  await openDemo(page, api.url);
  const first = await page.evaluate(() => window.marquee.backend());
  expect(first).toMatchObject({ name: 'wasm', chosenBy: 'provisional' });
  await expect.poll(async () => (await page.evaluate(() => window.marquee.backend())).nextRun, { timeout: 90_000 }).toBeDefined();
  const measured = await page.evaluate(() => window.marquee.backend());
  const { operations, switchMs, plan } = measured;
  if (!operations || switchMs === undefined || !plan) throw new Error(`a measured report without its plan: ${JSON.stringify(measured)}`);
  expect(Object.keys(operations)).toEqual(expect.arrayContaining(['webgpu', 'wasm', 'cpu']));
  // The plan is core's choice on what this device measured; later runs use it.
  expect(plan).toEqual(choosePlan(operations, switchMs));
  expect(measured.nextRun).toBe(plan.update);
  expect(measured.nextRunScoring).toBe(plan.scoring === plan.update ? undefined : plan.scoring);
  const [[fastest] = []] = Object.entries(measured.timings ?? {}).sort((a, b) => a[1]! - b[1]!);
  if (plan.scoring === plan.update) expect(plan.update).toBe(fastest);
  console.log(`re-rank probe (ms): ${JSON.stringify(operations)}, switch ${switchMs} ms -> update on ${plan.update}, scoring on ${plan.scoring}`);
  await page.reload();
  await page.waitForFunction(() => window.demo?.pages > 0);
  const later = await page.evaluate(() => window.marquee.backend());
  expect(later).toMatchObject({ name: plan.update, chosenBy: 'cached' });
  expect(later.scoring).toBe(plan.scoring === plan.update ? undefined : plan.scoring);
});
