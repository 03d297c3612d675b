/**
 * The main-thread SDK: a thin facade over the worker. It never imports tfjs or idb; every call is one message.
 */
import * as Comlink from 'comlink';
import type { Assignment, EventInput } from '@marquee/core';
import { crossOriginWorker } from './cross-origin-worker.ts';
import { BACKEND_ORDER, type IdentityApi, type BackendReport, type HistoryStep, type HomePage, type ModelStatus, type SyncStats, type WorkerApi, type WorkerOptions } from './protocol.ts';

export interface PersonalizerOptions {
  /** Base URL of the Marquee API; defaults to the page's origin. */
  endpoint?: string;
  writeKey: string;
  /** A signed-in member; without it events carry a persistent anonymous id. */
  userId?: string;
  outboxCapacity?: number;
  batch?: { maxEvents?: number; maxBytes?: number; maxAgeMs?: number };
  retry?: { baseMs?: number; maxMs?: number };
  /** tfjs backends to consider (default webgpu, webgl, wasm, cpu). */
  backends?: WorkerOptions['backends'];
  /** 'auto' (default): measure the ranking path on each and keep the fastest, once per device; 'first': first that works. */
  backendChoice?: WorkerOptions['backendChoice'];
  dbName?: string;
  /**
   * Where the packed SDK's files (worker.js, chunks/, wasm/) are hosted when not served by the app's bundler, e.g.
   * `https://cdn.example.com/marquee-sdk/0.1.0/`. The host must send CORS headers. Default: next to this module.
   */
  assetsBaseUrl?: string;
  /** URL prefix of the tfjs wasm binaries, when only those are hosted elsewhere. */
  wasmPaths?: string;
  /** The artwork bandit: policy (default 'thompson') and how long a title keeps its artwork (default 7 days). */
  artwork?: WorkerOptions['artwork'];
}

type Title = { titleId: string; artwork?: EventInput<'impression'>['artwork']; experiments?: EventInput['experiments']; impressionId?: string };
type Playback = Title & { position: number; duration: number };

/** The event's id once it is stored on the device; null while the viewer has opted out (nothing is stored to send). */
type Tracked = Promise<string | null>;

export interface Personalizer extends IdentityApi {
  impression(e: Title & { row: string; position: number; interleaving?: EventInput<'impression'>['interleaving'] }): Tracked;
  playStart(e: Title): Tracked;
  progress(e: Playback): Tracked;
  pause(e: Playback): Tracked;
  complete(e: Playback): Tracked;
  custom(name: string, props?: Record<string, unknown>): Tracked;
  /** Any event; resolves with its id once it is stored on the device. Rejects an invalid event, naming the problem. */
  track(e: EventInput): Tracked;
  /** Sends what is queued now (unless offline or backing off) and resolves with the stats after. */
  flush(): Promise<SyncStats>;
  stats(): Promise<SyncStats>;
  /** Called with fresh stats whenever they change; returns an unsubscribe function. */
  onStats(fn: (s: SyncStats) => void): () => void;
  /** Which tfjs backend the worker got, and why others were passed over. */
  backend(): Promise<BackendReport>;
  /** The foundation model on this device: which version serves, what is downloading, the last error. */
  modelStatus(): Promise<ModelStatus>;
  onModelStatus(fn: (s: ModelStatus) => void): () => void;
  /** Checks for a newer published model now, and resolves when it serves (or was refused). */
  updateModel(): Promise<ModelStatus>;
  /** Model scores for titles given a history (null for titles the model does not know). */
  scoreTitles(titleIds: string[], history: HistoryStep[]): Promise<(number | null)[]>;
  /**
   * The personalized homepage: rows of titles with their artwork and why each row exists. Built in the worker from
   * the local history, the on-device model and the server's candidates (cached: it works offline too).
   */
  homepage(opts?: { refresh?: boolean }): Promise<HomePage>;
  /** Called with a re-ranked page after each play or completion; returns an unsubscribe function. */
  onPage(fn: (p: HomePage) => void): () => void;
  /** Times the on-device path with the model in use: encode, update after one event, rank, a whole page. */
  benchmark(runs?: number): ReturnType<WorkerApi['benchmark']>;
  /** tfjs memory in the worker: live tensors and bytes. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /**
   * This viewer's variant of an experiment, assigned on the device (offline too), or null outside it. Pass
   * `{expose: true}` when the host page applies it, to log the exposure (once per experiment per session).
   */
  variant(id: string, opts?: { expose?: boolean }): Promise<Assignment | null>;
  close(): Promise<void>;
}

const SESSION_KEY = 'marquee.sessionId';

/** One id per tab, kept across reloads of that tab. */
function tabSessionId(): string {
  try {
    const existing = sessionStorage.getItem(SESSION_KEY);
    if (existing) return existing;
    const id = crypto.randomUUID();
    sessionStorage.setItem(SESSION_KEY, id);
    return id;
  } catch {
    return crypto.randomUUID(); // storage blocked: a session per page load
  }
}

/**
 * Runs `fn` once the page's next frame is on screen (a timeout after an animation frame), or at once where no frame
 * comes (a hidden tab). The worker's tfjs start waits for it: its compile would share the cores with the first paint.
 */
function afterFirstPaint(fn: () => void): void {
  if (typeof requestAnimationFrame !== 'function' || document.visibilityState === 'hidden') setTimeout(fn, 0);
  else requestAnimationFrame(() => setTimeout(fn, 0));
}

export function createPersonalizer(options: PersonalizerOptions): Personalizer {
  if (!options?.writeKey) throw new TypeError('createPersonalizer: writeKey is required');
  // The worker is created, and the tab's session id read, in a task of their own after the host page's script: the
  // tab's first sessionStorage read waits on two synchronous calls to the browser process (may this page use storage,
  // then the storage area), 20-35 ms while the browser is busy loading the page (bench traces), and the worker's
  // creation was a quarter of the demo module's evaluation (CPU profile); there, they made the page's first script a
  // long task.
  const started = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(async () => {
    const worker = options.assetsBaseUrl
      ? crossOriginWorker(new URL('worker.js', options.assetsBaseUrl.replace(/\/?$/, '/')).href, 'marquee')
      : new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'marquee' });
    const remote = Comlink.wrap<WorkerApi>(worker);
    await remote.init({
      // Absolute: a worker started from a blob URL (assetsBaseUrl) cannot resolve a relative one.
      endpoint: options.endpoint ? new URL(options.endpoint, location.href).href.replace(/\/$/, '') : location.origin,
      writeKey: options.writeKey,
      userId: options.userId,
      sessionId: tabSessionId(),
      outboxCapacity: options.outboxCapacity ?? 10_000,
      batchMaxEvents: options.batch?.maxEvents ?? 100,
      batchMaxBytes: options.batch?.maxBytes ?? 60_000,
      batchMaxAgeMs: options.batch?.maxAgeMs ?? 2_000,
      retryBaseMs: options.retry?.baseMs ?? 500,
      retryMaxMs: options.retry?.maxMs ?? 60_000,
      backends: options.backends ?? BACKEND_ORDER,
      backendChoice: options.backendChoice ?? 'auto',
      dbName: options.dbName ?? 'marquee',
      wasmPaths: options.wasmPaths,
      artwork: options.artwork,
    });
    return { worker, remote };
  });
  const call = <T>(fn: (remote: Comlink.Remote<WorkerApi>) => Promise<T>) => started.then(({ remote }) => fn(remote));
  afterFirstPaint(() => void call((r) => r.startModels()));
  /** Hands the worker a callback (a comlink proxy); the returned function stops deliveries to `fn`. */
  const listen = <T>(subscribe: (r: Comlink.Remote<WorkerApi>, cb: (v: T) => void) => Promise<void>, fn: (v: T) => void) => {
    let active = true;
    void call((r) => subscribe(r, Comlink.proxy((v: T) => active && fn(v))));
    return () => {
      active = false;
    };
  };
  const track = (e: EventInput) => call((r) => r.track(e));

  // The page may be closing: hand what is queued to a keepalive request. Anything it misses stays queued.
  const onHide = () => {
    if (document.visibilityState === 'hidden') void call((r) => r.flush({ keepalive: true }));
  };
  const onPageHide = () => void call((r) => r.flush({ keepalive: true }));
  document.addEventListener('visibilitychange', onHide);
  addEventListener('pagehide', onPageHide);

  return {
    impression: (e) => track({ type: 'impression', ...e }),
    playStart: (e) => track({ type: 'play_start', ...e }),
    progress: (e) => track({ type: 'progress', ...e }),
    pause: (e) => track({ type: 'pause', ...e }),
    complete: (e) => track({ type: 'complete', ...e }),
    custom: (name, props) => track({ type: 'custom', name, props }),
    track,
    flush: () => call((r) => r.flush()),
    stats: () => call((r) => r.stats()),
    onStats: (fn) => listen((r, cb) => r.subscribe(cb), fn),
    backend: () => call((r) => r.backend()),
    modelStatus: () => call((r) => r.modelStatus()),
    onModelStatus: (fn) => listen((r, cb) => r.subscribeModel(cb), fn),
    updateModel: () => call((r) => r.updateModel()),
    scoreTitles: (titleIds, history) => call((r) => r.scoreTitles(titleIds, history)),
    homepage: (opts) => call((r) => r.homepage(opts)),
    memory: () => call((r) => r.memory()),
    benchmark: (runs) => call((r) => r.benchmark(runs)),
    onPage: (fn) => listen((r, cb) => r.subscribePage(cb), fn),
    variant: (id, opts) => call((r) => r.variant(id, opts)),
    identify: (userId) => call((r) => r.identify(userId)),
    setProfile: (profileId) => call((r) => r.setProfile(profileId)),
    reset: () => call((r) => r.reset()),
    optOut: (opts) => call((r) => r.optOut(opts)),
    optIn: () => call((r) => r.optIn()),
    identity: () => call((r) => r.identity()),
    async close() {
      document.removeEventListener('visibilitychange', onHide);
      removeEventListener('pagehide', onPageHide);
      await call((r) => r.close());
      const { worker, remote } = await started;
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
