/**
 * The live model's item embeddings as a plain matrix, for retrieval by inner product with a user embedding the
 * device computed. Titles outside the model's vocabulary (new arrivals) get the model's metadata embedding
 * (genres, year), so they can be retrieved from their first day.
 *
 * The index is built on whatever tfjs backend the process runs (the server's entry chooses it once, at start): it
 * never switches the process-global backend, which anything else in the process (a trainer, a test) may rely on.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu'; // always one backend to run on, whatever else is registered
import { embeddingDim, loadModel, type Manifest } from '@marquee/model';
import { topK } from '@marquee/core';
import type { Catalog } from '../catalog.ts';
import type { Scored } from './aggregates.ts';

export class EmbeddingIndex {
  private readonly rows: Map<string, number>;

  private constructor(
    readonly version: string,
    readonly dim: number,
    /** Row-major [titles.length, dim], L2-normalised. */
    private readonly matrix: Float32Array,
    private readonly titles: string[],
    /** Titles embedded from metadata only (not in the model's vocabulary). */
    readonly cold: ReadonlySet<string>,
  ) {
    this.rows = new Map(titles.map((t, r) => [t, r]));
  }

  static async build(manifest: Manifest, getFile: (path: string) => Promise<Uint8Array>, catalog: Catalog): Promise<EmbeddingIndex> {
    await tf.ready(); // the chosen (or best registered) backend initialised, without choosing another
    const model = await loadModel(manifest, getFile);
    try {
      const titles = catalog.titles.map((t) => t.id);
      const { matrix, cold } = model.catalogEmbeddings(catalog.titles);
      const values = Float32Array.from(await matrix.data());
      matrix.dispose();
      return new EmbeddingIndex(manifest.version, embeddingDim(model.config), values, titles, cold);
    } finally {
      model.dispose();
    }
  }

  /** A title's embedding (a copy), or undefined if the title is not in the catalog. */
  vector(titleId: string): Float32Array | undefined {
    const r = this.rows.get(titleId);
    return r === undefined ? undefined : this.matrix.slice(r * this.dim, (r + 1) * this.dim);
  }

  /** The k titles with the largest inner product with `user`, optionally only among the titles `only`. */
  nearest(user: ArrayLike<number>, k: number, only?: Iterable<string>): Scored[] {
    const d = this.dim;
    if (user.length !== d) throw new RangeError(`EmbeddingIndex.nearest: a user embedding of ${user.length} values for ${d}-dimensional titles`);
    const u = Float32Array.from(user);
    let rows: Int32Array;
    if (only) {
      const rs: number[] = [];
      for (const id of only) {
        const r = this.rows.get(id);
        if (r !== undefined) rs.push(r);
      }
      rows = Int32Array.from(rs);
    } else {
      rows = new Int32Array(this.titles.length);
      for (let r = 0; r < rows.length; r++) rows[r] = r;
    }
    const scores = new Float32Array(rows.length);
    const m = this.matrix;
    for (let i = 0; i < rows.length; i++) {
      let s = 0;
      const o = (rows[i] ?? 0) * d;
      for (let j = 0; j < d; j++) s += (m[o + j] ?? 0) * (u[j] ?? 0);
      scores[i] = s;
    }
    // Top k by (score desc, row asc) with a bounded min-heap: O(n log k) instead of sorting all n.
    const top = topK(rows.length, Math.min(k, rows.length), (a, b) => (scores[a] ?? 0) - (scores[b] ?? 0) || (rows[b] ?? 0) - (rows[a] ?? 0));
    return top.map((i) => {
      const titleId = this.titles[rows[i] ?? -1];
      if (titleId === undefined) throw new RangeError(`EmbeddingIndex.nearest: row ${rows[i]} outside ${this.titles.length} titles`);
      return { titleId, score: scores[i] ?? 0 };
    });
  }
}
