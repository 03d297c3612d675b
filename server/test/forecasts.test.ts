import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForecastResponseSchema } from '@marquee/core';
import { AnalyticsService } from '../src/analytics/service.ts';
import { createApp } from '../src/app.ts';
import { ForecastService } from '../src/forecasts/service.ts';
import { launchWorldCatalog, seedLaunchWorld } from '../src/forecasts/seed.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';

/** A small launch world: 120 titles launching over 420 days, a few plays a day each. */
const WORLD = { world: { titles: 120, members: 200 }, launches: { spanDays: 420, hoursScale: 30, appealSample: 100 } };
let store: DuckDbEventStore;
let app: ReturnType<typeof createApp>;
const auth = { authorization: 'Bearer admin', 'content-type': 'application/json' };
const post = (body: unknown) => app.request('/v1/forecasts', { method: 'POST', headers: auth, body: JSON.stringify(body) });

beforeAll(async () => {
  store = await DuckDbEventStore.open(':memory:');
  await seedLaunchWorld(store, WORLD);
  const catalog = launchWorldCatalog(WORLD);
  const analytics = new AnalyticsService({ store, catalog });
  app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], analytics, forecasts: new ForecastService(analytics, catalog) });
}, 120_000);
afterAll(async () => store.close());

describe('POST /v1/forecasts', () => {
  it('learns from the store and answers hours with intervals, cost per hour and comparables', async () => {
    const res = await post({ genres: ['drama'], year: 2024, runtimeMin: 120, cost: 10_000, comparables: ['t001'] });
    expect(res.status).toBe(200);
    const f = ForecastResponseSchema.parse(await res.json());
    expect(f.history.titles).toBeGreaterThan(60);
    expect(f.first28Days.p10).toBeLessThan(f.first28Days.p50);
    expect(f.first28Days.p50).toBeLessThan(f.first28Days.p90);
    // Too few titles have a year of history in this world: the cost per hour is on the 28 days, and says so.
    expect(f.firstYear).toBeNull();
    expect(f.costPerHour).toMatchObject({ basis: 'first28Days' });
    expect(f.costPerHour.p90).toBeCloseTo(10_000 / f.first28Days.p10, 6);
    expect(f.comparables.find((c) => c.titleId === 't001')).toMatchObject({ named: true });
  });

  it('refuses bad requests and needs the admin token', async () => {
    expect((await app.request('/v1/forecasts', { method: 'POST', body: '{}' })).status).toBe(401);
    const bad = await post({ genres: [], year: 2024, runtimeMin: -1, cost: 0 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/genres.*runtimeMin.*cost/s);
    const malformed = await app.request('/v1/forecasts', { method: 'POST', headers: auth, body: '{' });
    expect(malformed.status).toBe(400);
  });

  it('answers 422 with the reason on an empty store', async () => {
    const empty = await DuckDbEventStore.open(':memory:');
    const analytics = new AnalyticsService({ store: empty, catalog: [] });
    const a = createApp({ store: empty, writeKeys: [], adminToken: 'admin', corsOrigins: [], analytics, forecasts: new ForecastService(analytics, []) });
    const res = await a.request('/v1/forecasts', { method: 'POST', headers: auth, body: JSON.stringify({ genres: ['drama'], year: 2020, runtimeMin: 90, cost: 1 }) });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: 'not enough history', detail: expect.stringMatching(/no plays/) });
    await empty.close();
  });
});
