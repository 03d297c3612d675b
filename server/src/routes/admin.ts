import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import type { EventStore } from '../store/types.ts';

/** Operator endpoints, behind a bearer token. */
export function adminRoutes({ store, adminToken }: { store: EventStore; adminToken: string }): Hono {
  const app = new Hono();
  app.use('*', bearerAuth({ token: adminToken, noAuthenticationHeader: { message: { error: 'missing bearer token' } }, invalidToken: { message: { error: 'invalid token' } }, invalidAuthenticationHeader: { message: { error: 'invalid authorization header' } } }));
  app.get('/events/count', async (c) => c.json({ count: await store.count() }));
  return app;
}
