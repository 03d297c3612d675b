/**
 * `npm run bench:experiments [-- --json] [-- --quick] [-- --events N] [-- --dir DATA_DIR]`
 *
 * Proves the experiment statistics on seeded simulations, then measures the rest:
 * 1. A/A: 500 tests on a world of members with persistent heterogeneity (plays/day ~ Gamma(2) x 0.25, Poisson
 *    days); false-positive rate of the fixed-horizon Welch test read once at day 28 (target [0.03, 0.07]), and of
 *    the always-valid mSPRT read every day for 28 days (target <= 0.05).
 * 2. Power: a +3% effect on plays per member, at the sample size the design gives 80% power; observed power over
 *    500 tests against the predicted one (target within 5 points). CUPED (the 28 days before exposure as covariate)
 *    narrows the interval by the reported factor (target >= 20%).
 * 3. Interleaving vs A/B on the synthetic world: members needed to pick the better ranker 95% of the time (model vs
 *    popularity, model vs a slightly worse model); target interleaving >= 10x fewer.
 * 4. The diverse-page experiment: pure-relevance page vs the MMR diversity policy, A/B over members (quality plays,
 *    viewing hours, with the server's analysis) and team-draft interleaving of the Top Picks row.
 * 5. The results route over ~1M stored events (DuckDB, in-process `app.request`): time to compute (target <= 2 s).
 *    With `--dir`, the store is a file in DATA_DIR, kept: filled on the first run, reused (as the server would
 *    reopen it, upgraded by any new migration) on the next.
 *
 * A benchmark, not a test: text on stderr, `--json` prints one JSON line last on stdout.
 */
import { parseArgs } from 'node:util';
import {
  cuped, cupedSums, ExperimentSchema, teamDraft, interleavingPreference, moments, normalQuantile, power, sampleSizePerArm, sequentialTest, welch,
  type DiversityPolicy,
} from '@marquee/core';
import { SeededRandom } from '@marquee/core/synthetic';
import { DIVERSITY_DEFAULTS, quantile } from '@marquee/core';
import { analyse, createApp, DuckDbEventStore, ExperimentDefinitions, simulateExperimentEvents, teamCredits, type UnitRow } from '@marquee/server';
import { memberPages, noisyOracle, pageSessions, popularityRanker, rowOutcomes, viewers } from './experiments-world.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    tests: { type: 'string', default: '500' },
    events: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '11' },
    /** Which checks to run, e.g. 3,4 (default all). */
    only: { type: 'string', default: '1,2,3,4,5' },
    /** Check 5's store: a data directory kept between runs (default: in memory). */
    dir: { type: 'string' },
  },
});
const QUICK = args.quick;
const TESTS = QUICK ? 100 : Number(args.tests);
const SEED = Number(args.seed);
const ONLY = new Set(args.only.split(',').map(Number));
const log = (...a: unknown[]) => console.error(...a);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ALPHA = 0.05;
const DAYS = 28;

// Members with persistent heterogeneity: a rate per member, Poisson plays per day.
function gamma2(rng: SeededRandom): number {
  // Gamma(2, 1) as the sum of two exponentials.
  return -Math.log(1 - rng.next()) - Math.log(1 - rng.next());
}
function poisson(rng: SeededRandom, lambda: number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > l) {
    k++;
    p *= rng.next();
  }
  return k;
}
const RATE_SCALE = 0.25; // mean 0.5 plays per member-day

/** 1. A/A tests: fixed-horizon and always-valid false-positive rates. */
function aaTests(perArm: number) {
  let fixedFp = 0;
  let seqFp = 0;
  for (let test = 0; test < TESTS; test++) {
    const rng = new SeededRandom(SEED * 1_000_003 + test);
    const arms = [0, 1].map(() => Array.from({ length: perArm }, () => RATE_SCALE * gamma2(rng)));
    const cum = arms.map(() => new Float64Array(perArm));
    let rejected = false;
    let minP = 1;
    for (let day = 0; day < DAYS; day++) {
      for (let a = 0; a < 2; a++) for (let i = 0; i < perArm; i++) cum[a]![i]! += poisson(rng, arms[a]![i]!);
      const d = welch(moments(cum[0]!), moments(cum[1]!), ALPHA);
      const tau = 0.05 * moments(cum[0]!).mean;
      minP = Math.min(minP, sequentialTest(d, tau * tau, ALPHA).pValue);
      if (minP <= ALPHA) rejected = true;
      if (day === DAYS - 1 && d.pValue <= ALPHA) fixedFp++;
    }
    if (rejected) seqFp++;
  }
  return { tests: TESTS, units_per_arm: perArm, fixed_horizon_fpr: fixedFp / TESTS, always_valid_fpr_daily_peeking: seqFp / TESTS };
}

/** 2. Power of a +3% effect at the designed sample size, and CUPED's narrowing. */
function powerTests() {
  // Per-member 28-day plays: mean 28 * 0.5 = 14, variance 14 + 28^2 * Var(rate) = 14 + 784 * 0.125 = 112.
  const mean = DAYS * 2 * RATE_SCALE;
  const sd = Math.sqrt(mean + DAYS * DAYS * 2 * RATE_SCALE * RATE_SCALE);
  const delta = 0.03 * mean;
  const perArm = sampleSizePerArm(delta, sd, 0.8, ALPHA);
  const predicted = power(delta, sd, perArm, perArm, ALPHA);
  let detected = 0;
  let cupedDetected = 0;
  let widthRatio = 0;
  for (let test = 0; test < TESTS; test++) {
    const rng = new SeededRandom(SEED * 2_000_003 + test);
    const sums = [0, 1].map((a) => {
      const y = new Float64Array(perArm);
      const x = new Float64Array(perArm);
      for (let i = 0; i < perArm; i++) {
        const rate = RATE_SCALE * gamma2(rng);
        x[i] = poisson(rng, DAYS * rate); // the 28 days before exposure
        y[i] = poisson(rng, DAYS * rate * (a === 1 ? 1.03 : 1));
      }
      return cupedSums(y, x);
    });
    const c = cuped(sums[0]!, sums[1]!, ALPHA);
    if (c.raw.pValue <= ALPHA && c.raw.estimate > 0) detected++;
    if (c.pValue <= ALPHA && c.estimate > 0) cupedDetected++;
    widthRatio += c.widthRatio / TESTS;
  }
  return {
    effect: '+3% plays per member',
    units_per_arm: perArm,
    per_member_sd: r3(sd),
    predicted_power: r3(predicted),
    observed_power: r3(detected / TESTS),
    power_gap_points: r3(100 * Math.abs(detected / TESTS - predicted)),
    cuped_observed_power: r3(cupedDetected / TESTS),
    cuped_interval_narrower_by: r3(1 - widthRatio),
  };
}

/**
 * Members needed so that the better ranker is picked 95% of the time.
 * A/B: half the members see each ranker; the true difference is the mean of the exact expected plays; the noise
 * is the simulated per-member variance: n = 2 z^2 (vA + vB) / diff^2 with z = z_0.95 (one-sided: right sign).
 * Interleaving: each member gives +1, -1 or 0: n = z^2 var / mean^2.
 * Normal approximations need n of a few dozen at least; below 50, n is found by resampling the simulated outcomes.
 */
function membersNeeded(o: ReturnType<typeof rowOutcomes>, rng: SeededRandom) {
  const z = normalQuantile(0.95);
  const diff = moments(o.expA).mean - moments(o.expB).mean;
  const va = moments(o.playsA).variance;
  const vb = moments(o.playsB).variance;
  const ci = moments(o.credit);
  let ab = Math.ceil((2 * z * z * (va + vb)) / (diff * diff));
  let il = Math.ceil((z * z * ci.variance) / (ci.mean * ci.mean));
  const R = 2000;
  const abRate = (n: number) => {
    const half = Math.max(1, Math.round(n / 2));
    let right = 0;
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let k = 0; k < half; k++) s += o.playsA[rng.int(o.playsA.length)]! - o.playsB[rng.int(o.playsB.length)]!;
      if (Math.sign(s) === Math.sign(diff)) right++;
    }
    return right / R;
  };
  const ilRate = (n: number) => {
    let right = 0;
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += o.credit[rng.int(o.credit.length)]!;
      if (Math.sign(s) === Math.sign(ci.mean)) right++;
    }
    return right / R;
  };
  if (ab < 50) for (ab = 2; ab < 200 && abRate(ab) < 0.95; ab += 2);
  if (il < 50) for (il = 1; il < 200 && ilRate(il) < 0.95; il++);
  return { ab, il, diff, pref: ci.mean, abCheck: ab <= 20_000 ? abRate(ab) : null, ilCheck: il <= 20_000 ? ilRate(il) : null };
}

let cachedViewers: ReturnType<typeof viewers> | null = null;
const viewersFor = (members: number) => (cachedViewers ??= viewers(members));

/**
 * Mean sessions per member during the test (x the member's activity, Poisson): 10 is the headline; fewer sessions
 * per member is the resolution at which model vs popularity needs more than a member or two by either method.
 */
const SESSIONS_SWEEP = [10, 3, 1, 0.3];

function interleaving(members: number) {
  const v = viewersFor(members);
  const model = noisyOracle(v, 1.0, 101);
  const out: Record<string, unknown> = {};
  for (const [name, other] of [['model_vs_popularity', popularityRanker(v)], ['model_vs_worse_model', noisyOracle(v, 1.5, 202)]] as const) {
    const sweep = SESSIONS_SWEEP.map((sessions) => {
      const o = rowOutcomes(v, model, other, members, SEED, 8, 10, sessions);
      const n = membersNeeded(o, new SeededRandom(SEED + 5));
      const row = {
        sessions_per_member: sessions,
        expected_plays_per_member_a: r3(moments(o.expA).mean),
        expected_plays_per_member_b: r3(moments(o.expB).mean),
        members_with_a_play_interleaved: r3(moments(Float64Array.from(o.credit, (c) => (c !== 0 ? 1 : 0))).mean),
        interleaving_preference: r3(n.pref),
        ab_members_for_95pct: n.ab,
        interleaving_members_for_95pct: n.il,
        ratio: r3(n.ab / n.il),
        resampled_pick_rate_ab: n.abCheck,
        resampled_pick_rate_interleaving: n.ilCheck,
      };
      log(`  ${name}, ${sessions} sessions per member: expected plays per member ${row.expected_plays_per_member_a} vs ${row.expected_plays_per_member_b}; A/B needs ${n.ab} members, interleaving ${n.il} (x${row.ratio}); resampled pick rate at that n: A/B ${n.abCheck ?? '-'}, interleaving ${n.ilCheck ?? '-'}`);
      return row;
    });
    out[name] = { ...sweep[0]!, by_sessions_per_member: sweep };
  }
  return { members_simulated: members, draws_per_member: 8, rankers: 'model = true play logit + N(0, 1) noise; worse = + N(0, 1.5); popularity = plays in the world history', ...out };
}

function diversityExperiment(members: number) {
  const v = viewersFor(members);
  const model = noisyOracle(v, 1.0, 101);
  const policy: DiversityPolicy = { ...DIVERSITY_DEFAULTS };
  const rows: UnitRow[] = [];
  const credit = [0, 0, 0];
  for (let m = 0; m < members; m++) {
    const variant = m % 2 === 0 ? 'relevance' : 'diverse';
    const [plain, diverse] = memberPages(v, m, model, [null, policy]);
    const pre = pageSessions(v, m, plain!, 10, SEED + 1);
    const post = pageSessions(v, m, variant === 'diverse' ? diverse! : plain!, 10, SEED + 2);
    rows.push({
      unit: `m${m}`, variant, nVariants: 1, exposures: 1, t0: 0, plays: post.plays, impressions: post.impressions, qualityPlays: post.qualityPlays,
      viewingHours: post.viewingHours, prePlays: pre.plays, preViewingHours: pre.viewingHours, day1: null, day7: null,
    });
    // Interleaving where it applies: the Top Picks row, diverse (A) against relevance (B), the rest of the page as is.
    const teams = teamDraft(diverse![0]!, plain![0]!, plain![0]!.length, `m${m}`);
    const il = pageSessions(v, m, [teams.titleIds, ...plain!.slice(1)], 10, SEED + 3, teams);
    credit[il.credit + 1]!++;
  }
  const e = ExperimentSchema.parse({ id: 'diverse-page', traffic: 1, variants: [{ id: 'relevance', weight: 1 }, { id: 'diverse', weight: 1, params: { diversity: policy } }] });
  const r = analyse(e, rows);
  const metric = (name: string) => {
    const m = r.metrics.find((x) => x.metric === name)!;
    const vs = m.vsControl[0]!;
    return { relevance: r3(m.arms[0]!.value), diverse: r3(m.arms[1]!.value), relative: r3(vs.fixedHorizon.relative ?? 0), ci: vs.fixedHorizon.ci.map(r3), p: r3(vs.fixedHorizon.pValue), cuped_relative: vs.cuped ? r3(vs.cuped.relative ?? 0) : undefined, cuped_ci: vs.cuped?.ci.map(r3) };
  };
  const pref = interleavingPreference(credit[2]!, credit[0]!, credit[1]!);
  const q = metric('quality_plays_per_unit');
  const h = metric('viewing_hours_per_unit');
  const sig = (x: { ci: number[] }) => x.ci[0]! > 0 || x.ci[1]! < 0;
  const winner = sig(q) || sig(h) ? (q.relative + h.relative > 0 ? 'diverse' : 'relevance') : 'no significant difference';
  return {
    members,
    policy,
    quality_plays_per_member: q,
    viewing_hours_per_member: h,
    plays_per_member: metric('plays_per_unit'),
    top_picks_interleaving: { diverse_wins: credit[2], relevance_wins: credit[0], ties: credit[1], preference: r3(pref.estimate), ci: pref.ci.map(r3) },
    winner,
  };
}

async function resultsTiming(events: number) {
  // The treatment interleaves, so the timing includes the team attribution over the stored events.
  const e = ExperimentSchema.parse({ id: 'timing', traffic: 1, variants: [{ id: 'control', weight: 1 }, { id: 'treatment', weight: 1, params: { interleaveWith: { model: 0, popularity: 1, trending: 0 } } }] });
  const units = Math.round(events / 175); // ~175 events per simulated member over 28 days
  const t0 = performance.now();
  const store = await DuckDbEventStore.open(args.dir ?? ':memory:');
  if ((await store.count()) === 0) {
    const evs = simulateExperimentEvents(e, { units, seed: SEED, effect: { treatment: 1.03 } });
    for (let i = 0; i < evs.length; i += 50_000) await store.append(evs.slice(i, i + 50_000), Date.now());
  }
  const loadMs = performance.now() - t0;
  const definitions = new ExperimentDefinitions(null);
  await definitions.write([e], 0);
  const app = createApp({ store, writeKeys: ['k'], adminToken: 'a', corsOrigins: [], experiments: definitions });
  const times: number[] = [];
  let exposed = 0;
  let interleaved: { units: number; impressions: number } | null = null;
  for (let i = 0; i < 4; i++) {
    const s = performance.now();
    const res = await app.request('/v1/experiments/timing/results', { headers: { authorization: 'Bearer a' } });
    const body = (await res.json()) as { units: { exposed: number }[]; interleaving?: { units: number; impressions: { A: number; B: number } }[] };
    times.push(performance.now() - s);
    exposed = body.units.reduce((n, u) => n + u.exposed, 0);
    interleaved = body.interleaving?.[0] ? { units: body.interleaving[0].units, impressions: body.interleaving[0].impressions.A + body.interleaving[0].impressions.B } : null;
  }
  const later = times.slice(1).sort((a, b) => a - b);
  // The attribution query alone, on the same store (median of 3).
  const credits: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    await teamCredits(store, e.id);
    credits.push(performance.now() - s);
  }
  credits.sort((a, b) => a - b);
  // The same experiment read as a plain A/B test (no variant interleaves, so no team attribution): 3 calls.
  await definitions.write([ExperimentSchema.parse({ ...e, variants: e.variants.map((v) => ({ ...v, params: {} })) })], 1);
  const plain: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    const res = await app.request('/v1/experiments/timing/results', { headers: { authorization: 'Bearer a' } });
    if ((await res.json()).interleaving) throw new Error('the plain A/B reading still interleaves');
    plain.push(performance.now() - s);
  }
  const stored = await store.count();
  await store.close();
  return { stored_events: stored, exposed_units: exposed, interleaved, team_attribution_ms_median: Math.round(quantile(credits, 0.5)), without_interleaving_ms_median: Math.round(quantile(plain.sort((a, b) => a - b), 0.5)), load_s: r3(loadMs / 1000), first_call_ms: Math.round(times[0]!), results_ms_median: Math.round(quantile(later, 0.5)), results_ms_all: times.map(Math.round) };
}

log(`bench:experiments: ${TESTS} simulated tests per check, seed ${SEED}${QUICK ? ' (quick)' : ''}`);
const report: Record<string, unknown> = {};
let t = performance.now();
if (ONLY.has(1)) {
  const aa = (report.aa = aaTests(QUICK ? 500 : 1000));
  log(`1. A/A (${aa.tests} tests, ${aa.units_per_arm} per arm, 28 days): fixed-horizon FPR ${aa.fixed_horizon_fpr} (target 0.03-0.07); always-valid FPR peeking daily ${aa.always_valid_fpr_daily_peeking} (target <= 0.05)  [${Math.round(performance.now() - t)} ms]`);
}
t = performance.now();
if (ONLY.has(2)) {
  const pw = (report.power = powerTests());
  log(`2. +3% effect, ${pw.units_per_arm} per arm: predicted power ${pw.predicted_power}, observed ${pw.observed_power} (gap ${pw.power_gap_points} points, target <= 5); CUPED: interval ${Math.round(100 * pw.cuped_interval_narrower_by)}% narrower (target >= 20%), power ${pw.cuped_observed_power}  [${Math.round(performance.now() - t)} ms]`);
}
t = performance.now();
if (ONLY.has(3)) {
  log('3. interleaving vs A/B on the synthetic world:');
  report.interleaving = interleaving(QUICK ? 1000 : 2000);
  log(`   [${Math.round(performance.now() - t)} ms]`);
}
t = performance.now();
if (ONLY.has(4)) {
  const div = (report.diversity = diversityExperiment(QUICK ? 1000 : 2000));
  log(`4. diverse page vs pure relevance (${div.members} members, 10 sessions each, the first 10 before exposure as CUPED covariate): quality plays/member ${div.quality_plays_per_member.relevance} -> ${div.quality_plays_per_member.diverse} (${div.quality_plays_per_member.relative >= 0 ? '+' : ''}${(100 * div.quality_plays_per_member.relative).toFixed(1)}%, CI ${JSON.stringify(div.quality_plays_per_member.ci)}); viewing hours/member ${div.viewing_hours_per_member.relevance} -> ${div.viewing_hours_per_member.diverse} (${(100 * div.viewing_hours_per_member.relative).toFixed(1)}%, CI ${JSON.stringify(div.viewing_hours_per_member.ci)}); Top Picks interleaving preference for diverse ${div.top_picks_interleaving.preference} CI ${JSON.stringify(div.top_picks_interleaving.ci)}; winner: ${div.winner}  [${Math.round(performance.now() - t)} ms]`);
}
t = performance.now();
if (ONLY.has(5)) {
  const timing = (report.results_timing = await resultsTiming(QUICK ? 200_000 : Number(args.events)));
  log(`5. results over ${timing.stored_events} stored events (${timing.exposed_units} exposed units; interleaved: ${JSON.stringify(timing.interleaved)}): first call ${timing.results_ms_all[0]} ms (cold: the store's typed copy taking in the last appended batches of 50k, or a store just reopened with --dir), then ${timing.results_ms_median} ms median of 3 (target <= 2000), of which team attribution ${timing.team_attribution_ms_median} ms; read as a plain A/B test (no attribution) ${timing.without_interleaving_ms_median} ms median of 3; loading took ${timing.load_s} s`);
}
if (args.json) console.log(JSON.stringify(report));
