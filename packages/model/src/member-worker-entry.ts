/**
 * An ensemble member's worker (started by member-workers.ts): its own wasm backend, the dataset and split rebuilt
 * from what it is sent, one `fit` from start to end; posts each epoch as it ends and the chosen weights at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MemberWorkerInitSchema, type MemberWorkerReply } from '@marquee/core';
import { initNodeBackend } from './backend-node.ts';
import { leaveOneOut } from './data/split.ts';
import { fit } from './train.ts';

const port = parentPort;
if (!port) throw new Error('member-worker-entry: must run in a worker thread');
const reply = (m: MemberWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const init = MemberWorkerInitSchema.parse(workerData);
  await initNodeBackend('wasm');
  // fit derives the data's part of the config (item count, genres, year buckets) from the dataset itself.
  const { numItems: _n, numGenres: _g, numYearBuckets: _y, yearBucketStart: _s, yearBucketWidth: _w, ...model } = init.model;
  const r = await fit(init.dataset, leaveOneOut(init.dataset), { model, train: init.train, onEpoch: (epoch) => reply({ type: 'epoch', epoch }) });
  const tensors = [];
  for (const [name, t] of Object.entries(r.params)) {
    const values = (await t.data()) as Float32Array | Int32Array;
    tensors.push({ name, shape: t.shape, values });
    t.dispose();
  }
  const { config: _c, train: _t, params: _p, ...result } = r;
  reply({ type: 'done', tensors, ...result }, [...tensors.map((t) => t.values.buffer as ArrayBuffer), r.trainCut.buffer as ArrayBuffer]);
} catch (e) {
  reply({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
