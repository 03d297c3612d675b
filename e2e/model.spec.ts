/**
 * The foundation model in the browser: the artifact trained in Node, published by the server, downloaded and
 * verified by the worker, gives the scores Node gives, on every backend this browser has (artifact formats 1 and 3);
 * upgrades switch cleanly;
 * a corrupted file is refused and the model in use keeps serving.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadModelDir } from '@marquee/model/node';
import type { Page } from '@playwright/test';
import { ARTIFACTS } from './global-setup.ts';
import { test, expect, openDemo } from './fixtures.ts';

const HISTORY = [
  { titleId: 't010', event: 'play' as const, fraction: 0.5 },
  { titleId: 't042', event: 'complete' as const, fraction: 1 },
  { titleId: 't007', event: 'play' as const, fraction: 0.1 },
  { titleId: 't123', event: 'complete' as const, fraction: 1 },
];
const TITLES = Array.from({ length: 300 }, (_, i) => `t${String(i + 1).padStart(3, '0')}`);

async function nodeScores(dir: string): Promise<number[]> {
  await tf.setBackend('cpu');
  const model = await loadModelDir(dir);
  const scores = await model.score(model.toHistory(HISTORY));
  const out = TITLES.map((id) => scores[model.itemIndex(id) ?? -1] ?? NaN);
  model.dispose();
  return out;
}

async function waitForModel(page: Page, version: string) {
  await expect
    .poll(async () => (await page.evaluate(() => window.marquee.modelStatus())).version, { timeout: 60_000 })
    .toBe(version);
}

/** Largest difference relative to the largest reference score magnitude (cosines in [-1, 1], plus temperature x bias with a bias column). */
function relativeError(got: (number | null)[], want: number[]): number {
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...want.map((w, i) => Math.abs((got[i] ?? Infinity) - w))) / scale;
}

for (const backend of ['webgpu', 'webgl', 'wasm', 'cpu'] as const) {
  test(`the browser reproduces the Node scores on ${backend}`, async ({ page, api }) => {
    const version = await api.publishModel(`${ARTIFACTS}a`);
    const want = await nodeScores(`${ARTIFACTS}a`);
    await openDemo(page, api.url, { backends: backend });
    const got = await page.evaluate(() => window.marquee.backend());
    test.skip(got.name !== backend, `${backend} is not available in this browser (${got.tried.map((t) => `${t.name}: ${t.reason ?? 'ok'}`).join('; ')})`);
    await waitForModel(page, version);
    if (backend === 'webgpu') {
      // SwiftShader is no GPU: no pipeline warm-up ran while the model downloaded (there it made the first page 3x later).
      expect(got.adapterKind).toBe('software');
      await expect.poll(() => page.evaluate(() => window.demo.page?.modelVersion ?? null)).toBe(version);
      expect(await page.evaluate(() => window.demo.page!.timings)).not.toHaveProperty('warmUpWaitMs');
    }
    const scores = await page.evaluate(([t, h]) => window.marquee.scoreTitles(t, h), [TITLES, HISTORY] as const);
    expect(scores.every((s) => s !== null)).toBe(true);
    const err = relativeError(scores, want);
    console.log(`parity ${backend}: max relative error ${err.toExponential(2)} over ${TITLES.length} titles`);
    expect(err).toBeLessThan(1e-3);
    // Format 4 on the same backend: two members side by side, each with the recency bias in every attention step
    // and the served bias column.
    const b = await api.publishModel(`${ARTIFACTS}b`);
    expect(await page.evaluate(() => window.marquee.updateModel())).toMatchObject({ state: 'ready', version: b });
    const scoresB = await page.evaluate(([t, h]) => window.marquee.scoreTitles(t, h), [TITLES, HISTORY] as const);
    const errB = relativeError(scoresB, await nodeScores(`${ARTIFACTS}b`));
    console.log(`parity ${backend}, format 4 (ensemble): max relative error ${errB.toExponential(2)}`);
    expect(errB).toBeLessThan(1e-3);
  });
}

test('a model upgrade mid-session switches cleanly, and a reload serves it from the cache', async ({ page, api }) => {
  const a = await api.publishModel(`${ARTIFACTS}a`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await waitForModel(page, a);
  const progress: { loaded: number; total: number }[] = [];
  await page.exposeFunction('recordProgress', (p: { loaded: number; total: number }) => progress.push(p));
  await page.evaluate(() => window.marquee.onModelStatus((s) => s.downloading && (window as never as { recordProgress: (p: unknown) => void }).recordProgress(s.downloading)));
  const b = await api.publishModel(`${ARTIFACTS}b`);
  const status = await page.evaluate(() => window.marquee.updateModel());
  expect(status).toMatchObject({ state: 'ready', version: b, from: 'network' });
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.at(-1)!.loaded).toBe(progress.at(-1)!.total);
  const scores = await page.evaluate(([t, h]) => window.marquee.scoreTitles(t, h), [TITLES, HISTORY] as const);
  expect(relativeError(scores, await nodeScores(`${ARTIFACTS}b`))).toBeLessThan(1e-3);

  // Offline start: the server is gone, the cached model serves.
  await api.server.stop();
  await page.reload();
  await page.waitForFunction(() => typeof window.marquee !== 'undefined');
  await waitForModel(page, b);
  expect((await page.evaluate(() => window.marquee.modelStatus())).from).toBe('cache');
  await api.start(api.server.port);
});

test('a corrupted model file is refused by sha256 and the previous model keeps serving', async ({ page, api }) => {
  const a = await api.publishModel(`${ARTIFACTS}a`);
  await openDemo(page, api.url, { backends: 'wasm' });
  await waitForModel(page, a);
  const b = await api.publishModel(`${ARTIFACTS}b`);
  // The server's copy goes bad after publishing (a disk fault, a bad proxy): same size, different bytes.
  const file = join(api.registry.dir, b, 'weights.bin');
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(file);
  bytes[100] = (bytes[100] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
  const status = await page.evaluate(() => window.marquee.updateModel());
  expect(status.version).toBe(a);
  expect(status.state).toBe('ready');
  expect(status.error).toMatch(/sha256/);
  const scores = await page.evaluate(([t, h]) => window.marquee.scoreTitles(t, h), [TITLES, HISTORY] as const);
  expect(relativeError(scores, await nodeScores(`${ARTIFACTS}a`))).toBeLessThan(1e-3);
});
