import { artwork as aw, fnv1a32 } from '@marquee/core';
import { SeededRandom } from '../packages/core/src/random.ts';
const rates = [0.1, 0.3, 0.5], logging = [0.78, 0.2, 0.02], tp = [0.1, 0.2, 0.7], truth = 0.42;
const acts = rates.map((_, k) => ({ id: `a${k}`, features: rates.map((_, j) => (j === k ? 1 : 0)) }));
const logOf = (seed: number, n: number) => { const rng = new SeededRandom(fnv1a32(`calibration|${seed}`)); const log: aw.LoggedDecision[] = [];
  for (let i = 0; i < n; i++) { const u = rng.next(); const a = u < logging[0]! ? 0 : u < logging[0]! + logging[1]! ? 1 : 2; log.push({ context: [], actions: acts, action: a, position: 0, reward: rng.next() < rates[a]! ? 1 : 0, propensity: logging[a]! }); } return log; };
for (const [reps, n, B] of [[300, 500, 0], [300, 500, 499], [300, 2000, 0], [300, 2000, 499]] as const) {
  const by = new Map<string, { c: number; w: number }>();
  for (let rep = 0; rep < reps; rep++) {
    const log = logOf(rep, n); const b = B ? { resamples: B, seed: rep } : undefined;
    for (const e of [aw.ips(log, () => tp, undefined, b), aw.snips(log, () => tp, undefined, b), aw.doublyRobust(log, () => tp, { bootstrap: b })]) {
      const s = by.get(e.estimator) ?? { c: 0, w: 0 }; if (e.ciLow <= truth && truth <= e.ciHigh) s.c++; s.w += (e.ciHigh - e.ciLow) / reps; by.set(e.estimator, s); } }
  console.log(`${reps} logs of ${n}, ${B ? `bootstrap-t ${B}` : 'normal'}: ` + [...by].map(([k, s]) => `${k} ${(100 * s.c / reps).toFixed(1)}% w ${s.w.toFixed(4)}`).join('  '));
}
