import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from './src/backend-node.ts';
await initNodeBackend('wasm');
function bench(name: string, a: number[], b: number[], ta = false, tb = false) {
  const A = tf.randomNormal(a), Bm = tf.randomNormal(b);
  const run = () => { const c = tf.matMul(A as any, Bm as any, ta, tb); return c; };
  run().dispose();
  const t0 = performance.now(); let c: tf.Tensor | null = null;
  for (let i = 0; i < 5; i++) { c?.dispose(); c = run(); }
  const dt = (performance.now() - t0) / 5;
  const K = ta ? a[a.length-2] : a[a.length-1];
  const flops = 2 * c!.size * K;
  console.log(name.padEnd(40), dt.toFixed(2), 'ms', (flops/dt/1e6).toFixed(2), 'GFLOP/s');
  c!.dispose(); A.dispose(); Bm.dispose();
}
bench('proj [4000,64]x[64,192]', [4000,64],[64,192]);
bench('gradW [4000,64]^T x [4000,192]', [4000,64],[4000,192], true, false);
bench('gradX [4000,192] x [64,192]^T', [4000,192],[64,192], false, true);
bench('att [20,2,200,32]x[..]^T', [20,2,200,32],[20,2,200,32], false, true);
bench('att3d [40,200,32]x[40,200,32]^T', [40,200,32],[40,200,32], false, true);
bench('av [40,200,200]x[40,200,32]', [40,200,200],[40,200,32]);
bench('av^T [40,200,200]^T x[40,200,32]', [40,200,200],[40,200,32], true, false);
bench('loss [4000,64]x[128,64]^T', [4000,64],[128,64], false, true);
bench('sq512', [512,512],[512,512]);
bench('sq512 tb', [512,512],[512,512], false, true);
bench('sq512 ta', [512,512],[512,512], true, false);
bench('[4096,64]x[64,64]', [4096,64],[64,64]);
bench('[4096,256]x[256,64]', [4096,256],[256,64]);
