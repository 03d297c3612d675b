/**
 * Top-m of each chunk of candidates, as one tfjs kernel: the step the tensor ranker repeats on webgpu until one
 * chunk is left. tfjs's webgpu TopK is a bitonic network of one dispatch per stage (about 90 dispatches at 10k
 * candidates and a head of 256, 120 at 100k: 7.6-9.0 ms of wall time for 2 ms of GPU time on an H200); here a
 * workgroup sorts a whole chunk of 2,048 in its shared memory, so a ranking is one dispatch per round of 8x
 * reduction (2 at 10k, 3 at 100k).
 *
 * Input `pairs` [3, L]: row 0 the values ranked (descending), row 1 each one's candidate index, row 2 a payload
 * carried along (the model score). Output [3, chunks x m]: per chunk of `CHUNK` columns, its m best columns, best
 * first; slots past the input's end are -Infinity. Among equal values the order is the network's, not the index's:
 * the ranker re-orders the head it reads exactly, and what it needs from here is only that nothing dropped is above
 * the m-th value kept (a value dropped from a chunk had m values at or above it there, and so on each round).
 *
 * Two implementations: WGSL on webgpu (the reason it exists), and plain JS on cpu, the reference the tests hold the
 * ranker's rounds to on machines without a GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

export const CHUNK_TOP_K = 'MarqueeChunkTopK';
/** Columns one workgroup sorts: 2,048 x (f32 value + u32 slot) is the 16 KiB of shared memory WebGPU guarantees. */
export const CHUNK = 2048;
const THREADS = 256;

export interface ChunkTopKAttrs {
  [key: string]: number;
  /** Columns kept per chunk: a power of two, at most CHUNK / 4 (so each round shrinks the list at least 4x). */
  keep: number;
}

function chunksOf(width: number): number {
  return Math.max(1, Math.ceil(width / CHUNK));
}

class ChunkTopKProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  variableNames = ['pairs'];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];

  constructor(
    width: number,
    private readonly keep: number,
  ) {
    const chunks = chunksOf(width);
    this.outputShape = [3, chunks * keep];
    this.dispatch = [chunks, 1, 1];
    this.shaderKey = `marqueeChunkTopK_${CHUNK}_${keep}`;
  }

  getUserCode(): string {
    const half = CHUNK / 2;
    return `
      var<workgroup> keys : array<f32, ${CHUNK}>;
      var<workgroup> slots : array<u32, ${CHUNK}>;

      fn main(index : i32) {
        let width = uniforms.pairsShape.y;
        let base = i32(workgroupId.x) * ${CHUNK};
        for (var t = i32(localId.x); t < ${CHUNK}; t = t + ${THREADS}) {
          var v = -uniforms.INFINITY;
          if (base + t < width) {
            let x = pairs[base + t];
            // NaN would break the network's comparisons: it ranks last, as nothing.
            if (!isnan(x)) { v = x; }
          }
          keys[t] = v;
          slots[t] = u32(t);
        }
        workgroupBarrier();
        // Bitonic sort, descending: every stage compares CHUNK / 2 disjoint pairs, a barrier between stages.
        for (var size = 2; size <= ${CHUNK}; size = size * 2) {
          for (var stride = size / 2; stride > 0; stride = stride / 2) {
            for (var p = i32(localId.x); p < ${half}; p = p + ${THREADS}) {
              let i = 2 * p - (p & (stride - 1));
              let j = i + stride;
              let a = keys[i];
              let b = keys[j];
              if ((a < b) == ((i & size) == 0)) {
                keys[i] = b;
                keys[j] = a;
                let s = slots[i];
                slots[i] = slots[j];
                slots[j] = s;
              }
            }
            workgroupBarrier();
          }
        }
        let outWidth = uniforms.outShape.y;
        let outBase = i32(workgroupId.x) * ${this.keep};
        for (var t = i32(localId.x); t < ${this.keep}; t = t + ${THREADS}) {
          let src = base + i32(slots[t]);
          var column = 0.0;
          var payload = 0.0;
          if (src < width) {
            column = pairs[width + src];
            payload = pairs[2 * width + src];
          }
          setOutputAtIndex(outBase + t, keys[t]);
          setOutputAtIndex(outWidth + outBase + t, column);
          setOutputAtIndex(2 * outWidth + outBase + t, payload);
        }
      }
    `;
  }
}

function checkKeep(keep: number): void {
  if (!(keep >= 1 && keep <= CHUNK / 4 && (keep & (keep - 1)) === 0)) throw new RangeError(`${CHUNK_TOP_K}: keep ${keep} is not a power of two up to ${CHUNK / 4}`);
}

const chunkTopKWebGpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const pairs = inputs.pairs as tf.TensorInfo;
  const keep = (attrs as ChunkTopKAttrs).keep;
  checkKeep(keep);
  return (backend as WebGPUBackend).runWebGPUProgram(new ChunkTopKProgram(pairs.shape[1] ?? 0, keep), [pairs], 'float32');
};

/** The same per-chunk selection in JS: a stable sort, so equal values keep their column order. */
const chunkTopKCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const pairs = inputs.pairs as tf.TensorInfo;
  const keep = (attrs as ChunkTopKAttrs).keep;
  checkKeep(keep);
  const width = pairs.shape[1] ?? 0;
  const cpu = backend as tf.KernelBackend & { makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo };
  const x = cpu.readSync(pairs.dataId) as Float32Array;
  const chunks = chunksOf(width);
  const outWidth = chunks * keep;
  const out = new Float32Array(3 * outWidth);
  const value = (col: number) => {
    const v = x[col] ?? -Infinity;
    return Number.isNaN(v) ? -Infinity : v;
  };
  for (let c = 0; c < chunks; c++) {
    const base = c * CHUNK;
    const cols = Array.from({ length: Math.min(CHUNK, width - base) }, (_, t) => base + t).sort((a, b) => value(b) - value(a) || a - b);
    for (let t = 0; t < keep; t++) {
      const col = cols[t];
      const o = c * keep + t;
      out[o] = col === undefined ? -Infinity : value(col);
      out[outWidth + o] = col === undefined ? 0 : (x[width + col] ?? 0);
      out[2 * outWidth + o] = col === undefined ? 0 : (x[2 * width + col] ?? 0);
    }
  }
  return cpu.makeTensorInfo([3, outWidth], 'float32', out);
};

for (const [backendName, kernelFunc] of [
  ['webgpu', chunkTopKWebGpu],
  ['cpu', chunkTopKCpu],
] as const) {
  if (!tf.getKernel(CHUNK_TOP_K, backendName)) tf.registerKernel({ kernelName: CHUNK_TOP_K, backendName, kernelFunc });
}

/** Whether the current backend has the kernel. */
export function hasChunkTopK(): boolean {
  return tf.getKernel(CHUNK_TOP_K, tf.getBackend()) !== undefined;
}

/** One round: [3, L] -> [3, ceil(L / CHUNK) x keep]. */
export function chunkTopK(pairs: tf.Tensor2D, keep: number): tf.Tensor2D {
  return tf.engine().runKernel(CHUNK_TOP_K, { pairs }, { keep } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** The best `keep` columns of `pairs`, best first, after as many rounds as it takes: [3, keep]. */
export function topColumns(pairs: tf.Tensor2D, keep: number): tf.Tensor2D {
  return tf.tidy(() => {
    let cur = pairs;
    for (;;) {
      const width = cur.shape[1];
      cur = chunkTopK(cur, keep);
      if (width <= CHUNK) return cur;
    }
  });
}
