import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { EventStore } from './store/types.ts';
import { eventRoutes } from './routes/events.ts';
import { adminRoutes } from './routes/admin.ts';
import { modelRoutes } from './routes/models.ts';
import type { ModelRegistry } from './models/registry.ts';
import { candidateRoutes } from './routes/candidates.ts';
import type { CandidateService } from './candidates/service.ts';
import { jsonError } from './errors.ts';
import { experimentRoutes } from './routes/experiments.ts';
import { ExperimentDefinitions } from './experiments/definitions.ts';
import { healthRoutes } from './routes/health.ts';
import { DEFAULT_LIMITS, type ApiLimits } from './limits.ts';
import { TokenBuckets } from './middleware/rate-limit/index.ts';
import { WRITE_KEY_HEADER } from '@marquee/core';
import { artworkRoutes } from './routes/artwork.ts';
import type { ArtworkAggregates } from './artwork/logs.ts';
import type { AnalyticsService } from './analytics/service.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import type { ForecastService } from './forecasts/service.ts';
import { forecastRoutes } from './routes/forecasts.ts';

export interface AppOptions {
  store: EventStore;
  /** Keys a client must present to send events. */
  writeKeys: readonly string[];
  /** Bearer token of the `/v1/admin` routes. */
  adminToken: string;
  /** Origins allowed to call the API from a browser. */
  corsOrigins: readonly string[];
  /** Published models; without it the model routes answer 404. */
  models?: ModelRegistry;
  /** Candidate generation and the catalog; without it those routes answer 404. */
  candidates?: CandidateService;
  /** Experiment definitions (DATA_DIR/experiments.json); default: in memory, empty. */
  experiments?: ExperimentDefinitions;
  /** Artwork priors and OPE (needs `candidates` for the catalog); without it those routes answer 404. */
  artwork?: ArtworkAggregates;
  /** Aggregate analytics over the DuckDB store; without it `/v1/admin/analytics/*` answers 404. */
  analytics?: AnalyticsService;
  /** Acquisition forecasts; without it `POST /v1/forecasts` answers 404. */
  forecasts?: ForecastService;
  now?: () => number;
  /** Rate limits and the accepted event-time window; defaults in `limits.ts`. */
  limits?: Partial<ApiLimits>;
}

/**
 * The whole API as a web-standard app: `app.fetch(Request) -> Response`. It never opens a port (serve.ts does),
 * so tests call `app.request(...)` in-process.
 */
export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  const allowed = new Set(opts.corsOrigins);

  app.use(
    '/v1/*',
    cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'If-None-Match', WRITE_KEY_HEADER],
      exposeHeaders: ['Retry-After', 'ETag', 'Content-Length'],
      maxAge: 600,
    }),
  );

  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const now = opts.now ?? Date.now;
  // One door for the keyed routes: the buckets are shared, so /v1/candidates and /v1/events draw on one budget.
  const guard = {
    writeKeys: new Set(opts.writeKeys),
    perKey: new TokenBuckets(limits.perKey, now),
    perIp: new TokenBuckets(limits.perIp, now),
    failedKeysPerIp: new TokenBuckets(limits.failedKeysPerIp, now),
  };
  let lastCommitError: unknown = null;
  app.route('/', healthRoutes({ store: opts.store, models: opts.models, candidates: opts.candidates, lastCommitError: () => lastCommitError, analyticsBehind: opts.analytics && (() => opts.analytics!.behind) }));
  app.route('/v1/events', eventRoutes({
      ...guard,
      store: opts.store,
      now,
      tsPastMs: limits.tsPastMs,
      tsFutureMs: limits.tsFutureMs,
      onCommit: (err) => void (lastCommitError = err),
      onStored: (events, receivedAt) => {
        opts.candidates?.aggregates.observe(events, receivedAt);
        opts.artwork?.observe(events);
        opts.analytics?.markDirty();
      },
    }));
  if (opts.artwork && opts.candidates) {
    app.route('/v1', artworkRoutes({ aggregates: opts.artwork, store: opts.store, catalog: opts.candidates.catalog.byId, adminToken: opts.adminToken, now }));
  }
  if (opts.candidates) app.route('/v1', candidateRoutes(opts.candidates, guard));
  if (opts.models) app.route('/v1/models', modelRoutes(opts.models));
  app.route('/v1/experiments', experimentRoutes({ store: opts.store, definitions: opts.experiments ?? new ExperimentDefinitions(null), adminToken: opts.adminToken, now }));
  if (opts.analytics) app.route('/v1/admin/analytics', analyticsRoutes({ analytics: opts.analytics, adminToken: opts.adminToken }));
  if (opts.forecasts) app.route('/v1/forecasts', forecastRoutes({ forecasts: opts.forecasts, adminToken: opts.adminToken }));
  app.route('/v1/admin', adminRoutes({ store: opts.store, adminToken: opts.adminToken }));

  app.notFound((c) => jsonError(c, 404, 'not found'));
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      return res.headers.get('content-type')?.includes('json') ? res : jsonError(c, err.status, err.message || 'error');
    }
    console.error('unhandled error:', err);
    return jsonError(c, 500, 'internal error');
  });
  return app;
}
