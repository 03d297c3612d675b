/**
 * Test fixtures: a real API process per test (own port, own DuckDB directory), a proxy that can make that API
 * fail on demand, and helpers to read the store's count and the page's SDK.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import type { CatalogTitle } from '@marquee/core';
import { ModelRegistry } from '@marquee/server';
import { type ServerProcess, startServerProcess } from '@marquee/server/testing';

export const DEMO_ORIGIN = `http://127.0.0.1:${process.env.DEMO_PREVIEW_PORT ?? 4173}`;
export const ADMIN_TOKEN = 'e2e-admin';

export class Api {
  server!: ServerProcess;
  constructor(private readonly dataDir: string) {}

  async start(port = 0): Promise<void> {
    this.server = await startServerProcess({
      PORT: String(port),
      DATA_DIR: this.dataDir,
      ADMIN_TOKEN,
      WRITE_KEYS: 'dev-write-key',
      CORS_ORIGINS: DEMO_ORIGIN,
    });
  }

  /** Publishes a model artifact into this server's data directory, as `npm run publish-model` does. */
  async publishModel(artifactDir: string): Promise<string> {
    return (await this.registry.publish(artifactDir)).version;
  }

  get registry(): ModelRegistry {
    return new ModelRegistry(join(this.dataDir, 'models'));
  }

  get url(): string {
    return this.server.url;
  }

  /** Crash and come back on the same port and data directory. */
  async crashAndRestart(downMs: number): Promise<void> {
    const port = this.server.port;
    await this.server.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start(port);
  }

  /** The ids the server stored, oldest first. */
  async storedIds(): Promise<string[]> {
    const res = await fetch(`${this.url}/v1/admin/events/ids?limit=1000000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return ((await res.json()) as { ids: string[] }).ids;
  }

  /**
   * Exactly once, by identity rather than by count (one lost event and one extra would cancel out in a count): the
   * server stored each of these ids once and nothing else.
   */
  async expectStoredExactly(sent: readonly string[]): Promise<void> {
    const stored = await this.storedIds();
    expect(new Set(sent).size, 'the page got one id per event').toBe(sent.length);
    expect(new Set(stored).size, 'no id stored twice').toBe(stored.length);
    expect([...stored].sort()).toEqual([...sent].sort());
  }

  async count(): Promise<number> {
    const res = await fetch(`${this.url}/v1/admin/events/count`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return ((await res.json()) as { count: number }).count;
  }

  /**
   * Waits for the store to reach `n` (a number, or computed again at each poll, since pages track impressions of
   * what they show as they render), then checks it stays there: nothing late, nothing twice.
   */
  async expectCount(n: number | (() => Promise<number>), settleMs = 1500): Promise<void> {
    const want = typeof n === 'number' ? async () => n : n;
    await expect.poll(async () => (await this.count()) - (await want()), { timeout: 30_000, intervals: [100, 250, 500] }).toBe(0);
    await new Promise((r) => setTimeout(r, settleMs));
    expect(await this.count()).toBe(await want());
  }
}

/** Sits between the page and the API; `failWith(500)` answers every request itself until `heal()`. */
export class ChaosProxy {
  private failure: { status: number; retryAfter?: string } | null = null;
  failures = 0;
  private server!: Server;
  url = '';

  constructor(private readonly target: () => string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const cors = { 'access-control-allow-origin': DEMO_ORIGIN, 'access-control-expose-headers': 'Retry-After' };
      if (this.failure) {
        this.failures++;
        req.resume();
        res.writeHead(this.failure.status, { 'content-type': 'application/json', ...cors, ...(this.failure.retryAfter ? { 'retry-after': this.failure.retryAfter } : {}) });
        res.end(JSON.stringify({ error: 'injected failure' }));
        return;
      }
      const target = new URL(req.url ?? '/', this.target());
      const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        res.writeHead(502, { 'content-type': 'application/json', ...cors });
        res.end(JSON.stringify({ error: 'upstream unreachable' }));
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  failWith(status: number, retryAfter?: string): void {
    this.failure = { status, retryAfter };
  }

  heal(): void {
    this.failure = null;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export async function openDemo(page: Page, apiUrl: string, extra: Record<string, string> = {}): Promise<void> {
  const q = new URLSearchParams({ api: apiUrl, maxAgeMs: '300', retryMaxMs: '1500', ...extra });
  await page.goto(`/?${q}`);
  await page.waitForFunction(() => window.demo?.pages > 0);
}

/** The ids of every event the demo page has tracked so far, in order. */
export const trackedIds = (page: Page) => page.evaluate(() => window.demo.trackedIds);

/** Impressions the demo page has tracked so far (one per title and row it rendered). */
export const impressions = (page: Page) => page.evaluate(() => window.demo.impressions);

/** Tracks `n` progress events from the page through the SDK; resolves when all are stored on the device. */
export async function trackMany(page: Page, n: number, titleId = 'title-0001'): Promise<string[]> {
  return page.evaluate(
    async ({ n, titleId }) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = await window.marquee.progress({ titleId, position: i * 10, duration: 6000 });
        if (!id) throw new Error('progress was not queued: the viewer has opted out');
        ids.push(id);
      }
      return ids;
    },
    { n, titleId },
  );
}

export const stats = (page: Page) => page.evaluate(() => window.marquee.stats());

export const test = base.extend<{ catalog: { titles: CatalogTitle[] } | null; api: Api; chaos: ChaosProxy }>({
  /**
   * The titles the test's API serves (`test.use({ catalog: { titles } })`: an object, since Playwright reads an array
   * there as a fixture definition), written to its data directory as a deployment's catalog.json; null: the seeded
   * synthetic world's.
   */
  catalog: [null, { option: true }],
  api: async ({ catalog }, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'marquee-e2e-'));
    if (catalog) await writeFile(join(dir, 'catalog.json'), JSON.stringify(catalog));
    const api = new Api(dir);
    await api.start();
    await use(api);
    await api.server.stop();
    await rm(dir, { recursive: true, force: true });
  },
  chaos: async ({ api }, use) => {
    const proxy = new ChaosProxy(() => api.url);
    await proxy.start();
    await use(proxy);
    await proxy.stop();
  },
});

export { expect };
