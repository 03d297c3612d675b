import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { describeIssues, ExperimentsEditSchema } from '@marquee/core';
import type { EventStore } from '../store/types.ts';
import { ExperimentDefinitions, InvalidDocument, VersionConflict } from '../experiments/definitions.ts';
import { experimentUnits } from '../experiments/units.ts';
import { analyse, interleaves } from '../experiments/analysis.ts';
import { teamCredits } from '../experiments/interleaving.ts';
import { jsonError } from '../errors.ts';

/**
 * Mounted at `/v1/experiments`:
 * - `GET /` (public): the experiments devices should know about, for assignment on the device;
 * - `GET /admin` and `PUT /admin` (`{baseVersion, experiments}`): the whole versioned document;
 * - `GET /:id/results` (admin): the analysis from the event store.
 */
export function experimentRoutes(opts: { store: EventStore; definitions: ExperimentDefinitions; adminToken: string; now: () => number }): Hono {
  const app = new Hono();
  const admin = bearerAuth({ token: opts.adminToken, noAuthenticationHeader: { message: { error: 'missing bearer token' } }, invalidToken: { message: { error: 'invalid token' } }, invalidAuthenticationHeader: { message: { error: 'invalid authorization header' } } });

  app.get('/', async (c) => {
    const active = await opts.definitions.active();
    const etag = `"experiments-${active.version}"`;
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', etag);
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return c.json(active);
  });

  app.get('/admin', admin, async (c) => c.json(await opts.definitions.read()));

  app.put('/admin', admin, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return jsonError(c, 400, 'body must be JSON: {baseVersion, experiments}');
    }
    const edit = ExperimentsEditSchema.safeParse(body);
    if (!edit.success) return jsonError(c, 400, 'body must be {baseVersion: number, experiments: [...]}', describeIssues(edit.error));
    try {
      return c.json(await opts.definitions.write(edit.data.experiments, edit.data.baseVersion));
    } catch (err) {
      if (err instanceof VersionConflict) return jsonError(c, 409, 'version conflict', err.message);
      if (err instanceof InvalidDocument) return jsonError(c, 400, 'invalid experiments', err.message);
      throw err;
    }
  });

  app.get('/:id/results', admin, async (c) => {
    const e = await opts.definitions.get(c.req.param('id'));
    if (!e) return jsonError(c, 404, `unknown experiment ${c.req.param('id')}`);
    const alpha = Number(c.req.query('alpha') ?? 0.05);
    if (!(alpha > 0 && alpha < 0.5)) return jsonError(c, 400, 'alpha must be in (0, 0.5)');
    const t0 = performance.now();
    const rows = await experimentUnits(opts.store, e.id, opts.now());
    const credits = interleaves(e) ? await teamCredits(opts.store, e.id) : undefined;
    const results = analyse(e, rows, { alpha, computedAt: opts.now(), credits });
    results.tookMs = Math.round((performance.now() - t0) * 10) / 10;
    return c.json(results);
  });
  return app;
}
