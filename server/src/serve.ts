/** Node entry point: the real store, a port, and a clean shutdown. `npm run server`. */
import { serve } from '@hono/node-server';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createApp } from './app.ts';
import { assertSafeSecrets, loadConfig, redact } from './config.ts';
import { DuckDbEventStore } from './store/duckdb.ts';
import { ModelRegistry } from './models/registry.ts';
import { join } from 'node:path';
import { Catalog } from './catalog.ts';
import { CandidateService } from './candidates/service.ts';
import { ExperimentDefinitions } from './experiments/definitions.ts';
import { loadAggregates, SNAPSHOT_INTERVAL_MS, takeSnapshot, writeSnapshot } from './snapshot.ts';
import { AnalyticsService } from './analytics/service.ts';
import { ForecastService } from './forecasts/service.ts';

const config = loadConfig();
assertSafeSecrets(config);
// tfjs runs here only to build the candidate service's embedding index (one pass per published model): the plain
// cpu backend, chosen once and never switched.
if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend did not start');
const started = performance.now();
const store = await DuckDbEventStore.open(config.dataDir, { memoryLimit: config.duckdbMemoryLimit });
const models = new ModelRegistry(join(config.dataDir, 'models'));
const storeS = (performance.now() - started) / 1000;
const catalog = await Catalog.load(config.dataDir);
const snapshotCatalog = { titles: catalog.titles, get: (id: string) => catalog.byId.get(id) };
// The live aggregates and the artwork priors: from the last snapshot and the rows stored after it, else from every row.
const loaded = await loadAggregates(store, { dataDir: config.dataDir, catalog: snapshotCatalog, log: (line) => console.log(line) });
const { live: aggregates, artwork } = loaded;
const candidates = new CandidateService(catalog, aggregates, models);
await candidates.refresh();
const experiments = ExperimentDefinitions.inDataDir(config.dataDir);
await experiments.read(); // a broken experiments.json stops the start with the reason
await store.releaseMemory(); // the replays streamed the stored events through DuckDB's buffer pool
const analytics = new AnalyticsService({ store, catalog: candidates.catalog.titles, log: (line) => console.log(line) });
const forecasts = new ForecastService(analytics, candidates.catalog.titles);
const app = createApp({ store, models, candidates, experiments, artwork, analytics, forecasts, ...config });
const startupS = (performance.now() - started) / 1000;

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  console.log(`Marquee API listening on http://${config.host}:${info.port}`);
  console.log(`  DATA_DIR=${config.dataDir}  WRITE_KEYS=${config.writeKeys.map(redact).join(',')}  ADMIN_TOKEN=${redact(config.adminToken)}`);
  console.log(`  CORS_ORIGINS=${config.corsOrigins.join(',')}`);
  const { perKey, perIp, failedKeysPerIp, tsPastMs, tsFutureMs } = config.limits;
  console.log(`  limits: ${perKey.perSecond}/s (burst ${perKey.burst}) per key, ${perIp.perSecond}/s (burst ${perIp.burst}) per address, unknown keys ${failedKeysPerIp.perSecond}/s (burst ${failedKeysPerIp.burst}) per address; ts window -${tsPastMs / 1000} s .. +${tsFutureMs / 1000} s`);
  console.log(`  catalog: ${candidates.catalog.titles.length} titles; events stored: ${store.recovery.stored}; events replayed: ${loaded.engagementRows}; artwork rows replayed: ${loaded.artworkRows}; model: ${candidates.embeddings?.version ?? 'none'}`);
  const { snapshotS, liveS, artworkS } = loaded.timings;
  const from = loaded.rebuilt ? `no snapshot used: ${loaded.rebuilt}` : `snapshot ${snapshotS.toFixed(2)} s, rows from ${loaded.fromRowid}`;
  console.log(`  started in ${startupS.toFixed(2)} s (store open ${storeS.toFixed(2)} s, ${from}, aggregates replay ${liveS.toFixed(2)} s, artwork priors ${artworkS.toFixed(2)} s); rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB`);
  // A snapshot of what the start built, so that a crash before the next one replays only what came since.
  void snapshot('after start');

  // After listening, in the background: the rollups catch up on whatever they have not seen (nothing after a clean
  // restart; a backlog after an upgrade or a bulk import, progress logged, `/readyz` says how much is left), then
  // follow the stored batches, so no dashboard query pays for a catch-up.
  analytics
    .follow()
    .then(() => store.releaseMemory())
    .catch((err) => console.error(`analytics: catch-up failed: ${(err as Error).message}`));
});

/** Writes a snapshot when rows arrived since the last one; one at a time. */
let snapshotting: Promise<void> = Promise.resolve();
let snapshotRows = -1;
function snapshot(why: string): Promise<void> {
  snapshotting = snapshotting.then(async () => {
    try {
      const t = performance.now();
      const snap = await takeSnapshot(store, aggregates, artwork, snapshotCatalog);
      if (snap.watermark.rows === snapshotRows) return;
      await writeSnapshot(config.dataDir, snap);
      snapshotRows = snap.watermark.rows;
      console.log(`aggregates: snapshot at row ${snap.watermark.nextRowid} written (${why}) in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    } catch (err) {
      console.error(`aggregates: snapshot failed (${why}): ${(err as Error).message}`);
    }
  });
  return snapshotting;
}
const snapshotTimer = setInterval(() => void snapshot('periodic'), SNAPSHOT_INTERVAL_MS);
snapshotTimer.unref();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  server.close();
  clearInterval(snapshotTimer);
  await snapshot('at stop');
  await analytics.stop();
  await store.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
