/**
 * The foundation model on the device: download with progress, sha256 check (by loadModel, before any tensor is
 * made), Cache API storage per version, and an atomic switch. The model in use is replaced only by a new one that
 * loaded completely; a broken download leaves the current model serving.
 */
import { loadModel, type LoadedModel, type Manifest } from '@marquee/model';
import { ModelManifestSchema, parseContract } from '@marquee/core';
import { getMeta, putMeta, type Database } from './db.ts';
import type { ModelStatus } from './protocol.ts';

const CACHE = 'marquee-models-v1';

/** A model version an experiment's variant asks for. */
export interface ModelPin {
  experiment: string;
  variant: string;
  version: string;
}

export class ModelManager {
  private model: LoadedModel | null = null;
  private updating: Promise<void> | null = null;
  private pinned: ModelPin | null = null;
  /** The pin changed while an update was in flight: that update looked for the old one, so another follows. */
  private pinChangedDuringUpdate = false;
  status: ModelStatus = { state: 'none' };

  constructor(
    private readonly endpoint: string,
    private readonly db: Database,
    private readonly onStatus: (s: ModelStatus) => void,
    /** Disposes a replaced model; the worker defers it until no page build still uses it. */
    private readonly retire: (old: LoadedModel) => void = (old) => old.dispose(),
    /** Told the manifest of a model about to download, before its files are fetched (see Homepage.warmUp). */
    private readonly onDownload: (manifest: Manifest) => void = () => {},
  ) {}

  get current(): LoadedModel | null {
    return this.model;
  }

  private set(s: ModelStatus): void {
    this.status = s;
    this.onStatus(s);
  }

  /**
   * Serve this version instead of the latest (an experiment's `modelVersion`), or the latest again with null.
   * Returns whether anything changed; the switch itself happens in the next update().
   */
  pin(p: ModelPin | null): boolean {
    if (p?.version === this.pinned?.version && p?.experiment === this.pinned?.experiment && p?.variant === this.pinned?.variant) return false;
    this.pinned = p;
    if (this.updating) this.pinChangedDuringUpdate = true;
    this.set({ ...this.status, pinned: p ? { ...p, served: this.model?.manifest.version === p.version } : undefined });
    return true;
  }

  /** The model this device used last, from the local cache: serves offline and before the network answers. */
  async loadCached(): Promise<void> {
    const manifest = await getMeta(this.db, 'model:manifest');
    if (!manifest || this.model) return;
    try {
      const cache = await caches.open(CACHE);
      const model = await loadModel(manifest, async (path) => {
        const hit = await cache.match(this.url(manifest.version, path));
        if (!hit) throw new Error(`${path} is not cached`);
        return hit.arrayBuffer();
      });
      this.swap(model, 'cache');
    } catch (err) {
      this.set({ ...this.status, state: this.model ? 'ready' : 'none', error: `cached model unusable: ${(err as Error).message}` });
    }
  }

  /** Looks for a newer published model and switches to it once it is downloaded and verified. */
  update(): Promise<void> {
    this.updating ??= this.doUpdate().finally(() => {
      this.updating = null;
      if (this.pinChangedDuringUpdate) {
        this.pinChangedDuringUpdate = false;
        void this.update();
      }
    });
    return this.updating;
  }

  private async doUpdate(): Promise<void> {
    let answer: unknown;
    const pin = this.pinned;
    try {
      let res: Response | null = null;
      if (pin) {
        res = await fetch(this.url(pin.version, 'manifest.json'));
        if (res.status === 404) {
          // Not on this server (a typo, or not published here): the latest serves, and the status says so.
          const fallback = `model ${pin.version} of experiment ${pin.experiment} (${pin.variant}) is not on the server: serving the latest instead`;
          console.warn(`marquee: ${fallback}`);
          this.set({ ...this.status, pinned: { ...pin, served: false, fallback } });
          res = null;
        }
      }
      res ??= await fetch(`${this.endpoint}/v1/models/latest`, { cache: 'no-cache' });
      if (res.status === 404) return; // nothing published yet
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      answer = await res.json();
    } catch (err) {
      this.set({ ...this.status, error: `cannot reach the model server: ${(err as Error).message}` });
      return;
    }
    let manifest: Manifest;
    try {
      manifest = parseContract(ModelManifestSchema, answer, 'GET /v1/models/latest answered');
    } catch (err) {
      // The model in use keeps serving; the status says why the new one was not even tried.
      this.set({ ...this.status, state: this.model ? 'ready' : 'failed', error: (err as Error).message });
      return;
    }
    if (manifest.version === this.model?.manifest.version) return;
    const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
    let loaded = 0;
    const progress = () => this.set({ ...this.status, state: this.model ? 'ready' : 'loading', downloading: { version: manifest.version, loaded, total } });
    progress();
    this.onDownload(manifest);
    try {
      const cache = await caches.open(CACHE);
      const files = new Map<string, ArrayBuffer>();
      const downloaded: string[] = [];
      for (const f of manifest.files) {
        const url = this.url(manifest.version, f.path);
        const hit = await cache.match(url);
        const bytes = hit ? await hit.arrayBuffer() : await download(url, (n) => ((loaded += n), progress()));
        if (hit) loaded += bytes.byteLength;
        else downloaded.push(f.path);
        files.set(f.path, bytes);
        progress();
      }
      const model = await loadModel(manifest, async (path) => files.get(path)!);
      // Verified: only now keep the files and make this version current.
      for (const path of downloaded) await cache.put(this.url(manifest.version, path), new Response(files.get(path)));
      await putMeta(this.db, 'model:manifest', manifest);
      this.swap(model, 'network');
    } catch (err) {
      this.set({ ...this.status, state: this.model ? 'ready' : 'failed', downloading: undefined, error: `model ${manifest.version} refused: ${(err as Error).message}` });
    }
  }

  private swap(model: LoadedModel, from: 'cache' | 'network'): void {
    const old = this.model;
    this.model = model;
    const pinned = this.status.pinned && { ...this.status.pinned, served: this.status.pinned.version === model.manifest.version };
    this.set({ state: 'ready', version: model.manifest.version, from, error: undefined, ...(pinned ? { pinned } : {}) });
    if (old) this.retire(old);
  }

  private url(version: string, path: string): string {
    return `${this.endpoint}/v1/models/${encodeURIComponent(version)}/${encodeURIComponent(path)}`;
  }
}

async function download(url: string, onBytes: (n: number) => void): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out.buffer;
}
