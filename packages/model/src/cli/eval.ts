/** npm run eval -- --data PATH --format ... [--model DIR] [--json] */
import { parseArgs, COMMON_USAGE } from './args.ts';
import { runPipeline } from '../pipeline.ts';
import type { Metrics } from '../metrics.ts';

const USAGE = `usage: npm run eval -- --data PATH --format FORMAT [--model DIR] [--json] [options]
  Leave-one-out (last interaction = test, previous = validation, users with >= 3), HR@10 / NDCG@10 / MRR under full
  ranking and 100 sampled negatives, for the model, MostPop and ItemKNN. Without --model it trains with the defaults.
${COMMON_USAGE}
  --model DIR            evaluate a saved artifact instead of training
  --out DIR              when training, also save the artifact
  --json                 last stdout line: {"model":{"full":{...},"sampled100":{...}},"mostpop":...,"itemknn":...,...}`;

try {
  const o = parseArgs(process.argv.slice(2), USAGE);
  const r = await runPipeline(o);
  if (!o.json) {
    const row = (name: string, p?: { full: Metrics; sampled100: Metrics }) =>
      p ? `${name.padEnd(14)} ${[p.full.hr10, p.full.ndcg10, p.full.mrr, p.sampled100.hr10, p.sampled100.ndcg10, p.sampled100.mrr].map((x) => x.toFixed(4).padStart(8)).join(' ')}` : '';
    process.stdout.write(
      [`${r.users} users, ${r.items} items, train ${r.train_seconds.toFixed(1)}s, eval ${r.eval_seconds.toFixed(1)}s`,
        `${''.padEnd(14)} ${['full HR', 'NDCG', 'MRR', 's100 HR', 'NDCG', 'MRR'].map((x) => x.padStart(8)).join(' ')}`,
        row('model', r.model), row('MostPop', r.mostpop), row('ItemKNN', r.itemknn), row('ItemKNN-last', r.itemknn_last),
        r.achieved_gflops !== undefined ? `model ${r.achieved_gflops.toFixed(2)} GFLOP/s achieved vs ${r.matmul_gflops!.toFixed(2)} GFLOP/s plain matMul (${r.backend})` : '',
      ].filter(Boolean).join('\n') + '\n',
    );
  }
  else process.stdout.write(JSON.stringify(r) + '\n');
} catch (e) {
  process.stderr.write(`eval: ${(e as Error).stack ?? (e as Error).message}\n`);
  process.exit(1);
}
