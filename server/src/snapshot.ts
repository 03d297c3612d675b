/**
 * Start-up from a snapshot of the in-memory aggregates: the live candidate aggregates and the artwork priors' state
 * (core's AggregatesSnapshotSchema), with the watermark of the store's rows they cover. At 5M events replaying every
 * stored row took 24 s of a 30 s start (live aggregates 7.7 s, the artwork priors' population fit 16.3 s); from a
 * snapshot only the rows past its watermark are replayed, through the same code as the full replay, so snapshot +
 * tail gives what the full replay gives (server/test/snapshot.test.ts).
 *
 * Written to DATA_DIR/aggregates.snapshot.json (a temporary file, then a rename: a crash mid-write leaves the old
 * one) after each start, every SNAPSHOT_INTERVAL_MS while rows keep arriving, and at a clean stop. A crash loses
 * nothing: the rows committed after the last snapshot are its tail at the next start. Never trusted when stale: a
 * snapshot of another format, schema migration, catalog, reward definition or aggregate options, or whose covered
 * rows are no longer those rows (the quarantine sweep at open may renumber rowids; a row count below the watermark
 * that differs), is ignored and the aggregates are rebuilt from the store, with the reason logged.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AGGREGATES_SNAPSHOT_FORMAT, AggregatesSnapshotSchema, describeIssues, type AggregatesSnapshot } from '@marquee/core';
import { ArtworkAggregates, replayArtwork, type CatalogLookup } from './artwork/logs.ts';
import { LiveAggregates, type AggregateOptions } from './candidates/aggregates.ts';
import { replayAggregates } from './candidates/replay.ts';
import type { DuckDbEventStore } from './store/duckdb.ts';

export const SNAPSHOT_FILE = 'aggregates.snapshot.json';
/** How often a running server writes a snapshot when rows have arrived since the last one. */
export const SNAPSHOT_INTERVAL_MS = 10 * 60_000;

interface SnapshotCatalog extends CatalogLookup {
  readonly titles: readonly { id: string; artworks: readonly { id: string; themes: readonly string[] }[]; genres?: readonly string[] }[];
}

/** What the artwork aggregates depend on in the catalog: the titles' artworks and their themes, and their genres. */
export function catalogFingerprint(catalog: SnapshotCatalog): string {
  const h = createHash('sha256');
  for (const t of catalog.titles) h.update(JSON.stringify([t.id, t.artworks.map((a) => [a.id, a.themes]), t.genres ?? []]));
  return h.digest('hex');
}

export interface LoadedAggregates {
  live: LiveAggregates;
  artwork: ArtworkAggregates;
  /** The first row replayed from the store (0: everything, no usable snapshot). */
  fromRowid: number;
  /** Why no snapshot was used (null when one was). */
  rebuilt: string | null;
  /** Rows replayed into each. */
  engagementRows: number;
  artworkRows: number;
  /** Seconds spent: reading the snapshot, replaying the live aggregates' rows, the artwork rows. */
  timings: { snapshotS: number; liveS: number; artworkS: number };
}

interface LoadOptions {
  dataDir: string;
  catalog: SnapshotCatalog;
  liveOptions?: AggregateOptions;
  log?: (line: string) => void;
}

async function schemaVersion(store: DuckDbEventStore): Promise<number> {
  return Math.max(0, ...(await store.schemaVersions()));
}

/** The snapshot's aggregates when it can be trusted for this store and catalog, else the reason it cannot. */
async function readSnapshot(store: DuckDbEventStore, opts: LoadOptions): Promise<{ live: LiveAggregates; artwork: ArtworkAggregates; fromRowid: number } | string> {
  let text: string;
  try {
    text = await readFile(join(opts.dataDir, SNAPSHOT_FILE), 'utf8');
  } catch {
    return 'no snapshot';
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `snapshot unreadable: ${(err as Error).message}`;
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== AGGREGATES_SNAPSHOT_FORMAT) return `snapshot format ${String(format)}, not ${AGGREGATES_SNAPSHOT_FORMAT}`;
  const parsed = AggregatesSnapshotSchema.safeParse(json);
  if (!parsed.success) return `snapshot invalid: ${describeIssues(parsed.error)}`;
  const snap = parsed.data;
  const version = await schemaVersion(store);
  if (snap.schemaVersion !== version) return `snapshot from schema version ${snap.schemaVersion}, the store is at ${version}`;
  if (snap.catalog !== catalogFingerprint(opts.catalog)) return 'snapshot from another catalog';
  if (store.recovery.quarantined > 0) return 'rows were quarantined at this start (rowids may have moved)';
  const rows = await store.rowsBefore(snap.watermark.nextRowid);
  if (rows !== snap.watermark.rows) return `snapshot covers ${snap.watermark.rows} rows below row ${snap.watermark.nextRowid}, the store has ${rows}`;
  const live = LiveAggregates.fromState(snap.live, opts.liveOptions);
  if (!live) return 'snapshot kept with other live aggregate options';
  const artwork = new ArtworkAggregates(undefined, opts.catalog);
  if (!artwork.restore(snap.artwork)) return 'snapshot kept with another artwork reward definition';
  return { live, artwork, fromRowid: snap.watermark.nextRowid };
}

/** The aggregates at start: from a trusted snapshot and the rows past it, else from every stored row. */
export async function loadAggregates(store: DuckDbEventStore, opts: LoadOptions): Promise<LoadedAggregates> {
  const t0 = performance.now();
  const found = await readSnapshot(store, opts);
  const base = typeof found === 'string'
    ? { live: new LiveAggregates(opts.liveOptions), artwork: new ArtworkAggregates(undefined, opts.catalog), fromRowid: 0 }
    : found;
  const rebuilt = typeof found === 'string' ? found : null;
  if (rebuilt && rebuilt !== 'no snapshot') opts.log?.(`aggregates: rebuilding from the store (${rebuilt})`);
  const t1 = performance.now();
  const engagementRows = await replayAggregates(store, base.live, base.fromRowid);
  const t2 = performance.now();
  const artworkRows = await replayArtwork(store, base.artwork, base.fromRowid);
  const t3 = performance.now();
  if (!rebuilt) opts.log?.(`aggregates: from the snapshot at row ${base.fromRowid}, ${engagementRows + artworkRows} rows replayed past it`);
  return { ...base, rebuilt, engagementRows, artworkRows, timings: { snapshotS: (t1 - t0) / 1000, liveS: (t2 - t1) / 1000, artworkS: (t3 - t2) / 1000 } };
}

/**
 * The aggregates' state now with the rows it covers. The state is read in the same synchronous step as the
 * store's answer arrives (committedRows), so no commit's update falls between the two.
 */
export async function takeSnapshot(store: DuckDbEventStore, live: LiveAggregates, artwork: ArtworkAggregates, catalog: SnapshotCatalog): Promise<AggregatesSnapshot> {
  const version = await schemaVersion(store);
  const fingerprint = catalogFingerprint(catalog);
  const watermark = await store.committedRows();
  return {
    format: AGGREGATES_SNAPSHOT_FORMAT, schemaVersion: version, catalog: fingerprint, watermark, writtenAt: Date.now(),
    live: live.state(), artwork: artwork.state(),
  };
}

/** Writes a snapshot beside the store, atomically (write, flush, rename). */
export async function writeSnapshot(dataDir: string, snap: AggregatesSnapshot): Promise<void> {
  const path = join(dataDir, SNAPSHOT_FILE);
  const tmp = `${path}.tmp`;
  const f = await open(tmp, 'w');
  try {
    await f.writeFile(JSON.stringify(snap));
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
}
