/**
 * Artwork routes:
 * - `GET /v1/artwork/priors`: per (title, artwork) impressions, plays and quality plays from the live aggregates,
 *   versioned (the version changes with every count; `ETag`, `If-None-Match` answers 304). The device caches it with
 *   the catalog and starts a new viewer from it.
 * - `GET /v1/admin/artwork/ope?target=uniform|priors[&clip=N][&bootstrap=B]`: off-policy evaluation over the store's
 *   own impressions (bearer token): replay, IPS, SNIPS and DR with 95% intervals (normal; bootstrap-t over B seeded
 *   resamples when asked) and effective sample sizes.
 */
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { z } from 'zod';
import { artwork as aw, describeIssues } from '@marquee/core';
import type { EventStore } from '../store/types.ts';
import { decisionsFromEvents, type ArtworkAggregates, type CatalogLookup } from '../artwork/logs.ts';
import { buildTarget, TARGETS } from '../artwork/targets.ts';
import { jsonError } from '../errors.ts';

const OpeQuerySchema = z.object({
  target: z.enum(TARGETS).default('uniform'),
  clip: z.coerce.number().positive().optional(),
  // Bootstrap-t resamples (100-10,000: each costs a pass over the log, on the request's time).
  bootstrap: z.coerce.number().int().min(100).max(10_000).optional(),
});

export function artworkRoutes(opts: { aggregates: ArtworkAggregates; store: EventStore; catalog: CatalogLookup; adminToken: string; now: () => number }): Hono {
  const app = new Hono();
  app.get('/artwork/priors', (c) => {
    const etag = `"${opts.aggregates.counts.changes}"`;
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', etag);
    if (c.req.header('If-None-Match') === etag) return c.body(null, 304);
    return c.json(opts.aggregates.priors(opts.now()));
  });

  const admin = new Hono();
  admin.use('*', bearerAuth({ token: opts.adminToken, noAuthenticationHeader: { message: { error: 'missing bearer token' } }, invalidToken: { message: { error: 'invalid token' } }, invalidAuthenticationHeader: { message: { error: 'invalid authorization header' } } }));
  admin.get('/ope', async (c) => {
    const q = OpeQuerySchema.safeParse(c.req.query());
    if (!q.success) return jsonError(c, 400, 'invalid request', describeIssues(q.error));
    const events = await opts.store.scan(['impression', 'play_start', 'progress', 'pause', 'complete']);
    const { decisions, skipped } = decisionsFromEvents(events, opts.catalog, opts.aggregates.reward);
    if (decisions.length < 2) return jsonError(c, 409, 'not enough logged decisions', `${decisions.length} impressions carry an artwork choice`);
    const { log, target, note } = buildTarget(q.data.target, decisions);
    const report = aw.evaluatePolicy(log, target, q.data.target, { clip: q.data.clip, bootstrapResamples: q.data.bootstrap });
    return c.json({ ...report, note, skipped, reward: opts.aggregates.reward });
  });
  app.route('/admin/artwork', admin);
  return app;
}
