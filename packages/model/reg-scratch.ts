import { initNodeBackend } from './src/backend-node.ts';
import { loadRawData } from './src/data/load-node.ts';
import { buildDataset, summarize } from './src/data/dataset.ts';
import { leaveOneOut } from './src/data/split.ts';
import { fit } from './src/train.ts';
await initNodeBackend('wasm');
const spec = process.argv[2] ?? '';
const d = buildDataset(await loadRawData('synthetic', spec || undefined));
const split = leaveOneOut(d);
console.log(JSON.stringify(summarize(d)));
const epochs = Number(process.argv[3] ?? 6);
const configs: Record<string, object> = JSON.parse(process.argv[4] ?? '{"base":{}}');
for (const [name, train] of Object.entries(configs)) {
  const t0 = Date.now();
  const r = await fit(d, split, { train: { maxEpochs: epochs, patience: epochs, timeBudgetSec: 3000, ...train } });
  console.log(JSON.stringify({ name, train, val: r.epochs.map((e) => +e.valNdcg10.toFixed(4)), loss: r.epochs.map((e) => +e.loss.toFixed(3)), best: r.bestValNdcg10, bestEpoch: r.bestEpoch, s: (Date.now() - t0) / 1000, pps: Math.round(r.positions / r.stepSeconds) }));
  Object.values(r.params).forEach((t) => t.dispose());
}
