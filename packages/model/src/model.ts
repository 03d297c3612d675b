/**
 * The sequence model: a SASRec-style causal self-attention encoder in plain tfjs-core ops.
 * Architecture only (no data, loop or I/O) and browser-safe: the Node trainer and the browser worker run this file.
 *
 *   token t  = item(i_t) + pos(t) + event(e_t) + fraction(f_t)          [d]
 *   item(i)  = idEmb[i] + mean(genreEmb[genres(i)]) + yearEmb[year(i)]  (one table, tied between input and output)
 *   block    = x + Attn(LN(x)) ; x + FFN(LN(x))   (pre-LN, causal mask, ReLU FFN)
 *   user     = normalize(LN_f(x)[last position])
 *   score(i) = user . normalize(item(i))          (cosine; training divides by the temperature)
 *
 * Sequences are left-aligned: token j sits at position j, padding (item 0) only after the last real token. Causal
 * attention then never sees padding, and appending a token never changes earlier positions, which is what makes
 * the incremental encoder (`encodeStep`, cached keys/values per layer) equal to the full encoder.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';

export type Params = Record<string, tf.Tensor>;

export interface ParamSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** 'data' tensors are per-item metadata inputs (saved with the weights, never trained). */
  kind: 'weight' | 'data';
  init: 'normal' | 'zeros' | 'ones' | 'data';
  std?: number;
}

/** Every tensor of the model, in a fixed order (the weight file layout). */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const d = c.dim;
  const f = c.ffnMult * d;
  const V = c.numItems + 1;
  const w = (name: string, shape: number[], std = 0.02): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'normal', std });
  const z = (name: string, shape: number[]): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'zeros' });
  const o = (name: string, shape: number[]): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'ones' });
  const residStd = 0.02 / Math.sqrt(2 * c.layers);
  const specs: ParamSpec[] = [w('item.id', [V, d])];
  if (c.numGenres > 0) {
    specs.push(w('item.genre', [c.numGenres, d]));
    specs.push({ name: 'meta.genres', shape: [V, c.numGenres], dtype: 'float32', kind: 'data', init: 'data' });
  }
  if (c.numYearBuckets > 0) {
    specs.push(w('item.year', [c.numYearBuckets, d]));
    specs.push({ name: 'meta.year', shape: [V], dtype: 'int32', kind: 'data', init: 'data' });
  }
  specs.push(w('pos', [c.maxLen, d]), w('event', [c.numEventTypes, d]), w('frac', [c.numFractionBuckets, d]));
  for (let l = 0; l < c.layers; l++) {
    const p = `b${l}.`;
    specs.push(
      o(p + 'ln1.g', [d]), z(p + 'ln1.b', [d]),
      w(p + 'qkv.w', [d, 3 * d]), z(p + 'qkv.b', [3 * d]),
      w(p + 'out.w', [d, d], residStd), z(p + 'out.b', [d]),
      o(p + 'ln2.g', [d]), z(p + 'ln2.b', [d]),
      w(p + 'ffn1.w', [d, f]), z(p + 'ffn1.b', [f]),
      w(p + 'ffn2.w', [f, d], residStd), z(p + 'ffn2.b', [d]),
    );
  }
  specs.push(o('lnf.g', [d]), z('lnf.b', [d]));
  return specs;
}

/** Per-item metadata as model inputs: genre multi-hot rows (mean-normalised) and year buckets, index 0 = padding. */
export interface ItemMetaArrays {
  genres?: Float32Array; // [(numItems+1) * numGenres]
  year?: Int32Array; // [numItems+1]
}

/**
 * Fresh parameters from a seeded generator (values are drawn in JS, so the same seed gives the same weights on every
 * backend). `normal` must return N(0,1) draws.
 */
export function initParams(c: ModelConfig, meta: ItemMetaArrays, normal: () => number): Params {
  const out: Params = {};
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.init === 'data') {
      const src = s.name === 'meta.genres' ? meta.genres : meta.year;
      if (!src || src.length !== n) throw new Error(`initParams: metadata ${s.name} must have ${n} values`);
      out[s.name] = tf.tensor(src, s.shape, s.dtype);
      continue;
    }
    const v = new Float32Array(n);
    if (s.init === 'ones') v.fill(1);
    else if (s.init === 'normal') for (let i = 0; i < n; i++) v[i] = normal() * s.std!;
    if (s.name === 'item.id') v.fill(0, 0, c.dim); // padding row
    out[s.name] = tf.tensor(v, s.shape, 'float32');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}

/** x [N, in] @ w [in, out] + b */
function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b) as tf.Tensor2D;
}

/** Row-wise L2 normalisation. */
export function l2normalize(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));
}

const maskCache = new Map<number, tf.Tensor2D>();
/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. Cached per T and kept. */
function causalMask(T: number): tf.Tensor2D {
  let m = maskCache.get(T);
  if (!m) {
    const v = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(v, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}

/** Dropout with an explicit seed (deterministic training); identity when `seed` is undefined or rate is 0. */
function drop(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  return seed === undefined || rate <= 0 ? x : tf.dropout(x, rate, undefined, seed);
}

/**
 * The item table [numItems+1, d]: id embedding plus metadata. `idKeep` [numItems+1, 1] (0/1) drops id embeddings
 * during training so that metadata alone must carry cold items. With `rows` (item ids), only those rows, in that
 * order: sampled-softmax training needs a few thousand rows of a large catalog, not all of it.
 */
export function itemTable(p: Params, c: ModelConfig, idKeep?: tf.Tensor, rows?: tf.Tensor1D): tf.Tensor2D {
  const pick = (x: tf.Tensor) => (rows ? tf.gather(x, rows) : x);
  let t: tf.Tensor = idKeep ? tf.mul(pick(p['item.id']!), pick(idKeep)) : pick(p['item.id']!);
  if (c.numGenres > 0) t = tf.add(t, tf.matMul(pick(p['meta.genres']!) as tf.Tensor2D, p['item.genre'] as tf.Tensor2D));
  if (c.numYearBuckets > 0) t = tf.add(t, tf.gather(p['item.year']!, pick(p['meta.year']!)));
  return t as tf.Tensor2D;
}

/** Normalised output item embeddings [numItems+1, d]; row 0 (padding) is meaningless. */
export function itemEmbeddings(p: Params, c: ModelConfig): tf.Tensor2D {
  return tf.tidy(() => l2normalize(itemTable(p, c)) as tf.Tensor2D);
}

/** Embedding of a title outside the vocabulary (cold start): metadata only, normalised [d]. */
export function coldItemEmbedding(p: Params, c: ModelConfig, genres: number[], yearBucket: number): tf.Tensor1D {
  return tf.tidy(() => {
    let v: tf.Tensor = tf.zeros([c.dim]);
    if (c.numGenres > 0 && genres.length) v = tf.add(v, tf.mean(tf.gather(p['item.genre']!, tf.tensor1d(genres, 'int32')), 0));
    if (c.numYearBuckets > 0) v = tf.add(v, tf.reshape(tf.gather(p['item.year']!, tf.tensor1d([yearBucket], 'int32')), [c.dim]));
    return l2normalize(v) as tf.Tensor1D;
  });
}

/** A batch of left-aligned token sequences, flattened row-major [B*T]. */
export interface TokenBatch {
  B: number;
  T: number;
  items: Int32Array;
  events: Int32Array;
  fracs: Int32Array;
}

export interface ForwardOptions {
  /** Dropout seeds; when absent the model runs in inference mode. */
  seed?: () => number;
  idKeep?: tf.Tensor;
  /** Dropout rate on attention probabilities (training only, with `seed`). */
  attentionDropout?: number;
}

/** Token embeddings [B, T, d] from an item table. */
function embed(p: Params, c: ModelConfig, table: tf.Tensor2D, batch: TokenBatch): tf.Tensor3D {
  const { B, T } = batch;
  if (T > c.maxLen) throw new Error(`sequence length ${T} exceeds maxLen ${c.maxLen}`);
  const ids = tf.tensor1d(batch.items, 'int32');
  let x: tf.Tensor = tf.gather(table, ids); // [B*T, d]
  // Event and fraction embeddings; when a batch carries none (all 0 = unknown) add row 0 by broadcasting.
  const side = (name: string, v: Int32Array) =>
    v.some((e) => e !== 0) ? tf.gather(p[name]!, tf.tensor1d(v, 'int32')) : tf.slice(p[name]!, [0, 0], [1, c.dim]);
  x = tf.add(x, tf.add(side('event', batch.events), side('frac', batch.fracs)));
  x = tf.reshape(x, [B, T, c.dim]);
  return tf.add(x, tf.slice(p['pos']!, [0, 0], [T, c.dim])) as tf.Tensor3D; // + pos[t]
}

/** Per-layer keys and values [B, H, T, dh], collected by `forward` when asked (for the incremental encoder). */
interface KvCollector {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
}

/** One transformer block on [B, T, d]. */
function block(p: Params, c: ModelConfig, l: number, x: tf.Tensor3D, seed?: () => number, kv?: KvCollector, attentionDropout = 0): tf.Tensor3D {
  const [B, T, d] = x.shape;
  const H = c.heads;
  const dh = d / H;
  const k = `b${l}.`;
  // attention
  const h = tf.reshape(layerNorm(x, p[k + 'ln1.g']!, p[k + 'ln1.b']!), [B * T, d]);
  // q, k, v from column blocks of the fused weight (slicing the small weight is much cheaper than splitting
  // the [B*T, 3d] activation on wasm)
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]); // [B, H, T, dh]
  const proj = (i: number) => heads(dense(h as tf.Tensor2D, tf.slice(p[k + 'qkv.w']!, [0, i * d], [d, d]), tf.slice(p[k + 'qkv.b']!, [i * d], [d])));
  const q = proj(0) as tf.Tensor4D;
  const kk = proj(1) as tf.Tensor4D;
  const v = proj(2) as tf.Tensor4D;
  kv?.keys.push(kk);
  kv?.values.push(v);
  let att = tf.mul(tf.matMul(q, kk, false, true), 1 / Math.sqrt(dh)); // [B, H, T, T]
  att = tf.softmax(tf.add(att, causalMask(T)));
  // A seed is drawn only when the rate is set, so the other dropout masks stay as they were without it.
  if (attentionDropout > 0 && seed) att = drop(att, attentionDropout, seed());
  const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, d]); // [B*T, d]
  const a = drop(dense(y as tf.Tensor2D, p[k + 'out.w']!, p[k + 'out.b']!), c.dropout, seed?.());
  x = tf.add(x, tf.reshape(a, [B, T, d])) as tf.Tensor3D;
  // feed-forward
  const h2 = tf.reshape(layerNorm(x, p[k + 'ln2.g']!, p[k + 'ln2.b']!), [B * T, d]) as tf.Tensor2D;
  const f = dense(tf.relu(dense(h2, p[k + 'ffn1.w']!, p[k + 'ffn1.b']!)), p[k + 'ffn2.w']!, p[k + 'ffn2.b']!);
  return tf.add(x, tf.reshape(drop(f, c.dropout, seed?.()), [B, T, d])) as tf.Tensor3D;
}

/** Hidden states [B, T, d] (after the final LayerNorm, not normalised). `table` lets callers reuse one item table. */
export function forward(p: Params, c: ModelConfig, batch: TokenBatch, opts: ForwardOptions = {}, table?: tf.Tensor2D, kv?: KvCollector): tf.Tensor3D {
  const tbl = table ?? itemTable(p, c, opts.idKeep);
  let x = drop(embed(p, c, tbl, batch), c.dropout, opts.seed?.()) as tf.Tensor3D;
  for (let l = 0; l < c.layers; l++) x = block(p, c, l, x, opts.seed, kv, opts.attentionDropout);
  return layerNorm(x, p['lnf.g']!, p['lnf.b']!) as tf.Tensor3D;
}

/** Normalised user embeddings [B, d]: the state at each sequence's last real position (`last[b]`). */
export function userEmbeddings(p: Params, c: ModelConfig, batch: TokenBatch, last: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const h = tf.reshape(forward(p, c, batch), [batch.B * batch.T, c.dim]);
    const idx = Int32Array.from(last, (t, b) => b * batch.T + t);
    return l2normalize(tf.gather(h, tf.tensor1d(idx, 'int32'))) as tf.Tensor2D;
  });
}

/** A history as model token indices (oldest first). Events and fractions default to 0 (unknown). */
export interface History {
  items: ArrayLike<number>;
  events?: ArrayLike<number>;
  fracs?: ArrayLike<number>;
}

/** Pack histories into one left-aligned batch, keeping each one's last maxLen tokens. */
export function packHistories(c: ModelConfig, hs: History[], padTo?: number): { batch: TokenBatch; last: Int32Array } {
  const lens = hs.map((h) => Math.min(h.items.length, c.maxLen));
  const T = Math.max(1, padTo ?? Math.max(1, ...lens));
  const B = hs.length;
  const items = new Int32Array(B * T);
  const events = new Int32Array(B * T);
  const fracs = new Int32Array(B * T);
  const last = new Int32Array(B);
  hs.forEach((h, b) => {
    const n = lens[b]!;
    if (n === 0) throw new Error('packHistories: empty history');
    const off = h.items.length - n;
    for (let j = 0; j < n; j++) {
      items[b * T + j] = h.items[off + j]!;
      events[b * T + j] = h.events?.[off + j] ?? 0;
      fracs[b * T + j] = h.fracs?.[off + j] ?? 0;
    }
    last[b] = n - 1;
  });
  return { batch: { B, T, items, events, fracs }, last };
}

/** Normalised user embedding [d] for one history. */
export function userEmbedding(p: Params, c: ModelConfig, h: History): tf.Tensor1D {
  const { batch, last } = packHistories(c, [h]);
  return tf.tidy(() => tf.reshape(userEmbeddings(p, c, batch, last), [c.dim]) as tf.Tensor1D);
}

/** Scores for every item id (index 0 = padding gets -Infinity): dot product of user and item embeddings. */
export async function scoreItems(p: Params, c: ModelConfig, h: History, items?: tf.Tensor2D): Promise<Float32Array> {
  const s = tf.tidy(() => {
    const u = userEmbedding(p, c, h);
    const e = items ?? itemEmbeddings(p, c);
    return tf.reshape(tf.matMul(e, tf.reshape(u, [c.dim, 1])), [c.numItems + 1]);
  });
  const out = (await s.data()) as Float32Array;
  s.dispose();
  out[0] = -Infinity;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Incremental encoding: one new position per call, reusing cached keys/values of earlier positions.

export interface EncoderState {
  /** Number of positions encoded so far. */
  length: number;
  /** Per layer: keys and values [H, length, dh] (kept tensors; call disposeState when done). */
  keys: tf.Tensor3D[];
  values: tf.Tensor3D[];
  /** Final hidden state of the last position [d] (not normalised), or null before the first token. */
  last: tf.Tensor1D | null;
}

export function emptyState(): EncoderState {
  return { length: 0, keys: [], values: [], last: null };
}

export function disposeState(s: EncoderState): void {
  for (const t of [...s.keys, ...s.values]) t.dispose();
  s.last?.dispose();
  s.keys = [];
  s.values = [];
  s.last = null;
}

/**
 * Append one token and return the new state (the old state's tensors are disposed). Equal to running `forward` on
 * the whole history while the history fits in maxLen; past maxLen the window slides and every position moves, so
 * the caller must re-encode the last maxLen tokens (see `encodeHistory`).
 */
export function encodeStep(p: Params, c: ModelConfig, state: EncoderState, item: number, event = 0, frac = 0, table?: tf.Tensor2D): EncoderState {
  const t = state.length;
  if (t >= c.maxLen) throw new Error(`encodeStep: history is full (maxLen ${c.maxLen}); re-encode the last ${c.maxLen} tokens`);
  const d = c.dim;
  const H = c.heads;
  const dh = d / H;
  const next = tf.tidy(() => {
    const tbl = table ?? itemTable(p, c);
    let x: tf.Tensor = tf.add(
      tf.add(tf.gather(tbl, tf.tensor1d([item], 'int32')), tf.gather(p['event']!, tf.tensor1d([event], 'int32'))),
      tf.add(tf.gather(p['frac']!, tf.tensor1d([frac], 'int32')), tf.slice(p['pos']!, [t, 0], [1, d])),
    ); // [1, d]
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    for (let l = 0; l < c.layers; l++) {
      const k = `b${l}.`;
      const h = layerNorm(x, p[k + 'ln1.g']!, p[k + 'ln1.b']!) as tf.Tensor2D;
      const [q, kn, vn] = [0, 1, 2].map((i) =>
        tf.transpose(tf.reshape(dense(h, tf.slice(p[k + 'qkv.w']!, [0, i * d], [d, d]), tf.slice(p[k + 'qkv.b']!, [i * d], [d])), [1, H, dh]), [1, 0, 2]),
      ) as tf.Tensor3D[]; // [H, 1, dh]
      const K = t === 0 ? kn! : tf.concat([state.keys[l]!, kn!], 1); // [H, t+1, dh]
      const Vv = t === 0 ? vn! : tf.concat([state.values[l]!, vn!], 1);
      const att = tf.softmax(tf.mul(tf.matMul(q!, K, false, true), 1 / Math.sqrt(dh))); // [H, 1, t+1]
      const y = tf.reshape(tf.transpose(tf.matMul(att, Vv), [1, 0, 2]), [1, d]) as tf.Tensor2D;
      x = tf.add(x, dense(y, p[k + 'out.w']!, p[k + 'out.b']!));
      const h2 = layerNorm(x, p[k + 'ln2.g']!, p[k + 'ln2.b']!) as tf.Tensor2D;
      x = tf.add(x, dense(tf.relu(dense(h2, p[k + 'ffn1.w']!, p[k + 'ffn1.b']!)), p[k + 'ffn2.w']!, p[k + 'ffn2.b']!));
      keys.push(K as tf.Tensor3D);
      values.push(Vv as tf.Tensor3D);
    }
    const last = tf.reshape(layerNorm(x, p['lnf.g']!, p['lnf.b']!), [d]) as tf.Tensor1D;
    return { keys, values, last };
  });
  disposeState(state);
  return { length: t + 1, keys: next.keys, values: next.values, last: next.last };
}

/**
 * Encode a whole history (its last maxLen tokens) in one batched pass, keeping every layer's keys and values: the
 * same state `encodeStep` builds token by token, at the cost of one forward pass instead of one per token.
 */
export function encodeHistory(p: Params, c: ModelConfig, h: History): EncoderState {
  if (h.items.length === 0) return emptyState();
  const { batch } = packHistories(c, [h]);
  const T = batch.T;
  const H = c.heads;
  const dh = c.dim / H;
  const out = tf.tidy(() => {
    const kv: KvCollector = { keys: [], values: [] };
    const x = forward(p, c, batch, {}, undefined, kv); // [1, T, d]
    return {
      keys: kv.keys.map((k) => tf.reshape(k, [H, T, dh]) as tf.Tensor3D),
      values: kv.values.map((v) => tf.reshape(v, [H, T, dh]) as tf.Tensor3D),
      last: tf.reshape(tf.slice(x, [0, T - 1, 0], [1, 1, c.dim]), [c.dim]) as tf.Tensor1D,
    };
  });
  return { length: T, keys: out.keys, values: out.values, last: out.last };
}

/** Normalised user embedding [d] from an incremental state. */
export function stateEmbedding(s: EncoderState): tf.Tensor1D {
  if (!s.last) throw new Error('stateEmbedding: empty state');
  const last = s.last;
  return tf.tidy(() => l2normalize(last) as tf.Tensor1D);
}

// The training objectives (full and logQ-corrected sampled softmax) live in loss.ts.
