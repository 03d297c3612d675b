/**
 * Test and benchmark helper: an UNTRAINED model artifact (seeded random weights) over a given title list. Its
 * embeddings mean nothing; use it where only the artifact's shape and cost matter (registry, loading, candidate
 * retrieval latency), never to judge recommendations. Not in the package index on purpose: tests and benchmarks
 * import it as `@marquee/model/testing`.
 *
 * Metadata vocabularies follow buildDataset: genres sorted by name, year buckets 5 years wide from the earliest year.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { makeModelConfig } from '../src/config.ts';
import { yearBucket } from '../src/data/types.ts';
import { initParams } from '../src/model.ts';
import { serializeModel, type Manifest } from '../src/artifact.ts';
import { Rng } from '../src/rng.ts';

export interface RandomModelOptions {
  /** Embedding width (default 64, the model default). */
  dim?: number;
  /** History positions (default 50: enough for tests, cheap to allocate). */
  maxLen?: number;
  layers?: number;
  heads?: number;
  /** Weight seed (default 7). */
  seed?: number;
}

/** `{manifest, files}` as `serializeModel` returns them: write `files` and `manifest.json` to a directory to publish. */
export async function randomModelArtifact(
  titles: readonly { id: string; genres: readonly string[]; year: number }[],
  opts: RandomModelOptions = {},
): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  if (titles.length === 0) throw new Error('randomModelArtifact: needs at least one title');
  const genreNames = [...new Set(titles.flatMap((t) => t.genres))].sort();
  const years = titles.map((t) => t.year).filter((y) => Number.isFinite(y));
  const width = 5;
  const start = years.length ? Math.floor(Math.min(...years) / width) * width : 0;
  const numYearBuckets = years.length ? 2 + Math.floor((Math.max(...years) - start) / width) : 0;
  const config = makeModelConfig(
    { numItems: titles.length, numGenres: genreNames.length, numYearBuckets, yearBucketStart: start, yearBucketWidth: width },
    { dim: opts.dim ?? 64, maxLen: opts.maxLen ?? 50, layers: opts.layers ?? 1, heads: opts.heads ?? 2 },
  );
  const V = titles.length + 1;
  const gi = new Map(genreNames.map((g, i) => [g, i]));
  const genres = new Float32Array(V * genreNames.length);
  const year = new Int32Array(V);
  titles.forEach((t, i) => {
    for (const g of t.genres) genres[(i + 1) * genreNames.length + gi.get(g)!] = 1 / t.genres.length;
    year[i + 1] = yearBucket(t.year, start, width, numYearBuckets);
  });
  if (!tf.getBackend()) await tf.setBackend('cpu');
  const rng = new Rng(opts.seed ?? 7);
  const params = initParams(config, { genres: genreNames.length ? genres : undefined, year: numYearBuckets ? year : undefined }, () => rng.normal());
  try {
    return await serializeModel({
      config,
      params,
      items: {
        ids: titles.map((t) => t.id),
        genreNames,
        genres: titles.map((t) => t.genres.map((g) => gi.get(g)!)),
        years: titles.map((t) => (Number.isFinite(t.year) ? t.year : null)),
      },
      train: { untrained: true, seed: opts.seed ?? 7 },
    });
  } finally {
    for (const t of Object.values(params)) t.dispose();
  }
}
