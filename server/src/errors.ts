import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorResponse } from '@marquee/core';

/** Every error the API gives is JSON of one shape, so a client can always parse it. */
export function jsonError(c: Context, status: ContentfulStatusCode, error: string, detail?: string): Response {
  return c.json({ error, ...(detail ? { detail } : {}) } satisfies ErrorResponse, status);
}
