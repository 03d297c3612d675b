import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { analyticsQuery, AnalyticsQuerySchema, describeIssues, TitleStatsQuerySchema } from '@marquee/core';
import type { AnalyticsService } from '../analytics/service.ts';
import { jsonError } from '../errors.ts';
import { adminAuth } from './admin-auth.ts';

const ArtworkQuerySchema = analyticsQuery({ titleId: z.string().min(1).max(128).optional() });
const TrendingQuerySchema = analyticsQuery({ windowDays: z.coerce.number().int().min(1).max(90).default(7) });
const LiveQuerySchema = z.object({ minutes: z.coerce.number().int().min(1).max(24 * 60).default(30) });

/** Parses the query string with a schema, or answers 400 with every problem. */
function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> | Response {
  const parsed = schema.safeParse(c.req.query());
  return parsed.success ? parsed.data : jsonError(c, 400, 'invalid query', describeIssues(parsed.error));
}

/**
 * `GET /v1/admin/analytics/{titles,daily,take-rates,artwork,trending,live}`, behind the admin token. Every route
 * takes `from`/`to` (YYYY-MM-DD, inclusive, UTC) and `limit`; groups below the k-anonymity floor are suppressed.
 */
export function analyticsRoutes({ analytics, adminToken }: { analytics: AnalyticsService; adminToken: string }): Hono {
  const app = new Hono();
  app.use('*', adminAuth(adminToken));
  const common = AnalyticsQuerySchema;
  app.get('/titles', async (c) => {
    const q = parseQuery(c, TitleStatsQuerySchema);
    if (q instanceof Response) return q;
    return c.json(await analytics.titles(q, q.by, q.sort));
  });
  app.get('/daily', async (c) => {
    const q = parseQuery(c, common);
    return q instanceof Response ? q : c.json(await analytics.daily(q));
  });
  app.get('/take-rates', async (c) => {
    const q = parseQuery(c, common);
    return q instanceof Response ? q : c.json(await analytics.takeRates(q));
  });
  app.get('/artwork', async (c) => {
    const q = parseQuery(c, ArtworkQuerySchema);
    return q instanceof Response ? q : c.json(await analytics.artwork(q, q.titleId));
  });
  app.get('/trending', async (c) => {
    const q = parseQuery(c, TrendingQuerySchema);
    return q instanceof Response ? q : c.json(await analytics.trending(q, q.windowDays));
  });
  app.get('/live', async (c) => {
    const q = parseQuery(c, LiveQuerySchema);
    return q instanceof Response ? q : c.json(await analytics.liveRate(q.minutes));
  });
  return app;
}
