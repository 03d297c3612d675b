/**
 * Node-only backend setup for training: the tfjs wasm backend (XNNPACK, SIMD) plus the one kernel it lacks for
 * training embeddings, UnsortedSegmentSum (the gradient of tf.gather), as a real scatter-add over the backend's
 * heap. Falls back to the pure-JS cpu backend when wasm cannot start.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerNodeGradients } from './node-gradients.ts';
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

type WasmModule = BackendWasm['wasm'] & { HEAPF32: Float32Array; cwrap: (...a: unknown[]) => (...b: unknown[]) => void };
let rawBatchMatMul: ((...a: unknown[]) => void) | null = null;

/**
 * Replace the wasm BatchMatMul kernel with one that always reaches XNNPACK's fast path. Measured in this repo
 * (Node 20, 2 cores): the stock kernel runs a plain 2-D, non-transposed product at 25-34 GFLOP/s, but any product
 * with transposeA/transposeB (every matMul gradient) or a batch dimension (attention) at 1-2.7 GFLOP/s.
 * This kernel transposes operands explicitly (wasm Transpose kernel) and runs batched products slice by slice on
 * views into the wasm heap, so every product is a 2-D non-transposed one. Views are registered with the backend
 * without allocation and unregistered (never freed) afterwards.
 */
export function registerFastWasmMatMul(): void {
  const orig = tf.getKernel(tf.BatchMatMul, 'wasm');
  const transposeK = tf.getKernel(tf.Transpose, 'wasm');
  if (!orig || !transposeK || (orig as { __marquee?: boolean }).__marquee) return;
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  const kernelFunc: tf.KernelFunc = (args) => {
    const b = args.backend as BackendWasm;
    const { a, b: bIn } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const outerA = a.shape.slice(0, -2);
    const outerB = bIn.shape.slice(0, -2);
    const batchA = outerA.reduce((x, y) => x * y, 1);
    const batchB = outerB.reduce((x, y) => x * y, 1);
    const sameOuter = outerA.length === outerB.length && outerA.every((x, i) => x === outerB[i]);
    if (!sameOuter && batchA !== 1 && batchB !== 1) return orig.kernelFunc(args) as tf.TensorInfo;
    const temps: tf.TensorInfo[] = [];
    const swap = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      perm[perm.length - 1] = perm.length - 2;
      perm[perm.length - 2] = perm.length - 1;
      const r = transposeK.kernelFunc({ inputs: { x: t }, backend: b, attrs: { perm } }) as tf.TensorInfo;
      temps.push(r);
      return r;
    };
    const A = transposeA ? swap(a) : a;
    const B = transposeB ? swap(bIn) : bIn;
    const M = A.shape[A.shape.length - 2]!;
    const K = A.shape[A.shape.length - 1]!;
    const N = B.shape[B.shape.length - 1]!;
    const batch = Math.max(batchA, batchB);
    const outShape = [...(batchA >= batchB ? outerA : outerB), M, N];
    let out: tf.TensorInfo;
    if (batch === 1) {
      out = orig.kernelFunc({ inputs: { a: A, b: B }, backend: b, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
      out = { ...out, shape: outShape };
    } else {
      out = b.makeOutput(outShape, 'float32');
      const wasm = b.wasm as unknown as WasmModule;
      rawBatchMatMul ??= wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
      const offA = b.dataIdMap.get(A.dataId)!.memoryOffset;
      const offB = b.dataIdMap.get(B.dataId)!.memoryOffset;
      const offO = b.dataIdMap.get(out.dataId)!.memoryOffset;
      const shA = new Uint8Array(new Int32Array([1, M, K]).buffer);
      const shB = new Uint8Array(new Int32Array([1, K, N]).buffer);
      const view = (offset: number, shape: number[]) => {
        const info = b.makeOutput(shape, 'float32', offset);
        return { info, id: b.dataIdMap.get(info.dataId)!.id };
      };
      const unview = (v: { info: tf.TensorInfo; id: number }) => {
        (b.wasm as unknown as { tfjs: { disposeData: (id: number) => void } }).tfjs.disposeData(v.id);
        b.dataIdMap.delete(v.info.dataId);
      };
      for (let i = 0; i < batch; i++) {
        const va = view(offA + (batchA === 1 ? 0 : i * M * K * 4), [1, M, K]);
        const vb = view(offB + (batchB === 1 ? 0 : i * K * N * 4), [1, K, N]);
        const vo = view(offO + i * M * N * 4, [1, M, N]);
        rawBatchMatMul(va.id, shA, 3, vb.id, shB, 3, false, false, vo.id);
        unview(va);
        unview(vb);
        unview(vo);
      }
    }
    for (const t of temps) b.disposeData(t.dataId);
    return out;
  };
  const cfg = { kernelName: tf.BatchMatMul, backendName: 'wasm', kernelFunc, setupFunc: orig.setupFunc, __marquee: true };
  tf.registerKernel(cfg);
}

/**
 * GatherV2 on wasm for the embedding-lookup case (axis 0, no batch dims, float32): one heap copy per row instead of
 * the stock per-element loop (measured ~10x faster on [4096] rows of width 64). Other cases use the stock kernel.
 */
export function registerFastWasmGather(): void {
  const orig = tf.getKernel(tf.GatherV2, 'wasm');
  if (!orig || (orig as { __marquee?: boolean }).__marquee) return;
  tf.unregisterKernel(tf.GatherV2, 'wasm');
  const kernelFunc: tf.KernelFunc = (args) => {
    const b = args.backend as BackendWasm;
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    if (x.dtype !== 'float32' || (axis !== 0 && axis !== -x.shape.length) || batchDims || indices.dtype !== 'int32') {
      return orig.kernelFunc(args) as tf.TensorInfo;
    }
    const rows = x.shape[0]!;
    const inner = x.shape.slice(1).reduce((p, q) => p * q, 1);
    const n = indices.shape.reduce((p, q) => p * q, 1);
    const out = b.makeOutput([...indices.shape, ...x.shape.slice(1)], 'float32');
    const heap = (b.wasm as unknown as WasmModule).HEAPF32;
    const xo = b.dataIdMap.get(x.dataId)!.memoryOffset >> 2;
    const oo = b.dataIdMap.get(out.dataId)!.memoryOffset >> 2;
    const ids = b.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < n; i++) {
      const r = ids[i]!;
      if (r < 0 || r >= rows) throw new Error(`GatherV2: index ${r} out of range [0, ${rows})`);
      heap.copyWithin(oo + i * inner, xo + r * inner, xo + (r + 1) * inner);
    }
    return out;
  };
  tf.registerKernel({ kernelName: tf.GatherV2, backendName: 'wasm', kernelFunc, setupFunc: orig.setupFunc, __marquee: true } as tf.KernelConfig);
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
      registerFastWasmMatMul();
      registerFastWasmGather();
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
