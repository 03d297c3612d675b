/**
 * `npm run bench:forecast [-- --json] [-- --holdout-days 270] [-- --seed 1]`
 *
 * Backtest of the acquisition forecast on titles held out by launch date. The synthetic world (seed 1, 2,000
 * titles) with launches spread over three years (createLaunchHistory): the history is cut `--holdout-days` before
 * its end; the model learns from what was visible at the cut (titles launched before it, their curves truncated
 * there) and forecasts every title launched after the cut whose first 28 days are observed by the end.
 * Reports the median absolute log error of the 28-day hours against a genre-mean baseline (the mean log hours of
 * earlier titles sharing the title's first genre) and the share of actual values inside the 80% interval.
 *
 * Human text on stderr; `--json` prints one JSON line last.
 */
import { parseArgs } from 'node:util';
import { ForecastModel, quantile, type TitleHistory } from '@marquee/core';
import { createLaunchHistory, createWorld } from '@marquee/core/synthetic';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'holdout-days': { type: 'string', default: '270' },
    seed: { type: 'string', default: '1' },
  },
});
const DAY_MS = 86_400_000;
const log = (s: string) => process.stderr.write(`${s}\n`);

const t0 = performance.now();
const world = createWorld({ seed: Number(args.seed) });
const history = createLaunchHistory(world);
const cut = history.endTs - Number(args['holdout-days']) * DAY_MS;
const meta = (id: string) => world.titleById.get(id)!;
const all: TitleHistory[] = history.launches.map((l) => ({ titleId: l.titleId, name: meta(l.titleId).name, genres: meta(l.titleId).genres, year: meta(l.titleId).year, runtimeMin: meta(l.titleId).runtimeMin, launchTs: l.launchTs, daily: l.daily }));
// What was visible at the cut: earlier launches, their days up to the cut.
const visible = all.filter((t) => t.launchTs < cut).map((t) => ({ ...t, daily: Array.from(t.daily).slice(0, Math.round((cut - t.launchTs) / DAY_MS)) }));
const heldOut = all.filter((t) => t.launchTs >= cut && t.launchTs + 28 * DAY_MS <= history.endTs + DAY_MS);

const model = ForecastModel.fit(visible, cut);
const h28 = (t: TitleHistory) => ForecastModel.hours28(t);
const train28 = visible.filter((t) => t.daily.length >= 28);
const globalMean = train28.reduce((s, t) => s + Math.log(h28(t)), 0) / train28.length;
const genreMean = new Map<string, number>();
for (const g of new Set(train28.map((t) => t.genres[0]!))) {
  const xs = train28.filter((t) => t.genres[0] === g).map((t) => Math.log(h28(t)));
  genreMean.set(g, xs.reduce((a, b) => a + b, 0) / xs.length);
}

const errModel: number[] = [];
const errBase: number[] = [];
let covered = 0;
for (const t of heldOut) {
  const actual = Math.log(h28(t));
  const f = model.forecast({ genres: [...t.genres], year: t.year, runtimeMin: t.runtimeMin, cost: 1, launchTs: t.launchTs });
  errModel.push(Math.abs(actual - Math.log(f.first28Days.p50)));
  errBase.push(Math.abs(actual - (genreMean.get(t.genres[0]!) ?? globalMean)));
  if (h28(t) >= f.first28Days.p10 && h28(t) <= f.first28Days.p90) covered++;
}
const med = (a: number[]) => quantile([...a].sort((x, y) => x - y), 0.5);
const result = {
  titles_train: model.stats.titles,
  titles_held_out: heldOut.length,
  median_abs_log_error: +med(errModel).toFixed(4),
  baseline_genre_mean_median_abs_log_error: +med(errBase).toFixed(4),
  improvement_vs_baseline: +(1 - med(errModel) / med(errBase)).toFixed(4),
  coverage_80: +(covered / heldOut.length).toFixed(4),
  seconds: +((performance.now() - t0) / 1000).toFixed(1),
};
log(`backtest: trained on ${result.titles_train} titles launched before the cut, ${result.titles_held_out} held out`);
log(`  median |log error| of 28-day hours: model ${result.median_abs_log_error}, genre-mean baseline ${result.baseline_genre_mean_median_abs_log_error} (${(result.improvement_vs_baseline * 100).toFixed(1)}% lower; target >= 25%)`);
log(`  80% interval coverage: ${(result.coverage_80 * 100).toFixed(1)}% (target 75-85%)`);
if (args.json) console.log(JSON.stringify(result));
