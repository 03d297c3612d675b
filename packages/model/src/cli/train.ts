/** npm run train -- --data PATH --format movielens|sasrec|csv|store|synthetic --out DIR */
import { parseCliArgs, COMMON_USAGE } from './args.ts';
import { runPipeline } from '../pipeline.ts';

const USAGE = `usage: npm run train -- --data PATH --format FORMAT --out DIR [options]\n${COMMON_USAGE}\n  --json                 print the result as one JSON line on stdout`;

try {
  const o = parseCliArgs(process.argv.slice(2), USAGE);
  const out = o.out ?? 'artifacts/model';
  const r = await runPipeline({ ...o, out });
  const fmt = (m: { hr10: number; ndcg10: number; mrr: number }) => `HR@10 ${m.hr10.toFixed(4)} NDCG@10 ${m.ndcg10.toFixed(4)} MRR ${m.mrr.toFixed(4)}`;
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`test full: ${fmt(r.model.full)}\ntest sampled-100: ${fmt(r.model.sampled100)}\nartifact: ${out} (${r.manifest_version})\n`);
} catch (e) {
  process.stderr.write(`train: ${(e as Error).message}\n`);
  process.exit(1);
}
