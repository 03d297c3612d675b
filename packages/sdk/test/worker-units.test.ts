/**
 * The worker's parts without a browser: the API client and the typed `meta` store (contracts at the boundary), the
 * history store, the model manager (download, verification, swap, cache) and the homepage build. fetch and the
 * Cache API are served from memory; IndexedDB is fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { choosePlan, SCHEMA_VERSION, type CatalogTitle, type MarqueeEvent } from '@marquee/core';
import { randomModelArtifact } from '@marquee/model/testing';
import type { LoadedModel } from '@marquee/model';
import { initNodeBackend } from '@marquee/model/node';
import { ApiClient } from '../src/api-client.ts';
import { getMeta, openDatabase, putMeta } from '../src/db.ts';
import { HistoryStore } from '../src/history-store.ts';
import { Homepage } from '../src/homepage.ts';
import { ModelManager } from '../src/model-manager.ts';
import type { ModelStatus } from '../src/protocol.ts';

let dbCount = 0;
const freshDb = () => openDatabase(`worker-units-${++dbCount}`);

const CATALOG: CatalogTitle[] = Array.from({ length: 30 }, (_, i) => ({
  id: `t${String(i + 1).padStart(2, '0')}`,
  name: `Title ${i + 1}`,
  genres: [i % 2 ? 'drama' : 'comedy'],
  year: 1990 + i,
  runtimeMin: 90,
  artworks: [{ id: `a${i + 1}`, themes: ['calm'] }],
}));

type Route = (req: Request) => Response | Promise<Response>;
/** Serves `routes` by path; anything else is a network failure, like an unreachable host. */
function serve(routes: Record<string, Route>) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname;
    calls.push(`${req.method} ${path}`);
    const route = routes[path];
    if (!route) throw new TypeError('Failed to fetch');
    return route(req);
  }));
  return calls;
}
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The Cache API in memory (the model manager keeps verified model files there). */
function memoryCaches() {
  const stores = new Map<string, Map<string, ArrayBuffer>>();
  vi.stubGlobal('caches', {
    async open(name: string) {
      const store = stores.get(name) ?? new Map<string, ArrayBuffer>();
      stores.set(name, store);
      return {
        async match(url: string) {
          const b = store.get(url);
          return b ? new Response(b.slice(0)) : undefined;
        },
        async put(url: string, res: Response) {
          store.set(url, await res.arrayBuffer());
        },
      };
    },
  });
  return stores;
}

afterEach(() => vi.unstubAllGlobals());
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ApiClient: answers are parsed with their contracts', () => {
  it('returns a well-formed candidates answer', async () => {
    serve({ '/v1/candidates': () => json({ candidates: [{ titleId: 't01', sources: [{ source: 'popular', score: 3 }] }], modelVersion: null, tookMs: 0.4 }) });
    const body = await new ApiClient('http://api', 'wk').candidates({ limit: 10 });
    expect(body.candidates).toEqual([{ titleId: 't01', sources: [{ source: 'popular', score: 3 }] }]);
  });

  it('names the route and the problem of a malformed candidates answer', async () => {
    serve({ '/v1/candidates': () => json({ candidates: [{ titleId: 't01', sources: [{ source: 'hunch', score: 'high' }] }], modelVersion: null, tookMs: 1 }) });
    await expect(new ApiClient('http://api').candidates({})).rejects.toThrow(
      /^POST \/v1\/candidates answered: candidates\.0\.sources\.0\.source: .*; candidates\.0\.sources\.0\.score: /,
    );
  });

  it('names the route and the problem of a malformed catalog, and reports HTTP errors', async () => {
    serve({ '/v1/catalog': () => json({ titles: [{ id: 't01', genres: 'drama' }] }) });
    await expect(new ApiClient('http://api').catalog()).rejects.toThrow(/^GET \/v1\/catalog answered: titles\.0\.name: .*titles\.0\.genres: /);
    serve({ '/v1/catalog': () => json({ error: 'down' }, 503) });
    await expect(new ApiClient('http://api').catalog()).rejects.toThrow('GET /v1/catalog: HTTP 503');
  });
});

describe('the meta store', () => {
  it('reads a value of its key shape, and a damaged or foreign one as absent, saying why', async () => {
    const db = await freshDb();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await putMeta(db, 'counters', { acknowledged: 2, rejected: 0, dropped: 1 });
    expect(await getMeta(db, 'counters')).toEqual({ acknowledged: 2, rejected: 0, dropped: 1 });
    await db.put('meta', { candidates: 'not a list', fetchedAt: 1, historyLength: 0 }, 'candidates');
    expect(await getMeta(db, 'candidates')).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/meta "candidates" record .*candidates: /);
    expect(await getMeta(db, 'catalog')).toBeUndefined(); // absent: nothing to say
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});

const event = (type: MarqueeEvent['type'], titleId: string, ts: number, extra: object = {}): MarqueeEvent =>
  ({ id: crypto.randomUUID(), schemaVersion: SCHEMA_VERSION, ts, sessionId: 's', anonymousId: 'anon', type, titleId, ...extra }) as MarqueeEvent;

describe('HistoryStore', () => {
  it('keeps engagement events only, in order, across a reopen', async () => {
    const db = await freshDb();
    const history = new HistoryStore(db);
    expect(await history.record(event('impression', 't01', 1, { row: 'top', position: 0 }))).toBe(false);
    expect(await history.record(event('play_start', 't01', 2))).toBe(true);
    expect(await history.record(event('complete', 't01', 3, { position: 100, duration: 100 }))).toBe(true);
    const again = await new HistoryStore(db).all();
    expect(again.map((r) => [r.titleId, r.type, r.ts, r.position])).toEqual([['t01', 'play_start', 2, undefined], ['t01', 'complete', 3, 100]]);
  });

  it('drops damaged records with a logged reason and deletes them from the store, keeping the rest in order', async () => {
    const db = await freshDb();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await db.add('history', { titleId: 't01', type: 'play_start', ts: 1 });
    await db.add('history', { titleId: 't02', type: 'watched', ts: 2 }); // a type this SDK does not know
    await db.add('history', { titleId: 't03', ts: 'yesterday' });
    await db.add('history', { titleId: 't04', type: 'complete', ts: 4 });
    const history = new HistoryStore(db);
    expect((await history.all()).map((r) => r.titleId)).toEqual(['t01', 't04']);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1]?.[0])).toMatch(/history record .*ts: /);
    expect(await db.count('history')).toBe(2);
    expect(await history.record(event('play_start', 't05', 5))).toBe(true);
    expect((await new HistoryStore(db).all()).map((r) => r.titleId)).toEqual(['t01', 't04', 't05']);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});

/** Publishes artifacts at `/v1/models/...` like the server's model routes. */
function modelServer() {
  const versions = new Map<string, { manifest: unknown; files: Map<string, Uint8Array> }>();
  let latest: string | null = null;
  let latestAnswer: unknown = null;
  const route: Route = (req) => {
    const path = new URL(req.url).pathname;
    if (path === '/v1/models/latest') return latestAnswer ? json(latestAnswer) : json({ error: 'no model' }, 404);
    const [, , , version, file] = path.split('/').map(decodeURIComponent);
    const bytes = versions.get(version!)?.files.get(file!);
    return bytes ? new Response(bytes.slice()) : json({ error: 'not found' }, 404);
  };
  return {
    route,
    publish(a: { manifest: { version: string }; files: Map<string, Uint8Array> }) {
      versions.set(a.manifest.version, a);
      latest = a.manifest.version;
      latestAnswer = a.manifest;
      return latest;
    },
    /** `/v1/models/latest` answers this instead (a broken or hostile server). */
    answer(body: unknown) {
      latestAnswer = body;
    },
  };
}

function manager(db: Awaited<ReturnType<typeof freshDb>>) {
  const statuses: ModelStatus[] = [];
  const retired: LoadedModel[] = [];
  const m = new ModelManager('http://api', db, (s) => statuses.push(s), (old) => {
    retired.push(old);
    old.dispose();
  });
  return { m, statuses, retired };
}

describe('ModelManager', () => {
  it('downloads and verifies a model, swaps to a newer one, keeps serving through a bad one, and starts from the cache', async () => {
    memoryCaches();
    const server = modelServer();
    vi.stubGlobal('fetch', vi.fn(async (input: string | URL | Request) => server.route(new Request(input))));
    const db = await freshDb();
    const { m, retired } = manager(db);

    await m.update();
    expect(m.current).toBeNull(); // nothing published: no error, no model
    expect(m.status.state).toBe('none');

    const v1 = server.publish(await randomModelArtifact(CATALOG, { dim: 8, maxLen: 10, seed: 1 }));
    await m.update();
    expect(m.status).toMatchObject({ state: 'ready', version: v1, from: 'network' });
    const first = m.current!;

    const v2 = server.publish(await randomModelArtifact(CATALOG, { dim: 8, maxLen: 10, seed: 2 }));
    expect(v2).not.toBe(v1);
    await m.update();
    expect(m.status).toMatchObject({ state: 'ready', version: v2 });
    expect(retired).toEqual([first]); // the replaced model is handed back for disposal

    // An answer that is not a manifest: a clear error, the model in use keeps serving.
    server.answer({ version: 'v3', files: [{ path: '../weights.bin', bytes: -1, sha256: 'x' }] });
    await m.update();
    expect(m.status.version).toBe(v2);
    expect(m.status.error).toMatch(/^GET \/v1\/models\/latest answered: .*files\.0\.path: must be a plain file name/);

    // A manifest whose file does not match its sha256: refused by the loader, v2 still serves.
    const v3 = await randomModelArtifact(CATALOG, { dim: 8, maxLen: 10, seed: 3 });
    const tampered = new Map([...v3.files].map(([p, b]) => [p, b.map((x, i) => (i === 0 ? x ^ 1 : x))]));
    server.publish({ manifest: v3.manifest, files: tampered });
    await m.update();
    expect(m.current!.manifest.version).toBe(v2);
    expect(m.status.error).toMatch(/refused: .*sha256 mismatch/);

    // A new worker on this device starts from what was verified last, with no network.
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const later = manager(db);
    await later.m.loadCached();
    expect(later.m.status).toMatchObject({ state: 'ready', version: v2, from: 'cache' });
    later.m.current!.dispose();
    m.current!.dispose();
  });
});

describe('Homepage', () => {
  it('builds rows from the server candidates, and without a model ranks by popularity', async () => {
    memoryCaches();
    const popular = CATALOG.slice(0, 20).map((t, i) => ({ titleId: t.id, sources: [{ source: 'popular', score: 100 - i }] }));
    const calls = serve({
      '/v1/catalog': () => json({ titles: CATALOG }),
      '/v1/candidates': () => json({ candidates: popular, modelVersion: null, tookMs: 1 }),
    });
    const db = await freshDb();
    const page = new Homepage(db, 'http://api', manager(db).m, () => 'cpu', 'wk');
    const p = await page.build();
    expect(calls).toEqual(['GET /v1/catalog', 'POST /v1/candidates']);
    expect(p.candidates).toMatchObject({ from: 'server', count: 20 });
    expect(p.rows[0]!.kind).toBe('top');
    expect(p.rows[0]!.items.map((i) => i.titleId)).toEqual(CATALOG.slice(0, 10).map((t) => t.id));
  });

  it('a malformed candidates answer is an error on the page, which is built from the cached catalog', async () => {
    memoryCaches();
    serve({
      '/v1/catalog': () => json({ titles: CATALOG }),
      '/v1/candidates': () => json({ candidates: [{ titleId: 't01' }], modelVersion: null, tookMs: 1 }),
    });
    const db = await freshDb();
    const page = new Homepage(db, 'http://api', manager(db).m, () => 'cpu');
    const p = await page.build();
    expect(p.candidates.from).toBe('catalog');
    expect(p.candidates.error).toMatch(/^POST \/v1\/candidates answered: candidates\.0\.sources: /);
    expect(p.rows.flatMap((r) => r.items).length).toBeGreaterThan(0);
  });

  it('leaves seen titles out of every row but Continue Watching, and works offline from its caches', async () => {
    memoryCaches();
    const candidates = CATALOG.map((t, i) => ({ titleId: t.id, sources: [{ source: 'popular', score: 100 - i }] }));
    serve({
      '/v1/catalog': () => json({ titles: CATALOG }),
      '/v1/candidates': () => json({ candidates, modelVersion: null, tookMs: 1 }),
    });
    const db = await freshDb();
    const page = new Homepage(db, 'http://api', manager(db).m, () => 'cpu');
    await page.record(event('play_start', 't01', 1));
    await page.record(event('complete', 't01', 2, { position: 100, duration: 100 }));
    await page.record(event('play_start', 't02', 3));
    await page.record(event('pause', 't02', 4, { position: 40, duration: 100 }));
    await page.record(event('play_start', 't03', 5)); // touched, barely started: seen, not in progress
    const online = await page.build();
    const rowsOf = (p: typeof online) => Object.fromEntries(p.rows.map((r) => [r.kind, r.items.map((i) => i.titleId)]));
    expect(rowsOf(online).continue).toEqual(['t02']);
    const recommended = online.rows.filter((r) => r.kind !== 'continue').flatMap((r) => r.items.map((i) => i.titleId));
    expect(recommended).not.toContain('t01');
    expect(recommended).not.toContain('t02');
    expect(recommended).not.toContain('t03');
    expect(recommended[0]).toBe('t04');

    // Offline, a new worker on the same profile: catalog and candidates from IndexedDB, the same rows.
    serve({});
    const offline = await new Homepage(db, 'http://api', manager(db).m, () => 'cpu').build();
    expect(offline.candidates.from).toBe('cache');
    expect(rowsOf(offline)).toEqual(rowsOf(online));
  });
});

describe('Homepage under a mixed backend plan', () => {
  it('scores on the plan\'s second backend and builds the page the one-backend plan builds (scores within 1e-4)', async () => {
    // wasm started beside cpu, as the worker starts a plan's scoring backend; the encoder (and the model) stay on cpu.
    await initNodeBackend('wasm');
    await tf.setBackend('cpu');
    // Measurements injected as the probe would report them where a mixed plan wins (not this machine's).
    const plan = choosePlan({ cpu: { rerankMs: 10, updateMs: 1, scoreMs: 9 }, wasm: { rerankMs: 10, updateMs: 9, scoreMs: 1 } }, 0.1);
    expect(plan).toMatchObject({ update: 'cpu', scoring: 'wasm' });

    memoryCaches();
    const server = modelServer();
    const candidates = CATALOG.map((t, i) => ({ titleId: t.id, sources: [{ source: 'popular', score: 30 - i }] }));
    const db = await freshDb();
    const { m } = manager(db);
    server.publish(await randomModelArtifact(CATALOG, { dim: 8, maxLen: 10, seed: 4 }));
    vi.stubGlobal('fetch', vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      const path = new URL(req.url).pathname;
      if (path.startsWith('/v1/models/')) return server.route(req);
      if (path === '/v1/catalog') return json({ titles: CATALOG });
      if (path === '/v1/candidates') return json({ candidates, modelVersion: null, tookMs: 1 });
      throw new TypeError('Failed to fetch');
    }));
    await m.update();
    expect(m.status.state).toBe('ready');

    const wasm = tf.findBackend('wasm') ?? expect.unreachable('wasm started');
    const single = new Homepage(db, 'http://api', m, () => plan.update, 'wk');
    for (const [k, id] of ['t05', 't09', 't12'].entries()) await single.record(event('play_start', id, k + 1));
    const one = await single.build();
    const onWasmBefore = wasm.numDataIds();
    const mixed = await new Homepage(db, 'http://api', m, () => plan.update, 'wk', () => plan.scoring).build();

    expect(one.encode).toBe('full');
    expect(mixed.encode).toBe('full');
    expect(wasm.numDataIds()).toBe(onWasmBefore + 1); // the catalog matrix, and nothing else, lives on wasm
    expect(tf.getBackend()).toBe('cpu'); // the plan's update backend stays current
    const scores = (p: typeof one) => p.rows.flatMap((r) => r.items.map((i) => [r.kind, i.titleId, i.score] as const));
    const a = scores(one);
    const b = scores(mixed);
    expect(b.map(([kind, id]) => `${kind}:${id}`)).toEqual(a.map(([kind, id]) => `${kind}:${id}`));
    expect(a.length).toBeGreaterThan(10);
    for (const [k, [, , s]] of b.entries()) expect(Math.abs(s - (a[k]?.[2] ?? NaN))).toBeLessThan(1e-4);
    // The model's scores are really in it: the top row is not the popularity order.
    expect(one.rows[0]?.items.map((i) => i.titleId)).not.toEqual(candidates.filter((c) => !['t05', 't09', 't12'].includes(c.titleId)).slice(0, one.rows[0]?.items.length).map((c) => c.titleId));
    m.current?.dispose();
  });
});
