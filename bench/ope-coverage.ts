/**
 * `npm run bench:ope [-- --json] [-- --reps 100] [-- --n 50000] [-- --workers 2] [-- --first 0]`
 *
 * Coverage of the off-policy estimators on the simulator. A synthetic world (500 members, 500 titles, seed 1) gives
 * each (member, title, artwork) its true quality-play probability. Each repetition logs `n` impressions (member and
 * title uniformly at random, the artwork uniformly at random, the reward a Bernoulli draw of the true probability),
 * then estimates three target policies from that log with replay, IPS, SNIPS and DR:
 * - oracle: the artwork with the highest true probability (deterministic);
 * - bright-first: an artwork tagged 'bright' when the title has one (ties split), else uniform;
 * - soft-oracle: a softmax of the true probabilities at temperature 0.05.
 * A target's on-policy value is its exact expected reward over the same context distribution (every member x title).
 * Reported: the share of repetitions whose 95% interval covers it (target >= 90%) with its Monte-Carlo standard error
 * (sqrt(c (1 - c) / reps)), mean interval widths, the errors in standard errors (z = (estimate - value) / stdError:
 * mean ~0 and sd ~1 when the interval is centred and as wide as it should be), and DR's width relative to IPS's
 * (target < 1). `--workers W` splits the repetitions over W processes (repetition r is seeded 1000 + r wherever it
 * runs, so the figures do not depend on W; `--first F` runs repetitions F .. F + reps - 1, so runs of 400 from 0
 * and 600 from 400 hold the same repetitions as one run of 1,000).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { artwork as aw } from '@marquee/core';
import { createWorld, qualityPlayProbability, SeededRandom } from '@marquee/core/synthetic';

const { values: args } = parseArgs({ options: { json: { type: 'boolean', default: false }, reps: { type: 'string', default: '100' }, n: { type: 'string', default: '50000' }, seed: { type: 'string', default: '1' }, workers: { type: 'string', default: '1' }, first: { type: 'string', default: '0' }, part: { type: 'string' } } });
const REPS = Number(args.reps);
const N = Number(args.n);
const WORKERS = Math.max(1, Number(args.workers));
const FIRST = Number(args.first);
// `--part k/W`: a child process running repetitions k, k + W, ...; it prints its raw sums as JSON.
const part = args.part ? args.part.split('/').map(Number) : null;
const log = (...a: unknown[]) => console.error(...a);

const world = createWorld({ seed: Number(args.seed), members: 500, titles: 500 });
const M = world.members.length;
const T = world.titles.length;
if (!part) log(`OPE coverage: ${M} members x ${T} titles, ${REPS} repetitions (from ${FIRST}) of ${N} uniformly logged impressions${WORKERS > 1 ? `, ${WORKERS} processes` : ''}`);
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
const targetProbs: Record<string, Probs> = {
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
// Every (member, title)'s probabilities per target, computed once: the estimators ask for them per decision, per rep.
const probsByTarget: Record<string, number[][]> = Object.fromEntries(
  Object.entries(targetProbs).map(([name, pi]) => [name, Array.from({ length: M * T }, (_, mt) => pi(mt))]),
);
const truth: Record<string, number> = {};
for (const [name, probs] of Object.entries(probsByTarget)) {
  let s = 0;
  for (let mt = 0; mt < M * T; mt++) probs[mt]!.forEach((p, k) => (s += p * q[mt]![k]!));
  truth[name] = s / (M * T);
}
if (!part) log(`on-policy values: ${Object.entries(truth).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);

const estimators = ['replay', 'ips', 'snips', 'dr'] as const;
type Cell = { covered: number; width: number; bias: number; z: number; z2: number };
type Stats = Record<string, Record<string, Cell>>;
const emptyStats = (): Stats => Object.fromEntries(Object.keys(targetProbs).map((name) => [name, Object.fromEntries(estimators.map((e) => [e, { covered: 0, width: 0, bias: 0, z: 0, z2: 0 }]))]));
const coverageSoFar = (stats: Stats, reps: number) =>
  Object.entries(stats).map(([name, byEst]) => `${name} ${estimators.map((e) => `${e} ${byEst[e]!.covered}/${reps}`).join(' ')}`).join(' | ');

/** Repetitions FIRST + k, FIRST + k + step, ... (REPS of them in all parts): each cell's sums over them. */
function runRepetitions(k: number, step: number): Stats {
  const stats = emptyStats();
  // One actions list per title, shared by its decisions (the estimators only read it).
  const actionsOf = feats.map((f, t) => f.map((features, k) => ({ id: `${t}:${k}`, features })));
  const noContext: number[] = [];
  const mtOf = new Int32Array(N);
  const t0 = performance.now();
  let done = 0;
  for (let rep = FIRST + k; rep < FIRST + REPS; rep += step) {
    const rng = new SeededRandom(1000 + rep);
    const decisions: aw.LoggedDecision[] = new Array(N);
    for (let i = 0; i < N; i++) {
      const m = rng.int(M);
      const t = rng.int(T);
      const mt = m * T + t;
      mtOf[i] = mt;
      const K = world.titles[t]!.artworks.length;
      const a = rng.int(K);
      decisions[i] = { context: noContext, actions: actionsOf[t]!, action: a, position: 0, reward: rng.next() < q[mt]![a]! ? 1 : 0, propensity: 1 / K };
    }
    // DR's direct models do not depend on the target: fitted once per log.
    const models = aw.crossFitRewardModels(decisions);
    for (const [name, probs] of Object.entries(probsByTarget)) {
      const target: aw.TargetPolicy = (_d, i) => probs[mtOf[i]!]!;
      const r = aw.evaluatePolicy(decisions, target, name, { seed: rep, models });
      for (const e of r.estimates) {
        const s = stats[name]![e.estimator]!;
        const err = e.value - truth[name]!;
        if (e.ciLow <= truth[name]! && truth[name]! <= e.ciHigh) s.covered++;
        s.width += e.ciHigh - e.ciLow;
        s.bias += err;
        s.z += err / e.stdError;
        s.z2 += (err / e.stdError) ** 2;
      }
    }
    done++;
    if (done % 10 === 0) {
      // Coverage so far, so that a run cut short still says something.
      log(`  ${part ? `part ${k + 1}/${step}: ` : ''}${done} repetitions (${((performance.now() - t0) / 1000).toFixed(0)} s): ${coverageSoFar(stats, done)}`);
    }
  }
  return stats;
}

/** Runs the parts in child processes (this script with `--part k/W`) and adds up their sums. */
async function runInProcesses(workers: number): Promise<Stats> {
  const script = fileURLToPath(import.meta.url);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, k) => new Promise<Stats>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, script, '--reps', String(REPS), '--n', String(N), '--seed', String(args.seed), '--first', String(FIRST), '--part', `${k}/${workers}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Stats) : reject(new Error(`part ${k}/${workers} exited with ${code}`))));
    })),
  );
  const total = emptyStats();
  for (const p of parts) {
    for (const [name, byEst] of Object.entries(total)) {
      for (const [e, cell] of Object.entries(byEst)) {
        const c = p[name]![e]!;
        cell.covered += c.covered;
        cell.width += c.width;
        cell.bias += c.bias;
        cell.z += c.z;
        cell.z2 += c.z2;
      }
    }
  }
  return total;
}

if (part) {
  const [k, w] = part as [number, number];
  console.log(JSON.stringify(runRepetitions(k, w)));
} else {
  const t0 = performance.now();
  const stats = WORKERS > 1 ? await runInProcesses(WORKERS) : runRepetitions(0, 1);
  const pct = (x: number) => (100 * x).toFixed(1);
  const out: Record<string, unknown> = {};
  for (const [name, byEst] of Object.entries(stats)) {
    const row: Record<string, unknown> = { on_policy_value: +truth[name]!.toFixed(5) };
    const parts: string[] = [];
    for (const [e, s] of Object.entries(byEst)) {
      const coverage = s.covered / REPS;
      // Monte-Carlo standard error of the coverage, from its own binomial.
      const coverageSe = Math.sqrt((coverage * (1 - coverage)) / REPS);
      const zMean = s.z / REPS;
      const zSd = Math.sqrt(Math.max(0, s.z2 / REPS - zMean * zMean));
      row[e] = { coverage, coverage_se: +coverageSe.toFixed(4), mean_ci_width: +(s.width / REPS).toFixed(5), mean_bias: +(s.bias / REPS).toFixed(5), z_mean: +zMean.toFixed(3), z_sd: +zSd.toFixed(3) };
      parts.push(`${e} ${pct(coverage)}+-${pct(coverageSe)}% w ${(s.width / REPS).toFixed(4)} z ${zMean.toFixed(2)}/${zSd.toFixed(2)}`);
    }
    row.dr_over_ips_width = +(byEst.dr!.width / byEst.ips!.width).toFixed(3);
    out[name] = row;
    log(`${name.padEnd(13)} value ${truth[name]!.toFixed(4)}  ${parts.join('  ')}  DR/IPS width ${(byEst.dr!.width / byEst.ips!.width).toFixed(3)}`);
  }
  const passed = Object.values(stats).every((s) => s.ips!.covered >= 0.9 * REPS && s.snips!.covered >= 0.9 * REPS && s.dr!.covered >= 0.9 * REPS && s.dr!.width < s.ips!.width);
  log(`target (IPS, SNIPS, DR cover >= 90%, DR narrower than IPS): ${passed ? 'met' : 'MISSED'}; ${((performance.now() - t0) / 1000).toFixed(0)} s (z: mean/sd of the errors in standard errors)`);
  if (args.json) console.log(JSON.stringify({ reps: REPS, first: FIRST, n: N, workers: WORKERS, targets: out, passed }));
}
