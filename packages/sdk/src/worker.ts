/**
 * The SDK's worker: owns IndexedDB, the network and tfjs. The page talks to it only through comlink (client.ts).
 */
import * as Comlink from 'comlink';
import type { EventInput, MarqueeEvent } from '@marquee/core';
import { openDatabase, type Database } from './db.ts';
import { Outbox } from './outbox.ts';
import { Sender } from './sync.ts';
import type { BackendReport, ModelStatus, SyncStats, WorkerApi, WorkerOptions } from './protocol.ts';
import type { ModelManager } from './model-manager.ts';
import type { Homepage } from './homepage.ts';
import { Viewer } from './identity.ts';
import { DeviceExperiments } from './experiments.ts';
import { ArtworkChooser } from './artwork.ts';

let options: WorkerOptions;
let db: Database;
let outbox: Outbox;
let sender: Sender;
/** Who the viewer is and what they allow (identity.ts). */
let viewer: Viewer;
let backendReport: Promise<BackendReport> | undefined;
/** The backend plan's catalog-scoring backend when it is not the encoder's (null: scoring runs with the encoder). */
let scoringBackend: string | null = null;
let ml: Promise<typeof import('./ml.ts')> | undefined;
let models: Promise<ModelManager> | undefined;
let homepage: Promise<Homepage> | undefined;
let experiments: DeviceExperiments;
const modelSubscribers: ((s: ModelStatus) => void)[] = [];
const subscribers: ((s: SyncStats) => void)[] = [];
let emitTimer: ReturnType<typeof setTimeout> | null = null;
/**
 * tfjs (megabytes of code to evaluate, a wasm or shader compile) starts when the page says it has painted
 * (`startModels`): on a phone's few cores it would otherwise compete with the page's own first paint.
 */
let startModels: () => void = () => {};
const modelsMayStart = new Promise<void>((resolve) => (startModels = resolve));

async function stats(): Promise<SyncStats> {
  const [size, counters] = await Promise.all([outbox.size(), outbox.counters()]);
  return {
    outbox: size,
    sent: sender.sent,
    ...counters,
    retrying: sender.attempt,
    online: navigator.onLine,
    lastError: sender.lastError,
  };
}

/** Coalesces bursts of changes into one stats message. */
function changed(): void {
  if (emitTimer || subscribers.length === 0) return;
  emitTimer = setTimeout(async () => {
    emitTimer = null;
    const s = await stats();
    for (const fn of subscribers) fn(s);
  }, 50);
}

async function enqueue(event: MarqueeEvent): Promise<void> {
  await outbox.add(event);
  sender.onTracked();
  changed();
}

const api: WorkerApi = {
  async init(opts) {
    options = opts;
    db = await openDatabase(opts.dbName);
    outbox = new Outbox(db, opts.outboxCapacity);
    viewer = await Viewer.open({ db, dbName: opts.dbName, sessionId: opts.sessionId, userId: opts.userId, enqueue, flush: () => sender.flush() });
    sender = new Sender(
      outbox,
      {
        endpoint: opts.endpoint.replace(/\/$/, ''),
        writeKey: opts.writeKey,
        batch: { maxEvents: opts.batchMaxEvents, maxBytes: opts.batchMaxBytes },
        maxAgeMs: opts.batchMaxAgeMs,
        backoff: { baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs },
      },
      {
        fetch: (...args) => fetch(...args),
        withLock: (fn) => navigator.locks.request(`marquee-sender:${opts.dbName}`, fn) as ReturnType<typeof fn>,
        isOnline: () => navigator.onLine,
        onChange: changed,
      },
    );
    self.addEventListener('online', () => {
      sender.onOnline();
      changed();
    });
    self.addEventListener('offline', changed);
    // Events left by an earlier page or a closed tab go out now, and on a slow beat after that.
    void sender.flush();
    setInterval(() => {
      void outbox.size().then((n) => {
        if (n > 0) void sender.flush();
      });
    }, Math.max(1000, opts.batchMaxAgeMs));
    // Experiments: assigned on the device from the server's definitions (cached for offline use).
    experiments = new DeviceExperiments(db, opts.endpoint.replace(/\/$/, ''), async () => {
      const who = await viewer.identity();
      return who.userId ?? who.anonymousId;
    }, opts.sessionId, (e) => api.track(e));
    void experiments.load();
    ml = modelsMayStart.then(() => import('./ml.ts'));
    backendReport = ml.then((m) => m.chooseBackend(db, opts));
    backendReport.catch(() => {});
    // Tensors live on the chosen backend: the model loads after the choice.
    const endpoint = options.endpoint.replace(/\/$/, '');
    let backendName: string | null = null;
    backendReport.then((b) => {
      backendName = b.name;
      scoringBackend = b.scoring ?? null;
    }, () => {});
    homepage = Promise.all([ml, backendReport]).then(async ([m, b]) => {
      let page: Homepage | undefined;
      // Pipelines compiled while a model downloads, on a real GPU only: on SwiftShader that made the first page 3x later.
      const warmUp = b.name === 'webgpu' && b.adapterKind === 'hardware';
      const manager = new m.ModelManager(
        endpoint,
        db,
        (s) => modelSubscribers.forEach((fn) => fn(s)),
        (old) => page!.retire(old),
        (manifest) => {
          if (warmUp) void page?.warmUp(manifest).catch((err: Error) => console.warn(`marquee: GPU warm-up failed: ${err.message}`));
        },
      );
      page = new m.Homepage(viewer.pageDatabase, endpoint, manager, () => backendName, options.writeKey, () => scoringBackend);
      await viewer.attach(page);
      page.useExperiments(experiments);
      page.artwork = new ArtworkChooser(() => viewer.pageDatabase, endpoint, options.artwork);
      // A variant's model version is known before the first download, so the latest is not fetched first in vain.
      await page.pinModel();
      await manager.loadCached();
      void manager.update();
      return page;
    });
    models = homepage.then((p) => p.models);
    homepage.catch(() => {});
    models.catch(() => {});
  },

  async startModels() {
    startModels();
  },

  async track(input: EventInput) {
    const event = viewer.stamp(input);
    if (viewer.tracking) await enqueue(event);
    if (viewer.personalization) void homepage?.then((p) => p.artwork?.record(event));
    if (viewer.personalization) void homepage?.then((p) => p.record(event));
    return viewer.tracking ? event.id : null;
  },

  identify: (userId) => viewer.identify(userId),
  setProfile: (profileId) => viewer.setProfile(profileId),
  reset: () => viewer.reset(),
  optOut: (opts) => viewer.optOut(opts),
  optIn: () => viewer.optIn(),
  identity: () => viewer.identity(),

  async flush(opts) {
    await sender.flush(opts);
    return stats();
  },

  stats,

  async subscribe(onStats) {
    subscribers.push(onStats);
    onStats(await stats());
  },

  backend() {
    if (!backendReport) return Promise.reject(new Error('worker not initialised'));
    return backendReport;
  },

  async modelStatus() {
    return (await requireModels()).status;
  },

  async subscribeModel(onStatus) {
    modelSubscribers.push(onStatus);
    onStatus((await requireModels()).status);
  },

  async updateModel() {
    const m = await requireModels();
    await m.update();
    return m.status;
  },

  async scoreTitles(titleIds, history) {
    const [m, manager] = await Promise.all([ml!, requireModels()]);
    if (!manager.current) throw new Error(`no model loaded (${manager.status.state}${manager.status.error ? `: ${manager.status.error}` : ''})`);
    return m.scoreTitles(manager.current, titleIds, history, scoringBackend);
  },

  async benchmark(runs) {
    const [m, manager] = await Promise.all([ml!, requireModels()]);
    if (!manager.current) throw new Error('no model loaded');
    return m.benchmarkPath(manager.current, runs, scoringBackend ?? undefined);
  },

  async memory() {
    return (await ml!).memory();
  },

  async homepage(opts) {
    return (await requireHomepage()).build(opts);
  },

  async subscribePage(onPage) {
    (await requireHomepage()).subscribe(onPage);
  },

  async variant(id, opts) {
    const a = await experiments.variant(id);
    if (a && opts?.expose) await experiments.expose([a]);
    return a;
  },

  async close() {
    await sender.close();
    viewer.close();
    db.close();
  },
};

function requireHomepage(): Promise<Homepage> {
  if (!homepage) return Promise.reject(new Error('worker not initialised'));
  return homepage;
}

function requireModels(): Promise<ModelManager> {
  if (!models) return Promise.reject(new Error('worker not initialised'));
  return models;
}

Comlink.expose(api);
