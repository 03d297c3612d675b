import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '@marquee/core';
import type { CandidateService } from '../candidates/service.ts';
import { jsonError } from '../errors.ts';

const CandidateRequestSchema = z.object({
  userId: z.string().max(128).optional(),
  /** Oldest first; raw history need not leave the device, a few recent ids are enough. */
  recentTitleIds: z.array(z.string().max(128)).max(500).default([]),
  /** The user embedding computed on the device by the live model. */
  userEmbedding: z.array(z.number().finite()).max(4096).optional(),
  limit: z.number().int().min(1).max(5000).default(500),
});

/** `POST /v1/candidates` and the catalog: `GET /v1/catalog`, `GET /v1/catalog/:id`. */
export function candidateRoutes(service: CandidateService): Hono {
  const app = new Hono();
  app.post('/candidates', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return jsonError(c, 400, 'malformed JSON');
    }
    const parsed = CandidateRequestSchema.safeParse(body);
    if (!parsed.success) return jsonError(c, 400, 'invalid request', describeIssues(parsed.error));
    const start = performance.now();
    try {
      const result = service.candidates(parsed.data);
      return c.json({ ...result, tookMs: +(performance.now() - start).toFixed(2) });
    } catch (err) {
      if (err instanceof RangeError) return jsonError(c, 400, 'invalid request', err.message);
      throw err;
    }
  });

  const catalogJson = JSON.stringify({ titles: service.catalog.titles });
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
