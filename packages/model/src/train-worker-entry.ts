/**
 * A data-parallel gradient worker (started by train-workers.ts): a wasm backend, a replica of the dense weights and
 * their optimizer; computes the gradient of the batch shares it is sent (with the item-id rows sent beside them) and
 * applies the averaged gradients it is sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { TrainWorkerInitSchema, TrainWorkerRequestSchema, type TrainWorkerReply } from '@marquee/core';
import { initNodeBackend } from './backend-node.ts';
import { validateModelConfig } from './config.ts';
import { paramSpecs, type Params } from './model.ts';
import { ID_TABLE, IN_TABLE } from './train-workers.ts';
import { batchGradients, Updater } from './train-step.ts';

const port = parentPort;
if (!port) throw new Error('train-worker-entry: must run in a worker thread');
const reply = (m: TrainWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const init = TrainWorkerInitSchema.parse(workerData);
  await initNodeBackend('wasm');
  const c = validateModelConfig(init.model);
  const given = new Map(init.tensors.map((t) => [t.name, t.values]));
  const params: Params = {};
  const vars: tf.Variable[] = [];
  for (const s of paramSpecs(c)) {
    if (s.name === ID_TABLE || s.name === IN_TABLE) continue; // the main thread keeps them and sends the rows each step needs
    const v = given.get(s.name);
    if (!v) throw new Error(`missing initial tensor ${s.name}`);
    const t = tf.tensor(v, s.shape, s.dtype);
    if (s.kind === 'weight') {
      const w = tf.variable(t, true, `replica/${s.name}`);
      t.dispose();
      params[s.name] = w;
      vars.push(w);
    } else params[s.name] = t;
  }
  const updater = new Updater(init.optimizer, vars);
  port.on('message', async (m: unknown) => {
    try {
      const req = TrainWorkerRequestSchema.parse(m);
      if (req.type === 'apply') {
        const gs = req.grads.map((g, i) => tf.tensor(g, vars[i]!.shape));
        updater.apply(gs);
        tf.dispose(gs);
        return;
      }
      let s = req.dropoutSeed;
      const seed = () => (s = (s + 0x9e3779b9) >>> 0);
      const idKeep = req.idKeep ? tf.tensor2d(req.idKeep, [req.idKeep.length, 1]) : undefined;
      const t0 = performance.now();
      const { loss, grads, idGrad, inGrad } = batchGradients(params, vars, c, req.batch, req.rows, req.id, { seed, idKeep, attentionDropout: init.attentionDropout, labelSmoothing: init.labelSmoothing }, req.inId);
      const values = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
      const idValues = (await idGrad.data()) as Float32Array;
      const inValues = inGrad ? ((await inGrad.data()) as Float32Array) : undefined;
      const l = (await loss.data())[0] ?? NaN;
      const ms = performance.now() - t0;
      tf.dispose([loss, idGrad, ...(inGrad ? [inGrad] : []), ...grads]);
      idKeep?.dispose();
      const sent = [...values, idValues, ...(inValues ? [inValues] : [])];
      reply({ type: 'grads', loss: l, grads: values, idGrad: idValues, inGrad: inValues, ms }, sent.map((v) => v.buffer as ArrayBuffer));
    } catch (e) {
      reply({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  });
  reply({ type: 'ready' });
} catch (e) {
  reply({ type: 'error', message: (e as Error).stack ?? String(e) });
}
