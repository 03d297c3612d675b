/**
 * `npm run bench:train [-- --data SPEC] [-- --format F] [-- --seconds N] [-- --workers 1,2] [-- --json]`
 *
 * Training throughput with 1 and 2 data-parallel replicas, back to back in one process on the same data: positions/s
 * over optimizer steps only, each replica's own positions/s (its gradient time, waiting excluded), the model's
 * achieved GFLOP/s and its ratio to a plain 512x512 matMul measured in the same process (best of before/after, the
 * less disturbed reading on a shared machine). Default data: the sparse synthetic preset. A benchmark, not a test.
 * Human text goes to stderr; `--json` prints one JSON line last on stdout.
 */
import { parseArgs } from 'node:util';
import { buildDataset, FORMATS, fit, initNodeBackend, leaveOneOut, loadRawData, measureMatMulGflops, summarize, type Format } from '@marquee/model/node';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'preset=sparse' },
    format: { type: 'string', default: 'synthetic' },
    seconds: { type: 'string', default: '60' },
    workers: { type: 'string', default: '1,2' },
    json: { type: 'boolean', default: false },
  },
});
const format = FORMATS.find((f) => f === args.format);
if (!format) throw new Error(`--format must be one of ${FORMATS.join('|')}`);
const seconds = Number(args.seconds);
const counts = args.workers.split(',').map(Number);

await initNodeBackend('wasm');
const d = buildDataset(await loadRawData(format satisfies Format, args.data));
const split = leaveOneOut(d);
const s = summarize(d);
process.stderr.write(`data ${s.name}: ${s.users} users, ${s.items} items, ${s.interactions} interactions; ${seconds} s per run\n`);
const runs = [];
for (const workers of counts) {
  const before = measureMatMulGflops();
  const r = await fit(d, split, { train: { workers, timeBudgetSec: seconds, maxEpochs: 1, valUsers: 100 } });
  const matmul = Math.max(before, measureMatMulGflops());
  Object.values(r.params).forEach((t) => t.dispose());
  const row = {
    workers,
    steps_seconds: r.stepSeconds,
    positions: r.positions,
    positions_per_sec: r.positions / r.stepSeconds,
    replica_positions_per_sec: r.replicaPositionsPerSec,
    achieved_gflops: r.achievedGflops,
    matmul_gflops: matmul,
    ratio: r.achievedGflops / matmul,
  };
  runs.push(row);
  process.stderr.write(`workers ${workers}: ${row.positions_per_sec.toFixed(0)} positions/s (replicas ${row.replica_positions_per_sec.map((x) => x.toFixed(0)).join(', ')}); ` +
    `model ${row.achieved_gflops.toFixed(2)} GFLOP/s vs matMul ${matmul.toFixed(2)} (ratio ${row.ratio.toFixed(2)})\n`);
}
if (runs.length > 1) process.stderr.write(`speed-up ${counts.at(-1)} vs ${counts[0]} workers: ${(runs.at(-1)!.positions_per_sec / runs[0]!.positions_per_sec).toFixed(2)}x\n`);
if (args.json) process.stdout.write(JSON.stringify({ data: s.name, seconds, runs }) + '\n');
