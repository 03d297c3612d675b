/**
 * `npm run ope -- --data PATH --format store|obd --target uniform|priors [--log bts|random] [--clip N] [--bootstrap B] [--json]`
 *
 * Off-policy evaluation of a target artwork (or item) policy from a logged-bandit log: replay, IPS, SNIPS and doubly
 * robust, each with a 95% interval and the effective sample size. Intervals are normal approximations unless
 * `--bootstrap B` asks IPS, SNIPS and DR for bootstrap-t ones over B seeded resamples (core's `bootstrapT`; the
 * normal interval undercovers where weights are large and the log small, as on OBD's Thompson-sampling log).
 * - `--format store`: a JSONL export of the server's events (one stored event per line); decisions are the
 *   impressions that carry an artwork choice, rewarded by a quality play (>= 15 min or 25% within 6 h). `--catalog`
 *   points at a `{titles: [...]}` file; default the synthetic catalog the API serves.
 * - `--format obd`: an Open Bandit Dataset directory (`random.csv`, `bts.csv`, `*_item_context.csv`); `--log` picks
 *   the log (default bts). With `--target uniform` on the bts log, the uniform log's actual click rate is printed
 *   beside the estimates, with each estimate's relative error and whether its interval covers it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { artwork as aw, EventSchema, describeIssues, type MarqueeEvent } from '@marquee/core';
import { Catalog } from '../catalog.ts';
import { decisionsFromEvents } from '../artwork/logs.ts';
import { readObd } from '../artwork/obd.ts';
import { buildTarget, TARGETS, type TargetName } from '../artwork/targets.ts';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    format: { type: 'string', default: 'store' },
    target: { type: 'string', default: 'uniform' },
    log: { type: 'string', default: 'bts' },
    clip: { type: 'string' },
    bootstrap: { type: 'string' },
    catalog: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const fail = (msg: string): never => {
  console.error(`ope: ${msg}`);
  process.exit(2);
};
if (!args.data) fail('--data PATH is required');
if (args.format !== 'store' && args.format !== 'obd') fail(`--format must be store or obd, not ${args.format}`);
if (!TARGETS.includes(args.target as TargetName)) fail(`--target must be one of ${TARGETS.join(', ')}, not ${args.target}`);
if (args.log !== 'bts' && args.log !== 'random') fail(`--log must be bts or random`);
const clip = args.clip !== undefined ? Number(args.clip) : undefined;
if (clip !== undefined && !(clip > 0)) fail('--clip must be a positive number');
const bootstrapResamples = args.bootstrap !== undefined ? Number(args.bootstrap) : undefined;
if (bootstrapResamples !== undefined && !(Number.isInteger(bootstrapResamples) && bootstrapResamples >= 100)) fail('--bootstrap must be a whole number of resamples, at least 100');
const data = args.data!;

let log: aw.LoggedDecision[];
let skipped = 0;
if (args.format === 'obd') {
  log = await readObd(data, args.log as 'bts' | 'random');
} else {
  const text = await readFile(data, 'utf8');
  const events: MarqueeEvent[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      fail(`${data}: line ${n}: invalid JSON`);
    }
    const parsed = EventSchema.safeParse(raw);
    if (!parsed.success) fail(`${data}: line ${n}: ${describeIssues(parsed.error)}`);
    else events.push(parsed.data);
  }
  const catalog = args.catalog ? new Catalog(JSON.parse(await readFile(args.catalog, 'utf8')).titles) : Catalog.synthetic();
  const built = decisionsFromEvents(events, catalog.byId);
  log = built.decisions;
  skipped = built.skipped;
}
if (log.length === 0) fail(`${data}: no logged decisions (impressions with an artwork and its propensity)`);

const { log: evalLog, target, note } = buildTarget(args.target as TargetName, log);
const report = aw.evaluatePolicy(evalLog, target, args.target!, { clip, bootstrapResamples });
let truth: { source: string; value: number; decisions: number } | null = null;
if (args.format === 'obd' && args.target === 'uniform' && args.log === 'bts' && existsSync(join(data, 'random.csv'))) {
  const uniformLog = await readObd(data, 'random');
  truth = { source: 'random.csv (the uniform policy, run for real)', value: uniformLog.reduce((s, d) => s + d.reward, 0) / uniformLog.length, decisions: uniformLog.length };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(5) : String(x));
console.error(`${args.format} log ${data}${args.format === 'obd' ? ` (${args.log})` : ''}: ${log.length} decisions${skipped ? `, ${skipped} impressions without a usable artwork choice skipped` : ''}`);
console.error(`target ${args.target}: ${note}; logged mean reward ${fmt(report.loggedValue)}${clip ? `; weights clipped at ${clip}` : ''}`);
console.error('estimator  value     95% CI                 interval     ESS        note');
for (const e of report.estimates) {
  console.error(`${e.estimator.padEnd(10)} ${fmt(e.value)}  [${fmt(e.ciLow)}, ${fmt(e.ciHigh)}]  ${e.interval.padEnd(11)} ${e.ess.toFixed(1).padStart(9)}  ${e.note ?? ''}`);
}
if (bootstrapResamples) console.error(`bootstrap-t: ${bootstrapResamples} resamples, seed 1`);
const versusTruth = truth
  ? report.estimates.map((e) => ({ estimator: e.estimator, relative_error: (e.value - truth!.value) / truth!.value, covered: e.ciLow <= truth!.value && truth!.value <= e.ciHigh }))
  : null;
if (truth) {
  console.error(`actual: ${fmt(truth.value)} from ${truth.source}, ${truth.decisions} impressions`);
  for (const v of versusTruth!) console.error(`  ${v.estimator.padEnd(8)} relative error ${(100 * v.relative_error).toFixed(1)}%, interval ${v.covered ? 'covers' : 'MISSES'} it`);
}
if (args.json) console.log(JSON.stringify({ ...report, format: args.format, note, skipped, actual: truth, versus_actual: versusTruth }));
