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
import { createWorld, qualityPlayProbability, type Title, type World } from '@marquee/core/synthetic';
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
type Trace = { member: string; title: Title; context: Float64Array }[];
const uniformTrace: Trace = [];
for (const p of args.policies.split(',') as SimPolicy[]) {
  const t0 = performance.now();
  const r = simulatePolicy(world, { policy: p, config: overrides, historyContext, ...(p === 'uniform' ? { trace: uniformTrace } : {}) });
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
/**
 * What choosing on history can reach at best in this world: each theme's true member taste regressed on the
 * member's history context for that theme (least squares with an intercept, in-sample over the uniform log's
 * impressions: exact, not learned), and each impression's artwork chosen greedily on the prediction. Shares of the
 * oracle's lift over uniform on the same impressions.
 */
function historyCeiling(w: World, trace: Trace): number | null {
  if (trace.length === 0) return null;
  const themes = aw.ARTWORK_THEMES.filter((t) => t !== 'clickbait');
  const idx = themes.map((t) => aw.themeIndex(t)!);
  const taste = (member: string) => w._truth.themeTaste[w.memberById.get(member)!.index]!;
  const fits = idx.map((i, k) => {
    let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const { member, context } of trace) {
      const x = context[i]!;
      const y = taste(member)[k]!;
      n++; sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    const slope = (sxy - (sx * sy) / n) / Math.max(1e-12, sxx - (sx * sx) / n);
    return { intercept: sy / n - (slope * sx) / n, slope };
  });
  let uniform = 0, oracle = 0, greedy = 0;
  for (const { member, title, context } of trace) {
    const p = title.artworks.map((a) => qualityPlayProbability(w, member, title.id, a.id));
    const predicted = (theme: string) => { const k = (themes as readonly string[]).indexOf(theme); return k < 0 ? 0 : fits[k]!.intercept + fits[k]!.slope * context[idx[k]!]!; };
    const score = title.artworks.map((a) => a.themes.reduce((s2, th) => s2 + predicted(th), 0) / a.themes.length);
    uniform += p.reduce((a, b) => a + b, 0) / p.length;
    oracle += Math.max(...p);
    greedy += p[score.indexOf(Math.max(...score))]!;
  }
  return (greedy - uniform) / (oracle - uniform);
}
const ceiling = uni && ora && historyContext ? historyCeiling(world, uniformTrace) : null;
if (ceiling !== null) log(`\n  ceiling (greedy on the true taste regressed on the history context, in-sample): ${r3(ceiling)} of the oracle's lift`);

/**
 * 95% intervals by the bootstrap over members (1,000 resamples, seed 1): members are independent, and every
 * policy runs the same members (same sessions, rows and world draws: common random numbers), so a resample takes
 * the same members for every policy and the share's ratio and the policies' differences keep their pairing.
 */
const RESAMPLES = 1000;
const members = uni ? [...uni.byMember.keys()] : [];
const bootstrapIdx: Int32Array[] = [];
{
  const rng = new aw.Rng(1);
  for (let b = 0; b < RESAMPLES && members.length > 0; b++) bootstrapIdx.push(Int32Array.from({ length: members.length }, () => rng.int(members.length)));
}
/** Share of the oracle's lift on the policy's own impressions (exact uniform and oracle values there). */
const shareOf = (r: SimResult, pick: Int32Array | null) => {
  let lift = 0, room = 0;
  for (let j = 0; j < members.length; j++) {
    const m = r.byMember.get(members[pick ? pick[j]! : j]!);
    if (m) { lift += m.lift; room += m.room; }
  }
  return lift / room;
};
const interval = (f: (pick: Int32Array) => number): [number, number] | null => {
  if (!uni || !ora || bootstrapIdx.length === 0) return null;
  const v = bootstrapIdx.map(f).sort((a, b) => a - b);
  return [r3(quantile(v, 0.025)), r3(quantile(v, 0.975))];
};

const policies: Record<string, unknown> = {};
log('\n  policy          QP/1k real  QP/1k exp  oracle-lift share on its own impressions [95% CI] (of the ceiling); against the uniform and oracle runs (expected; realised)  by impressions seen (expected): ' + DEFAULT_BUCKETS.map((b) => `<=${b}`).join(' '));
for (const [name, r] of results) {
  const byBucket = DEFAULT_BUCKETS.map((upTo, b) => ({ upTo: Number.isFinite(upTo) ? upTo : null, impressions: r.byBucket[b]!.impressions, expected_qp_per_1k: per1k(r.byBucket[b]!.expectedQualityPlays, Math.max(1, r.byBucket[b]!.impressions)), oracle_lift_share: bucketShare(r, b) }));
  policies[name] = {
    impressions: r.impressions,
    quality_plays_per_1k: per1k(r.qualityPlays, r.impressions),
    expected_quality_plays_per_1k: per1k(r.expectedQualityPlays, r.impressions),
    oracle_lift_share_paired: uni && ora ? r3(shareOf(r, null)) : null,
    oracle_lift_share_paired_ci95: interval((pick) => shareOf(r, pick)),
    ceiling_share: ceiling && uni && ora ? r3(shareOf(r, null) / ceiling) : null,
    ceiling_share_ci95: ceiling ? interval((pick) => shareOf(r, pick) / ceiling) : null,
    oracle_lift_share: share(r, 'expectedQualityPlays'),
    oracle_lift_share_realised: share(r, 'qualityPlays'),
    by_bucket: byBucket,
  };
  const row = policies[name] as { oracle_lift_share_paired: number | null; oracle_lift_share_paired_ci95: [number, number] | null; ceiling_share: number | null };
  log(`  ${name.padEnd(15)} ${String(per1k(r.qualityPlays, r.impressions)).padStart(9)}  ${String(per1k(r.expectedQualityPlays, r.impressions)).padStart(9)}  ${String(row.oracle_lift_share_paired).padStart(7)} [${row.oracle_lift_share_paired_ci95?.join(', ') ?? '-'}] (of the ceiling ${row.ceiling_share}); ${String(share(r, 'expectedQualityPlays'))}; ${String(share(r, 'qualityPlays')).padEnd(8)} ${byBucket.map((b) => b.oracle_lift_share).join(' ')}`);
}
/** A paired difference of share, a minus b (the same members in every resample). */
const step = (a: SimResult, b: SimResult) => ({ share: r3(shareOf(a, null) - shareOf(b, null)), ci95: interval((pick) => shareOf(a, pick) - shareOf(b, pick)) });
/** The ordering's steps. */
const pop = results.get('population');
const contextual = ['thompson', 'epsilon-greedy', 'linucb'].filter((p) => results.has(p));
const ordering = pop && uni && ora ? {
  population_minus_uniform: { share: r3(shareOf(pop, null)), ci95: interval((pick) => shareOf(pop, pick)) },
  ...Object.fromEntries(contextual.map((p) => [`${p}_minus_population`, step(results.get(p)!, pop)])),
} : null;
if (ordering) for (const [k, v] of Object.entries(ordering)) log(`  ${k.padEnd(34)} share ${v.share} [${v.ci95?.join(', ') ?? '-'}]`);
/** Between the contextual policies, for the default (BANDIT_DEFAULTS.policy): every pair, the earlier minus the later. */
const contextualPairs = uni && ora ? Object.fromEntries(contextual.flatMap((a, i) => contextual.slice(i + 1).map((b) => [`${a}_minus_${b}`, step(results.get(a)!, results.get(b)!)]))) : null;
if (contextualPairs) for (const [k, v] of Object.entries(contextualPairs)) log(`  ${k.padEnd(34)} share ${v.share} [${v.ci95?.join(', ') ?? '-'}]`);

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

const th = policies.thompson as { oracle_lift_share_paired: number | null } | undefined;
const order = ['uniform', 'population', 'thompson'].map((p) => (policies[p] as { expected_quality_plays_per_1k: number } | undefined)?.expected_quality_plays_per_1k);
if (args.json) {
  console.log(JSON.stringify({
    world: { ...worldConfig, ...worldOptions },
    history_context: historyContext,
    impressions: uni?.impressions ?? [...results.values()][0]?.impressions,
    policies,
    ordering_uniform_lt_population_lt_thompson: order.every((x) => x !== undefined) ? order[0]! < order[1]! && order[1]! < order[2]! : null,
    ordering_steps: ordering,
    contextual_steps: contextualPairs,
    history_ceiling_share: ceiling === null ? null : r3(ceiling),
    thompson_oracle_lift_share: th?.oracle_lift_share_paired ?? null,
    clickbait,
    select_50_cards: select50,
  }));
}
