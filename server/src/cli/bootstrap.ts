/**
 * `npm run bootstrap`: make a fresh data directory useful. `npm start` runs it before the API.
 *
 * When `DATA_DIR/models` has a live model it does nothing (a later start is immediate). Otherwise:
 *   1. if the event store is empty, seeds it with the synthetic world's history (the world whose catalog the server
 *      serves when there is no `DATA_DIR/catalog.json`), as valid MarqueeEvents with UUIDv7 ids;
 *   2. trains the default model on the store's events, within a time budget, with the trainer's progress on stderr;
 *   3. publishes it with ModelRegistry into `DATA_DIR/models`, where the API picks it up.
 *
 * Environment: DATA_DIR (`.data`), BOOTSTRAP_TIME_BUDGET (training seconds, default 45).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGAGEMENT_EVENTS } from '@marquee/core';
import { createWorld, WORLD_DEFAULTS, type WorldConfig } from '@marquee/core/synthetic';
import { MODEL_DEFAULTS, type ItemMeta, type ModelOverrides, type StoreEvent, type TrainConfig } from '@marquee/model';
import { Catalog } from '../catalog.ts';
import { seedSyntheticHistory } from '../seed.ts';
import { loadConfig } from '../config.ts';
import { ModelRegistry } from '../models/registry.ts';
import type { DuckDbEventStore } from '../store/duckdb.ts';

/** The default: a 45 s training budget keeps a fresh `npm start` under two minutes on a 2-core machine. */
export const DEFAULT_TIME_BUDGET_SEC = 45;

export interface BootstrapOptions {
  dataDir: string;
  /** The synthetic world to seed an empty store with (default: WORLD_DEFAULTS, matching Catalog.synthetic()). */
  world?: Partial<WorldConfig>;
  /** Training wall-clock budget, seconds. */
  timeBudgetSec?: number;
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  backend?: 'wasm' | 'cpu';
  /** Events per store append while seeding. */
  batchSize?: number;
  /** Show the trainer's progress bar / epoch lines on stderr (default true). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface BootstrapResult {
  action: 'skipped' | 'published' | 'no-data';
  /** The live model's version afterwards (null when none). */
  version: string | null;
  /** Events written by the seeding step (0 when the store already had events). */
  seeded: number;
  /** Events in the store afterwards. */
  events: number;
  seconds: number;
}

const TRAINING_TYPES = ENGAGEMENT_EVENTS;

/** The store's playback events, oldest first, as the trainer's store importer reads them. */
async function storeEvents(store: DuckDbEventStore): Promise<StoreEvent[]> {
  const rows = await store.query(
    `SELECT member_id, title_id, type, ts, position, duration FROM events_v
     WHERE type IN (${TRAINING_TYPES.map((_, i) => `$${i + 1}`).join(', ')}) AND title_id IS NOT NULL AND member_id IS NOT NULL
     ORDER BY ts`,
    [...TRAINING_TYPES],
  );
  return rows.map((r) => ({
    userId: r.member_id as string,
    titleId: r.title_id as string,
    type: r.type as StoreEvent['type'],
    ts: Number(r.ts),
    position: r.position == null ? null : Number(r.position),
    duration: r.duration == null ? null : Number(r.duration),
  }));
}

export async function bootstrap(opts: BootstrapOptions): Promise<BootstrapResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((s: string) => console.log(s));
  const secs = () => (performance.now() - t0) / 1000;
  const registry = new ModelRegistry(join(opts.dataDir, 'models'));
  const live = await registry.latest();
  if (live) {
    log(`bootstrap: model ${live.version} is live in ${registry.dir}; nothing to do`);
    return { action: 'skipped', version: live.version, seeded: 0, events: -1, seconds: secs() };
  }

  log(`bootstrap: no published model in ${registry.dir}; preparing one (seed, train, publish)`);
  // Loaded only now, so that a start with a live model stays quick.
  const [{ DuckDbEventStore }, { fromStoreEvents }, { trainArtifact }] =
    await Promise.all([import('../store/duckdb.ts'), import('@marquee/model'), import('@marquee/model/node')]);
  const store = await DuckDbEventStore.open(opts.dataDir);
  let seeded = 0;
  let events: number;
  let raw;
  try {
    events = await store.count();
    const customCatalog = existsSync(join(opts.dataDir, 'catalog.json'));
    if (events === 0 && customCatalog) {
      log('bootstrap: the store is empty and DATA_DIR/catalog.json is not the synthetic catalog: nothing to train on; the API will start without a model');
      return { action: 'no-data', version: null, seeded: 0, events: 0, seconds: secs() };
    }
    if (events === 0) {
      const cfg = { ...WORLD_DEFAULTS, ...opts.world };
      log(`bootstrap: [1/3] seeding the empty event store with the synthetic world's history (seed ${cfg.seed}, ${cfg.members} members, ${cfg.titles} titles)`);
      const world = createWorld(opts.world ?? {});
      seeded = await seedSyntheticHistory(store, world, { batchSize: opts.batchSize, log });
      events = await store.count();
      log(`bootstrap: [1/3] stored ${seeded.toLocaleString('en-US')} events in ${secs().toFixed(1)}s`);
    } else {
      log(`bootstrap: [1/3] the event store holds ${events.toLocaleString('en-US')} events; not seeding`);
    }
    const catalog = customCatalog ? await Catalog.load(opts.dataDir) : Catalog.synthetic({ seed: opts.world?.seed, titles: opts.world?.titles });
    const items = new Map<string, ItemMeta>(catalog.titles.map((t) => [t.id, { title: t.name, genres: t.genres, year: t.year }]));
    raw = await fromStoreEvents(await storeEvents(store), { name: 'store', items });
  } finally {
    await store.close();
  }

  const budget = opts.timeBudgetSec ?? DEFAULT_TIME_BUDGET_SEC;
  let trained;
  try {
    trained = await trainArtifact(raw, {
      backend: opts.backend ?? 'wasm',
      // One history length: the first-start budget holds about one run, and a search would halve it (train-artifact.ts).
      // The input table is not chosen either: its choice scores validation twice (~5 s of the 45 s under load) and
      // picks one table on the synthetic default world anyway (validation: ItemKNN-last 0.031 vs recency-weighted 0.051).
      // One model, not the trainer's default ensemble: the 45 s holds one model's run, not rounds of members.
      model: { maxLen: MODEL_DEFAULTS.maxLen, untiedInput: MODEL_DEFAULTS.untiedInput, members: 1, ...opts.model },
      train: { ...opts.train, timeBudgetSec: budget },
      progress: opts.progress,
      onData: (summary, _split, backend) =>
        log(`bootstrap: [2/3] training on ${summary.users} members, ${summary.items} titles, ${summary.interactions} plays (${backend}, budget ${budget}s)`),
    });
  } catch (err) {
    log(`bootstrap: training failed: ${(err as Error).message}; the API will start without a model`);
    return { action: 'no-data', version: null, seeded, events, seconds: secs() };
  }
  const fr = trained.fit;
  log(`bootstrap: [2/3] trained ${fr.epochs.length} epochs in ${fr.seconds.toFixed(1)}s (${fr.stopReason}; validation NDCG@10 ${fr.bestValNdcg10.toFixed(4)} at epoch ${fr.bestEpoch})`);

  const staging = await mkdtemp(join(tmpdir(), 'marquee-bootstrap-'));
  try {
    await trained.save(staging, { val_ndcg10: fr.bestValNdcg10, epochs: fr.epochs, train_seconds: fr.seconds, backend: trained.backend, source: 'bootstrap' });
    const m = await registry.publish(staging);
    log(`bootstrap: [3/3] published ${m.version}; live in ${registry.dir} (${secs().toFixed(1)}s in all)`);
    return { action: 'published', version: m.version, seeded, events, seconds: secs() };
  } finally {
    trained.dispose();
    await rm(staging, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const budget = process.env.BOOTSTRAP_TIME_BUDGET ? Number(process.env.BOOTSTRAP_TIME_BUDGET) : DEFAULT_TIME_BUDGET_SEC;
  if (!Number.isFinite(budget) || budget <= 0) {
    console.error(`bootstrap: BOOTSTRAP_TIME_BUDGET must be a positive number of seconds, got ${process.env.BOOTSTRAP_TIME_BUDGET}`);
    process.exit(2);
  }
  try {
    await bootstrap({ dataDir: loadConfig().dataDir, timeBudgetSec: budget });
  } catch (err) {
    console.error(`bootstrap failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  }
}
