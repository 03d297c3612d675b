import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActiveExperimentsSchema, ExperimentResultsSchema, ExperimentSchema, EXPOSURE_EVENT, teamCreditsFromEvents, uuidv7, type Experiment, type MarqueeEvent } from '@marquee/core';
import { createApp } from '../src/app.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import type { EventStore } from '../src/store/types.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { ExperimentDefinitions } from '../src/experiments/definitions.ts';
import { experimentUnits, unitsFromEvents } from '../src/experiments/units.ts';
import { simulateExperimentEvents } from '../src/experiments/simulate.ts';
import { teamCredits } from '../src/experiments/interleaving.ts';
import { makeEvent } from './helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const EXP = {
  id: 'rank-weights',
  surface: 'ranking',
  traffic: 1,
  variants: [
    { id: 'control', weight: 1, params: {} },
    { id: 'pop-heavy', weight: 1, params: { rankWeights: { model: 0.5, popularity: 1, trending: 0.5 } } },
  ],
};
const NOW = Date.UTC(2026, 2, 1);
const auth = { authorization: 'Bearer admin' };

function setup(store: EventStore = new MemoryEventStore(), definitions = new ExperimentDefinitions(null, () => NOW)) {
  const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], experiments: definitions, now: () => NOW });
  const put = (baseVersion: number, experiments: unknown[]) =>
    app.request('/v1/experiments/admin', { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ baseVersion, experiments }) });
  const results = async (id: string) => app.request(`/v1/experiments/${id}/results`, { headers: auth });
  return { app, put, results, store };
}

describe('experiment definitions', () => {
  it('are edited through the admin route with a version, kept on disk, and served to devices', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'marquee-exp-'));
    dirs.push(dir);
    const { app, put } = setup(new MemoryEventStore(), new ExperimentDefinitions(join(dir, 'experiments.json'), () => NOW));
    const v1 = await put(0, [EXP]);
    expect(v1.status).toBe(200);
    expect((await v1.json()).version).toBe(1);
    // An edit made against an old version is refused, not merged silently.
    const stale = await put(0, [EXP]);
    expect(stale.status).toBe(409);
    const bad = await put(1, [{ ...EXP, traffic: 2 }]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toMatch(/traffic/);
    expect((await app.request('/v1/experiments/admin')).status).toBe(401);

    const pub = await app.request('/v1/experiments');
    const active = ActiveExperimentsSchema.parse(await pub.json());
    expect(active.experiments.map((e) => e.id)).toEqual(['rank-weights']);
    expect((await app.request('/v1/experiments', { headers: { 'if-none-match': pub.headers.get('etag')! } })).status).toBe(304);
    const onDisk = JSON.parse(await readFile(join(dir, 'experiments.json'), 'utf8'));
    expect(onDisk.version).toBe(1);
    // A stopped experiment is no longer sent to devices.
    await put(1, [{ ...EXP, stop: NOW - 1, start: NOW - 10 }]);
    expect(ActiveExperimentsSchema.parse(await (await app.request('/v1/experiments')).json()).experiments).toEqual([]);
    expect((await new ExperimentDefinitions(join(dir, 'experiments.json')).read()).version).toBe(2);
  });
});

describe('GET /v1/experiments/:id/results', () => {
  it('finds a planted +30% effect on plays, with CUPED narrower than raw, and no SRM', async () => {
    const { put, results, store } = setup();
    await put(0, [EXP]);
    const e = ExperimentSchema.parse(EXP);
    await store.append(simulateExperimentEvents(e, { units: 800, effect: { 'pop-heavy': 1.3 }, seed: 3 }), NOW);
    const res = await results('rank-weights');
    expect(res.status).toBe(200);
    const r = ExperimentResultsSchema.parse(await res.json());
    expect(r.units.map((u) => u.variant)).toEqual(['control', 'pop-heavy']);
    expect(r.units[0]!.exposed + r.units[1]!.exposed).toBe(800);
    expect(r.srm.mismatch).toBe(false);
    expect(r.unitsInSeveralVariants).toBe(0);
    const plays = r.metrics.find((m) => m.metric === 'plays_per_unit')!;
    const vs = plays.vsControl[0]!;
    expect(vs.fixedHorizon.relative!).toBeGreaterThan(0.15);
    expect(vs.fixedHorizon.relative!).toBeLessThan(0.45);
    expect(vs.fixedHorizon.ci[0]).toBeGreaterThan(0);
    expect(vs.cuped!.widthRatio).toBeLessThan(0.9);
    // The always-valid interval pays for peeking: it is wider than the fixed-horizon one.
    expect(vs.alwaysValid.ci[1] - vs.alwaysValid.ci[0]).toBeGreaterThan(vs.fixedHorizon.ci[1] - vs.fixedHorizon.ci[0]);
    expect(r.metrics.map((m) => m.metric)).toEqual(['plays_per_unit', 'quality_plays_per_unit', 'viewing_hours_per_unit', 'homepage_take_rate', 'day1_return', 'day7_return']);
    expect(r.inference.alwaysValid).toMatch(/mixture SPRT/);
  });

  it('flags a planted sample-ratio mismatch', async () => {
    const { put, results, store } = setup();
    await put(0, [EXP]);
    await store.append(simulateExperimentEvents(ExperimentSchema.parse(EXP), { units: 800, seed: 4, dropExposures: { variant: 'pop-heavy', share: 0.7 } }), NOW);
    const r = ExperimentResultsSchema.parse(await (await results('rank-weights')).json());
    expect(r.srm.mismatch).toBe(true);
    expect(r.srm.pValue).toBeLessThan(0.001);
  });

  it('answers 404 for an unknown experiment and 401 without the token', async () => {
    const { app, results } = setup();
    expect((await results('nope')).status).toBe(404);
    expect((await app.request('/v1/experiments/nope/results')).status).toBe(401);
  });
});

describe('unit rows', () => {
  it('DuckDB SQL and the in-memory definitions agree', async () => {
    const e: Experiment = ExperimentSchema.parse(EXP);
    const events = simulateExperimentEvents(e, { units: 200, seed: 5, effect: { 'pop-heavy': 1.1 } });
    // A unit seen in both variants is counted in its first and reported.
    events.push(makeEvent({ type: 'custom', name: EXPOSURE_EVENT, userId: 'sim000000', anonymousId: undefined, ts: Date.UTC(2026, 1, 20), experiments: [{ experiment: e.id, variant: 'zzz' }] } as never));
    const store = await DuckDbEventStore.open(':memory:');
    await store.append(events, NOW);
    const sql = await experimentUnits(store, e.id, NOW);
    const js = unitsFromEvents(events, e.id, NOW);
    await store.close();
    expect(sql.length).toBe(200);
    expect(sql.map((r) => ({ ...r, viewingHours: r.viewingHours.toFixed(9), preViewingHours: r.preViewingHours.toFixed(9) }))).toEqual(
      js.map((r) => ({ ...r, viewingHours: r.viewingHours.toFixed(9), preViewingHours: r.preViewingHours.toFixed(9) })),
    );
    expect(sql.filter((r) => r.nVariants > 1).map((r) => r.unit)).toEqual(['sim000000']);
    expect(sql.some((r) => r.plays > 0 && r.prePlays > 0 && r.qualityPlays > 0 && r.day1 !== null)).toBe(true);
  });
});

describe('interleaving results', () => {
  const IL = {
    id: 'model-vs-pop',
    surface: 'ranking',
    traffic: 1,
    variants: [{ id: 'interleave', weight: 1, params: { interleaveWith: { model: 0, popularity: 1, trending: 0 } } }],
  };
  /** Four units: A wins twice (u1, u4), B once (u2), one tie (u3); by hand: preference (2 - 1) / 4 = 0.25. */
  function log(): MarqueeEvent[] {
    let ts = NOW - 3_600_000;
    const out: MarqueeEvent[] = [];
    const add = (unit: string, over: Partial<MarqueeEvent>) => {
      const e = makeEvent({ ts: ts++, userId: unit, anonymousId: undefined, sessionId: `s-${unit}`, ...over } as Partial<MarqueeEvent>);
      out.push(e);
      return e.id;
    };
    const imp = (unit: string, team: 'A' | 'B', experiment = IL.id) =>
      add(unit, { type: 'impression', row: 'Top Picks for You', position: 0, titleId: `t${ts}`, interleaving: { experiment, variant: 'interleave', team } } as never);
    const play = (unit: string, impressionId?: string) => add(unit, { type: 'play_start', impressionId } as never);
    for (const u of ['u1', 'u2', 'u3', 'u4']) add(u, { type: 'custom', name: EXPOSURE_EVENT, experiments: [{ experiment: IL.id, variant: 'interleave' }] } as never);
    const a1 = imp('u1', 'A');
    const b1 = imp('u1', 'B');
    play('u1', a1);
    play('u1', a1);
    play('u1', b1);
    const b2 = imp('u2', 'B');
    imp('u2', 'A');
    play('u2', b2);
    play('u2', a1); // u1's impression: not u2's play to credit
    imp('u3', 'A');
    play('u3'); // a play from elsewhere on the page
    const a4 = imp('u4', 'A');
    play('u4', a4.toUpperCase());
    const other = imp('u4', 'B', 'another');
    play('u4', other);
    return out;
  }

  it('DuckDB SQL and the in-memory definition credit the same plays, and the route reports the preference', async () => {
    const events = log();
    const duck = await DuckDbEventStore.open(':memory:');
    await duck.append(events, NOW);
    const expected = [
      { unit: 'u1', variant: 'interleave', impressionsA: 1, impressionsB: 1, playsA: 2, playsB: 1 },
      { unit: 'u2', variant: 'interleave', impressionsA: 1, impressionsB: 1, playsA: 0, playsB: 1 },
      { unit: 'u3', variant: 'interleave', impressionsA: 1, impressionsB: 0, playsA: 0, playsB: 0 },
      { unit: 'u4', variant: 'interleave', impressionsA: 1, impressionsB: 0, playsA: 1, playsB: 0 },
    ];
    expect(await teamCredits(duck, IL.id)).toEqual(expected);
    expect(teamCreditsFromEvents(events, IL.id)).toEqual(expected);

    for (const store of [duck, new MemoryEventStore()]) {
      if (store instanceof MemoryEventStore) await store.append(events, NOW);
      const { put, results } = setup(store);
      await put(0, [IL]);
      const r = ExperimentResultsSchema.parse(await (await results(IL.id)).json());
      expect(r.interleaving).toHaveLength(1);
      const il = r.interleaving![0]!;
      expect(il).toMatchObject({ variant: 'interleave', units: 4, impressions: { A: 4, B: 2 }, plays: { A: 3, B: 2 }, wins: { A: 2, B: 1, ties: 1 } });
      // Outcomes +1, +1, -1, 0: mean 0.25, sample variance (3 - 4 * 0.0625) / 3.
      expect(il.preference.estimate).toBe(0.25);
      expect(il.preference.se).toBeCloseTo(Math.sqrt((3 - 0.25) / 3 / 4), 12);
      expect(r.definitions.interleaving_preference).toMatch(/team A is the variant's own ranking/);
    }
    await duck.close();
    // A simulated log: the treatment's rows interleaved after exposure, every play naming its impression.
    const sim = ExperimentSchema.parse({ ...EXP, variants: [EXP.variants[0], { id: 'mix', weight: 1, params: { interleaveWith: { model: 0, popularity: 1, trending: 0 } } }] });
    const simulated = simulateExperimentEvents(sim, { units: 150, seed: 9 });
    const big = await DuckDbEventStore.open(':memory:');
    await big.append(simulated, NOW);
    const sql = await teamCredits(big, sim.id);
    await big.close();
    expect(sql).toEqual(teamCreditsFromEvents(simulated, sim.id));
    expect(sql.length).toBeGreaterThan(50);
    expect(sql.every((u) => u.variant === 'mix')).toBe(true);
    expect(sql.reduce((n, u) => n + u.playsA + u.playsB, 0)).toBeGreaterThan(100);
    // An experiment without an interleaving variant has no interleaving section.
    const { put, results } = setup();
    await put(0, [EXP]);
    expect(ExperimentResultsSchema.parse(await (await results(EXP.id)).json()).interleaving).toBeUndefined();
  });
});
