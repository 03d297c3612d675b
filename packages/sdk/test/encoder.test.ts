import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initParams, loadModel, makeModelConfig, serializeModel, Rng, type LoadedModel } from '@marquee/model';
import { IncrementalEncoder, type Token } from '../src/encoder.ts';

let model: LoadedModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const config = makeModelConfig(
    { numItems: 40, numGenres: 0, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 1 },
    { maxLen: 12, dim: 16, layers: 2, heads: 2 },
  );
  const rng = new Rng(3);
  const { manifest, files } = await serializeModel({ config, params: initParams(config, {}, () => rng.normal()), items: { ids: Array.from({ length: 40 }, (_, i) => `x${i + 1}`), genreNames: [] } });
  model = await loadModel(manifest, async (p) => files.get(p)!);
});

/** The reference: the batched full forward pass over the same window. */
async function full(tokens: Token[]): Promise<Float32Array> {
  const w = tokens.slice(-model.config.maxLen);
  const u = model.userEmbedding({ items: w.map((t) => t.item), events: w.map((t) => t.event), fracs: w.map((t) => t.frac) });
  const out = (await u.data()) as Float32Array;
  u.dispose();
  return out;
}

async function incremental(enc: IncrementalEncoder): Promise<Float32Array> {
  const u = enc.embedding()!;
  const out = (await u.data()) as Float32Array;
  u.dispose();
  return out;
}

// A missing value in `b` is NaN: the difference is NaN and no bound holds.
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - (b[i] ?? NaN))));

describe('IncrementalEncoder', () => {
  it('equals the full encode within 1e-4 through appends, last-token updates and a sliding window', async () => {
    const enc = new IncrementalEncoder(model);
    const tokens: Token[] = [];
    const kinds: string[] = [];
    for (let i = 0; i < 16; i++) {
      tokens.push({ item: 1 + ((i * 7) % 40), event: 2, frac: 1 });
      kinds.push(enc.update(tokens));
      expect(maxDiff(await incremental(enc), await full(tokens))).toBeLessThan(1e-4);
      // The viewer keeps watching: the last token's fraction bucket rises, then it completes.
      const watching = tokens.at(-1) ?? expect.unreachable('a token was just pushed');
      tokens[tokens.length - 1] = { ...watching, frac: 3 };
      kinds.push(enc.update(tokens));
      tokens[tokens.length - 1] = { ...watching, event: 3, frac: 5 };
      kinds.push(enc.update(tokens));
      expect(maxDiff(await incremental(enc), await full(tokens))).toBeLessThan(1e-4);
    }
    // Within maxLen the work stays incremental; past it the window slides and everything is re-encoded.
    expect(kinds.slice(0, 3 * 12)).toEqual(Array.from({ length: 12 }, () => ['append', 'replace-last', 'replace-last']).flat());
    expect(kinds.slice(3 * 12)).toContain('full');
    expect(enc.update(tokens)).toBe('none');
    enc.dispose();
  });

  it('re-encodes when an older token changes, and leaks no tensors', async () => {
    const tokens: Token[] = [1, 2, 3, 4].map((item) => ({ item, event: 2, frac: 1 }));
    const before = tf.memory().numTensors;
    const enc = new IncrementalEncoder(model);
    enc.update(tokens);
    const [, second = expect.unreachable('four tokens')] = tokens;
    tokens[1] = { ...second, event: 3 };
    expect(enc.update(tokens)).toBe('full');
    expect(maxDiff(await incremental(enc), await full(tokens))).toBeLessThan(1e-4);
    for (let i = 0; i < 200; i++) {
      tokens[3] = { ...(tokens[3] ?? expect.unreachable('four tokens')), frac: 1 + (i % 5) };
      enc.update(tokens);
    }
    enc.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
