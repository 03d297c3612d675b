/** npm run eval -- --data PATH --format ... [--model DIR] [--json] */
import { parseCliArgs, COMMON_USAGE } from './args.ts';
import { runPipeline } from '../pipeline.ts';
import type { Metrics } from '../metrics.ts';
import { BASELINE_LABELS, type BaselineName } from '../baselines.ts';

const USAGE = `usage: npm run eval -- --data PATH --format FORMAT [--model DIR] [--json] [options]
  Leave-one-out (last interaction = test, previous = validation, users with >= 3), HR@10 / NDCG@10 / MRR under full
  ranking and 100 sampled negatives, for the model, MostPop, ItemKNN, ItemKNN-last and recency-weighted item-kNN
  (baselines fit on the model's training interactions). Without --model it trains with the defaults.
${COMMON_USAGE}
  --model DIR            evaluate a saved artifact instead of training
  --out DIR              when training, also save the artifact
  --json                 last stdout line: {"model":{"full":{...},"sampled100":{...}},"mostpop":...,"itemknn":...,
                         "itemknn_last":...,"itemknn_recency":...,"stop_reason":...,"best_epoch":...,"members":...,
                         ...}; with more than one member also "members_detail" (each member's seed, epochs,
                         best epoch, stop reason, validation NDCG@10, seconds) and "member_threads"; with
                         --train.refitEpochs N also "model_before_refit" (same run) and "refit_epochs"`;

try {
  const o = parseCliArgs(process.argv.slice(2), USAGE);
  const r = await runPipeline(o);
  if (!o.json) {
    const row = (name: string, p?: { full: Metrics; sampled100: Metrics }) =>
      p ? `${name.padEnd(14)} ${[p.full.hr10, p.full.ndcg10, p.full.mrr, p.sampled100.hr10, p.sampled100.ndcg10, p.sampled100.mrr].map((x) => x.toFixed(4).padStart(8)).join(' ')}` : '';
    process.stdout.write(
      [`${r.users} users, ${r.items} items, train ${r.train_seconds.toFixed(1)}s, eval ${r.eval_seconds.toFixed(1)}s`,
        `${''.padEnd(14)} ${['full HR', 'NDCG', 'MRR', 's100 HR', 'NDCG', 'MRR'].map((x) => x.padStart(8)).join(' ')}`,
        row('model', r.model), row('before refit', r.model_before_refit), ...(Object.keys(BASELINE_LABELS) as BaselineName[]).map((k) => row(BASELINE_LABELS[k], r[k])),
        r.epochs !== undefined ? `epochs ${r.epochs} (best ${r.best_epoch}, ${r.stop_reason}), ${r.positions_per_sec!.toFixed(0)} positions/s` : '',
        r.achieved_gflops !== undefined ? `model ${r.achieved_gflops.toFixed(2)} GFLOP/s achieved vs ${r.matmul_gflops!.toFixed(2)} GFLOP/s plain matMul (${r.backend}), ratio ${(r.achieved_gflops / r.matmul_gflops!).toFixed(2)}` : '',
      ].filter(Boolean).join('\n') + '\n',
    );
  }
  else process.stdout.write(JSON.stringify(r) + '\n');
} catch (e) {
  process.stderr.write(`eval: ${(e as Error).stack ?? (e as Error).message}\n`);
  process.exit(1);
}
