import { describe, expect, it } from 'vitest';
import { costPerHour, ForecastModel, ForecastResponseSchema, intervalFromResiduals, quantile, wilsonInterval, type TitleHistory } from '../src/index.ts';
import { createLaunchHistory, createWorld } from '../src/synthetic/index.ts';

describe('interval logic (golden vectors)', () => {
  it('quantile interpolates linearly between order statistics (numpy type 7)', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(10);
    expect(quantile(xs, 0.5)).toBeCloseTo(5.5, 12);
    expect(quantile(xs, 0.1)).toBeCloseTo(1.9, 12);
    expect(quantile(xs, 0.9)).toBeCloseTo(9.1, 12);
    expect(() => quantile([], 0.5)).toThrow(/empty/);
  });

  it('puts the residual quantiles around the point in log space', () => {
    // Residuals -1..1 in steps of 0.25 (9 values): p10 = -0.8, p50 = 0, p90 = 0.8.
    const residuals = [0.5, -1, 0.25, -0.5, 0, 1, -0.25, 0.75, -0.75];
    const q = intervalFromResiduals(Math.log(100), residuals);
    expect(q.p10).toBeCloseTo(100 * Math.exp(-0.8), 9);
    expect(q.p50).toBeCloseTo(100, 9);
    expect(q.p90).toBeCloseTo(100 * Math.exp(0.8), 9);
  });

  it('inverts the hours interval for cost per hour viewed', () => {
    expect(costPerHour(1000, { p10: 50, p50: 100, p90: 400 })).toEqual({ p10: 2.5, p50: 10, p90: 20 });
  });

  it('gives Wilson intervals inside [0, 1] (golden values)', () => {
    expect(wilsonInterval(0, 0)).toEqual({ rate: 0, low: 0, high: 0 });
    const a = wilsonInterval(3, 3);
    expect([a.rate, +a.low.toFixed(4), a.high]).toEqual([1, 0.4385, 1]);
    const b = wilsonInterval(50, 100);
    expect([+b.low.toFixed(4), +b.high.toFixed(4)]).toEqual([0.4038, 0.5962]);
    const c = wilsonInterval(1, 10);
    expect([+c.low.toFixed(4), +c.high.toFixed(4)]).toEqual([0.0179, 0.4042]);
  });
});

describe('ForecastModel on a synthetic launch history', () => {
  const world = createWorld({ titles: 400, members: 200 });
  const launches = createLaunchHistory(world, { appealSample: 100 });
  const history: TitleHistory[] = launches.launches.map((l) => {
    const t = world.titleById.get(l.titleId)!;
    return { titleId: t.id, name: t.name, genres: t.genres, year: t.year, runtimeMin: t.runtimeMin, launchTs: l.launchTs, daily: l.daily };
  });
  const model = ForecastModel.fit(history, launches.endTs);

  it('answers with ordered quantiles, cost per hour and weighted comparables', () => {
    const f = model.forecast({ genres: ['drama', 'romance'], year: 2024, runtimeMin: 110, cost: 50_000, comparables: [history[0]!.titleId, 'nope'] });
    expect(ForecastResponseSchema.parse(f)).toEqual(f);
    expect(f.first28Days.p10).toBeLessThan(f.first28Days.p50);
    expect(f.first28Days.p50).toBeLessThan(f.first28Days.p90);
    expect(f.firstYear!.p50).toBeGreaterThan(f.first28Days.p50);
    expect(f.costPerHour.basis).toBe('firstYear');
    expect(f.costPerHour.p50).toBeCloseTo(50_000 / f.firstYear!.p50, 6);
    expect(f.comparables[0]).toMatchObject({ titleId: history[0]!.titleId, named: true });
    expect(f.comparables.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 9);
    expect(f.unknownComparables).toEqual(['nope']);
    expect(f.distribution.map((d) => d.q)).toHaveLength(19);
  });

  it('forecasts more hours for what the world makes more watched: longer titles, new rather than old', () => {
    const base = { genres: ['comedy'], year: 2024, cost: 1 };
    expect(model.forecast({ ...base, runtimeMin: 170 }).first28Days.p50).toBeGreaterThan(model.forecast({ ...base, runtimeMin: 85 }).first28Days.p50);
    expect(model.forecast({ ...base, runtimeMin: 100 }).first28Days.p50).toBeGreaterThan(model.forecast({ ...base, runtimeMin: 100, year: 1970 }).first28Days.p50);
  });

  it('is deterministic and refuses a history too short to learn from', () => {
    const req = { genres: ['action'], year: 2020, runtimeMin: 100, cost: 10 };
    expect(ForecastModel.fit(history, launches.endTs).forecast(req)).toEqual(model.forecast(req));
    expect(() => ForecastModel.fit(history.slice(0, 5), launches.endTs)).toThrow(/not enough history.*5 titles/);
  });
});

describe('createLaunchHistory', () => {
  it('leaves the default world untouched and is reproducible', () => {
    const w = createWorld({ titles: 50, members: 30 });
    const a = createLaunchHistory(w, { appealSample: 30 });
    const b = createLaunchHistory(createWorld({ titles: 50, members: 30 }), { appealSample: 30 });
    expect(a.launches.map((l) => [l.launchTs, l.daily[0]])).toEqual(b.launches.map((l) => [l.launchTs, l.daily[0]]));
    // Ramp-up then decay: the curve's peak is after launch day for the typical title, and day 300 is below the peak.
    const peaks = a.launches.filter((l) => l.daily.length > 300).map((l) => l.daily.indexOf(Math.max(...l.daily)));
    expect(peaks.filter((p) => p > 0).length / peaks.length).toBeGreaterThan(0.8);
  });
});
