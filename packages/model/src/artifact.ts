/**
 * Versioned model artifact, browser-safe: one little-endian weight file plus a JSON manifest (config, item
 * vocabulary with metadata, metrics, data summary, weight layout, sha256 of every file).
 * `loadModel(manifest, getFile)` verifies every file's sha256 (WebCrypto) before building tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { topK, type FileEntry, type ManifestItems, type ModelManifest, type WeightEntry } from '@marquee/core';
import { validateModelConfig, type ModelConfig } from './config.ts';
import { EVENT_INDEX, fractionBucket, yearBucket, type EventKind } from './data/types.ts';
import {
  coldItemEmbedding,
  coldItemEmbeddings,
  disposeInferenceWeights,
  disposeState,
  encodeHistory,
  encodeStep,
  ensembleMembers,
  inferenceWeights,
  itemEmbeddings,
  joinStates,
  paramSpecs,
  scoreItems,
  servedUserEmbedding,
  truncateState,
  userEmbedding,
  type EncoderState,
  type History,
  type InferenceWeights,
  type Params,
} from './model.ts';

/**
 * Format 2: a model with an input-only item table (config.untiedInput); format 3: a model with a recency bias in
 * attention (config.recencyBias) or a per-title score bias (config.itemBias), with or without that table; format 4:
 * an ensemble (config.members > 1) of models of any of those. Older readers refuse a newer format by number.
 */
export const FORMAT_VERSION = 4;
/** The format an artifact of this config is written in: the oldest that holds it, so older readers load what they can. */
export const formatVersionFor = (c: Pick<ModelConfig, 'untiedInput' | 'recencyBias' | 'itemBias' | 'members'>): number =>
  c.members > 1 ? 4 : c.recencyBias || c.itemBias ? 3 : c.untiedInput ? 2 : 1;
export const WEIGHTS_FILE = 'weights.bin';

/** The manifest's shape is the wire contract in @marquee/core; `loadModel` checks its values. */
export type { FileEntry, ManifestItems, WeightEntry } from '@marquee/core';
export type Manifest = ModelManifest;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The artifact's integrity check, the one every reader runs (the device's loader, the server's publish, the
 * trainer's write): each listed file has the manifest's size and sha256. Returns the bytes by path.
 */
export async function verifyFiles(entries: readonly FileEntry[], getFile: (path: string) => Promise<ArrayBuffer | Uint8Array>): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const f of entries) {
    const raw = await getFile(f.path);
    const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
    if (bytes.byteLength !== f.bytes) throw new Error(`${f.path} has ${bytes.byteLength} bytes, manifest says ${f.bytes}`);
    const sha = await sha256Hex(bytes);
    if (sha !== f.sha256) throw new Error(`sha256 mismatch for ${f.path} (got ${sha}, manifest says ${f.sha256})`);
    files.set(f.path, bytes);
  }
  return files;
}

export interface SerializeInput {
  config: ModelConfig;
  params: Params;
  items: ManifestItems;
  train?: unknown;
  metrics?: unknown;
  data?: unknown;
  createdAt?: Date;
}

/** Params -> manifest + files (path -> bytes). Little-endian float32/int32, in paramSpecs order. */
export async function serializeModel(input: SerializeInput): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  const specs = paramSpecs(input.config);
  const chunks: Uint8Array[] = [];
  const weights: WeightEntry[] = [];
  let offset = 0;
  for (const s of specs) {
    const t = input.params[s.name];
    if (!t) throw new Error(`serializeModel: missing tensor ${s.name}`);
    if (t.shape.join(',') !== s.shape.join(',')) throw new Error(`serializeModel: ${s.name} has shape [${t.shape}], expected [${s.shape}]`);
    const v = s.dtype === 'int32' ? Int32Array.from(await t.data()) : Float32Array.from(await t.data());
    const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    chunks.push(b);
    weights.push({ name: s.name, shape: s.shape, dtype: s.dtype, file: WEIGHTS_FILE, offset, bytes: b.byteLength });
    offset += b.byteLength;
  }
  const bin = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) bin.set(c, (o += c.byteLength) - c.byteLength);
  const sha = await sha256Hex(bin);
  const created = input.createdAt ?? new Date();
  const manifest: Manifest = {
    formatVersion: formatVersionFor(input.config),
    version: `${created.toISOString().replace(/[:.]/g, '-')}-${sha.slice(0, 12)}`,
    createdAt: created.toISOString(),
    config: input.config,
    train: input.train,
    items: input.items,
    metrics: input.metrics,
    data: input.data,
    weights,
    files: [{ path: WEIGHTS_FILE, bytes: bin.byteLength, sha256: sha }],
  };
  return { manifest, files: new Map([[WEIGHTS_FILE, bin]]) };
}

/**
 * The incremental encoder's operations on a model's serving weights (built once, owned by the model): states are
 * the caller's to dispose (`dispose`).
 */
export interface SequenceEncoder {
  /** Encode a whole history (its last maxLen tokens) in one pass, keeping every position's keys and values. */
  full(h: History): EncoderState;
  /** Append one token (the old state is disposed); throws once the state holds maxLen positions. */
  step(s: EncoderState, item: number, event?: number, frac?: number): EncoderState;
  /** Keep the first `n` positions (the old state is disposed). */
  truncate(s: EncoderState, n: number): EncoderState;
  /** Normalised user embedding [d] of a non-empty state (caller disposes). */
  embedding(s: EncoderState): tf.Tensor1D;
  dispose(s: EncoderState): void;
}

export interface CatalogTitleMeta {
  id: string;
  genres?: readonly string[];
  year?: number;
}

export interface LoadedModel {
  readonly manifest: Manifest;
  readonly config: ModelConfig;
  readonly params: Params;
  /** Model item id (>= 1) for an external item id. */
  itemIndex(id: string): number | undefined;
  /** External id for a model item id. */
  itemId(index: number): string;
  /** Build a history from external events (unknown titles are skipped). */
  toHistory(events: { titleId: string; event?: EventKind; fraction?: number }[]): History;
  /** Scores over model item ids (index 0 = padding = -Infinity). */
  score(h: History): Promise<Float32Array>;
  /** Top-k external ids, excluding the history's items unless `includeSeen`. */
  recommend(h: History, k: number, opts?: { includeSeen?: boolean }): Promise<{ id: string; score: number }[]>;
  /** Normalised user embedding [d] (caller disposes). */
  userEmbedding(h: History): tf.Tensor1D;
  /** Normalised item embeddings [numItems+1, d] (caller disposes). */
  itemEmbeddings(): tf.Tensor2D;
  /** Embedding for a title outside the vocabulary, from its metadata (caller disposes). */
  coldItemEmbedding(meta: { genres?: readonly string[]; year?: number }): tf.Tensor1D;
  /**
   * Normalised embeddings of catalog titles, row r for titles[r] [n, d] (caller disposes): the model's own item
   * embedding for a title it knows, its metadata embedding (genres, year) for one it does not (`cold`).
   */
  catalogEmbeddings(titles: readonly CatalogTitleMeta[]): { matrix: tf.Tensor2D; cold: Set<string> };
  /** The incremental encoder on this model. */
  encoder(): SequenceEncoder;
  dispose(): void;
}

/**
 * A model of `manifest`'s configuration and items whose weights are all one constant (int32 data 0): the same
 * tensors, shapes and kernels as the real one without its files, e.g. to compile GPU pipelines while those download.
 * Built through loadModel, so it is checked like any other.
 */
export async function standInModel(manifest: Manifest): Promise<LoadedModel> {
  const files = new Map(manifest.files.map((f) => [f.path, new Uint8Array(f.bytes)]));
  for (const w of manifest.weights) {
    const file = files.get(w.file);
    if (file && w.dtype === 'float32') new Float32Array(file.buffer, w.offset, w.bytes / 4).fill(0.01);
  }
  const entries = await Promise.all(manifest.files.map(async (f) => ({ ...f, sha256: await sha256Hex(files.get(f.path)!) })));
  return loadModel({ ...manifest, files: entries }, async (path) => files.get(path)!);
}

/**
 * Load a model. `getFile(path)` returns a file named in `manifest.files` (fetch, fs, IndexedDB...). Every file is
 * checked against its size and sha256 first; a mismatch throws and no tensor is created.
 */
export async function loadModel(manifest: Manifest, getFile: (path: string) => Promise<ArrayBuffer | Uint8Array>): Promise<LoadedModel> {
  if (!(manifest.formatVersion >= 1 && manifest.formatVersion <= FORMAT_VERSION)) throw new Error(`loadModel: unsupported formatVersion ${manifest.formatVersion} (this reader knows 1..${FORMAT_VERSION})`);
  const config = validateModelConfig(manifest.config);
  if (manifest.formatVersion !== formatVersionFor(config)) throw new Error(`loadModel: formatVersion ${manifest.formatVersion} does not match its config (untiedInput ${config.untiedInput}, recencyBias ${config.recencyBias}, itemBias ${config.itemBias}, members ${config.members}: format ${formatVersionFor(config)})`);
  const files = await verifyFiles(manifest.files, getFile).catch((err: Error) => {
    throw new Error(`loadModel: ${err.message}`);
  });
  const params: Params = {};
  const byName = new Map(manifest.weights.map((w) => [w.name, w]));
  for (const s of paramSpecs(config)) {
    const w = byName.get(s.name);
    if (!w) throw new Error(`loadModel: weight ${s.name} missing from manifest`);
    if (w.shape.join(',') !== s.shape.join(',') || w.dtype !== s.dtype) throw new Error(`loadModel: weight ${s.name} has [${w.shape}] ${w.dtype}, expected [${s.shape}] ${s.dtype}`);
    const file = files.get(w.file);
    if (!file) throw new Error(`loadModel: weight ${s.name} refers to unknown file ${w.file}`);
    const copy = new Uint8Array(w.bytes); // aligned copy (also detaches from Node's pooled Buffers)
    copy.set(file.subarray(w.offset, w.offset + w.bytes));
    const view = s.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    params[s.name] = tf.tensor(view, s.shape, s.dtype);
  }
  const index = new Map(manifest.items.ids.map((id, i) => [id, i + 1]));
  const genreIndex = new Map(manifest.items.genreNames.map((g, i) => [g, i]));
  let items: tf.Tensor2D | null = null;
  const getItems = () => (items ??= tf.keep(itemEmbeddings(params, config)));
  // Serving weights per member (one for a single model), built on first use.
  let serving: InferenceWeights[] | null = null;
  const getServing = () => (serving ??= ensembleMembers(params, config).map((m) => inferenceWeights(m.params, m.config)));
  const genreIndices = (genres: readonly string[] | undefined) => (genres ?? []).map((x) => genreIndex.get(x)).filter((x): x is number => x !== undefined);
  const bucketOf = (year: number | undefined) => yearBucket(year, config.yearBucketStart, config.yearBucketWidth, config.numYearBuckets);
  const m: LoadedModel = {
    manifest,
    config,
    params,
    itemIndex: (id) => index.get(id),
    itemId: (i) => manifest.items.ids[i - 1]!,
    toHistory(events) {
      const it: number[] = [];
      const ev: number[] = [];
      const fr: number[] = [];
      for (const e of events) {
        const i = index.get(e.titleId);
        if (i === undefined) continue;
        it.push(i);
        ev.push(e.event ? EVENT_INDEX[e.event] : 0);
        fr.push(fractionBucket(e.fraction));
      }
      return { items: it, events: ev, fracs: fr };
    },
    score: (h) => scoreItems(params, config, h, getItems()),
    async recommend(h, k, opts = {}) {
      const s = await scoreItems(params, config, h, getItems());
      s[0] = -Infinity; // padding
      if (!opts.includeSeen) for (let j = 0; j < h.items.length; j++) s[h.items[j]!] = -Infinity;
      const eligible = s.reduce((n, x) => (x === -Infinity ? n : n + 1), 0);
      // Best score first, ties to the lower item id.
      const top = topK(s.length, Math.min(k, eligible), (a, b) => s[a]! - s[b]! || b - a);
      return top.map((j) => ({ id: m.itemId(j), score: s[j]! }));
    },
    userEmbedding: (h) => userEmbedding(params, config, h),
    itemEmbeddings: () => itemEmbeddings(params, config),
    coldItemEmbedding: (meta) => coldItemEmbedding(params, config, genreIndices(meta.genres), bucketOf(meta.year)),
    catalogEmbeddings(titles) {
      const rows = new Int32Array(titles.length);
      const cold: CatalogTitleMeta[] = [];
      titles.forEach((t, r) => {
        const i = index.get(t.id);
        // Cold titles are appended after the item table, in order.
        rows[r] = i ?? config.numItems + 1 + cold.length;
        if (i === undefined) cold.push(t);
      });
      const matrix = tf.tidy(() => {
        let table: tf.Tensor2D = getItems();
        if (cold.length) {
          // Metadata embeddings of all cold titles at once.
          table = tf.concat([table, coldItemEmbeddings(params, config, cold.map((t) => genreIndices(t.genres)), cold.map((t) => bucketOf(t.year)))], 0);
        }
        return tf.gather(table, rows) as tf.Tensor2D;
      });
      return { matrix, cold: new Set(cold.map((t) => t.id)) };
    },
    encoder: () => {
      // An ensemble's state holds one state per member (joinStates); each member encodes with its own weights.
      const each = (f: (w: InferenceWeights, k: number) => EncoderState): EncoderState => {
        const ws = getServing();
        return ws.length === 1 ? f(ws[0]!, 0) : joinStates(ws.map(f));
      };
      const memberState = (s: EncoderState, k: number) => (s.members ? s.members[k]! : s);
      return {
        full: (h) => each((w) => encodeHistory(w, h)),
        step: (s, item, event, frac) => each((w, k) => encodeStep(w, memberState(s, k), item, event, frac)),
        truncate: truncateState,
        embedding: (s) => servedUserEmbedding(config, s),
        dispose: disposeState,
      };
    },
    dispose() {
      items?.dispose();
      items = null;
      serving?.forEach(disposeInferenceWeights);
      serving = null;
      for (const t of Object.values(params)) t.dispose();
    },
  };
  return m;
}
