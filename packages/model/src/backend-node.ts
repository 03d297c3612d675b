/**
 * Node-only backend setup for training: the tfjs wasm backend (XNNPACK, SIMD) plus the one kernel it lacks for
 * training embeddings, UnsortedSegmentSum (the gradient of tf.gather), as a real scatter-add over the backend's
 * heap. Falls back to the pure-JS cpu backend when wasm cannot start.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerNodeGradients } from './node-gradients.ts';
import { registerFastWasmKernels } from './wasm-kernels.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

let registered = false;

/** Register UnsortedSegmentSum for the wasm backend: out[segmentIds[i], :] += x[i, :]. */
export function registerWasmScatterKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as BackendWasm;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum(wasm): float32 only, got ${x.dtype}`);
      const n = segmentIds.shape.reduce((a, s) => a * s, 1);
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, s) => a * s, 1);
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = b.makeOutput(outShape, 'float32');
      // Views are taken after makeOutput: allocation may grow (and detach) the heap.
      const o = b.typedArrayFromHeap(out) as Float32Array;
      const xs = b.typedArrayFromHeap(x) as Float32Array;
      const ids = b.typedArrayFromHeap(segmentIds) as Int32Array;
      o.fill(0);
      for (let i = 0; i < n; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
        const src = i * inner;
        const dst = s * inner;
        for (let k = 0; k < inner; k++) o[dst + k] = (o[dst + k] ?? 0) + (xs[src + k] ?? 0);
      }
      return out;
    },
  });
}

export interface BackendInfo {
  backend: string;
  threads: number;
}

export type NodeBackendName = 'wasm' | 'cpu' | 'webgpu';
export const NODE_BACKENDS: readonly NodeBackendName[] = ['wasm', 'cpu', 'webgpu'];

/**
 * WebGPU in Node needs a `navigator.gpu` (the npm package `webgpu`, Dawn's binding, plus a Vulkan driver). It is
 * opt-in: the package is not a dependency, and with no adapter this fails with a clear error instead of silently
 * training on another backend (tf.setBackend resolves false and tfjs would move on).
 */
async function initWebGpu(): Promise<BackendInfo> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    try {
      const spec = 'webgpu'; // a variable, so bundlers and type checks do not require the optional package
      const dawn = (await import(spec)) as { create: (flags: string[]) => unknown; globals: object };
      Object.assign(globalThis, dawn.globals);
      Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: dawn.create([]) }, configurable: true });
    } catch (e) {
      throw new Error(`--backend webgpu: Node has no navigator.gpu and the optional 'webgpu' package (Dawn) could not be loaded (${(e as Error).message}); install it with a Vulkan driver, or use --backend wasm`);
    }
  }
  const adapter = await (globalThis as unknown as { navigator: { gpu: { requestAdapter: () => Promise<unknown> } } }).navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('--backend webgpu: no WebGPU adapter on this machine (no GPU or Vulkan driver); use --backend wasm');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('--backend webgpu: the tfjs webgpu backend failed to start on this adapter; use --backend wasm');
  await tf.ready();
  return { backend: 'webgpu', threads: 1 };
}

/** Start the fastest available backend in Node ('wasm' unless overridden or unavailable). */
export async function initNodeBackend(prefer: NodeBackendName = 'wasm'): Promise<BackendInfo> {
  await registerNodeGradients();
  if (prefer === 'webgpu') return initWebGpu();
  if (prefer === 'wasm') {
    try {
      registerWasmScatterKernels();
      registerFastWasmKernels();
      // In Node the package finds its .wasm files next to its own main file (SIMD build when supported).
      // Do not call setWasmPaths here: measured, it made Node load the slow non-SIMD binary (1.7 vs 15 GFLOP/s).
      // tfjs disables wasm threads in Node (tfjs issue #3830), so `threads` is informational only.
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { backend: 'wasm', threads: 1 };
      }
    } catch (e) {
      process.stderr.write(`wasm backend unavailable (${(e as Error).message}); using cpu\n`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { backend: 'cpu', threads: 1 };
}

export { measureMatMulGflops } from './train.ts';
