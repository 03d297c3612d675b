/**
 * Everything that crosses between the main thread and the worker: plain, structured-cloneable data only.
 * The facade (client.ts) and the worker (worker.ts) both type themselves against this file.
 */
import type { AdapterKind, Assignment, BackendName, BackendPlan, EventInput, Exposure, IdentityState, InterleavingTeam, OperationTimings, PathBenchmark } from '@marquee/core';

export type { PathBenchmark };

export type { BackendName };
// Spelled out rather than imported: a value import of core would bring zod into the main-thread facade (size budget).
export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const satisfies readonly BackendName[];

export interface WorkerOptions {
  /** Base URL of the Marquee API, e.g. `https://api.example.com`; '' means the page's own origin. */
  endpoint: string;
  writeKey: string;
  userId?: string;
  /** Kept by the page per tab (sessionStorage), so a reload continues the session. */
  sessionId: string;
  /** Most events the outbox holds; beyond it the oldest are dropped and counted. Default 10,000. */
  outboxCapacity: number;
  /** Batch bounds: a batch is sent when it is full (events or bytes) or its oldest event is maxAgeMs old. */
  batchMaxEvents: number;
  batchMaxBytes: number;
  batchMaxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Backends to consider. */
  backends: readonly BackendName[];
  /** 'auto': measure them on the first run and keep the fastest (cached); 'first': the first that works, in order. */
  backendChoice: 'auto' | 'first';
  /** Name of the IndexedDB database, so two apps on one origin keep separate outboxes. */
  dbName: string;
  /** URL prefix the tfjs wasm binaries are served from; default: next to the SDK's code, from the app's origin. */
  wasmPaths?: string;
  /** Artwork bandit settings (see ArtworkChooser); defaults from @marquee/core/artwork BANDIT_DEFAULTS. */
  artwork?: { policy?: 'thompson' | 'linucb' | 'epsilon-greedy' | 'population' | 'uniform'; stickinessMs?: number };
}

export interface SyncStats {
  /** Events waiting in the outbox (all tabs of this origin share it). */
  outbox: number;
  /** Events this page's sender put on the wire, retries included. */
  sent: number;
  /** Events the server confirmed stored (accepted, or already stored: a duplicate). */
  acknowledged: number;
  /** Events the server refused: invalid, or in a batch answered with a non-retryable 4xx. */
  rejected: number;
  /** Events dropped because the outbox was full (oldest first). */
  dropped: number;
  /** Failed attempts since the last success; 0 when healthy. */
  retrying: number;
  online: boolean;
  lastError?: string;
}

export interface BackendReport {
  name: BackendName;
  /** For webgpu: the adapter's architecture, e.g. 'swiftshader' for a software adapter. */
  adapterArchitecture?: string;
  adapterVendor?: string;
  /** For webgpu: a real GPU, a software rasteriser, or not known (core's adapterKind); GPU-only work runs on 'hardware'. */
  adapterKind?: AdapterKind;
  /** Every backend tried before this one and why it was passed over. */
  tried: { name: BackendName; ok: boolean; reason?: string }[];
  initMs: number;
  /**
   * cached: the plan measured fastest on an earlier run; provisional: the first run, while the measurement runs
   * beside it (in a probe worker); first-working: the caller's order, no measurement.
   */
  chosenBy: 'cached' | 'provisional' | 'first-working';
  /** Median ms of one re-rank per backend, once measured. */
  timings?: Partial<Record<BackendName, number>>;
  /** Where catalog scoring runs when the plan puts it on another backend than `name` (which runs the encoder). */
  scoring?: BackendName;
  /** Once measured: each backend's update and scoring apart, the cost of a backend switch, and the plan chosen. */
  operations?: Partial<Record<BackendName, OperationTimings>>;
  switchMs?: number;
  plan?: BackendPlan;
  /** After a first run's measurement: the backend later runs will use (and their scoring backend, when another). */
  nextRun?: BackendName;
  nextRunScoring?: BackendName;
  probeError?: string;
}

export interface ModelStatus {
  /** none: nothing published or cached yet; loading: first download; ready: a model serves; failed: none could load. */
  state: 'none' | 'loading' | 'ready' | 'failed';
  /** The version serving now. */
  version?: string;
  from?: 'cache' | 'network';
  /** A newer version on its way: bytes loaded of total. */
  downloading?: { version: string; loaded: number; total: number };
  /** The last problem (a refused artifact, an unreachable server); the serving model, if any, is unaffected. */
  error?: string;
  /**
   * An experiment's variant asks for this model version (`params.modelVersion`): `served` once it serves; when the
   * server does not have it, the latest serves instead and `fallback` says why.
   */
  pinned?: { experiment: string; variant: string; version: string; served: boolean; fallback?: string };
}

/** One step of a viewing history, oldest first, as the model reads it. */
export interface HistoryStep {
  titleId: string;
  event?: 'impression' | 'play' | 'complete';
  /** Watched fraction 0..1. */
  fraction?: number;
}

export interface PageTitle {
  titleId: string;
  name: string;
  genres: string[];
  year: number;
  /** The artwork this viewer sees, and the probability it was chosen with (log it with the impression). */
  artwork: PageArtwork;
  score: number;
  /** In an interleaved row: the experiment, variant and team that placed the title (log it with the impression). */
  interleaving?: InterleavingTeam;
}

/** The artwork bandit's choice for a card (see artwork.ts): log artworkId, propensity, policy and policyVersion. */
export interface PageArtwork {
  artworkId: string;
  themes: string[];
  propensity: number;
  policy?: string;
  policyVersion?: string;
  debug?: ArtworkDebug;
}

/** What a card's artwork choice rests on, for the debug drawer. */
export interface ArtworkDebug {
  /** Kept from an earlier choice (stickiness) rather than chosen now. */
  sticky: boolean;
  chosenAt: number;
  /** Settled impressions the viewer's taste has learned from. */
  updates: number;
  /** Titles the viewer played: their history context, which the population's weights turn into a prior taste. */
  historyPlays: number;
  /** Each artwork: population rate, posterior mean score, probability of being chosen (fresh choices only). */
  artworks: { artworkId: string; themes: string[]; rate: number; score: number; probability: number | null }[];
  /** The viewer's strongest theme tastes (posterior mean, history prior included; sd). */
  taste: { theme: string; mean: number; sd: number }[];
}

export interface PageRow {
  id: string;
  kind: 'continue' | 'top' | 'because' | 'trending' | 'genre';
  title: string;
  reason: string;
  items: PageTitle[];
}

export interface HomePage {
  rows: PageRow[];
  modelVersion: string | null;
  backend: string | null;
  /** Where the candidates came from: the server now, or this device's cache (offline). */
  /** `error`: why the server's candidates were not used (unreachable, HTTP status, or a malformed answer). */
  candidates: { from: 'server' | 'cache' | 'catalog'; count: number; sources: Record<string, number>; ageMs: number; error?: string };
  /** How the viewer's embedding was brought up to date. */
  encode: 'none' | 'append' | 'replace-last' | 'full' | 'no-model' | 'no-history';
  /** warmUpWaitMs: on a hardware GPU after a pipeline warm-up ran, how long this build waited for it (part of encodeMs). */
  timings: { encodeMs: number; candidatesMs: number; scoreMs: number; composeMs: number; totalMs: number; artworkMs?: number; warmUpWaitMs?: number };
  builtAt: number;
  /** The experiments whose variant shaped this page (their exposure is logged once per session). */
  experiments?: Exposure[];
}

/** The identity lifecycle (identity.ts in the worker); the facade offers the same calls. */
export interface IdentityApi {
  /** An anonymous viewer signed in as `userId`: the device's history becomes theirs; an alias event tells the server. */
  identify(userId: string): Promise<IdentityState>;
  /** Switches to a profile of the household (letters, digits, '_' and '-'): its own history and page caches. */
  setProfile(profileId: string): Promise<IdentityState>;
  /** Sign-out: sends what is queued, deletes every profile's data on the device, starts a new anonymous id. */
  reset(): Promise<IdentityState>;
  /** No tracking (persisted), outbox cleared; `{personalization: true}` keeps personalizing from the device only. */
  optOut(opts?: { personalization?: boolean }): Promise<IdentityState>;
  optIn(): Promise<IdentityState>;
  /** Who the viewer is now and what they allow. */
  identity(): Promise<IdentityState>;
}

export interface WorkerApi extends IdentityApi {
  init(options: WorkerOptions): Promise<void>;
  /** The page has painted: tfjs may load (model, backend, pages wait for this; events do not). */
  startModels(): Promise<void>;
  /** The event's id once it is queued; null when the viewer opted out (nothing is queued or sent). */
  track(input: EventInput): Promise<string | null>;
  flush(opts?: { keepalive?: boolean }): Promise<SyncStats>;
  stats(): Promise<SyncStats>;
  /** The callback is a comlink proxy; it receives stats whenever they change. */
  subscribe(onStats: (s: SyncStats) => void): Promise<void>;
  backend(): Promise<BackendReport>;
  modelStatus(): Promise<ModelStatus>;
  subscribeModel(onStatus: (s: ModelStatus) => void): Promise<void>;
  /** Looks for a newer published model now (it is also checked at start). */
  updateModel(): Promise<ModelStatus>;
  /** The model's score (cosine of user and title embeddings) for each title, null for titles it does not know. */
  scoreTitles(titleIds: string[], history: HistoryStep[]): Promise<(number | null)[]>;
  /** Builds the personalized homepage now (fresh candidates if the server answers, else the cached ones). */
  homepage(opts?: { refresh?: boolean }): Promise<HomePage>;
  /** Receives a new page after each play or completion, re-ranked on the device. */
  subscribePage(onPage: (p: HomePage) => void): Promise<void>;
  /** Times encode, incremental update, ranking and a whole page with the model in use (for bench:browser). */
  benchmark(runs?: number): Promise<PathBenchmark>;
  /** Live tensors and bytes held by tfjs in the worker (flat over time, or something leaks). */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /** This unit's variant of an experiment (null when outside it); `expose` logs the exposure (once per session). */
  variant(id: string, opts?: { expose?: boolean }): Promise<Assignment | null>;
  close(): Promise<void>;
}
