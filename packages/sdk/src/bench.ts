/**
 * Latency of the on-device path with the model in use, for `npm run bench:browser`: encode a history from
 * scratch, update it after one event, rank N candidates, and build a whole page from the cached model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { composePage, quantile, rankCandidates } from '@marquee/core';
import type { LoadedModel } from '@marquee/model';
import { IncrementalEncoder, type Token } from './encoder.ts';
import type { PathBenchmark, Percentiles } from './protocol.ts';

export type { PathBenchmark, Percentiles };

/** Up to `runs` timed runs after one warm-up, stopping early after 3 once 10 s are spent (slow software backends). */
async function time(runs: number, fn: () => Promise<unknown>): Promise<Percentiles> {
  await fn(); // warm: kernels compiled, buffers allocated
  const xs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs && (i < 3 || performance.now() - start < 10_000); i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  const at = (q: number) => +quantile(xs, q).toFixed(3);
  return { p50: at(0.5), p95: at(0.95) };
}

export async function benchmarkPath(model: LoadedModel, runs = 20): Promise<PathBenchmark> {
  const V = model.config.numItems;
  const tokens = (n: number): Token[] => Array.from({ length: n }, (_, i) => ({ item: 1 + ((i * 37) % V), event: 2 + (i % 2), frac: 1 + (i % 5) }));
  const table = model.itemEmbeddings(); // [V+1, d], normalised
  const d = model.config.dim;

  const encodeFresh = (n: number) => async () => {
    const enc = new IncrementalEncoder(model);
    enc.update(tokens(n).slice(-model.config.maxLen));
    const u = enc.embedding()!;
    await u.data();
    u.dispose();
    enc.dispose();
  };

  // Scores for n candidates: gather their rows, one matMul, one async read, then the blend.
  const rank = async (user: tf.Tensor1D, n: number) => {
    const idx = Int32Array.from({ length: n }, (_, i) => 1 + ((i * 13) % V));
    const s = tf.tidy(() => tf.reshape(tf.matMul(tf.gather(table, idx), tf.reshape(user, [d, 1])), [-1]));
    const scores = await s.data();
    s.dispose();
    return rankCandidates(Array.from(idx, (i, k) => ({ titleId: `c${k}`, modelScore: scores[k], popularity: i })));
  };

  const history = Math.min(200, model.config.maxLen);
  const enc = new IncrementalEncoder(model);
  const base = tokens(history - 1);
  enc.update(base);
  const user = enc.embedding()!;
  try {
    let flip = 0;
    return {
      encode50: await time(runs, encodeFresh(50)),
      encode200: await time(Math.max(5, runs / 4), encodeFresh(200)),
      update1: await time(runs, async () => {
        // One new play on top of the cached history: one position computed (the cache ends one past `base`).
        enc.update([...base, { item: 1 + (flip++ % V), event: 2, frac: 1 }]);
        const u = enc.embedding()!;
        await u.data();
        u.dispose();
      }),
      rank1k: await time(runs, () => rank(user, 1000)),
      rank10k: await time(runs, () => rank(user, 10_000)),
      page5k: await time(Math.max(5, runs / 4), async () => {
        const fresh = new IncrementalEncoder(model);
        fresh.update(tokens(history));
        const u = fresh.embedding()!;
        const ranked = await rank(u, 5000);
        u.dispose();
        fresh.dispose();
        composePage(ranked.map((r) => ({ ...r, sources: [{ source: 'trending' }] })), [], () => ({ name: 'x', genres: ['drama'] }));
      }),
    };
  } finally {
    user.dispose();
    enc.dispose();
    table.dispose();
  }
}
