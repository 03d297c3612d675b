import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from './src/backend-node.ts';
import { makeModelConfig } from './src/config.ts';
import { initParams, sampledSoftmaxLoss, paramSpecs, forwardFlops } from './src/model.ts';
import { Rng } from './src/rng.ts';
await initNodeBackend(process.argv[2] as any ?? 'wasm');
const c = makeModelConfig({ numItems: 1682, numGenres: 18, numYearBuckets: 17, yearBucketStart: 1920, yearBucketWidth: 5 });
const r = new Rng(1);
const raw = initParams(c, { genres: new Float32Array(1683*18), year: new Int32Array(1683) }, () => r.normal());
const vars: tf.Variable[] = []; const p: any = {};
for (const s of paramSpecs(c)) { if (s.kind==='weight') { const v = tf.variable(raw[s.name]); p[s.name]=v; vars.push(v);} else p[s.name]=raw[s.name]; }
const opt = tf.train.adam(1e-3);
const B = Number(process.argv[3] ?? 20), T = Number(process.argv[4] ?? 200);
const items = new Int32Array(B*T).map(() => 1 + r.int(1682));
const positions = Int32Array.from({length: B*T}, (_, i) => i);
const batch = { B, T, items, events: new Int32Array(B*T), fracs: new Int32Array(B*T), positions, targets: items.map(x => 1 + (x % 1682)), negatives: Int32Array.from({length:128}, () => 1 + r.int(1682)) };
let seed = 1;
const profile = process.argv[5] === 'prof';
for (let i = 0; i < 6; i++) {
  const t0 = performance.now();
  if (profile && i === 5) {
    const info = await tf.profile(() => { const l = opt.minimize(() => sampledSoftmaxLoss(p, c, batch, { seed: () => seed++ }), true, vars)!; l.dataSync(); l.dispose(); });
    const agg = new Map<string, number>();
    for (const k of info.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    console.log([...agg].sort((a,b)=>b[1]-a[1]).slice(0,20).map(([k,v])=>`${k} ${v.toFixed(1)}`).join('\n'));
  } else {
  const l = opt.minimize(() => sampledSoftmaxLoss(p, c, batch, { seed: () => seed++ }), true, vars)!;
  l.dataSync(); l.dispose(); }
  const dt = performance.now() - t0;
  console.log(`step ${dt.toFixed(0)} ms, ${(B*T/dt*1000).toFixed(0)} pos/s, ${(3*forwardFlops(c,B,T,B*T,128)/dt/1e6).toFixed(2)} GFLOP/s`);
}
