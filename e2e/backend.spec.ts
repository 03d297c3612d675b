/** The worker's tfjs backend: WebGPU under SwiftShader when the flag is on, a clean fallback when it is not. */
import { test, expect, openDemo, trackMany, impressions } from './fixtures.ts';

test('the worker gets webgpu on a software adapter and says so', async ({ page, api }) => {
  await openDemo(page, api.url);
  const report = await page.evaluate(() => window.marquee.backend());
  expect(report.name).toBe('webgpu');
  expect(report.adapterArchitecture).toBe('swiftshader');
  expect(report.softwareAdapter).toBe(true);
  await expect(page.locator('#backend')).toHaveText('webgpu (software adapter)');
});

test('without WebGPU the worker falls back and events still flow @no-webgpu', async ({ page, api }) => {
  await openDemo(page, api.url);
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
