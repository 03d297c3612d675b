import { Hono } from 'hono';
import { CANDIDATE_LIMITS, CandidateRequestSchema, describeIssues, type CandidateResponse, type CatalogBody } from '@marquee/core';
import type { CandidateService } from '../candidates/service.ts';
import { jsonError } from '../errors.ts';
import { guardedJson, type GuardOptions } from '../middleware/guarded-body/index.ts';

/**
 * `POST /v1/candidates` and the catalog: `GET /v1/catalog`, `GET /v1/catalog/:id`. Candidates are behind the same
 * door as `/v1/events` (write key, rate limits, content types) with a 64 KiB body limit: a request is a few recent
 * ids and one embedding.
 */
export function candidateRoutes(service: CandidateService, guard: GuardOptions): Hono {
  const app = new Hono();
  app.post('/candidates', async (c) => {
    const guarded = await guardedJson(c, guard, CANDIDATE_LIMITS.maxBodyBytes);
    if (!guarded.ok) return guarded.response;
    const parsed = CandidateRequestSchema.safeParse(guarded.body);
    if (!parsed.success) return jsonError(c, 400, 'invalid request', describeIssues(parsed.error));
    const start = performance.now();
    try {
      const result = service.candidates(parsed.data);
      return c.json({ ...result, tookMs: +(performance.now() - start).toFixed(2) } satisfies CandidateResponse);
    } catch (err) {
      if (err instanceof RangeError) return jsonError(c, 400, 'invalid request', err.message);
      throw err;
    }
  });

  const catalogJson = JSON.stringify({ titles: [...service.catalog.titles] } satisfies CatalogBody);
  app.get('/catalog', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    c.header('Content-Type', 'application/json');
    return c.body(catalogJson);
  });
  app.get('/catalog/:id', (c) => {
    const t = service.catalog.byId.get(c.req.param('id'));
    return t ? c.json(t) : jsonError(c, 404, 'unknown title');
  });
  return app;
}
