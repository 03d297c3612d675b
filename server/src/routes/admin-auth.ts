import { bearerAuth } from 'hono/bearer-auth';

/** The admin bearer token check with JSON error bodies, shared by the admin, analytics and forecast routes. */
export function adminAuth(token: string) {
  return bearerAuth({
    token,
    noAuthenticationHeader: { message: { error: 'missing bearer token' } },
    invalidToken: { message: { error: 'invalid token' } },
    invalidAuthenticationHeader: { message: { error: 'invalid authorization header' } },
  });
}
