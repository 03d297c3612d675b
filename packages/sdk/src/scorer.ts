/**
 * Scores catalog titles for a user embedding: one matrix of title embeddings per (model, catalog), known titles
 * from the model's item table and new titles from their metadata (cold start), L2-normalised, so a score is the
 * cosine the model was trained on. Reads results with `await data()`: never dataSync (it can break WebGPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel } from '@marquee/model';

export interface CatalogEntry {
  id: string;
  genres: string[];
  year: number;
}

export class CatalogScorer {
  private readonly matrix: tf.Tensor2D;
  private readonly row = new Map<string, number>();

  constructor(model: LoadedModel, catalog: readonly CatalogEntry[]) {
    this.matrix = model.catalogEmbeddings(catalog).matrix;
    catalog.forEach((t, r) => this.row.set(t.id, r));
  }

  has(titleId: string): boolean {
    return this.row.has(titleId);
  }

  /** Cosine scores of `titleIds` (unknown ids get NaN) for a normalised user embedding. */
  async score(user: tf.Tensor1D, titleIds: readonly string[]): Promise<Float32Array> {
    const rows = Int32Array.from(titleIds, (id) => this.row.get(id) ?? 0);
    const s = tf.tidy(() => tf.reshape(tf.matMul(tf.gather(this.matrix, rows), tf.reshape(user, [-1, 1])), [-1]));
    const out = (await s.data()) as Float32Array;
    s.dispose();
    titleIds.forEach((id, k) => {
      if (!this.row.has(id)) out[k] = NaN;
    });
    return out;
  }

  dispose(): void {
    this.matrix.dispose();
  }
}
