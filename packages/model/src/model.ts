/**
 * The sequence model: a SASRec-style causal self-attention encoder in plain tfjs-core ops.
 * Architecture only (no data, loop or I/O) and browser-safe: the Node trainer and the browser worker run this file.
 *
 *   token t  = item(i_t) + pos(t) + event(e_t) + fraction(f_t)          [d]
 *   item(i)  = idEmb[i] + mean(genreEmb[genres(i)]) + yearEmb[year(i)]  (one table, tied between input and output;
 *              with untiedInput the input side adds its own inEmb[i])
 *   block    = x + Attn(LN(x)) ; x + FFN(LN(x))   (pre-LN, causal mask, ReLU FFN; with recencyBias each head's
 *              logits for query i and key j get -slope[h] * (i - j), a learned recency weighting)
 *   user     = normalize(LN_f(x)[last position])
 *   score(i) = user . normalize(item(i))          (cosine; training divides by the temperature; with itemBias
 *              + temperature * bias[i], served as one dot product of vectors with one more column: embeddingDim)
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

/** Every tensor of the model, in a fixed order (the weight file layout); an ensemble's, member by member. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  if (c.members > 1) {
    const one = paramSpecs(memberConfig(c));
    return Array.from({ length: c.members }, (_, k) => one.map((s) => ({ ...s, name: memberPrefix(k) + s.name }))).flat();
  }
  const d = c.dim;
  const f = c.ffnMult * d;
  const V = c.numItems + 1;
  const w = (name: string, shape: number[], std = 0.02): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'normal', std });
  const z = (name: string, shape: number[]): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'zeros' });
  const o = (name: string, shape: number[]): ParamSpec => ({ name, shape, dtype: 'float32', kind: 'weight', init: 'ones' });
  const residStd = 0.02 / Math.sqrt(2 * c.layers);
  const specs: ParamSpec[] = [w('item.id', [V, d])];
  if (c.untiedInput) specs.push(z('item.in', [V, d]));
  if (c.itemBias) specs.push(z('item.bias', [V]));
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
    if (c.recencyBias) specs.push(z(p + 'recency', [c.heads]));
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
  if (c.members > 1) return joinMembers(Array.from({ length: c.members }, () => initParams(memberConfig(c), meta, normal)));
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

/** Row-wise L2 normalisation. */
export function l2normalize(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));
}

/**
 * A constant [T, T] matrix, made once per backend and T and kept. Keyed by backend: a tensor kept on one backend and
 * used by another is read back synchronously, which on WebGPU in Node throws (and in a browser stalls on the GPU):
 * a worker that falls back from webgpu to wasm would hit it, and bench:node's plans (models on webgpu and on wasm in
 * one process) did, on an H200.
 */
function constantMatrix(cache: Map<string, tf.Tensor2D>, T: number, fill: (v: Float32Array) => void): tf.Tensor2D {
  const key = `${tf.getBackend()}:${T}`;
  let m = cache.get(key);
  if (!m) {
    const v = new Float32Array(T * T);
    fill(v);
    m = tf.keep(tf.tensor2d(v, [T, T]));
    cache.set(key, m);
  }
  return m;
}

const maskCache = new Map<string, tf.Tensor2D>();
/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. */
function causalMask(T: number): tf.Tensor2D {
  return constantMatrix(maskCache, T, (v) => {
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
  });
}

const distanceCache = new Map<string, tf.Tensor2D>();
/** -(i - j) for query i and key j [T, T], on and below the diagonal; 0 above (masked). */
function negativeDistance(T: number): tf.Tensor2D {
  return constantMatrix(distanceCache, T, (v) => {
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) v[i * T + j] = j - i;
  });
}

/** Dropout with an explicit seed (deterministic training); identity when `seed` is undefined or rate is 0. */
function drop(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  return seed === undefined || rate <= 0 ? x : tf.dropout(x, rate, undefined, seed);
}

/**
 * The item table [numItems+1, d]: id embedding plus metadata. With `rows` (item ids), only those rows, in that
 * order: sampled-softmax training needs a few thousand rows of a large catalog, not all of it. `id`: the id
 * embeddings of those rows (of every row without `rows`) in place of `item.id` (the trainer keeps the id table
 * itself). `idKeep` (0/1, one per row of the result) drops id embeddings during training so that metadata alone
 * must carry cold items.
 */
export function itemTable(p: Params, c: ModelConfig, idKeep?: tf.Tensor, rows?: tf.Tensor1D, id?: tf.Tensor2D): tf.Tensor2D {
  return table(p, c, false, idKeep, rows, id);
}

/**
 * The input side's item table: `itemTable` plus, with untiedInput, the input-only id table (`item.in`); the
 * same arguments, and `inId`: the input-only embeddings of those rows in place of `item.in` (the trainer keeps that
 * table itself too). Item-id dropout blanks both id parts, so metadata alone must carry a dropped title.
 */
export function inputItemTable(p: Params, c: ModelConfig, idKeep?: tf.Tensor, rows?: tf.Tensor1D, id?: tf.Tensor2D, inId?: tf.Tensor2D): tf.Tensor2D {
  return table(p, c, c.untiedInput, idKeep, rows, id, inId);
}

function table(p: Params, c: ModelConfig, input: boolean, idKeep?: tf.Tensor, rows?: tf.Tensor1D, id?: tf.Tensor2D, inId?: tf.Tensor2D): tf.Tensor2D {
  const pick = (x: tf.Tensor) => (rows ? tf.gather(x, rows) : x);
  const own = id ?? pick(p['item.id']!);
  const ids = input ? tf.add(own, inId ?? pick(p['item.in']!)) : own;
  let t: tf.Tensor = idKeep ? tf.mul(ids, idKeep) : ids;
  if (c.numGenres > 0) t = tf.add(t, tf.matMul(pick(p['meta.genres']!) as tf.Tensor2D, p['item.genre'] as tf.Tensor2D));
  if (c.numYearBuckets > 0) t = tf.add(t, tf.gather(p['item.year']!, pick(p['meta.year']!)));
  return t as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------------
// Ensembles (config.members > 1): the members' tensors in one Params, named `m0.`, `m1.`, ...; served vectors side by
// side, so one dot product scores with all of them.

const memberPrefix = (k: number) => `m${k}.`;
/** One member's config: the ensemble's, with one member. */
const memberConfig = (c: ModelConfig): ModelConfig => ({ ...c, members: 1 });

/** Each member's params (its names without the `m{k}.` prefix) and config; a single model is its own only member. */
export function ensembleMembers(p: Params, c: ModelConfig): { params: Params; config: ModelConfig }[] {
  if (!(c.members > 1)) return [{ params: p, config: c }];
  const config = memberConfig(c);
  return Array.from({ length: c.members }, (_, k) => {
    const prefix = memberPrefix(k);
    const params: Params = {};
    for (const [name, t] of Object.entries(p)) if (name.startsWith(prefix)) params[name.slice(prefix.length)] = t;
    return { params, config };
  });
}

/** An ensemble's Params from its members' (the inverse of ensembleMembers; the tensors are shared, not copied). */
export function joinMembers(members: Params[]): Params {
  const out: Params = {};
  members.forEach((m, k) => {
    for (const [name, t] of Object.entries(m)) out[memberPrefix(k) + name] = t;
  });
  return out;
}

/**
 * Members' user or item rows side by side, each scaled by 1/sqrt(members): the dot product of a joined user row and
 * a joined item row is the mean of the members' scores, and joined rows of unit-norm members have unit norm.
 */
function sideBySide(parts: tf.Tensor2D[]): tf.Tensor2D {
  return parts.length === 1 ? parts[0]! : (tf.mul(tf.concat(parts, 1), 1 / Math.sqrt(parts.length)) as tf.Tensor2D);
}

/** An ensemble's served rows: `rows` of each member, side by side. */
function membersSideBySide(p: Params, c: ModelConfig, rows: (p: Params, c: ModelConfig) => tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => sideBySide(ensembleMembers(p, c).map((m) => rows(m.params, m.config))));
}

/** Width of served user and item vectors: dim, plus the score-bias column with itemBias; times the members. */
export const embeddingDim = (c: Pick<ModelConfig, 'dim' | 'itemBias' | 'members'>): number => (c.dim + (c.itemBias ? 1 : 0)) * Math.max(1, c.members ?? 1);

/** With itemBias, item rows [n, d] (normalised) gain the column temperature * bias [n]; otherwise unchanged. */
export function withBiasColumn(c: ModelConfig, items: tf.Tensor2D, bias: tf.Tensor | undefined): tf.Tensor2D {
  if (!c.itemBias) return items;
  if (!bias) throw new Error('model: itemBias needs item.bias');
  return tf.concat([items, tf.reshape(tf.mul(bias, c.temperature), [-1, 1])], 1) as tf.Tensor2D;
}

/** With itemBias, user rows [n, d] (normalised) gain the constant column 1 that reads the items' bias column. */
export function withOnesColumn(c: ModelConfig, users: tf.Tensor2D): tf.Tensor2D {
  return c.itemBias ? (tf.concat([users, tf.onesLike(tf.slice(users, [0, 0], [-1, 1]))], 1) as tf.Tensor2D) : users;
}

/** The bias a title outside the vocabulary gets: the mean of the known titles' (row 0, padding, left out). */
export function coldItemBias(p: Params, c: ModelConfig): tf.Scalar | undefined {
  return c.itemBias ? tf.tidy(() => tf.mean(tf.slice(p['item.bias']!, [1], [c.numItems])) as tf.Scalar) : undefined;
}

/**
 * Output item embeddings [numItems+1, embeddingDim]: normalised, plus the bias column with itemBias; row 0 (padding)
 * is meaningless.
 */
export function itemEmbeddings(p: Params, c: ModelConfig): tf.Tensor2D {
  if (c.members > 1) return membersSideBySide(p, c, itemEmbeddings);
  return tf.tidy(() => withBiasColumn(c, l2normalize(itemTable(p, c)) as tf.Tensor2D, p['item.bias']));
}

/**
 * Embeddings of titles outside the vocabulary (cold start) [n, embeddingDim], from metadata only: per title its
 * genre indices (their embeddings averaged) and year bucket; normalised, plus the mean bias with itemBias.
 */
export function coldItemEmbeddings(p: Params, c: ModelConfig, genres: readonly (readonly number[])[], yearBuckets: readonly number[]): tf.Tensor2D {
  if (c.members > 1) return membersSideBySide(p, c, (mp, mc) => coldItemEmbeddings(mp, mc, genres, yearBuckets));
  const n = genres.length;
  return tf.tidy(() => {
    let v: tf.Tensor = tf.zeros([n, c.dim]);
    if (c.numGenres > 0) {
      const hot = new Float32Array(n * c.numGenres);
      genres.forEach((g, k) => {
        for (const j of g) hot[k * c.numGenres + j]! += 1 / g.length;
      });
      v = tf.add(v, tf.matMul(tf.tensor2d(hot, [n, c.numGenres]), p['item.genre'] as tf.Tensor2D));
    }
    if (c.numYearBuckets > 0) v = tf.add(v, tf.gather(p['item.year']!, Int32Array.from(yearBuckets)));
    const bias = coldItemBias(p, c);
    // Tensor ops only: a synchronous read (dataSync) can break WebGPU.
    return withBiasColumn(c, l2normalize(v) as tf.Tensor2D, bias && tf.mul(tf.ones([n]), bias));
  });
}

/** One title's cold-start embedding [embeddingDim] (coldItemEmbeddings for one title). */
export function coldItemEmbedding(p: Params, c: ModelConfig, genres: number[], yearBucket: number): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(coldItemEmbeddings(p, c, [genres], [yearBucket]), [-1]) as tf.Tensor1D);
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

/** A dense layer's weights: x [N, in] @ w [in, out] + b. */
interface Dense {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

/**
 * One block's weights as the block uses them. Training weights are the parameters themselves (`ln*` present: a full
 * LayerNorm with its affine). Inference weights (`inferenceWeights`) fold each LayerNorm's centering, affine and
 * sqrt(d) into the projection after it and keep the residual stream centered, so a norm is one kernel (`rowNorm`).
 */
interface BlockWeights {
  ln1?: { g: tf.Tensor; b: tf.Tensor };
  ln2?: { g: tf.Tensor; b: tf.Tensor };
  q: Dense;
  k: Dense;
  v: Dense;
  out: Dense;
  ffn1: Dense;
  ffn2: Dense;
  /** Multiplies attention logits: 1/sqrt(dh) for training weights, 1 where the scale is folded into `q`. */
  logitScale: number;
  /** Per-head recency slopes [H] (config.recencyBias): logits get -slope * distance. */
  recency?: tf.Tensor1D;
}

function denseOf(p: Params, name: string): Dense {
  return { w: p[name + '.w'] as tf.Tensor2D, b: p[name + '.b'] as tf.Tensor1D };
}

/** Training weights of block `l`: q, k and v are column blocks of the fused projection (sliced, so gradients flow). */
function trainingBlockWeights(p: Params, c: ModelConfig, l: number): BlockWeights {
  const k = `b${l}.`;
  const d = c.dim;
  const qkv = denseOf(p, k + 'qkv');
  // Slicing the small weight is much cheaper than splitting the [B*T, 3d] activation on wasm.
  const part = (i: number): Dense => ({ w: tf.slice(qkv.w, [0, i * d], [d, d]), b: tf.slice(qkv.b, [i * d], [d]) });
  return {
    ln1: { g: p[k + 'ln1.g']!, b: p[k + 'ln1.b']! },
    ln2: { g: p[k + 'ln2.g']!, b: p[k + 'ln2.b']! },
    q: part(0),
    k: part(1),
    v: part(2),
    out: denseOf(p, k + 'out'),
    ffn1: denseOf(p, k + 'ffn1'),
    ffn2: denseOf(p, k + 'ffn2'),
    logitScale: 1 / Math.sqrt(d / c.heads),
    recency: c.recencyBias ? (p[k + 'recency'] as tf.Tensor1D) : undefined,
  };
}

/** x [N, in] @ w + b, optionally through ReLU: one fused kernel. */
function dense(x: tf.Tensor2D, w: Dense, activation?: 'relu'): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w.w, bias: w.b, activation }) as tf.Tensor2D;
}

/**
 * x * rsqrt(sum(x^2) + bias) over each row of x [N, d]. With bias d*1e-5 on a centered row it is LayerNorm without
 * its affine, divided by sqrt(d). A single row (the incremental step, where launches are the cost) is one kernel:
 * local response normalization whose window spans the row. Many rows use plain ops: that kernel sums a window per
 * element, d times the work, which measured slower than the whole 200-position encode's matMuls on wasm.
 */
function rowNorm(x: tf.Tensor2D, bias: number): tf.Tensor2D {
  const [n, d] = x.shape;
  if (n > 1) return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), bias)));
  return tf.reshape(tf.localResponseNormalization(tf.reshape(x, [1, 1, n, d]) as tf.Tensor4D, d, bias, 1, 0.5), [n, d]);
}

const LN_EPS = 1e-5;

function norm(x: tf.Tensor2D, ln: BlockWeights['ln1']): tf.Tensor2D {
  return ln ? (layerNorm(x, ln.g, ln.b) as tf.Tensor2D) : rowNorm(x, x.shape[1] * LN_EPS);
}

/** The attention sublayer's output for rows h (already normalised), after the output projection. */
type Attend = (h: tf.Tensor2D) => tf.Tensor2D;

/** One transformer block on rows x [N, d] (pre-LN); `attend` says which positions each row attends to. */
function block(w: BlockWeights, x: tf.Tensor2D, attend: Attend, drop: (t: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  x = tf.add(x, drop(attend(norm(x, w.ln1))));
  return tf.add(x, drop(dense(dense(norm(x, w.ln2), w.ffn1, 'relu'), w.ffn2)));
}

/**
 * Causal self-attention within each of B sequences of T rows. `kv`, when given, receives each layer's keys and
 * values as one [B*T, 2d] matrix (k | v): the incremental encoder's cache.
 */
function causalAttention(w: BlockWeights, c: ModelConfig, B: number, T: number, kv?: tf.Tensor2D[], attentionDrop?: (t: tf.Tensor) => tf.Tensor): Attend {
  const d = c.dim;
  const H = c.heads;
  const dh = d / H;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]); // [B, H, T, dh]
  return (h) => {
    const k = dense(h, w.k);
    const v = dense(h, w.v);
    kv?.push(tf.concat([k, v], 1));
    // The scale goes on q [B*T, d], not on the logits [B, H, T, T]: T/dh times fewer multiplies, forward and back.
    const q = w.logitScale !== 1 ? tf.mul(dense(h, w.q), w.logitScale) : dense(h, w.q);
    const logits = tf.matMul(heads(q), heads(k), false, true); // [B, H, T, T]
    // The recency bias joins the mask as one [H, T, T] term, so the [B, H, T, T] logits take a single add.
    const bias = w.recency ? tf.add(causalMask(T), tf.mul(tf.reshape(w.recency, [H, 1, 1]), negativeDistance(T))) : causalMask(T);
    const probs = tf.softmax(tf.add(logits, bias));
    const att = attentionDrop ? attentionDrop(probs) : probs;
    const y = tf.reshape(tf.transpose(tf.matMul(att, heads(v)), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
    return dense(y, w.out);
  };
}

/** The encoder over token rows x0 [B*T, d]: every block, then the final norm. Hidden states [B*T, d]. */
function encode(
  blocks: readonly BlockWeights[],
  final: { ln?: BlockWeights['ln1']; dense?: Dense },
  c: ModelConfig,
  x0: tf.Tensor2D,
  B: number,
  T: number,
  drop: (t: tf.Tensor2D) => tf.Tensor2D,
  kv?: tf.Tensor2D[],
  attentionDrop?: (t: tf.Tensor) => tf.Tensor,
): tf.Tensor2D {
  let x = x0;
  for (const w of blocks) x = block(w, x, causalAttention(w, c, B, T, kv, attentionDrop), drop);
  const n = norm(x, final.ln);
  return final.dense ? dense(n, final.dense) : n;
}

/** Hidden states [B, T, d] (after the final LayerNorm, not normalised). `table` lets callers reuse one item table. */
export function forward(p: Params, c: ModelConfig, batch: TokenBatch, opts: ForwardOptions = {}, table?: tf.Tensor2D): tf.Tensor3D {
  const tbl = table ?? inputItemTable(p, c, opts.idKeep);
  const { B, T } = batch;
  const dropout = (t: tf.Tensor2D) => drop(t, c.dropout, opts.seed?.()) as tf.Tensor2D;
  const x0 = dropout(tf.reshape(embed(p, c, tbl, batch), [B * T, c.dim]) as tf.Tensor2D);
  const blocks = Array.from({ length: c.layers }, (_, l) => trainingBlockWeights(p, c, l));
  // Attention dropout (training only) draws its seeds only when set, so the other masks stay as they were without it.
  const rate = opts.attentionDropout ?? 0;
  const attentionDrop = opts.seed && rate > 0 ? (t: tf.Tensor) => drop(t, rate, opts.seed!()) : undefined;
  const h = encode(blocks, { ln: { g: p['lnf.g']!, b: p['lnf.b']! } }, c, x0, B, T, dropout, undefined, attentionDrop);
  return tf.reshape(h, [B, T, c.dim]) as tf.Tensor3D;
}

/**
 * User embeddings [B, embeddingDim]: the normalised state at each sequence's last real position (`last[b]`), plus
 * the ones column with itemBias.
 */
export function userEmbeddings(p: Params, c: ModelConfig, batch: TokenBatch, last: Int32Array): tf.Tensor2D {
  if (c.members > 1) return membersSideBySide(p, c, (mp, mc) => userEmbeddings(mp, mc, batch, last));
  return tf.tidy(() => {
    const h = tf.reshape(forward(p, c, batch), [batch.B * batch.T, c.dim]);
    const idx = Int32Array.from(last, (t, b) => b * batch.T + t);
    return withOnesColumn(c, l2normalize(tf.gather(h, tf.tensor1d(idx, 'int32'))) as tf.Tensor2D);
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

/** User embedding [embeddingDim] for one history. */
export function userEmbedding(p: Params, c: ModelConfig, h: History): tf.Tensor1D {
  const { batch, last } = packHistories(c, [h]);
  return tf.tidy(() => tf.reshape(userEmbeddings(p, c, batch, last), [-1]) as tf.Tensor1D);
}

/** Scores for every item id (index 0 = padding gets -Infinity): dot product of user and item embeddings. */
export async function scoreItems(p: Params, c: ModelConfig, h: History, items?: tf.Tensor2D): Promise<Float32Array> {
  const s = tf.tidy(() => {
    const u = userEmbedding(p, c, h);
    const e = items ?? itemEmbeddings(p, c);
    return tf.reshape(tf.matMul(e, tf.reshape(u, [-1, 1])), [c.numItems + 1]);
  });
  const out = (await s.data()) as Float32Array;
  s.dispose();
  out[0] = -Infinity;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Inference: folded weights, a full pass that fills a key/value cache, and one-position steps over that cache.

/**
 * Weights for serving, derived once from the parameters (kept tensors; `disposeInferenceWeights`). The math is the
 * training model's; the layout cuts kernel launches, which is what a one-position step is made of on a GPU:
 * - one token table (items, events, fractions, positions stacked): a token is one gather and one sum;
 * - every row of it and every residual branch centered, so the stream stays centered and each LayerNorm is one
 *   `rowNorm` kernel, its affine and sqrt(d) folded into the projection after it (the final one into `final`);
 * - the attention scale folded into the query weights;
 * - for the step, per layer: `kv` (keys | values of the new position, one matMul), `qHeads` (each head's query
 *   placed on that head's key columns, zeros elsewhere, so all heads' logits over the cache are one matMul) and
 *   `outHeads` (the output projection reading each head's value columns from all heads' weighted sums).
 */
export interface InferenceWeights {
  config: ModelConfig;
  /** [V + events + fractions + maxLen, d]: rows at offsets 0, V, V + events, V + events + fractions. */
  tokens: tf.Tensor2D;
  blocks: BlockWeights[];
  steps: { kv: Dense; qHeads: Dense; outHeads: Dense; recency?: tf.Tensor2D }[];
  final: Dense;
}

export function inferenceWeights(p: Params, c: ModelConfig): InferenceWeights {
  if (c.members > 1) throw new Error('inferenceWeights: one model at a time; an ensemble serves each member (ensembleMembers) and joins them (ensembleEncoder)');
  const d = c.dim;
  const H = c.heads;
  const dh = d / H;
  const out = tf.tidy((): never => {
    const center = (t: tf.Tensor) => tf.sub(t, tf.mean(t, -1, true)) as tf.Tensor2D;
    const centerRows = (w: Dense): Dense => ({ w: center(w.w), b: center(w.b) as tf.Tensor as tf.Tensor1D });
    // LayerNorm(x) = rowNorm(x) * sqrt(d) * g + b, so (LayerNorm(x)) @ W + c = rowNorm(x) @ (sqrt(d) g W) + (b W + c).
    const afterNorm = (ln: { g: tf.Tensor; b: tf.Tensor }, w: Dense, scale = 1): Dense => ({
      w: tf.mul(tf.mul(tf.reshape(ln.g, [d, 1]), w.w), Math.sqrt(d) * scale),
      b: tf.mul(tf.add(tf.reshape(tf.matMul(tf.reshape(ln.b, [1, d]), w.w), [-1]), w.b), scale) as tf.Tensor1D,
    });
    const tokens = center(tf.concat([inputItemTable(p, c), p['event']!, p['frac']!, p['pos']!], 0));
    const blocks: BlockWeights[] = [];
    const steps: InferenceWeights['steps'] = [];
    for (let l = 0; l < c.layers; l++) {
      const t = trainingBlockWeights(p, c, l);
      const w: BlockWeights = {
        q: afterNorm(t.ln1!, t.q, t.logitScale),
        k: afterNorm(t.ln1!, t.k),
        v: afterNorm(t.ln1!, t.v),
        out: centerRows(t.out),
        ffn1: afterNorm(t.ln2!, t.ffn1),
        ffn2: centerRows(t.ffn2),
        logitScale: 1,
        recency: t.recency ? (tf.clone(t.recency) as tf.Tensor1D) : undefined,
      };
      blocks.push(w);
      // Head h's query columns moved to key columns h*dh.. of a [2d] (k | v) row; zeros elsewhere.
      const qHeads = (x: tf.Tensor, axis: 0 | 1) =>
        tf.concat(
          Array.from({ length: H }, (_, h) => {
            const part = axis === 1 ? tf.slice(x, [0, h * dh], [d, dh]) : tf.slice(x, [h * dh], [dh]);
            const pad: [number, number] = [h * dh, 2 * d - (h + 1) * dh];
            return axis === 1 ? tf.pad(part, [[0, 0], pad]) : tf.pad(part, [pad]);
          }),
          axis === 1 ? 1 : 0,
        );
      // Head h's rows of the output projection placed at value columns d + h*dh.. of head h's [2d] block.
      const outHeads = tf.concat(Array.from({ length: H }, (_, h) => tf.pad(tf.slice(w.out.w, [h * dh, 0], [dh, d]), [[d + h * dh, d - (h + 1) * dh], [0, 0]])), 0);
      // Each head's bias for keys 0..maxLen-1 seen from position maxLen-1; a step at position t reads its last t+1 columns.
      const L = c.maxLen;
      const recency = w.recency ? (tf.mul(tf.reshape(w.recency, [H, 1]), tf.reshape(tf.slice(negativeDistance(L), [L - 1, 0], [1, L]), [1, L])) as tf.Tensor2D) : undefined;
      steps.push({
        kv: { w: tf.concat([w.k.w, w.v.w], 1), b: tf.concat([w.k.b, w.v.b]) },
        qHeads: { w: qHeads(w.q.w, 1) as tf.Tensor2D, b: qHeads(w.q.b, 0) as tf.Tensor1D },
        outHeads: { w: outHeads as tf.Tensor2D, b: w.out.b },
        recency,
      });
    }
    const final: Dense = { w: tf.mul(tf.diag(p['lnf.g']!), Math.sqrt(d)) as tf.Tensor2D, b: p['lnf.b'] as tf.Tensor1D };
    return { tokens, blocks, steps, final: { w: final.w, b: tf.clone(final.b) } } as never; // tidy keeps every tensor inside
  }) as Omit<InferenceWeights, 'config'>;
  return { config: c, ...out };
}

export function disposeInferenceWeights(w: InferenceWeights): void {
  tf.dispose([w.tokens, w.final.w, w.final.b]);
  for (const b of w.blocks) tf.dispose([...[b.q, b.k, b.v, b.out, b.ffn1, b.ffn2].flatMap((x) => [x.w, x.b]), ...(b.recency ? [b.recency] : [])]);
  for (const s of w.steps) tf.dispose([s.kv.w, s.kv.b, s.qHeads.w, s.qHeads.b, s.outHeads.w, ...(s.recency ? [s.recency] : [])]); // outHeads.b is out.b
}

/** Rows of the token table for each token: item, event, fraction and position, [n * 4]. */
function tokenRows(c: ModelConfig, items: ArrayLike<number>, events: ArrayLike<number> | undefined, fracs: ArrayLike<number> | undefined, first: number): Int32Array {
  const V = c.numItems + 1;
  const rows = new Int32Array(items.length * 4);
  for (let j = 0; j < items.length; j++) {
    rows.set([items[j]!, V + (events?.[j] ?? 0), V + c.numEventTypes + (fracs?.[j] ?? 0), V + c.numEventTypes + c.numFractionBuckets + first + j], j * 4);
  }
  return rows;
}

/** Token rows [n, d]: the sum of each token's four table rows (one gather, one sum). */
function embedTokens(w: InferenceWeights, rows: Int32Array): tf.Tensor2D {
  return tf.sum(tf.reshape(tf.gather(w.tokens, rows), [rows.length / 4, 4, w.config.dim]), 1) as tf.Tensor2D;
}

export interface EncoderState {
  /** Number of positions encoded so far. */
  length: number;
  /** Per layer: keys | values of every position so far, [length, 2d] (kept tensors; call disposeState when done). */
  kv: tf.Tensor2D[];
  /** Final hidden state of the last position [d] (not normalised), or null before the first token. */
  last: tf.Tensor1D | null;
  /**
   * An ensemble's state (joinStates): one state per member, all over the same positions. `length` and `last` are
   * then member 0's, so a caller reads them as for one model; `kv` is empty.
   */
  members?: EncoderState[];
}

/** An ensemble's state from its members' states (the same positions each). */
export function joinStates(members: EncoderState[]): EncoderState {
  const first = members[0];
  if (!first) throw new Error('joinStates: no member states');
  return { length: first.length, kv: [], last: first.last, members };
}

export function emptyState(): EncoderState {
  return { length: 0, kv: [], last: null };
}

export function disposeState(s: EncoderState): void {
  if (s.members) {
    s.members.forEach(disposeState);
    s.members = [];
    s.last = null; // member 0's, disposed with it
    return;
  }
  tf.dispose(s.kv);
  s.last?.dispose();
  s.kv = [];
  s.last = null;
}

/** The first `n` positions of a state (the rest disposed), without a final hidden state: the next step makes one. */
export function truncateState(s: EncoderState, n: number): EncoderState {
  if (s.members) return joinStates(s.members.map((m) => truncateState(m, n)));
  const kv = n > 0 ? s.kv.map((t) => tf.slice(t, [0, 0], [n, -1]) as tf.Tensor2D) : [];
  disposeState(s);
  return { length: n, kv, last: null };
}

/**
 * Append one token and return the new state (the old state's tensors are disposed). Equal to the full encoder on
 * the whole history while the history fits in maxLen; past maxLen the window slides and every position moves, so
 * the caller must re-encode the last maxLen tokens (see `encodeHistory`).
 */
export function encodeStep(w: InferenceWeights, state: EncoderState, item: number, event = 0, frac = 0): EncoderState {
  const c = w.config;
  const t = state.length;
  if (t >= c.maxLen) throw new Error(`encodeStep: history is full (maxLen ${c.maxLen}); re-encode the last ${c.maxLen} tokens`);
  const H = c.heads;
  const next = tf.tidy(() => {
    const kv: tf.Tensor2D[] = [];
    let x = embedTokens(w, tokenRows(c, [item], [event], [frac], t)); // [1, d]
    w.blocks.forEach((b, l) => {
      const s = w.steps[l]!;
      const attend: Attend = (h) => {
        const fresh = dense(h, s.kv); // [1, 2d]
        const cache = t === 0 ? fresh : (tf.concat([state.kv[l]!, fresh], 0) as tf.Tensor2D); // [t+1, 2d]
        kv.push(cache);
        const q = tf.reshape(dense(h, s.qHeads), [H, 2 * c.dim]);
        const logits = tf.matMul(q, cache, false, true); // [H, t+1]: each head's logits over its key columns
        const att = tf.softmax(s.recency ? tf.add(logits, tf.slice(s.recency, [0, c.maxLen - 1 - t], [H, t + 1])) : logits);
        return dense(tf.reshape(tf.matMul(att, cache), [1, H * 2 * c.dim]) as tf.Tensor2D, s.outHeads);
      };
      x = block(b, x, attend, (y) => y);
    });
    const last = tf.reshape(dense(norm(x, undefined), w.final), [c.dim]) as tf.Tensor1D;
    return { kv, last };
  });
  disposeState(state);
  return { length: t + 1, kv: next.kv, last: next.last };
}

/**
 * Encode a whole history (its last maxLen tokens) in one batched pass, keeping every layer's keys and values: the
 * same state `encodeStep` builds token by token, at the cost of one forward pass instead of one per token.
 */
export function encodeHistory(w: InferenceWeights, h: History): EncoderState {
  if (h.items.length === 0) return emptyState();
  const c = w.config;
  const n = Math.min(h.items.length, c.maxLen);
  const from = h.items.length - n;
  const window = <T,>(a: ArrayLike<T> | undefined) => (a ? Array.prototype.slice.call(a, from) as T[] : undefined);
  const out = tf.tidy(() => {
    const kv: tf.Tensor2D[] = [];
    const x0 = embedTokens(w, tokenRows(c, window(h.items)!, window(h.events), window(h.fracs), 0));
    const hidden = encode(w.blocks, { dense: w.final }, c, x0, 1, n, (y) => y, kv);
    return { kv, last: tf.reshape(tf.slice(hidden, [n - 1, 0], [1, c.dim]), [c.dim]) as tf.Tensor1D };
  });
  return { length: n, kv: out.kv, last: out.last };
}

/** Normalised user embedding [d] from an incremental state (one kernel). */
export function stateEmbedding(s: EncoderState): tf.Tensor1D {
  if (s.members) throw new Error('stateEmbedding: one model\'s state; an ensemble\'s user vector is servedUserEmbedding');
  if (!s.last) throw new Error('stateEmbedding: empty state');
  const last = s.last;
  return tf.tidy(() => tf.reshape(rowNorm(tf.reshape(last, [1, -1]) as tf.Tensor2D, 1e-12), [-1]) as tf.Tensor1D);
}

/**
 * The served user vector [embeddingDim] of a non-empty state: normalised, plus the ones column that reads the items'
 * bias column with itemBias; an ensemble's members side by side (scores: the mean of the members').
 */
export function servedUserEmbedding(c: ModelConfig, s: EncoderState): tf.Tensor1D {
  return tf.tidy(() => {
    const row = (mc: ModelConfig, st: EncoderState) => withOnesColumn(mc, tf.reshape(stateEmbedding(st), [1, -1]) as tf.Tensor2D);
    const rows = s.members ? sideBySide(s.members.map((m) => row(memberConfig(c), m))) : row(c, s);
    return tf.reshape(rows, [-1]) as tf.Tensor1D;
  });
}

// The training objectives (full and logQ-corrected sampled softmax) live in loss.ts.
