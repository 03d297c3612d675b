import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { z } from 'zod';
import type { EventStore } from '../store/types.ts';
import { jsonError } from '../errors.ts';

const IdsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1_000_000).default(100_000) });

/** Operator endpoints, behind a bearer token. */
export function adminRoutes({ store, adminToken }: { store: EventStore; adminToken: string }): Hono {
  const app = new Hono();
  app.use('*', bearerAuth({ token: adminToken, noAuthenticationHeader: { message: { error: 'missing bearer token' } }, invalidToken: { message: { error: 'invalid token' } }, invalidAuthenticationHeader: { message: { error: 'invalid authorization header' } } }));
  app.get('/events/count', async (c) => c.json({ count: await store.count() }));
  // Which events arrived, oldest first: lets an operator (and the exactly-once tests) compare ids sent with ids stored.
  app.get('/events/ids', async (c) => {
    const q = IdsQuery.safeParse(c.req.query());
    if (!q.success) return jsonError(c, 400, 'limit must be an integer from 1 to 1000000');
    return c.json({ ids: await store.ids(q.data.limit) });
  });
  return app;
}
