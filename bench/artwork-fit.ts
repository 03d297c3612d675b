/**
 * `npm run bench:artwork-fit [-- --json] [-- --members 500] [-- --taste-from-genres 0.5] [-- --policies thompson,epsilon-greedy,linucb]
 *   [-- --config '{"priorPrecision":1000}'] [-- --unweighted]`
 *
 * Where the contextual policies lose the oracle's lift: the population model of taste (theme effects and history
 * weights, fitted on every viewer's impressions and published with the priors) fitted on a uniform log against the
 * same model fitted on each policy's own log, in the same seeded world. For each fit: its coefficients, and the share
 * of the oracle's lift (expected quality plays) that choosing greedily on its predicted taste would earn on the
 * uniform log's impressions (each member's history context as it was at the impression). Then each policy live, once
 * learning the model from its own log (as bench:artwork and the server do), once with the uniform log's model fixed:
 * the gap between the two is what the own-log fit costs, the gap between the latter and the greedy figure what the
 * policy's own exploration costs. The own-log fit is weighted by 1 / (K x propensity), capped, as the server's is;
 * `--unweighted` fits it as the server did before the typed copy kept the propensity.
 *
 * A diagnostic benchmark, not a test. Human text goes to stderr; `--json` prints one JSON line last on stdout.
 */
import { parseArgs } from 'node:util';
import { artwork as aw } from '@marquee/core';
import { createWorld, qualityPlayProbability, type Title, type World } from '@marquee/core/synthetic';
import { simulatePolicy, type PopulationFit } from './artwork-sim.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    members: { type: 'string', default: '500' },
    sessions: { type: 'string', default: '8' },
    titles: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    policies: { type: 'string', default: 'thompson,epsilon-greedy,linucb' },
    config: { type: 'string', default: '{}' },
    'taste-from-genres': { type: 'string', default: '0.5' },
    unweighted: { type: 'boolean', default: false },
  },
});
const log = (...a: unknown[]) => console.error(...a);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const world = createWorld({ seed: Number(args.seed), members: Number(args.members), titles: Number(args.titles), sessionsPerMember: Number(args.sessions) }, { themeTasteFromGenres: Number(args['taste-from-genres']) });
const config = aw.BanditConfigSchema.partial().parse(JSON.parse(args.config));
type Trace = { member: string; title: Title; context: Float64Array }[];

/** Share of the oracle's lift over uniform from choosing each traced impression's artwork greedily on the fit. */
function greedyShare(w: World, fit: PopulationFit, trace: Trace): number {
  let uniform = 0;
  let oracle = 0;
  let greedy = 0;
  for (const { member, title, context } of trace) {
    const p = title.artworks.map((a) => qualityPlayProbability(w, member, title.id, a.id));
    const taste = aw.predictedTaste(fit, context);
    const score = aw.titleFeatures(title.artworks).map((x) => x.reduce((s, v, i) => s + v * taste[i]!, 0));
    uniform += p.reduce((s, v) => s + v, 0) / p.length;
    oracle += Math.max(...p);
    greedy += p[score.indexOf(Math.max(...score))]!;
  }
  return (greedy - uniform) / (oracle - uniform);
}

const trace: Trace = [];
const uniform = simulatePolicy(world, { policy: 'uniform', trace });
const oracle = simulatePolicy(world, { policy: 'oracle' });
const rate = (r: { expectedQualityPlays: number; impressions: number }) => r.expectedQualityPlays / r.impressions;
const liveShare = (r: { expectedQualityPlays: number; impressions: number }) => r3((rate(r) - rate(uniform)) / (rate(oracle) - rate(uniform)));
const coefficients = (f: PopulationFit) => ({ themeEffects: f.themeEffects.map(r3), weights: f.weights.map(r3) });
const maxAbs = (v: readonly number[]) => r3(Math.max(...v.map(Math.abs)));
log(`artwork fit: ${args.members} members, s = ${args['taste-from-genres']}, ${uniform.impressions} impressions per policy, expected quality plays/1k uniform ${(1000 * rate(uniform)).toFixed(1)}, oracle ${(1000 * rate(oracle)).toFixed(1)}`);
const uniformGreedy = r3(greedyShare(world, uniform.fit, trace));
log(`  uniform log's fit: |theme effect| <= ${maxAbs(uniform.fit.themeEffects)}, |weight| <= ${maxAbs(uniform.fit.weights)}; greedy on it: ${uniformGreedy} of the oracle's lift`);
const policies: Record<string, unknown> = {};
for (const p of args.policies.split(',') as aw.PolicyName[]) {
  const own = simulatePolicy(world, { policy: p, config, uniformWeights: !args.unweighted });
  const fixed = simulatePolicy(world, { policy: p, config, fixedModel: { ...uniform.fit, ...(uniform.betweenViewerVar !== null ? { betweenViewerVar: uniform.betweenViewerVar } : {}) } });
  const agree = own.fit.weights.filter((w, i) => i < aw.FEATURE_DIM - 1 && Math.sign(w) === Math.sign(uniform.fit.weights[i]!)).length;
  const row = {
    own_fit: coefficients(own.fit),
    own_fit_max_abs_theme_effect: maxAbs(own.fit.themeEffects),
    own_fit_max_abs_weight: maxAbs(own.fit.weights),
    own_fit_weight_signs_as_uniform_fit: `${agree}/${aw.FEATURE_DIM - 1}`,
    own_fit_greedy_share: r3(greedyShare(world, own.fit, trace)),
    live_share_own_fit: liveShare(own),
    live_share_uniform_fit_fixed: liveShare(fixed),
  };
  policies[p] = row;
  log(`  ${p.padEnd(15)} own-log fit: |theme effect| <= ${row.own_fit_max_abs_theme_effect}, |weight| <= ${row.own_fit_max_abs_weight}, weight signs as the uniform fit's ${row.own_fit_weight_signs_as_uniform_fit}; greedy on it ${row.own_fit_greedy_share}; live: own fit ${row.live_share_own_fit}, uniform fit fixed ${row.live_share_uniform_fit_fixed}`);
}
if (args.json) {
  console.log(JSON.stringify({
    world: { members: Number(args.members), themeTasteFromGenres: Number(args['taste-from-genres']), seed: Number(args.seed), impressions: uniform.impressions },
    config, uniform_weights: !args.unweighted,
    expected_qp_per_1k: { uniform: r3(1000 * rate(uniform)), oracle: r3(1000 * rate(oracle)) },
    uniform_fit: { ...coefficients(uniform.fit), greedy_share: uniformGreedy },
    policies,
  }));
}
