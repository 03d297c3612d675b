// Compares two `bench:train --epochs N --json` runs over the same data, seed and steps (e.g. wasm and webgpu): per
// tokens-per-step setting, each epoch's mean training loss on both, the largest relative difference, and positions/s
// of the later epochs' optimizer steps (the first epoch also compiles a GPU backend's shaders). One JSON line.
// usage: node compare-losses.mjs REFERENCE.json OTHER.json [TOLERANCE, default 1e-3 relative]
import { readFileSync } from 'node:fs';

const [refPath, otherPath, tol = '1e-3'] = process.argv.slice(2);
if (!refPath || !otherPath) throw new Error('usage: node compare-losses.mjs REFERENCE.json OTHER.json [TOLERANCE]');
const lastLine = (path) => JSON.parse(readFileSync(path, 'utf8').trim().split('\n').at(-1));
const ref = lastLine(refPath);
const other = lastLine(otherPath);
const tolerance = Number(tol);

const steady = (run) => {
  const later = run.epoch_step_seconds.slice(1);
  const perEpoch = run.positions / run.epoch_step_seconds.length; // every epoch trains the same windows
  return later.length ? Math.round((perEpoch * later.length) / later.reduce((a, b) => a + b, 0)) : null;
};
const rows = other.runs.flatMap((o) => {
  const r = ref.runs.find((x) => x.tokens_per_batch === o.tokens_per_batch && x.losses.length === o.losses.length);
  if (!r) return [];
  const rel = o.losses.map((l, i) => Math.abs(l - r.losses[i]) / Math.abs(r.losses[i]));
  const maxRel = Math.max(...rel);
  return [{
    tokens_per_batch: o.tokens_per_batch,
    [`${ref.backend}_losses`]: r.losses,
    [`${other.backend}_losses`]: o.losses,
    max_relative_difference: +maxRel.toExponential(3),
    within_tolerance: maxRel <= tolerance,
    [`${ref.backend}_positions_per_sec`]: Math.round(r.positions_per_sec),
    [`${other.backend}_positions_per_sec`]: Math.round(o.positions_per_sec),
    [`${ref.backend}_later_epochs_positions_per_sec`]: steady(r),
    [`${other.backend}_later_epochs_positions_per_sec`]: steady(o),
  }];
});
console.log(JSON.stringify({ data: other.data, epochs: other.epochs, tolerance, rows }));
