/**
 * `npm run bench:artwork [-- --json] [-- --members 2000] [-- --sessions 8] [-- --seed 1] [-- --skip-clickbait]
 *   [-- --policies uniform,thompson,...] [-- --config '{"priorPrecision":16}'] [-- --taste-from-genres 0.5] [-- --no-history]`
 *
 * The artwork bandit on the synthetic world, with feedback: each policy runs through the same seeded world (same
 * members, sessions, rows; the artwork shown and so the plays differ), learning from its own quality plays, with the
 * population priors republished from its own log every 2,000 impressions. Policies: uniform, population
 * (non-contextual best, epsilon-greedy), epsilon-greedy, LinUCB, Thompson sampling (the default) and the oracle (the
 * artwork with the highest true quality-play probability for the member).
 *
 * Reported per policy: quality plays per 1,000 impressions, realised (the simulated plays) and expected (the world's
 * true probability of the artwork shown: the same quantity without the play noise, which at ~150k impressions is
 * +-2%), and the share of the oracle's lift over uniform, overall and by how many impressions the member had seen.
 * Then the clickbait check: in a world where half the titles also have a clickbait artwork (more plays, much
 * shorter watching), Thompson sampling rewarded by clicks (play starts) against the same rewarded by quality plays.
 * Last, the selection time of a 50-card page (fresh choices, Thompson, a viewer with history), in this process.
 *
 * A benchmark, not a test. Human text goes to stderr; `--json` prints one JSON line last on stdout.
 */
import { parseArgs } from 'node:util';
import { artwork as aw, quantile } from '@marquee/core';
import { createWorld } from '@marquee/core/synthetic';
import { DEFAULT_BUCKETS, simulatePolicy, type SimPolicy, type SimResult } from './artwork-sim.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    members: { type: 'string', default: '2000' },
    sessions: { type: 'string', default: '8' },
    titles: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    'skip-clickbait': { type: 'boolean', default: false },
    policies: { type: 'string', default: 'uniform,population,epsilon-greedy,linucb,thompson,oracle' },
    /** JSON overrides of the bandit config, e.g. '{"priorPrecision":16}' (validated). */
    config: { type: 'string', default: '{}' },
    /** Share of theme taste that follows from genre taste (the world's themeTasteFromGenres; 0: the default world). */
    'taste-from-genres': { type: 'string', default: '0.5' },
    /** Policies without the history context (no population weights in the priors). */
    'no-history': { type: 'boolean', default: false },
  },
});
const log = (...a: unknown[]) => console.error(...a);
const per1k = (x: number, n: number) => Math.round((10000 * x) / n) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const worldConfig = { seed: Number(args.seed), members: Number(args.members), titles: Number(args.titles), sessionsPerMember: Number(args.sessions) };
const worldOptions = { themeTasteFromGenres: Number(args['taste-from-genres']) };
const historyContext = !args['no-history'];
const world = createWorld(worldConfig, worldOptions);
log(`artwork bench: ${worldConfig.members} members, ${worldConfig.titles} titles, ~${worldConfig.sessionsPerMember} sessions each, seed ${worldConfig.seed}, theme taste from genres ${worldOptions.themeTasteFromGenres}, history context ${historyContext ? 'on' : 'off'}`);

const overrides = aw.BanditConfigSchema.partial().parse(JSON.parse(args.config));
const results = new Map<string, SimResult>();
for (const p of args.policies.split(',') as SimPolicy[]) {
  const t0 = performance.now();
  const r = simulatePolicy(world, { policy: p, config: overrides, historyContext });
  results.set(p, r);
  log(`  ${p.padEnd(15)} ${r.impressions} impressions  quality plays/1k: realised ${per1k(r.qualityPlays, r.impressions)}, expected ${per1k(r.expectedQualityPlays, r.impressions)}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const uni = results.get('uniform');
const ora = results.get('oracle');
const share = (r: SimResult, k: 'qualityPlays' | 'expectedQualityPlays') =>
  uni && ora ? r3((r[k] / r.impressions - uni[k] / uni.impressions) / (ora[k] / ora.impressions - uni[k] / uni.impressions)) : null;
const bucketShare = (r: SimResult, b: number) => {
  if (!uni || !ora) return null;
  const rate = (x: SimResult) => x.byBucket[b]!.expectedQualityPlays / Math.max(1, x.byBucket[b]!.impressions);
  return r3((rate(r) - rate(uni)) / (rate(ora) - rate(uni)));
};
const policies: Record<string, unknown> = {};
log('\n  policy          QP/1k real  QP/1k exp  oracle-lift share (expected; realised)  by impressions seen (expected): ' + DEFAULT_BUCKETS.map((b) => `<=${b}`).join(' '));
for (const [name, r] of results) {
  const byBucket = DEFAULT_BUCKETS.map((upTo, b) => ({ upTo: Number.isFinite(upTo) ? upTo : null, impressions: r.byBucket[b]!.impressions, expected_qp_per_1k: per1k(r.byBucket[b]!.expectedQualityPlays, Math.max(1, r.byBucket[b]!.impressions)), oracle_lift_share: bucketShare(r, b) }));
  policies[name] = {
    impressions: r.impressions,
    quality_plays_per_1k: per1k(r.qualityPlays, r.impressions),
    expected_quality_plays_per_1k: per1k(r.expectedQualityPlays, r.impressions),
    oracle_lift_share: share(r, 'expectedQualityPlays'),
    oracle_lift_share_realised: share(r, 'qualityPlays'),
    by_bucket: byBucket,
  };
  log(`  ${name.padEnd(15)} ${String(per1k(r.qualityPlays, r.impressions)).padStart(9)}  ${String(per1k(r.expectedQualityPlays, r.impressions)).padStart(9)}  ${String(share(r, 'expectedQualityPlays')).padStart(8)}; ${String(share(r, 'qualityPlays')).padEnd(28)} ${byBucket.map((b) => b.oracle_lift_share).join(' ')}`);
}

let clickbait: Record<string, unknown> | null = null;
if (!args['skip-clickbait']) {
  const cbWorld = createWorld(worldConfig, { ...worldOptions, clickbait: true });
  const byClicks = simulatePolicy(cbWorld, { policy: 'thompson', reward: aw.CLICK, config: overrides, historyContext });
  const byQuality = simulatePolicy(cbWorld, { policy: 'thompson', reward: aw.QUALITY_PLAY, config: overrides, historyContext });
  const uniCb = simulatePolicy(cbWorld, { policy: 'uniform' });
  const row = (r: SimResult) => ({
    clickbait_share: r3(r.clickbaitShown / Math.max(1, r.clickbaitEligible)),
    plays_per_1k: per1k(r.plays, r.impressions),
    quality_plays_per_1k: per1k(r.qualityPlays, r.impressions),
    expected_quality_plays_per_1k: per1k(r.expectedQualityPlays, r.impressions),
  });
  clickbait = { uniform: row(uniCb), click_rewarded: row(byClicks), quality_rewarded: row(byQuality) };
  const c = clickbait as Record<string, ReturnType<typeof row>>;
  clickbait.passed = c.click_rewarded!.clickbait_share > c.uniform!.clickbait_share && c.quality_rewarded!.clickbait_share < c.uniform!.clickbait_share && c.quality_rewarded!.quality_plays_per_1k > c.click_rewarded!.quality_plays_per_1k;
  log('\n  clickbait world (share of eligible impressions showing the clickbait artwork, plays, quality plays per 1k):');
  for (const [k, v] of Object.entries(c)) if (typeof v === 'object') log(`  ${k.padEnd(17)} ${JSON.stringify(v)}`);
  log(`  check: ${clickbait.passed ? 'passed' : 'FAILED'} (click-rewarded shows more clickbait than uniform, quality-rewarded less, and earns fewer quality plays)`);
}

// Selection time for a 50-card page: a viewer with 300 settled impressions, fresh choices (nothing sticky); the same
// workload bench:browser times in the worker.
const workload = aw.selectionWorkload(50);
const times: number[] = [];
for (let r = 0; r < 400; r++) {
  const t0 = performance.now();
  workload.choosePage(r);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const select50 = { p50_ms: r3(quantile(times, 0.5)), p95_ms: r3(quantile(times, 0.95)), draws: workload.viewer.config.thompsonDraws };
log(`\n  selection, 50 fresh cards (Thompson, ${select50.draws} draws): p50 ${select50.p50_ms} ms, p95 ${select50.p95_ms} ms (Node, this process)`);

const th = policies.thompson as { oracle_lift_share: number } | undefined;
const order = ['uniform', 'population', 'thompson'].map((p) => (policies[p] as { expected_quality_plays_per_1k: number } | undefined)?.expected_quality_plays_per_1k);
if (args.json) {
  console.log(JSON.stringify({
    world: { ...worldConfig, ...worldOptions },
    history_context: historyContext,
    impressions: uni?.impressions ?? [...results.values()][0]?.impressions,
    policies,
    ordering_uniform_lt_population_lt_thompson: order.every((x) => x !== undefined) ? order[0]! < order[1]! && order[1]! < order[2]! : null,
    thompson_oracle_lift_share: th?.oracle_lift_share ?? null,
    clickbait,
    select_50_cards: select50,
  }));
}
