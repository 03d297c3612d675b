/**
 * `npm run bench:train [-- --data SPEC] [-- --format F] [-- --seconds N] [-- --workers 1,2] [-- --backend B]
 *   [-- --tokens 2048,16384] [-- --epochs N] [-- --json]`
 *
 * Training throughput with 1 and 2 data-parallel replicas, back to back in one process on the same data: positions/s
 * over optimizer steps only, each replica's own positions/s (its gradient time, waiting excluded), the model's
 * achieved GFLOP/s and its ratio to a plain 512x512 matMul measured in the same process (best of before/after, the
 * less disturbed reading on a shared machine). Default data: the sparse synthetic preset. A benchmark, not a test.
 * `--backend webgpu` (one replica; the optional `webgpu` package, Dawn, and a GPU) and `--tokens` (positions per
 * optimizer step, one run each) measure a GPU server; `--epochs N` trains exactly N epochs with no time budget, so
 * two backends' per-epoch losses (`losses`) are over the same steps and can be compared.
 * Human text goes to stderr; `--json` prints one JSON line last on stdout.
 */
import { parseArgs } from 'node:util';
import { buildDataset, FORMATS, fit, initNodeBackend, leaveOneOut, loadRawData, measureMatMulGflops, NODE_BACKENDS, summarize, type Format } from '@marquee/model/node';
import { TRAIN_DEFAULTS } from '@marquee/model';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'preset=sparse' },
    format: { type: 'string', default: 'synthetic' },
    seconds: { type: 'string', default: '60' },
    workers: { type: 'string', default: '1,2' },
    backend: { type: 'string', default: 'wasm' },
    tokens: { type: 'string', default: String(TRAIN_DEFAULTS.tokensPerBatch) },
    epochs: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const format = FORMATS.find((f) => f === args.format);
if (!format) throw new Error(`--format must be one of ${FORMATS.join('|')}`);
const backend = NODE_BACKENDS.find((b) => b === args.backend);
if (!backend) throw new Error(`--backend must be one of ${NODE_BACKENDS.join('|')}`);
const seconds = Number(args.seconds);
const epochs = args.epochs === undefined ? undefined : Number(args.epochs);
const counts = args.workers.split(',').map(Number);
const tokenCounts = args.tokens.split(',').map(Number);
if (backend !== 'wasm' && counts.some((w) => w !== 1)) throw new Error(`--workers above 1 needs --backend wasm (each replica starts its own); use --workers 1 with ${backend}`);

const started = await initNodeBackend(backend);
if (started.backend !== backend) throw new Error(`--backend ${backend} did not start (got ${started.backend})`);
const d = buildDataset(await loadRawData(format satisfies Format, args.data));
const split = leaveOneOut(d);
const s = summarize(d);
process.stderr.write(`data ${s.name}: ${s.users} users, ${s.items} items, ${s.interactions} interactions; backend ${backend}; ${epochs === undefined ? `${seconds} s per run` : `${epochs} epochs per run`}\n`);
const runs = [];
for (const workers of counts) {
  for (const tokensPerBatch of tokenCounts) {
    const before = await measureMatMulGflops();
    // A fixed number of epochs: no time budget (the longest the config allows) and no early stop before them.
    const schedule = epochs === undefined ? { timeBudgetSec: seconds, maxEpochs: 1 } : { timeBudgetSec: 7 * 24 * 3600, maxEpochs: epochs, patience: epochs };
    const maxSequencesPerBatch = Math.max(TRAIN_DEFAULTS.maxSequencesPerBatch, Math.ceil((TRAIN_DEFAULTS.maxSequencesPerBatch * tokensPerBatch) / TRAIN_DEFAULTS.tokensPerBatch));
    const r = await fit(d, split, { train: { workers, tokensPerBatch, maxSequencesPerBatch, valUsers: 100, ...schedule } });
    const matmul = Math.max(before, await measureMatMulGflops());
    Object.values(r.params).forEach((t) => t.dispose());
    const row = {
      workers,
      tokens_per_batch: tokensPerBatch,
      steps_seconds: r.stepSeconds,
      positions: r.positions,
      positions_per_sec: r.positions / r.stepSeconds,
      replica_positions_per_sec: r.replicaPositionsPerSec,
      achieved_gflops: r.achievedGflops,
      matmul_gflops: matmul,
      ratio: r.achievedGflops / matmul,
      losses: r.epochs.map((e) => e.loss),
      // Per epoch, over its optimizer steps: the first includes one-off costs (a GPU backend's shader compilation).
      epoch_step_seconds: r.epochs.map((e) => +e.stepSeconds.toFixed(3)),
    };
    runs.push(row);
    process.stderr.write(`workers ${workers}, ${tokensPerBatch} tokens per step: ${row.positions_per_sec.toFixed(0)} positions/s (replicas ${row.replica_positions_per_sec.map((x) => x.toFixed(0)).join(', ')}); ` +
      `model ${row.achieved_gflops.toFixed(2)} GFLOP/s vs matMul ${matmul.toFixed(2)} (ratio ${row.ratio.toFixed(2)}); losses ${row.losses.map((l) => l.toFixed(5)).join(', ')}\n`);
  }
}
if (counts.length > 1 && tokenCounts.length === 1) process.stderr.write(`speed-up ${counts.at(-1)} vs ${counts[0]} workers: ${(runs.at(-1)!.positions_per_sec / runs[0]!.positions_per_sec).toFixed(2)}x\n`);
if (args.json) process.stdout.write(JSON.stringify({ data: s.name, backend, seconds: epochs === undefined ? seconds : null, epochs: epochs ?? null, runs }) + '\n');
process.exit(0); // a webgpu device keeps Node alive otherwise
