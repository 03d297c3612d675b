/** Node entry point: the real store, a port, and a clean shutdown. `npm run server`. */
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { DuckDbEventStore } from './store/duckdb.ts';
import { ModelRegistry } from './models/registry.ts';
import { join } from 'node:path';
import { Catalog } from './catalog.ts';
import { ENGAGEMENT_TYPES, LiveAggregates } from './candidates/aggregates.ts';
import { CandidateService } from './candidates/service.ts';
import { AnalyticsService } from './analytics/service.ts';
import { ForecastService } from './forecasts/service.ts';

const config = loadConfig();
const store = await DuckDbEventStore.open(config.dataDir);
const models = new ModelRegistry(join(config.dataDir, 'models'));
const aggregates = new LiveAggregates();
aggregates.observe(await store.scan(ENGAGEMENT_TYPES));
const candidates = new CandidateService(await Catalog.load(config.dataDir), aggregates, models);
await candidates.refresh();
const analytics = new AnalyticsService({ store, catalog: candidates.catalog.titles });
const analyticsStart = performance.now();
await analytics.refresh(); // the analytics tables catch up with events stored while the API was down
const analyticsCatchUpS = ((performance.now() - analyticsStart) / 1000).toFixed(1);
const forecasts = new ForecastService(analytics, candidates.catalog.titles);
const app = createApp({ store, models, candidates, analytics, forecasts, ...config });

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  console.log(`Marquee API listening on http://${config.host}:${info.port}`);
  console.log(`  DATA_DIR=${config.dataDir}  WRITE_KEYS=${config.writeKeys.join(',')}  ADMIN_TOKEN=${config.adminToken}`);
  console.log(`  CORS_ORIGINS=${config.corsOrigins.join(',')}`);
  console.log(`  catalog: ${candidates.catalog.titles.length} titles; events replayed: ${aggregates.observed}; model: ${candidates.embeddings?.version ?? 'none'}`);
  console.log(`  analytics caught up in ${analyticsCatchUpS} s`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  server.close();
  await store.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
