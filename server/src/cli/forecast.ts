/**
 * `npm run forecast -- --genres drama,romance --year 2025 --runtime 110 --cost 250000 [--comparables t0001,t0002]
 *   [--data DIR | --synthetic] [--json]`
 * The acquisition forecast from the command line: learns from the event store in DIR (default DATA_DIR or .data;
 * the API must not be running on it: DuckDB opens a file once) or, with --synthetic, from the synthetic world with
 * launches over three years. `--seed-demo DIR` fills DIR with a launch world's events and catalog instead.
 */
import { parseArgs } from 'node:util';
import { describeIssues, ForecastModel, ForecastRequestSchema, type ForecastResponse, type TitleHistory } from '@marquee/core';
import { createLaunchHistory, createWorld } from '@marquee/core/synthetic';
import { AnalyticsService } from '../analytics/service.ts';
import { Catalog } from '../catalog.ts';
import { ForecastService } from '../forecasts/service.ts';
import { seedLaunchWorld, writeLaunchWorldCatalog } from '../forecasts/seed.ts';
import { DuckDbEventStore } from '../store/duckdb.ts';

const { values: a } = parseArgs({
  options: {
    genres: { type: 'string' },
    year: { type: 'string' },
    runtime: { type: 'string' },
    cost: { type: 'string' },
    comparables: { type: 'string' },
    data: { type: 'string', default: process.env.DATA_DIR ?? '.data' },
    synthetic: { type: 'boolean', default: false },
    'seed-demo': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

if (a['seed-demo']) {
  const store = await DuckDbEventStore.open(a['seed-demo']);
  const n = await seedLaunchWorld(store);
  await writeLaunchWorldCatalog(a['seed-demo']);
  await store.close();
  console.error(`seeded ${n.toLocaleString('en-US')} events and catalog.json into ${a['seed-demo']}`);
  process.exit(0);
}

const parsed = ForecastRequestSchema.safeParse({
  genres: a.genres?.split(',').map((g) => g.trim()).filter(Boolean),
  year: a.year === undefined ? undefined : Number(a.year),
  runtimeMin: a.runtime === undefined ? undefined : Number(a.runtime),
  cost: a.cost === undefined ? undefined : Number(a.cost),
  comparables: a.comparables?.split(',').map((c) => c.trim()).filter(Boolean),
});
if (!parsed.success) {
  console.error(`forecast: ${describeIssues(parsed.error)}\nusage: npm run forecast -- --genres drama,romance --year 2025 --runtime 110 --cost 250000 [--comparables ID,...] [--data DIR | --synthetic] [--json]`);
  process.exit(2);
}

let answer: ForecastResponse;
if (a.synthetic) {
  const world = createWorld();
  const h = createLaunchHistory(world);
  const titles: TitleHistory[] = h.launches.map((l) => {
    const t = world.titleById.get(l.titleId)!;
    return { titleId: t.id, name: t.name, genres: t.genres, year: t.year, runtimeMin: t.runtimeMin, launchTs: l.launchTs, daily: l.daily };
  });
  answer = ForecastModel.fit(titles, h.endTs).forecast(parsed.data);
} else {
  const store = await DuckDbEventStore.open(a.data);
  try {
    const catalog = (await Catalog.load(a.data)).titles;
    answer = await new ForecastService(new AnalyticsService({ store, catalog }), catalog).forecast(parsed.data);
  } catch (err) {
    console.error(`forecast: ${(err as Error).message}`);
    process.exit(1);
  } finally {
    await store.close();
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const money = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2 });
if (a.json) console.log(JSON.stringify(answer));
else {
  console.log(`learned from ${answer.history.titles} titles (${answer.history.titlesWithYear} with a year of history)`);
  console.log(`hours, first 28 days: p10 ${n(answer.first28Days.p10)}  p50 ${n(answer.first28Days.p50)}  p90 ${n(answer.first28Days.p90)}`);
  if (answer.firstYear) console.log(`hours, first year:    p10 ${n(answer.firstYear.p10)}  p50 ${n(answer.firstYear.p50)}  p90 ${n(answer.firstYear.p90)}`);
  const c = answer.costPerHour;
  console.log(`cost per hour viewed (${c.basis}): p10 ${money(c.p10)}  p50 ${money(c.p50)}  p90 ${money(c.p90)}`);
  console.log('comparables:');
  for (const x of answer.comparables) console.log(`  ${x.titleId}  ${x.name.padEnd(28)} weight ${x.weight.toFixed(3)}  28-day hours ${n(x.hours28)}${x.named ? '  (named)' : ''}`);
  if (answer.unknownComparables.length) console.log(`not in the history: ${answer.unknownComparables.join(', ')}`);
}
