import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assignVariant, ExperimentSchema, EXPOSURE_EVENT, type EventInput } from '@marquee/core';
import { openDatabase } from '../src/db.ts';
import { DeviceExperiments } from '../src/experiments.ts';
import { ModelManager } from '../src/model-manager.ts';
import { ArtworkChooser } from '../src/artwork.ts';
import type { CatalogTitle } from '@marquee/core';
import type { ModelStatus } from '../src/protocol.ts';

let dbCount = 0;
const freshDb = () => openDatabase(`experiments-test-${++dbCount}`);

const RANKING = ExperimentSchema.parse({
  id: 'ranking',
  traffic: 1,
  variants: [{ id: 'control', weight: 1 }, { id: 'b', weight: 1, params: { rankWeights: { model: 1, popularity: 0, trending: 0 } } }],
});
/** A parameter of the host page's own: the worker carries it for variant() and applies nothing. */
const HOST = ExperimentSchema.parse({ id: 'hero', traffic: 1, variants: [{ id: 'x', weight: 1, params: { heroColor: 'red' } }] });

function serve(doc: unknown) {
  const fetch = vi.fn(async () => new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } }));
  vi.stubGlobal('fetch', fetch);
  return fetch;
}
const offline = () => vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
afterEach(() => vi.unstubAllGlobals());

function device(db: Awaited<ReturnType<typeof freshDb>>, unit: string, session: string) {
  const tracked: EventInput[] = [];
  const x = new DeviceExperiments(db, 'http://api', () => unit, session, async (e) => void tracked.push(e));
  return { x, tracked };
}

describe('DeviceExperiments', () => {
  it('assigns like the server, applies only page parameters, and logs an exposure once per session', async () => {
    serve({ version: 3, experiments: [RANKING, HOST] });
    const db = await freshDb();
    const { x, tracked } = device(db, 'member-7', 'session-1');
    const expected = assignVariant(RANKING, 'member-7', Date.now())!;
    expect((await x.variant('ranking'))!.variant).toBe(expected.variant);
    expect((await x.variant('hero'))!.params.heroColor).toBe('red');
    const page = await x.pageParams();
    expect(page.assignments.map((a) => a.experiment)).toEqual(['ranking']);
    expect(page.params).toEqual(expected.params);

    await x.expose(page.assignments);
    await x.expose(page.assignments);
    // Another worker of the same tab session (a reload) remembers it too.
    await device(db, 'member-7', 'session-1').x.expose(page.assignments);
    expect(tracked).toEqual([{ type: 'custom', name: EXPOSURE_EVENT, props: { bucket: expected.bucket }, experiments: [{ experiment: 'ranking', variant: expected.variant }] }]);
    const next = device(db, 'member-7', 'session-2');
    await next.x.expose(page.assignments);
    expect(next.tracked).toHaveLength(1);
  });

  it('assigns offline from the cached definitions, and not at all without them', async () => {
    serve({ version: 1, experiments: [RANKING] });
    const db = await freshDb();
    const online = await device(db, 'member-9', 's').x.variant('ranking');
    expect(online).not.toBeNull();
    offline();
    expect(await device(db, 'member-9', 's').x.variant('ranking')).toEqual(online);
    expect(await device(await freshDb(), 'member-9', 's').x.variant('ranking')).toBeNull();
  });

  it('ignores a malformed definitions answer and keeps the cached ones', async () => {
    serve({ version: 1, experiments: [RANKING] });
    const db = await freshDb();
    await device(db, 'u', 's').x.load();
    serve({ version: 'two', experiments: 'nope' });
    expect(await device(db, 'u', 's').x.variant('ranking')).not.toBeNull();
  });
});

describe('variant parameters the worker applies', () => {
  const INTERLEAVE = ExperimentSchema.parse({
    id: 'il',
    traffic: 1,
    variants: [{ id: 'mix', weight: 1, params: { interleaveWith: { model: 0, popularity: 1, trending: 0 } } }],
  });

  it('an interleaving variant gives the page a team-draft seed of its own per unit and session', async () => {
    serve({ version: 1, experiments: [RANKING, INTERLEAVE] });
    const db = await freshDb();
    const a = await device(db, 'member-1', 's1').x.pageParams();
    expect(a.interleaving).toEqual({ experiment: 'il', variant: 'mix', seed: 'member-1.s1.il' });
    expect(a.params.interleaveWith).toEqual({ model: 0, popularity: 1, trending: 0 });
    expect((await device(db, 'member-1', 's2').x.pageParams()).interleaving!.seed).toBe('member-1.s2.il');
    serve({ version: 2, experiments: [RANKING] });
    expect((await device(await freshDb(), 'member-1', 's1').x.pageParams()).interleaving).toBeUndefined();
  });

  it('a model-version variant loads that version; one the server lacks falls back to the latest, saying so', async () => {
    const statuses: ModelStatus[] = [];
    const asked: string[] = [];
    const config = {
      numItems: 1, maxLen: 1, dim: 2, layers: 1, heads: 1, ffnMult: 1, dropout: 0, temperature: 1,
      numEventTypes: 4, numFractionBuckets: 6, numGenres: 0, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5,
    };
    const manifest = (version: string) => ({
      formatVersion: 1, version, createdAt: '2026-01-01T00:00:00.000Z', config, items: { ids: ['t1'], genreNames: [] }, weights: [],
      files: [{ path: 'weights.bin', bytes: 4, sha256: '0'.repeat(64) }],
    });
    vi.stubGlobal('fetch', vi.fn(async (url: string) => {
      asked.push(String(url));
      if (String(url).endsWith('/v1/models/v2/manifest.json')) return Response.json(manifest('v2'));
      if (String(url).endsWith('/v1/models/latest')) return Response.json(manifest('v1'));
      if (String(url).includes('/manifest.json')) return Response.json({ error: 'unknown model version' }, { status: 404 });
      return new Response(new Uint8Array(4));
    }));
    vi.stubGlobal('caches', { open: async () => ({ match: async () => undefined, put: async () => {} }) });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const m = new ModelManager('http://api', await freshDb(), (s) => statuses.push(s));

    expect(m.pin({ experiment: 'models', variant: 'next', version: 'v2' })).toBe(true);
    expect(m.pin({ experiment: 'models', variant: 'next', version: 'v2' })).toBe(false);
    await m.update();
    // The variant's version was fetched, never the latest (its fake bytes are then refused by the sha256 check).
    expect(asked).toEqual(['http://api/v1/models/v2/manifest.json', 'http://api/v1/models/v2/weights.bin']);
    expect(m.status.error).toMatch(/model v2 refused/);
    expect(m.status.pinned).toMatchObject({ version: 'v2', served: false });
    expect(m.status.pinned!.fallback).toBeUndefined();

    asked.length = 0;
    m.pin({ experiment: 'models', variant: 'typo', version: 'v9' });
    await m.update();
    expect(asked).toEqual(['http://api/v1/models/v9/manifest.json', 'http://api/v1/models/latest', 'http://api/v1/models/v1/weights.bin']);
    expect(m.status.pinned).toMatchObject({ experiment: 'models', variant: 'typo', version: 'v9', served: false });
    expect(m.status.pinned!.fallback).toMatch(/v9 .* not on the server: serving the latest/);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/model v9 of experiment models \(typo\) is not on the server/));

    asked.length = 0;
    m.pin(null);
    await m.update();
    expect(asked[0]).toBe('http://api/v1/models/latest');
    expect(m.status.pinned).toBeUndefined();
    warn.mockRestore();
  });

  it('an artwork-policy variant picks the artwork chooser\'s policy; an unknown name keeps the configured one', async () => {
    offline(); // no priors: every artwork at the fallback rate
    const catalog: CatalogTitle[] = Array.from({ length: 5 }, (_, i) => ({
      id: `t${i}`, name: `T${i}`, genres: ['drama'], year: 2020, runtimeMin: 90,
      artworks: [0, 1, 2, 3].map((k) => ({ id: `t${i}-a${k}`, themes: [['dark'], ['bright'], ['romance'], ['villain']][k]! })),
    }));
    const db = await freshDb();
    const c = new ArtworkChooser(() => db, 'http://api', { stickinessMs: 0 });
    await c.prepare(catalog);
    expect(c.present(catalog[0]!).policy).toBe('thompson');
    c.usePolicy('uniform');
    await c.prepare(catalog);
    const shown = catalog.map((t) => c.present(t));
    expect(shown.map((s) => s.policy)).toEqual(Array(5).fill('uniform'));
    expect(shown.map((s) => s.propensity)).toEqual(Array(5).fill(0.25));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    c.usePolicy('no-such-policy');
    await c.prepare(catalog);
    expect(c.present(catalog[0]!).policy).toBe('thompson');
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/unknown artwork policy no-such-policy/));
    warn.mockRestore();
  });
});
