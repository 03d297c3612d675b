/**
 * Analytics against a hand-computed fixture: five sessions of three members over two days. Every expected number
 * below is worked out by hand in the comments, not read back from the SQL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DailyStatsSchema, TitleStatsSchema, type CatalogTitle, type MarqueeEvent } from '@marquee/core';
import { AnalyticsService, FOLLOW_PACE, followDelay } from '../src/analytics/service.ts';
import { createApp } from '../src/app.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { makeEvent } from './helpers.ts';

const D0 = Date.UTC(2026, 0, 1, 12); // 2026-01-01, noon
const D1 = Date.UTC(2026, 0, 2, 12); // 2026-01-02
const RECEIVED = Date.UTC(2026, 0, 3, 10, 0, 30);

const catalog: CatalogTitle[] = [
  { id: 'tA', name: 'Title A', genres: ['drama', 'comedy'], year: 2020, runtimeMin: 60, artworks: [] },
  { id: 'tB', name: 'Title B', genres: ['drama'], year: 2021, runtimeMin: 40, artworks: [] },
];

let clock = 0;
function ev(userId: string, sessionId: string, day: number, over: Record<string, unknown>): MarqueeEvent {
  return makeEvent({ userId, anonymousId: undefined, sessionId, ts: day + clock++ * 1000, ...over } as Partial<MarqueeEvent>);
}
const imp = (u: string, s: string, d: number, titleId: string, row: string, position: number, artworkId: string) =>
  ev(u, s, d, { type: 'impression', titleId, row, position, artwork: { artworkId, propensity: 0.5 }, duration: undefined });
const start = (u: string, s: string, d: number, titleId: string) => ev(u, s, d, { type: 'play_start', titleId, position: undefined, duration: undefined });
const at = (type: 'progress' | 'pause' | 'complete', u: string, s: string, d: number, titleId: string, position: number, duration: number) =>
  ev(u, s, d, { type, titleId, position, duration });

/**
 * Day 0: m1/s1 sees tA (Top 0, a1) and tB (Top 1, b1), plays tA to the end (1800 s, then complete at 3600 s);
 *        m2/s2 sees tA (Top 0, a2), plays it 600 of 3600 s (under a quarter: no quality play);
 *        m3/s3 sees tB (Top 0, b1), plays it 1200 of 2400 s (quality).
 * Day 1: m1/s4 sees tB (Top 1, b1), plays it 600 of 2400 s (exactly a quarter: quality);
 *        m2/s5 sees tA (Genre 0, a1), does not play.
 */
function fixture(): MarqueeEvent[] {
  return [
    imp('m1', 's1', D0, 'tA', 'Top', 0, 'a1'), imp('m1', 's1', D0, 'tB', 'Top', 1, 'b1'), start('m1', 's1', D0, 'tA'),
    at('progress', 'm1', 's1', D0, 'tA', 1800, 3600), at('complete', 'm1', 's1', D0, 'tA', 3600, 3600),
    imp('m2', 's2', D0, 'tA', 'Top', 0, 'a2'), start('m2', 's2', D0, 'tA'), at('pause', 'm2', 's2', D0, 'tA', 600, 3600),
    imp('m3', 's3', D0, 'tB', 'Top', 0, 'b1'), start('m3', 's3', D0, 'tB'), at('pause', 'm3', 's3', D0, 'tB', 1200, 2400),
    imp('m1', 's4', D1, 'tB', 'Top', 1, 'b1'), start('m1', 's4', D1, 'tB'), at('progress', 'm1', 's4', D1, 'tB', 600, 2400),
    imp('m2', 's5', D1, 'tA', 'Genre', 0, 'a1'),
  ];
}

let store: DuckDbEventStore;
const service = (k: number) => new AnalyticsService({ store, catalog, k, freshnessMs: 0, now: () => RECEIVED + 60_000 });
const all = { limit: 20 };

beforeEach(async () => {
  store = await DuckDbEventStore.open(':memory:');
  await store.append(fixture(), RECEIVED);
});
afterEach(async () => store.close());

describe('AnalyticsService on a hand-computed fixture', () => {
  it('gives viewing hours, plays, quality plays, completion and members per title', async () => {
    const r = await service(2).titles(all);
    expect(r).toMatchObject({ from: '2026-01-01', to: '2026-01-02', k: 2, suppressed: 0 });
    // tA: plays s1, s2; watched 3600 + 600 s = 1.1667 h; quality s1 (completed); completion 1/2; members m1, m2.
    // tB: plays s3, s4; watched 1200 + 600 s = 0.5 h; quality both; completion 0; members m3, m1.
    expect(r.rows).toEqual([
      { key: 'tA', name: 'Title A', plays: 2, qualityPlays: 1, hours: expect.closeTo(4200 / 3600, 9), completionRate: 0.5, members: 2 },
      { key: 'tB', name: 'Title B', plays: 2, qualityPlays: 2, hours: expect.closeTo(0.5, 9), completionRate: 0, members: 2 },
    ]);
    expect(TitleStatsSchema.parse(r)).toEqual(r);
  });

  it('gives the same per genre, a play counting for each genre of its title', async () => {
    const r = await service(2).titles(all, 'genre');
    expect(r.rows).toEqual([
      { key: 'drama', name: 'drama', plays: 4, qualityPlays: 3, hours: expect.closeTo(6000 / 3600, 9), completionRate: 0.25, members: 3 },
      { key: 'comedy', name: 'comedy', plays: 2, qualityPlays: 1, hours: expect.closeTo(4200 / 3600, 9), completionRate: 0.5, members: 2 },
    ]);
  });

  it('rebuilds the genre rollups when the catalog files a title under other genres', async () => {
    await service(2).titles(all, 'genre');
    // tA moves from drama and comedy to thriller alone: thriller gets tA's 2 plays (4200 s), drama keeps tB's 2 (1800 s).
    const moved = catalog.map((t) => (t.id === 'tA' ? { ...t, genres: ['thriller'] } : t));
    const r = await new AnalyticsService({ store, catalog: moved, k: 2, freshnessMs: 0 }).titles(all, 'genre');
    expect(r.rows.map((x) => [x.key, x.plays, x.members])).toEqual([['thriller', 2, 2], ['drama', 2, 2]]);
  });

  it('suppresses groups under the k floor before limiting, and says how many', async () => {
    expect(await service(3).titles(all)).toMatchObject({ rows: [], suppressed: 2 });
    const genres = await service(3).titles(all, 'genre');
    expect(genres.rows.map((x) => x.key)).toEqual(['drama']);
    expect(genres.suppressed).toBe(1);
    expect((await service(2).titles({ limit: 1 })).rows.map((x) => x.key)).toEqual(['tA']);
  });

  it('gives daily measures and active members, suppressing days under the floor', async () => {
    const r = await service(2).daily(all);
    expect(r.days).toEqual([
      // Day 0: 3 plays (s1, s2, s3), 3600 + 600 + 1200 s, quality s1 and s3, one completion; m1, m2, m3 active.
      { day: '2026-01-01', plays: 3, qualityPlays: 2, hours: expect.closeTo(1.5, 9), completionRate: expect.closeTo(1 / 3, 9), members: 3, activeMembers: 3 },
      // Day 1: one play (s4, 600 s, quality); m1 and m2 active (m2 only saw an impression). One member played: below k.
      { day: '2026-01-02', plays: 1, qualityPlays: 1, hours: expect.closeTo(600 / 3600, 9), completionRate: 0, members: 1, activeMembers: 2 },
    ]);
    expect(DailyStatsSchema.parse(r)).toEqual(r);
    const k3 = await service(3).daily(all);
    expect(k3.days.map((d) => d.day)).toEqual(['2026-01-01']);
    expect(k3.suppressed).toBe(1);
  });

  it('honours a date range', async () => {
    const r = await service(1).titles({ from: '2026-01-02', to: '2026-01-02', limit: 20 });
    expect(r).toMatchObject({ from: '2026-01-02', to: '2026-01-02' });
    expect(r.rows).toEqual([{ key: 'tB', name: 'Title B', plays: 1, qualityPlays: 1, hours: expect.closeTo(600 / 3600, 9), completionRate: 0, members: 1 }]);
  });

  it('gives take rate per row and position with a Wilson interval', async () => {
    const r = await service(2).takeRates(all);
    // Top/0: s1 tA, s2 tA, s3 tB: all three played. Top/1 (only m1) and Genre/0 (only m2) are below k = 2.
    expect(r.cells).toHaveLength(1);
    expect(r.cells[0]).toMatchObject({ row: 'Top', position: 0, impressions: 3, plays: 3, members: 3 });
    expect(r.cells[0]!.take.rate).toBe(1);
    expect(r.cells[0]!.take.low).toBeCloseTo(0.4385, 4); // Wilson 95% for 3/3
    expect(r.suppressed).toBe(2);
    const k1 = await service(1).takeRates(all);
    expect(k1.cells.find((c) => c.row === 'Top' && c.position === 1)).toMatchObject({ impressions: 2, plays: 1 });
  });

  it('gives take and quality-take rates per title and artwork', async () => {
    const r = await service(2).artwork(all);
    // tB/b1: s1 (not played), s3 (quality), s4 (quality): 3 impressions, 2 plays, 2 quality, members m1 and m3.
    // tA/a1: s1 (played to the end), s5 (not played): 2 impressions, 1 play, 1 quality. tA/a2: m2 alone: suppressed.
    expect(r.rows.map((x) => [x.titleId, x.artworkId, x.impressions, x.plays, x.qualityPlays, x.members])).toEqual([
      ['tB', 'b1', 3, 2, 2, 2],
      ['tA', 'a1', 2, 1, 1, 2],
    ]);
    expect(r.rows[0]!.take.rate).toBeCloseTo(2 / 3, 9);
    expect(r.suppressed).toBe(1);
    expect((await service(2).artwork(all, 'tA')).rows.map((x) => x.artworkId)).toEqual(['a1']);
  });

  it('ranks trending titles by the growth of plays over the previous window', async () => {
    // Window of one day ending on day 1: tB 1 play (0 the day before: 1), tA 0 (2 the day before).
    const r = await service(1).trending(all, 1);
    expect(r.rows).toEqual([{ titleId: 'tB', name: 'Title B', plays: 1, previousPlays: 1, growth: 1, members: 1 }]);
    expect(await service(2).trending(all, 1)).toMatchObject({ rows: [], suppressed: 1 });
  });

  it('counts stored events per minute of arrival', async () => {
    const r = await service(10).liveRate(2);
    expect(r.perMinute.map((m) => m.events)).toEqual([15, 0]);
  });

  it('picks up events stored after the first query', async () => {
    const a = service(1);
    expect((await a.daily(all)).days.at(-1)!.plays).toBe(1);
    await store.append([start('m3', 's6', D1, 'tA'), at('pause', 'm3', 's6', D1, 'tA', 60, 3600)], RECEIVED);
    expect((await a.daily(all)).days.at(-1)!.plays).toBe(2);
  });
});

describe('the k floor over reach rollups', () => {
  it('counts each group once per member over any range, also when an earlier day arrives late', async () => {
    const D2 = Date.UTC(2026, 0, 3, 12);
    const play = (u: string, s: string, d: number) => [start(u, s, d, 'z'), at('pause', u, s, d, 'z', 60, 600)];
    // Title z: m1 on days 0 and 2, m2 on day 1, m3 on day 2.
    await store.append([...play('m1', 'z1', D0), ...play('m2', 'z2', D1), ...play('m1', 'z3', D2), ...play('m3', 'z4', D2)], RECEIVED);
    const a = service(1);
    const members = async (from: string, to: string) => (await a.titles({ from, to, limit: 100 })).rows.find((x) => x.key === 'z')?.members;
    expect(await members('2026-01-01', '2026-01-03')).toBe(3);
    expect(await members('2026-01-02', '2026-01-03')).toBe(3); // m1 again on day 2, m2, m3
    expect(await members('2026-01-03', '2026-01-03')).toBe(2);
    expect(await members('2026-01-02', '2026-01-02')).toBe(1);
    // m3 turns out to have watched z on day 1 too (an offline device's batch): still one member, not two.
    await store.append(play('m3', 'z5', D1), RECEIVED);
    expect(await members('2026-01-02', '2026-01-03')).toBe(3);
    expect(await members('2026-01-02', '2026-01-02')).toBe(2);
    expect(await members('2026-01-03', '2026-01-03')).toBe(2);
    // The genre (drama: tA, tB) over day 1 alone: m1 (tB) and m2 (tA impression only: not a play) -> 1 member.
    expect((await a.titles({ from: '2026-01-02', to: '2026-01-02', limit: 10 }, 'genre')).rows.find((x) => x.key === 'drama')?.members).toBe(1);
  });

  it('counts artworks over whole months and the days at the ends of a range alike', async () => {
    const day = (m: number, d: number) => Date.UTC(m === 12 ? 2025 : 2026, m === 12 ? 11 : m - 1, d, 12);
    // Artwork w1 of title q: m1 on Dec 31 and Jan 15, m2 on Jan 10, m3 on Feb 1.
    await store.append(
      [imp('m1', 'w-a', day(12, 31), 'q', 'Top', 2, 'w1'), imp('m1', 'w-b', day(1, 15), 'q', 'Top', 2, 'w1'),
       imp('m2', 'w-c', day(1, 10), 'q', 'Top', 2, 'w1'), imp('m3', 'w-d', day(2, 1), 'q', 'Top', 2, 'w1')],
      RECEIVED,
    );
    const a = service(1);
    const w1 = async (from: string, to: string) => {
      const row = (await a.artwork({ from, to, limit: 20 })).rows.find((x) => x.artworkId === 'w1');
      return row && [row.impressions, row.members];
    };
    expect(await w1('2025-12-31', '2026-02-01')).toEqual([4, 3]); // January whole, two end days
    expect(await w1('2025-12-01', '2026-02-28')).toEqual([4, 3]); // three whole months
    expect(await w1('2026-01-01', '2026-01-31')).toEqual([2, 2]); // m1 back in January after December
    expect(await w1('2026-01-11', '2026-02-01')).toEqual([2, 2]);
    expect(await w1('2026-01-16', '2026-02-01')).toEqual([1, 1]);
  });

  it('counts members exactly for few and for many groups', async () => {
    // Titles x0..x59: m1 on day 0, m2 on day 1 (one member a day, two in all: kept at k = 2).
    // Titles y0..y59: m1 on both days (one member however counted: suppressed), with more hours than any x.
    const more: MarqueeEvent[] = [];
    for (let i = 0; i < 60; i++) {
      more.push(start('m1', `x${i}a`, D0, `x${i}`), at('pause', 'm1', `x${i}a`, D0, `x${i}`, 60, 600));
      more.push(start('m2', `x${i}b`, D1, `x${i}`), at('pause', 'm2', `x${i}b`, D1, `x${i}`, 60, 600));
      more.push(start('m1', `y${i}a`, D0, `y${i}`), at('pause', 'm1', `y${i}a`, D0, `y${i}`, 600, 600));
      more.push(start('m1', `y${i}b`, D1, `y${i}`), at('pause', 'm1', `y${i}b`, D1, `y${i}`, 600, 600));
    }
    await store.append(more, RECEIVED);
    const r = await service(2).titles({ limit: 1000 });
    expect(r.rows.filter((x) => x.key.startsWith('x'))).toHaveLength(60);
    expect(r.rows.some((x) => x.key.startsWith('y'))).toBe(false);
    expect(r.rows.every((x) => x.members === 2)).toBe(true);
    expect(r.suppressed).toBe(60);
    // A range holding the whole month.
    const month = await service(2).titles({ from: '2026-01-01', to: '2026-01-31', limit: 1000 });
    expect(month.rows).toEqual(r.rows);
    expect(month.suppressed).toBe(60);
    const art = await service(1).artwork({ from: '2026-01-01', to: '2026-01-31', limit: 10 });
    expect(art.rows.map((x) => [x.artworkId, x.impressions])).toEqual([['b1', 3], ['a1', 2], ['a2', 1]]);
    // A short limit.
    const one = await service(2).titles({ from: '2026-01-01', to: '2026-01-02', limit: 3 });
    expect(one.rows.map((x) => x.key)).toEqual(['tA', 'tB', 'x0']);
  });

  it('rebuilds a play whose events arrive in several batches, once', async () => {
    const a = service(1);
    await store.append([start('m3', 's7', D1, 'tB')], RECEIVED);
    const first = (await a.titles({ from: '2026-01-02', to: '2026-01-02', limit: 5 })).rows.find((x) => x.key === 'tB')!;
    expect(first).toMatchObject({ plays: 2, hours: expect.closeTo(600 / 3600, 9) });
    await store.append([at('pause', 'm3', 's7', D1, 'tB', 1800, 2400)], RECEIVED);
    const second = (await a.titles({ from: '2026-01-02', to: '2026-01-02', limit: 5 })).rows.find((x) => x.key === 'tB')!;
    expect(second).toMatchObject({ plays: 2, qualityPlays: 2, hours: expect.closeTo(2400 / 3600, 9), members: 2 });
  });

  it('sees events stored through the API at once, within its freshness window', async () => {
    const analytics = new AnalyticsService({ store, catalog, k: 1, freshnessMs: 60_000 });
    // The fixture's events are from January 2026: widen the accepted event-time window for them.
    const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], analytics, limits: { tsPastMs: 10 * 365 * 86_400_000 } });
    const before = (await analytics.daily(all)).days.at(-1)!.plays;
    const events = [start('m3', 's9', D1, 'tA'), at('pause', 'm3', 's9', D1, 'tA', 60, 3600)];
    const res = await app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'wk', events }) });
    expect(res.status).toBe(200);
    expect((await analytics.daily(all)).days.at(-1)!.plays).toBe(before + 1);
  });
});

describe('following the store', () => {
  it('rolls up stored batches in the background, so the next query has nothing to catch up', async () => {
    const analytics = new AnalyticsService({ store, catalog, k: 1, freshnessMs: 60_000 });
    const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], analytics, limits: { tsPastMs: 10 * 365 * 86_400_000 } });
    const health = async () => ((await (await app.request('/readyz')).json()) as { analytics: { eventsNotRolledUp: number | null } }).analytics;
    expect(await health()).toEqual({ eventsNotRolledUp: null });
    await analytics.follow(5);
    expect(await health()).toEqual({ eventsNotRolledUp: 0 });
    const rolledUp = async () => Number((await store.query('SELECT next_seq FROM analytics_state'))[0]!.next_seq);
    const before = await rolledUp();
    const events = [start('m3', 's9', D1, 'tA'), at('pause', 'm3', 's9', D1, 'tA', 60, 3600)];
    const res = await app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'wk', events }) });
    expect(res.status).toBe(200);
    // No query is made: the rollups move by themselves.
    await expect.poll(rolledUp, { timeout: 5000 }).toBe(before + 2);
    await analytics.stop();
  });
});

describe("the follower's pace", () => {
  it('waits the follow delay after a quick refresh, and idles for FOLLOW_PACE times a slow one after it ended', () => {
    expect(followDelay(500, 10_000, null)).toBe(500);
    expect(followDelay(500, 10_000, { endedAt: 9_990, ms: 20 })).toBe(500);
    // A 1.5 s refresh (a day of many events) that ended 100 ms ago: the next starts FOLLOW_PACE x 1.5 s after it ended.
    expect(followDelay(500, 10_000, { endedAt: 9_900, ms: 1500 })).toBe(FOLLOW_PACE * 1500 - 100);
    // Background refreshes then take at most 1 / (1 + FOLLOW_PACE) of the time, whatever a refresh costs.
    const ms = 3000;
    expect(ms / (ms + followDelay(500, 0, { endedAt: 0, ms }))).toBeLessThanOrEqual(1 / (1 + FOLLOW_PACE));
  });
});

describe('analytics routes', () => {
  it('need the admin token, validate the query and answer from the store', async () => {
    const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], analytics: service(2) });
    expect((await app.request('/v1/admin/analytics/titles')).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer admin' } };
    const bad = await app.request('/v1/admin/analytics/titles?from=2026-02-01&to=2026-01-01&limit=0', auth);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/limit.*|from/);
    const ok = await app.request('/v1/admin/analytics/titles?by=genre&limit=1', auth);
    expect(ok.status).toBe(200);
    expect(TitleStatsSchema.parse(await ok.json()).rows.map((x) => x.key)).toEqual(['drama']);
    for (const path of ['daily', 'take-rates', 'artwork', 'trending', 'live']) {
      expect((await app.request(`/v1/admin/analytics/${path}`, auth)).status, path).toBe(200);
    }
  });

  it('answer empty with a null range on an empty store', async () => {
    const empty = await DuckDbEventStore.open(':memory:');
    const a = new AnalyticsService({ store: empty, catalog });
    expect(await a.daily(all)).toEqual({ from: null, to: null, k: 10, suppressed: 0, days: [] });
    expect((await a.titles(all)).rows).toEqual([]);
    await empty.close();
  });
});
