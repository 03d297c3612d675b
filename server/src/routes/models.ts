import { Hono } from 'hono';
import type { ModelRegistry } from '../models/registry.ts';
import { jsonError } from '../errors.ts';

/**
 * `GET /v1/models/latest`: the live manifest (revalidated on every use, so a new version is seen at once).
 * `GET /v1/models/:version/:file`: a version's files, immutable: a version's bytes never change.
 */
export function modelRoutes(registry: ModelRegistry): Hono {
  const app = new Hono();
  app.get('/latest', async (c) => {
    const m = await registry.latest();
    if (!m) return jsonError(c, 404, 'no model published', 'train one with `npm run train`');
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', `"${m.version}"`);
    return c.json(m);
  });
  app.get('/:version/:file', async (c) => {
    const { version, file } = c.req.param();
    if (file === 'manifest.json') {
      const m = await registry.manifest(version);
      if (!m) return jsonError(c, 404, 'unknown model version');
      c.header('Cache-Control', 'public, max-age=31536000, immutable');
      return c.json(m);
    }
    const f = await registry.file(version, file);
    if (!f) return jsonError(c, 404, 'unknown model file');
    if (c.req.header('if-none-match') === `"${f.sha256}"`) return c.body(null, 304);
    return c.body(f.bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${f.sha256}"`,
    });
  });
  return app;
}
