/**
 * `npm run bench:ope [-- --json] [-- --reps 100] [-- --n 50000]`
 *
 * Coverage of the off-policy estimators on the simulator. A synthetic world (500 members, 500 titles, seed 1) gives
 * each (member, title, artwork) its true quality-play probability. Each repetition logs `n` impressions (member and
 * title uniformly at random, the artwork uniformly at random, the reward a Bernoulli draw of the true probability),
 * then estimates three target policies from that log with replay, IPS, SNIPS and DR:
 * - oracle: the artwork with the highest true probability (deterministic);
 * - bright-first: an artwork tagged 'bright' when the title has one (ties split), else uniform;
 * - soft-oracle: a softmax of the true probabilities at temperature 0.05.
 * A target's on-policy value is its exact expected reward over the same context distribution (every member x title).
 * Reported: the share of repetitions whose 95% interval covers it (target >= 90%), mean interval widths, and DR's
 * width relative to IPS's (target < 1).
 */
import { parseArgs } from 'node:util';
import { artwork as aw } from '@marquee/core';
import { createWorld, qualityPlayProbability, SeededRandom } from '@marquee/core/synthetic';

const { values: args } = parseArgs({ options: { json: { type: 'boolean', default: false }, reps: { type: 'string', default: '100' }, n: { type: 'string', default: '50000' }, seed: { type: 'string', default: '1' } } });
const REPS = Number(args.reps);
const N = Number(args.n);
const log = (...a: unknown[]) => console.error(...a);

const world = createWorld({ seed: Number(args.seed), members: 500, titles: 500 });
const M = world.members.length;
const T = world.titles.length;
log(`OPE coverage: ${M} members x ${T} titles, ${REPS} repetitions of ${N} uniformly logged impressions`);
// True quality-play probability of every (member, title, artwork).
const q: Float64Array[] = [];
for (const m of world.members) for (const t of world.titles) q.push(Float64Array.from(t.artworks, (a) => qualityPlayProbability(world, m.id, t.id, a.id)));
const feats = world.titles.map((t) => aw.titleFeatures(t.artworks).map((x) => Array.from(x)));

type Probs = (mt: number) => number[];
const argmaxProbs = (v: ArrayLike<number>) => {
  const m = Math.max(...Array.from(v));
  const best = Array.from(v, (x): number => (x >= m - 1e-15 ? 1 : 0));
  const s = best.reduce((a, b) => a + b, 0);
  return best.map((b) => b / s);
};
const targets: Record<string, Probs> = {
  oracle: (mt) => argmaxProbs(q[mt]!),
  'bright-first': (mt) => {
    const t = world.titles[mt % T]!;
    const bright = t.artworks.map((a): number => (a.themes.includes('bright') ? 1 : 0));
    return bright.some((b) => b) ? argmaxProbs(bright) : t.artworks.map(() => 1 / t.artworks.length);
  },
  'soft-oracle': (mt) => {
    const v = Array.from(q[mt]!, (x) => Math.exp(x / 0.05));
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((x) => x / s);
  },
};
const truth: Record<string, number> = {};
for (const [name, pi] of Object.entries(targets)) {
  let s = 0;
  for (let mt = 0; mt < M * T; mt++) pi(mt).forEach((p, k) => (s += p * q[mt]![k]!));
  truth[name] = s / (M * T);
}
log(`on-policy values: ${Object.entries(truth).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);

const estimators = ['replay', 'ips', 'snips', 'dr'] as const;
const stats: Record<string, Record<string, { covered: number; width: number; bias: number }>> = {};
for (const name of Object.keys(targets)) stats[name] = Object.fromEntries(estimators.map((e) => [e, { covered: 0, width: 0, bias: 0 }]));
const t0 = performance.now();
for (let rep = 0; rep < REPS; rep++) {
  const rng = new SeededRandom(1000 + rep);
  const decisions: aw.LoggedDecision[] = [];
  for (let i = 0; i < N; i++) {
    const m = rng.int(M);
    const t = rng.int(T);
    const mt = m * T + t;
    const K = world.titles[t]!.artworks.length;
    const a = rng.int(K);
    decisions.push({
      context: [],
      actions: feats[t]!.map((f, k) => ({ id: `${t}:${k}`, features: f })),
      action: a,
      position: 0,
      reward: rng.next() < q[mt]![a]! ? 1 : 0,
      propensity: 1 / K,
      meta: { mt: String(mt) },
    });
  }
  for (const [name, pi] of Object.entries(targets)) {
    // Each estimator asks the target for every decision: computed once per decision, as a cache (same values).
    const probs = decisions.map((d) => pi(Number(d.meta!.mt)));
    const target: aw.TargetPolicy = (_d, i) => probs[i]!;
    const r = aw.evaluatePolicy(decisions, target, name, { seed: rep });
    for (const e of r.estimates) {
      const s = stats[name]![e.estimator]!;
      if (e.ciLow <= truth[name]! && truth[name]! <= e.ciHigh) s.covered++;
      s.width += (e.ciHigh - e.ciLow) / REPS;
      s.bias += (e.value - truth[name]!) / REPS;
    }
  }
  if ((rep + 1) % 10 === 0) {
    // Coverage so far, so that a run cut short still says something.
    const so = Object.entries(stats).map(([name, byEst]) => `${name} ${estimators.map((e) => `${e} ${byEst[e]!.covered}/${rep + 1}`).join(' ')}`).join(' | ');
    log(`  ${rep + 1}/${REPS} repetitions (${((performance.now() - t0) / 1000).toFixed(0)} s): ${so}`);
  }
}
const out: Record<string, unknown> = {};
for (const [name, byEst] of Object.entries(stats)) {
  const row: Record<string, unknown> = { on_policy_value: +truth[name]!.toFixed(5) };
  for (const [e, s] of Object.entries(byEst)) row[e] = { coverage: s.covered / REPS, mean_ci_width: +s.width.toFixed(5), mean_bias: +s.bias.toFixed(5) };
  row.dr_over_ips_width = +(byEst.dr!.width / byEst.ips!.width).toFixed(3);
  out[name] = row;
  log(`${name.padEnd(13)} value ${truth[name]!.toFixed(4)}  ` + estimators.map((e) => `${e} cover ${(100 * byEst[e]!.covered / REPS).toFixed(0)}% width ${byEst[e]!.width.toFixed(4)}`).join('  ') + `  DR/IPS width ${(byEst.dr!.width / byEst.ips!.width).toFixed(3)}`);
}
const passed = Object.values(stats).every((s) => s.ips!.covered >= 0.9 * REPS && s.snips!.covered >= 0.9 * REPS && s.dr!.covered >= 0.9 * REPS && s.dr!.width < s.ips!.width);
log(`target (IPS, SNIPS, DR cover >= 90%, DR narrower than IPS): ${passed ? 'met' : 'MISSED'}`);
if (args.json) console.log(JSON.stringify({ reps: REPS, n: N, targets: out, passed }));
