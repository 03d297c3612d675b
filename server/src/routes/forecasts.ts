import { Hono } from 'hono';
import { describeIssues, ForecastRequestSchema } from '@marquee/core';
import { jsonError } from '../errors.ts';
import { NotEnoughHistoryError, type ForecastService } from '../forecasts/service.ts';
import { adminAuth } from './admin-auth.ts';

/**
 * `POST /v1/forecasts` (admin token): a prospective title's metadata and cost -> its viewing hours over the first
 * 28 days and first year (p10/p50/p90), cost per hour viewed, and the comparables used. 422 while the store's
 * history is too short to learn from, with the reason.
 */
export function forecastRoutes({ forecasts, adminToken }: { forecasts: ForecastService; adminToken: string }): Hono {
  const app = new Hono();
  app.use('*', adminAuth(adminToken));
  app.post('/', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return jsonError(c, 400, 'malformed JSON');
    }
    const parsed = ForecastRequestSchema.safeParse(body);
    if (!parsed.success) return jsonError(c, 400, 'invalid forecast request', describeIssues(parsed.error));
    try {
      return c.json(await forecasts.forecast(parsed.data));
    } catch (err) {
      if (err instanceof NotEnoughHistoryError) return jsonError(c, 422, 'not enough history', err.message);
      throw err;
    }
  });
  return app;
}
