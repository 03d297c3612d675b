/**
 * The ranking path, timed: what the homepage does on every re-rank (one incremental encoder step, then scores for
 * the candidates), on whatever backend is active; and its two halves apart, for plans that run them on two backends. Used to choose the backend on the first run, and by
 * `npm run bench:browser` with the real model.
 */
import { quantile } from '@marquee/core';
import * as tf from '@tensorflow/tfjs-core';

export interface PathTimings {
  /** Median ms of one re-rank: one attention step over a 50-token cache plus scoring `candidates` titles. */
  rerankMs: number;
  /** Median ms of the attention step alone, ending in a read of the user vector (a mixed plan's first half). */
  updateMs: number;
  /** Median ms of uploading that vector and scoring the candidates (a mixed plan's second half). */
  scoreMs: number;
  samples: number[];
}

/** The median by core's one `quantile`, so the probe and the benches summarise runs the same way. */
const median = (xs: number[]) => {
  if (!xs.length) throw new RangeError('probeRankingPath: no timed run (runs must be at least 1)');
  return quantile([...xs].sort((a, b) => a - b), 0.5);
};

/**
 * A model-shaped workload (d=64, 2 layers, 4 heads, 50 cached positions, 2,000 titles) with fixed shapes, so
 * it can run before any model is downloaded and compares backends on the work that matters.
 */
export async function probeRankingPath(opts: { candidates?: number; runs?: number } = {}): Promise<PathTimings> {
  const d = 64;
  const H = 4;
  const T = 50;
  const n = opts.candidates ?? 1000;
  const runs = opts.runs ?? 8;
  const w = tf.tidy(() => ({
    qkv: tf.randomNormal([2, d, 3 * d], 0, 0.1),
    ffn: tf.randomNormal([2, d, d], 0, 0.1),
    keys: tf.randomNormal([2, H, T, d / H]),
    table: tf.randomNormal([2000, d]),
    idx: tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (i * 7) % 2000), 'int32'),
  }));
  const step = () => {
    let x: tf.Tensor = tf.randomNormal([1, d]);
    for (let l = 0; l < 2; l++) {
      const qkv = tf.matMul(x, tf.gather(w.qkv, l));
      const q = tf.reshape(tf.slice(qkv, [0, 0], [1, d]), [H, 1, d / H]);
      const k = tf.reshape(tf.slice(w.keys, [l, 0, 0, 0], [1, H, T, d / H]), [H, T, d / H]);
      const att = tf.softmax(tf.matMul(q, k, false, true));
      x = tf.add(x, tf.matMul(tf.reshape(tf.matMul(att, k), [1, d]), tf.gather(w.ffn, l)));
    }
    return tf.reshape(x, [d, 1]);
  };
  const score = (user: tf.Tensor) => tf.matMul(tf.gather(w.table, w.idx), user);
  const read = async (t: tf.Tensor) => {
    const values = await t.data(); // an async read, as the homepage does: never dataSync
    t.dispose();
    return values as Float32Array;
  };
  const whole = () => read(tf.tidy(() => score(step())));
  const update = () => read(tf.tidy(step));
  const scoreFrom = (user: Float32Array) => read(tf.tidy(() => score(tf.tensor2d(user, [d, 1]))));
  for (let i = 0; i < 2; i++) await scoreFrom(await update()); // compile kernels, warm caches (the whole path too)
  await whole();
  const samples: number[] = [];
  const updates: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await whole();
    const t1 = performance.now();
    const user = await update();
    const t2 = performance.now();
    await scoreFrom(user);
    samples.push(t1 - t0);
    updates.push(t2 - t1);
    scores.push(performance.now() - t2);
  }
  tf.dispose(Object.values(w));
  return { rerankMs: median(samples), updateMs: median(updates), scoreMs: median(scores), samples };
}
