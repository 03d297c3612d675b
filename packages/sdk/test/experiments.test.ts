import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assignVariant, ExperimentSchema, EXPOSURE_EVENT, type EventInput } from '@marquee/core';
import { openDatabase } from '../src/db.ts';
import { DeviceExperiments } from '../src/experiments.ts';

let dbCount = 0;
const freshDb = () => openDatabase(`experiments-test-${++dbCount}`);

const RANKING = ExperimentSchema.parse({
  id: 'ranking',
  traffic: 1,
  variants: [{ id: 'control', weight: 1 }, { id: 'b', weight: 1, params: { rankWeights: { model: 1, popularity: 0, trending: 0 } } }],
});
const ARTWORK = ExperimentSchema.parse({ id: 'art', traffic: 1, variants: [{ id: 'x', weight: 1, params: { artworkPolicy: 'thompson' } }] });

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
    serve({ version: 3, experiments: [RANKING, ARTWORK] });
    const db = await freshDb();
    const { x, tracked } = device(db, 'member-7', 'session-1');
    const expected = assignVariant(RANKING, 'member-7', Date.now())!;
    expect((await x.variant('ranking'))!.variant).toBe(expected.variant);
    expect((await x.variant('art'))!.params.artworkPolicy).toBe('thompson');
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
