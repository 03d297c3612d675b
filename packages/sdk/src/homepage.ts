/**
 * The personalized homepage, built in the worker: the viewer's local history -> the model's user embedding
 * (incremental) -> candidates from the server (cached for offline) -> model scores -> ranking blend -> rows.
 * After a play or completion the page is re-ranked from the cached candidates at once, without the network.
 */
import {
  composeDiversePage, interleaveRankings, PAGE_DEFAULTS, rankCandidates, seenTitles,
  type CachedCandidates, type CatalogTitle, type HistoryEntry, type InterleavingTeam, type MarqueeEvent,
} from '@marquee/core';
import * as tf from '@tensorflow/tfjs-core';
import { fromStoreEvents, standInModel, type Interaction, type LoadedModel, type Manifest } from '@marquee/model';
import { getMeta, putMeta, type Database } from './db.ts';
import { historyTokens, IncrementalEncoder } from './encoder.ts';
import type { ModelManager } from './model-manager.ts';
import { CatalogScorer } from './scorer.ts';
import type { HomePage, PageRow } from './protocol.ts';
import type { DeviceExperiments, PageExperiments } from './experiments.ts';
import type { ArtworkChooser } from './artwork.ts';
import { ApiClient } from './api-client.ts';
import { HistoryStore } from './history-store.ts';
import { compileOnly, pipelinesCompiled } from './warm-up.ts';

/** Candidates are refetched when older than this, or after this many new plays. */
const CANDIDATES_MAX_AGE_MS = 5 * 60_000;
const CANDIDATES_MAX_NEW_PLAYS = 3;

export class Homepage {
  private catalog: CatalogTitle[] | null = null;
  private byId = new Map<string, CatalogTitle>();
  private history: HistoryStore;
  private candidates: CachedCandidates | null = null;
  /** Why the last candidates request failed, shown on the page until one succeeds. */
  private candidatesError: string | undefined;
  private encoder: IncrementalEncoder | null = null;
  private scorer: CatalogScorer | null = null;
  private modelInUse: LoadedModel | null = null;
  /** The GPU warm-up in flight (warmUp); a build waits for it before its first tensor. */
  private warming: Promise<void> = Promise.resolve();
  /** A warm-up has run in this worker: pages then say how long their build waited for it (`warmUpWaitMs`). */
  private warmedUp = false;
  /** Builds run one at a time; a replaced model is disposed after the build that may still use it. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly subscribers: ((p: HomePage) => void)[] = [];
  /** Whether the candidates request may carry the viewer's recent titles and embedding (off after optOut). */
  shareHistory = true;
  private experiments: DeviceExperiments | null = null;
  /** The artwork bandit; without it every card shows its title's first artwork. */
  artwork: ArtworkChooser | null = null;

  private readonly api: ApiClient;

  constructor(
    private db: Database,
    endpoint: string,
    readonly models: ModelManager,
    private readonly backend: () => string | null,
    /** Sent as `x-marquee-key`: the server checks it before reading a candidate request. */
    writeKey = '',
    /** Where catalog scoring runs when the backend plan puts it apart from the encoder (null: with the encoder). */
    private readonly scoringBackend: () => string | null = () => null,
  ) {
    this.api = new ApiClient(endpoint, writeKey);
    this.history = new HistoryStore(db);
  }

  /** For ModelManager: dispose a replaced model once no build uses it. */
  retire = (old: LoadedModel): void => {
    this.queue = this.queue.then(() => old.dispose());
  };

  /** Another viewer (setProfile, reset, optOut): later builds use `db`; the previous viewer's state leaves memory. */
  useDatabase(db: Database): Promise<void> {
    const switched = this.queue.then(() => {
      this.db = db;
      this.history = new HistoryStore(db);
      this.candidates = null;
      this.catalog = null; // cached again in `db`, so this profile's page also works offline
    });
    this.queue = switched.catch(() => {});
    // Subscribers see the new viewer's page without asking.
    if (this.subscribers.length) void switched.then(() => this.build({ refresh: true })).then((p) => this.subscribers.forEach((fn) => fn(p)), () => {});
    return switched;
  }

  /** Page experiments: their variants' ranking weights, row and diversity policies shape the page. */
  useExperiments(x: DeviceExperiments): void {
    this.experiments = x;
  }

  subscribe(fn: (p: HomePage) => void): void {
    this.subscribers.push(fn);
  }

  /** Records the viewer's own engagement; a play, pause or completion re-ranks the page for subscribers. */
  async record(e: MarqueeEvent): Promise<void> {
    if (!(await this.history.record(e))) return;
    if (this.subscribers.length && (e.type === 'play_start' || e.type === 'pause' || e.type === 'complete')) {
      const page = await this.build({ refresh: false });
      for (const fn of this.subscribers) fn(page);
    }
  }

  build(opts: { refresh?: boolean } = {}): Promise<HomePage> {
    const run = this.queue.then(() => this.doBuild(opts.refresh ?? true));
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Compiles the GPU pipelines the first page with `manifest`'s model will run, while its files download: this
   * viewer's encode, the catalog's embeddings and their scoring, on a stand-in of that model (standInModel), webgpu
   * only and compile-only (warm-up.ts). A real run of the stand-in instead made the first page later on SwiftShader,
   * where running a shader costs more than compiling it; the worker calls this on a hardware adapter only.
   * A page build that uses a model waits for it (`warming`): tfjs throws if a program meets a pipeline still compiling.
   */
  warmUp(manifest: Manifest): Promise<void> {
    if (this.backend() !== 'webgpu' || (this.scoringBackend() ?? 'webgpu') !== 'webgpu' || this.modelInUse) return Promise.resolve();
    this.warmedUp = true;
    this.warming = this.compilePipelines(manifest);
    return this.warming;
  }

  private async compilePipelines(manifest: Manifest): Promise<void> {
    const [catalog, interactions] = await Promise.all([this.loadCatalog(), this.interactions()]);
    const model = await standInModel(manifest);
    const encoder = new IncrementalEncoder(model);
    const tokens = viewerTokens(model, interactions);
    const ids = catalog.map((t) => t.id);
    // Same backend, so create() runs its ops before its first await.
    const scorer = await compileOnly(() => CatalogScorer.create(model, catalog));
    try {
      compileOnly(() => {
        if (tokens.length === 0) return;
        encoder.update(tokens);
        const user = encoder.embedding()!;
        tf.dispose([scorer.scoresTensor(user, ids), user]);
      });
      await pipelinesCompiled();
    } finally {
      scorer.dispose();
      encoder.dispose();
      model.dispose();
    }
  }

  private async interactions(): Promise<Interaction[]> {
    const history = await this.history.all();
    return (await fromStoreEvents(history.map((h) => ({ ...h, userId: 'me' })))).interactions;
  }

  /**
   * The model version a variant asks for (`params.modelVersion`), handed to the model manager; true when that
   * changed (a new viewer, a new assignment), so the caller updates the model.
   */
  async pinModel(exp?: PageExperiments | null): Promise<boolean> {
    exp ??= this.experiments ? await this.experiments.pageParams() : null;
    const a = exp?.assignments.findLast((x) => x.params.modelVersion !== undefined);
    return this.models.pin(a ? { experiment: a.experiment, variant: a.variant, version: a.params.modelVersion! } : null);
  }

  private async doBuild(refresh: boolean): Promise<HomePage> {
    const t0 = performance.now();
    const catalog = await this.loadCatalog();
    const history = await this.history.all();
    const interactions = (await fromStoreEvents(history.map((h) => ({ ...h, userId: 'me' })))).interactions;
    const exp = this.experiments ? await this.experiments.pageParams() : null;
    // The variant's model loads in the background; until it serves, the page says which model made it.
    if (await this.pinModel(exp)) void this.models.update();
    this.artwork?.usePolicy(exp?.params.artworkPolicy ?? null);

    // 1. The viewer's embedding, brought up to date incrementally.
    const model = this.models.current;
    let warmUpWaitMs: number | undefined;
    if (model !== this.modelInUse) {
      const w = performance.now();
      await this.warming.catch(() => {});
      warmUpWaitMs = performance.now() - w;
      await this.useModel(model, catalog);
    }
    let encode: HomePage['encode'] = model ? 'no-history' : 'no-model';
    let user = null;
    if (model && this.encoder) {
      const tokens = viewerTokens(model, interactions);
      if (tokens.length > 0) {
        encode = this.encoder.update(tokens);
        user = this.encoder.embedding();
      }
    }
    const t1 = performance.now();

    // 2. Candidates: from the server when stale, else (or offline) the cached set.
    const recent = [...new Set(interactions.map((i) => i.item).reverse())].slice(0, 20).reverse();
    let from: HomePage['candidates']['from'] = 'cache';
    const cached = this.candidates ?? (await getMeta(this.db, 'candidates')) ?? null;
    const stale = !cached || Date.now() - cached.fetchedAt > CANDIDATES_MAX_AGE_MS || interactions.length - cached.historyLength >= CANDIDATES_MAX_NEW_PLAYS;
    let set = cached;
    if (refresh || stale) {
      try {
        const embedding = user ? Array.from(await user.data()) : undefined;
        const body = await this.api.candidates(this.shareHistory ? { recentTitleIds: recent, userEmbedding: embedding, limit: 1000 } : { limit: 1000 });
        set = { candidates: body.candidates, fetchedAt: Date.now(), historyLength: interactions.length };
        await putMeta(this.db, 'candidates', set);
        from = 'server';
        this.candidatesError = undefined;
      } catch (err) {
        // Offline, server down or a malformed answer: the cached candidates (or the cached catalog) still make a page.
        this.candidatesError = (err as Error).message;
      }
    }
    if (!set) {
      set = { candidates: catalog.map((t) => ({ titleId: t.id, sources: [] })), fetchedAt: 0, historyLength: 0 };
      from = 'catalog';
    }
    this.candidates = set;
    await this.artwork?.prepare(catalog); // state once, priors when stale: network time, like the candidates
    const t2 = performance.now();

    // 3. Scores and the ranking blend (an experiment's variant may change the weights).
    const ids = set.candidates.map((c) => c.titleId);
    const scores = user && this.scorer ? await this.scorer.score(user, ids) : null;
    user?.dispose();
    const seen = seenTitles(history);
    const inputs = set.candidates.map((c, k) => ({
      titleId: c.titleId,
      modelScore: scores && Number.isFinite(scores[k]) ? scores[k] : undefined,
      popularity: c.sources.find((s) => s.source === 'popular')?.score,
      trending: c.sources.find((s) => s.source === 'trending')?.score,
    }));
    const ranked = rankCandidates(inputs, { exclude: seen, weights: exp?.params.rankWeights });
    const entries = historyEntries(interactions, this.byId);
    // An interleaving variant: Top Picks is a team draft of this ranking (A) and the interleaveWith blend (B).
    const il = exp?.interleaving && exp.params.interleaveWith
      ? interleaveRankings(
          ranked,
          rankCandidates(inputs, { exclude: seen, weights: exp.params.interleaveWith }),
          seen,
          exp.params.rowPolicy?.rowSize ?? PAGE_DEFAULTS.rowSize,
          exp.interleaving.seed,
        )
      : null;
    const t3 = performance.now();

    // 4. Rows.
    const sourcesOf = new Map(set.candidates.map((c) => [c.titleId, c.sources]));
    const rows = composeDiversePage(
      ranked.map((r) => ({ ...r, sources: sourcesOf.get(r.titleId) ?? [] })),
      entries,
      (id) => this.byId.get(id),
      exp?.params.rowPolicy,
      exp?.params.diversity,
      il?.titleIds,
    );
    const scoreOf = new Map(ranked.map((r) => [r.titleId, r.score]));
    const teamOf = new Map(il?.titleIds.map((id, i) => [id, il.teams[i]!]));
    const t4 = performance.now();
    const pageRows = rows.map((r): PageRow => ({
      id: r.id,
      kind: r.kind,
      title: r.title,
      reason: r.reason,
      items: r.titleIds.filter((id) => this.byId.has(id)).map((id) => {
        const item = this.present(id, scoreOf.get(id) ?? 0);
        const team = r.kind === 'top' ? teamOf.get(id) : undefined;
        if (!team || !exp?.interleaving) return item;
        const interleaving: InterleavingTeam = { experiment: exp.interleaving.experiment, variant: exp.interleaving.variant, team };
        return { ...item, interleaving };
      }),
    }));
    const artworkMs = performance.now() - t4;
    const page: HomePage = {
      rows: pageRows,
      modelVersion: model?.manifest.version ?? null,
      backend: this.backend(),
      candidates: { from, count: set.candidates.length, sources: countSources(set), ageMs: set.fetchedAt ? Date.now() - set.fetchedAt : -1, error: this.candidatesError },
      encode,
      timings: {
        encodeMs: round(t1 - t0),
        candidatesMs: round(t2 - t1),
        scoreMs: round(t3 - t2),
        composeMs: round(t4 - t3),
        totalMs: round(performance.now() - t0),
        artworkMs: round(artworkMs),
        ...(this.warmedUp ? { warmUpWaitMs: round(warmUpWaitMs ?? 0) } : {}),
      },
      builtAt: Date.now(),
    };
    // A model-version variant shapes the page only once its model serves (a version the server lacks never does:
    // those units go unexposed, and the sample-ratio check shows it).
    const applied = exp?.assignments.filter((a) => a.params.modelVersion === undefined || a.params.modelVersion === page.modelVersion) ?? [];
    if (applied.length) {
      page.experiments = applied.map((a) => ({ experiment: a.experiment, variant: a.variant }));
      void this.experiments!.expose(applied);
    }
    return page;
  }

  /** Artwork: the bandit's choice, or the title's first variant without one (logged with propensity 1). */
  private present(id: string, score: number) {
    const t = this.byId.get(id)!;
    const art = t.artworks[0];
    const artwork = this.artwork?.present(t) ?? { artworkId: art?.id ?? '', themes: art?.themes ?? [], propensity: 1 };
    return { titleId: id, name: t.name, genres: t.genres, year: t.year, artwork, score };
  }

  private async useModel(model: LoadedModel | null, catalog: CatalogTitle[]): Promise<void> {
    this.encoder?.dispose();
    this.scorer?.dispose();
    this.encoder = null;
    this.scorer = null;
    this.modelInUse = model;
    if (!model) return;
    this.encoder = new IncrementalEncoder(model);
    const scoring = this.scoringBackend();
    this.scorer = await CatalogScorer.create(model, catalog, scoring ?? undefined).catch((err: Error) => {
      // A scoring backend that stopped working must not cost the page: scores then come from the encoder's backend.
      console.warn(`marquee: catalog scoring on ${scoring} failed (${err.message}); scoring with the encoder instead`);
      return CatalogScorer.create(model, catalog);
    });
  }

  private async loadCatalog(): Promise<CatalogTitle[]> {
    if (this.catalog) return this.catalog;
    try {
      this.catalog = await this.api.catalog();
      await putMeta(this.db, 'catalog', this.catalog);
    } catch (err) {
      this.catalog = (await getMeta(this.db, 'catalog')) ?? null;
      if (!this.catalog) throw new Error(`no catalog: ${(err as Error).message}, and none is cached yet`);
    }
    this.byId = new Map(this.catalog.map((t) => [t.id, t]));
    return this.catalog;
  }

}

function historyEntries(interactions: readonly Interaction[], byId: Map<string, unknown>): HistoryEntry[] {
  const last = new Map<string, HistoryEntry>();
  for (const i of interactions) {
    if (!byId.has(i.item)) continue;
    const prev = last.get(i.item);
    last.set(i.item, {
      titleId: i.item,
      lastTs: i.ts,
      fraction: Math.max(prev?.fraction ?? 0, i.fraction ?? 0),
      completed: (prev?.completed ?? false) || i.event === 'complete',
    });
  }
  return [...last.values()];
}

function countSources(set: CachedCandidates): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of set.candidates) for (const s of c.sources) out[s.source] = (out[s.source] ?? 0) + 1;
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The encoder's tokens for the viewer's interactions (titles the model does not know are left out). */
function viewerTokens(model: LoadedModel, interactions: readonly Interaction[]) {
  return historyTokens(model.toHistory(interactions.map((i) => ({ titleId: i.item, event: i.event as 'play' | 'complete', fraction: i.fraction }))));
}
