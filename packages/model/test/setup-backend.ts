/** Shared test helper: the same Node backend the trainer uses. */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/backend-node.ts';

export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  await initNodeBackend('wasm'); // registers gradients and kernels once
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`backend ${name} unavailable`);
  }
}
