/**
 * An ensemble's members trained side by side (Node, wasm): one worker thread per member, each with its own wasm
 * backend, running the same `fit` the main thread would. tfjs runs wasm on one core per thread (tfjs issue #3830)
 * and members share nothing while they train, so on two cores two members take the time of one, and each ends
 * weight for weight as it would on the main thread. Messages: @marquee/core's MemberWorker* schemas.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MemberWorkerReplySchema, type MemberWorkerInit } from '@marquee/core';
import { resolveTimeBudget, type ModelConfig, type TrainConfig } from './config.ts';
import type { Params } from './model.ts';
import type { Dataset } from './data/types.ts';
import type { EpochLog, FitResult } from './train.ts';
import { tsWorker } from './ts-worker.ts';

const ENTRY = new URL('./member-worker-entry.ts', import.meta.url);

/**
 * Train one model (config.members 1) of `config` with `train` in a worker thread; resolves with its FitResult, its
 * weights as tensors on this thread's backend. `onEpoch` hears each epoch as the worker finishes it; `signal`
 * stops the worker (the promise rejects).
 */
export function fitInWorker(d: Dataset, config: Readonly<ModelConfig>, train: Readonly<TrainConfig>, onEpoch?: (e: EpochLog) => void, signal?: AbortSignal): Promise<FitResult> {
  if (config.members !== 1) throw new Error(`fitInWorker trains one model, got members ${config.members}`);
  const init: MemberWorkerInit = { dataset: d, model: { ...config }, train: { ...train } };
  const who = `member worker (seed ${train.seed})`;
  // Already stopped (another member failed before this one started): start nothing, or it would train unheard.
  if (signal?.aborted) return Promise.reject(new Error(`${who}: stopped (${String(signal.reason)})`));
  return new Promise((resolve, reject) => {
    const worker = tsWorker(ENTRY, init);
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    worker.on('message', (m: unknown) => {
      const parsed = MemberWorkerReplySchema.safeParse(m);
      if (!parsed.success) return settle(() => reject(new Error(`${who}: malformed reply (${parsed.error.message})`)));
      const r = parsed.data;
      if (r.type === 'epoch') return onEpoch?.(r.epoch);
      if (r.type === 'error') return settle(() => reject(new Error(`${who}: ${r.message}`)));
      const { type: _type, tensors, ...result } = r;
      const params: Params = {};
      for (const t of tensors) params[t.name] = tf.tensor(t.values, t.shape, t.values instanceof Int32Array ? 'int32' : 'float32');
      settle(() => resolve({ ...result, config, train: Object.freeze({ ...train, timeBudgetSec: resolveTimeBudget(train, d.interactions) }), params }));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`${who} exited with code ${code} before it finished`))));
    // Another member failed: this one's result would be thrown away, so stop it now.
    signal?.addEventListener('abort', () => settle(() => reject(new Error(`${who}: stopped (${String(signal.reason)})`))), { once: true });
  });
}
