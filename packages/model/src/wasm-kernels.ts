/**
 * Faster wasm kernels for the two operations the model's serving and training path spend their time in, registered
 * over tfjs's stock ones (browser and Node alike: they only use the backend's heap and its own exported functions).
 * Measured in the browser's worker (bench:browser, stock kernels): GatherV2 was 53 of 55 ms of scoring 10,000
 * candidates, and BatchMatMul 17 of the 31 ms of kernel time in a 200-event encode.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Call after `@tensorflow/tfjs-backend-wasm` is imported (it registers the stock kernels) and before its first use. */
export function registerFastWasmKernels(): void {
  registerFastWasmMatMul();
  registerFastWasmGather();
  registerSharedIdentity();
  registerColumnSum();
}

/**
 * Batched products whose slices have fewer multiply-adds than this run on the stock kernel: a slice on the fast
 * path pays an XNNPACK operator's creation and weight packing, which for attention over 8 positions (8x32x8) made it
 * 2x slower than the stock loop (1.7 vs 3.1 ms for 512 slices); from 16 positions (16x32x16) the fast path wins.
 */
const SMALL_SLICE = 16 * 16 * 32;

/** XNNPACK's packing of a product's right operand, per float, in transposes of one float (measured ~10). */
const PACK_COST = 10;

/**
 * Register `make(stock)` in place of the stock wasm kernel `name`, once: the replacement carries a marker, so a second
 * call (the SDK worker and the trainer both register) finds it and leaves it.
 */
function replaceKernel(name: string, make: (stock: tf.KernelConfig) => tf.KernelFunc): void {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock || (stock as { __marquee?: boolean }).__marquee) return;
  const kernelFunc = make(stock);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: stock.setupFunc, __marquee: true } as tf.KernelConfig);
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
 * Neither transposes nor XNNPACK's packing of the right operand (the "weights", packed again for every new tensor)
 * are free: measured with fresh [1,800 x 2,400] G and [1,800 x 64] U, G^T U took 52 ms transposing G and 122 ms as
 * (U^T G)^T, which packs G. So the kernel counts both, packing at ~10 transposes per float, and computes
 * (A B)^T = B^T A^T and transposes it back where that moves fewer: a few users against a whole item table
 * (evaluation's [users x d] @ items^T) packs the users instead of every item.
 */
function registerFastWasmMatMul(): void {
  const transposeK = tf.getKernel(tf.Transpose, 'wasm');
  if (transposeK) replaceKernel(tf.BatchMatMul, (orig) => fastMatMul(orig, transposeK));
}

function fastMatMul(orig: tf.KernelConfig, transposeK: tf.KernelConfig): tf.KernelFunc {
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
    const [m, k] = transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
    const n = transposeB ? bIn.shape.at(-2)! : bIn.shape.at(-1)!;
    if (Math.max(batchA, batchB) > 1 && m * k * n < SMALL_SLICE) return orig.kernelFunc(args) as tf.TensorInfo;
    const temps: tf.TensorInfo[] = [];
    const swap = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      perm[perm.length - 1] = perm.length - 2;
      perm[perm.length - 2] = perm.length - 1;
      const r = transposeK.kernelFunc({ inputs: { x: t }, backend: b, attrs: { perm } }) as tf.TensorInfo;
      temps.push(r);
      return r;
    };
    // Floats moved by transposes and packing: directly, versus through the transposed product (which never swaps
    // back: its own comparison is this one's reversed, plus the output twice).
    const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACK_COST * k * n;
    const viaTransposed = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n + PACK_COST * m * k;
    if (viaTransposed < direct) {
      const t = kernelFunc({ ...args, inputs: { a: bIn, b: a }, attrs: { transposeA: !transposeB, transposeB: !transposeA } }) as tf.TensorInfo;
      temps.push(t);
      const out = swap(t);
      temps.pop();
      for (const x of temps) b.disposeData(x.dataId);
      return out;
    }
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
  return kernelFunc;
}

/**
 * GatherV2 on wasm for the embedding-lookup case (axis 0, no batch dims, float32): one heap copy per row instead of
 * the stock per-element loop (measured ~10x faster on [4096] rows of width 64). Other cases use the stock kernel.
 */
function registerFastWasmGather(): void {
  replaceKernel(tf.GatherV2, (orig) => (args) => {
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
  });
}

/**
 * Identity that shares its input's buffer (reference-counted, as the wasm Reshape kernel and the cpu backend's
 * Identity do) instead of copying it. tfjs's engine clones every tensor it saves for a backward pass, and the stock
 * wasm kernel copied each one: 8.7% of a sparse-preset training step's kernel time. Sharing is safe because no
 * kernel writes into its inputs and a variable's assign swaps in a new buffer rather than overwriting its old one.
 */
function registerSharedIdentity(): void {
  replaceKernel(tf.Identity, (orig) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return orig.kernelFunc(args) as tf.TensorInfo;
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

/**
 * Sum over leading axes (a bias's or a LayerNorm gain's gradient: the column sums of [rows x d]) as one pass over
 * the heap. The stock kernel transposes the input first so that it can reduce innermost axes; 1,000-2,000 such sums
 * per sparse-preset training step took 8% of its kernel time. Measured on fresh [2048 x 64] inputs: 1.1 ms stock,
 * 0.3-0.5 ms here, 0.7 ms as the XNNPACK product ones @ x (which packs x). Columns accumulate in float32 row by
 * row, the order the stock kernel sums the transposed rows in: the same values.
 */
function registerColumnSum(): void {
  replaceKernel(tf.Sum, (orig) => (args) => {
    const b = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return orig.kernelFunc(args) as tf.TensorInfo;
    const rows = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
    const kept = x.shape.slice(axes.length);
    const cols = kept.reduce((p, q) => p * q, 1);
    const out = b.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
    // Views after makeOutput: an allocation may grow (and detach) the heap.
    const o = b.typedArrayFromHeap(out) as Float32Array;
    const xs = b.typedArrayFromHeap(x) as Float32Array;
    o.fill(0);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) o[c] = o[c]! + xs[base + c]!;
    }
    return out;
  });
}
