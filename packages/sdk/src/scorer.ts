/**
 * Scores catalog titles for a user embedding: one matrix of title embeddings per (model, catalog), known titles
 * from the model's item table and new titles from their metadata (cold start), L2-normalised, so a score is the
 * cosine the model was trained on. Reads results with `await data()`: never dataSync (it can break WebGPU).
 *
 * The matrix may live on another tfjs backend than the model (a mixed plan, see core's choosePlan): then only
 * Float32Arrays cross between them (the matrix once, the user vector per score), never a tensor, because tfjs moves
 * a tensor between backends with a synchronous read, which a GPU backend refuses or pays a stall for.
 */
import * as tf from '@tensorflow/tfjs-core';
import { quantile, type BackendName } from '@marquee/core';
import type { LoadedModel } from '@marquee/model';

export interface CatalogEntry {
  id: string;
  genres: string[];
  year: number;
}

/**
 * Runs `fn` (synchronous tensor work) with `backend` as tfjs's current backend, then puts the previous one back.
 * Both switches happen with no await between them, so no other task in the worker ever runs on the wrong backend.
 * tfjs switches to a started backend synchronously; one that is not started yet is refused here.
 */
export function onBackend<T>(backend: string, fn: () => T): T {
  const previous = tf.getBackend();
  if (previous === backend) return fn();
  switchNow(backend);
  try {
    return fn();
  } finally {
    switchNow(previous);
  }
}

function switchNow(backend: string): void {
  if (!tf.findBackend(backend)) throw new Error(`tfjs backend ${backend} is not started`);
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`tfjs did not switch to ${backend} at once`);
}

/** Median ms of a switch there and back between two started backends, the most of any ordered pair (0 for one). */
export function measureSwitches(names: readonly BackendName[]): number {
  const home = tf.getBackend();
  let most = 0;
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      onBackend(a, () => {
        const xs: number[] = [];
        for (let i = 0; i < 9; i++) {
          const t0 = performance.now();
          onBackend(b, () => {});
          xs.push(performance.now() - t0);
        }
        most = Math.max(most, quantile(xs.sort((x, y) => x - y), 0.5));
      });
    }
  }
  if (tf.getBackend() !== home) throw new Error('measureSwitches: the current backend changed');
  return +most.toFixed(3);
}

export class CatalogScorer {
  private readonly row = new Map<string, number>();

  private constructor(
    private readonly matrix: tf.Tensor2D,
    /** The backend the matrix lives on: scores are computed there. */
    readonly backend: string,
    catalog: readonly CatalogEntry[],
  ) {
    catalog.forEach((t, r) => this.row.set(t.id, r));
  }

  /** The catalog's matrix, on `backend` (default: the current one, where the model's weights are). */
  static async create(model: LoadedModel, catalog: readonly CatalogEntry[], backend: BackendName | string = tf.getBackend()): Promise<CatalogScorer> {
    const built = model.catalogEmbeddings(catalog).matrix;
    if (backend === tf.getBackend()) return new CatalogScorer(built, backend, catalog);
    const values = (await built.data()) as Float32Array;
    const shape = built.shape;
    built.dispose();
    return new CatalogScorer(onBackend(backend, () => tf.tensor2d(values, shape)), backend, catalog);
  }

  has(titleId: string): boolean {
    return this.row.has(titleId);
  }

  /** Cosine scores of `titleIds` (unknown ids get NaN) for a normalised user embedding. */
  async score(user: tf.Tensor1D, titleIds: readonly string[]): Promise<Float32Array> {
    const userOnMyBackend = tf.getBackend() === this.backend ? null : ((await user.data()) as Float32Array);
    const s = onBackend(this.backend, () => tf.tidy(() => this.scoresTensor(userOnMyBackend ? tf.tensor1d(userOnMyBackend) : user, titleIds)));
    // A tensor is read and disposed by its own backend, whichever is current.
    const out = (await s.data()) as Float32Array;
    s.dispose();
    titleIds.forEach((id, k) => {
      if (!this.row.has(id)) out[k] = NaN;
    });
    return out;
  }

  /** The scores as a tensor on this scorer's backend, where `user` must be (caller disposes). */
  scoresTensor(user: tf.Tensor1D, titleIds: readonly string[]): tf.Tensor1D {
    const rows = Int32Array.from(titleIds, (id) => this.row.get(id) ?? 0);
    return tf.tidy(() => tf.reshape(tf.matMul(tf.gather(this.matrix, rows), tf.reshape(user, [-1, 1])), [-1]) as tf.Tensor1D);
  }

  dispose(): void {
    this.matrix.dispose();
  }
}
