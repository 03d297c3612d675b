import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { ModelRegistry } from '../src/models/registry.ts';
import { MemoryEventStore } from '../src/store/memory.ts';

const dirs: string[] = [];
async function tmp() {
  const d = await mkdtemp(join(tmpdir(), 'marquee-models-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A minimal artifact: the registry checks files against the manifest, not what the weights mean. */
async function artifact(version: string, weights = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])) {
  const dir = await tmp();
  await writeFile(join(dir, 'weights.bin'), weights);
  const manifest = {
    formatVersion: 1,
    version,
    createdAt: '2026-01-01T00:00:00.000Z',
    config: {
      numItems: 0, maxLen: 1, dim: 1, layers: 1, heads: 1, ffnMult: 1, dropout: 0, temperature: 1,
      numEventTypes: 1, numFractionBuckets: 1, numGenres: 0, numYearBuckets: 0, yearBucketStart: 0, yearBucketWidth: 5,
    },
    items: { ids: [], genreNames: [] },
    weights: [],
    files: [{ path: 'weights.bin', bytes: weights.byteLength, sha256: createHash('sha256').update(weights).digest('hex') }],
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

async function setup() {
  const registry = new ModelRegistry(join(await tmp(), 'models'));
  const app = createApp({ store: new MemoryEventStore(), writeKeys: ['wk'], adminToken: 'a', corsOrigins: [], models: registry });
  return { registry, app };
}

describe('model registry and routes', () => {
  it('answers 404 before anything is published', async () => {
    const { app } = await setup();
    const res = await app.request('/v1/models/latest');
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/no model/);
  });

  it('publishes a verified artifact and serves it, files immutable', async () => {
    const { app, registry } = await setup();
    await registry.publish(await artifact('v1'));
    const latest = await app.request('/v1/models/latest');
    expect(latest.headers.get('cache-control')).toBe('no-cache');
    expect((await latest.json()).version).toBe('v1');
    const file = await app.request('/v1/models/v1/weights.bin');
    expect(file.status).toBe(200);
    expect(file.headers.get('cache-control')).toMatch(/immutable/);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const again = await app.request('/v1/models/v1/weights.bin', { headers: { 'if-none-match': file.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('switches latest to a new version, keeping the old one reachable', async () => {
    const { app, registry } = await setup();
    await registry.publish(await artifact('v1'));
    await registry.publish(await artifact('v2', new Uint8Array([9, 9])));
    expect((await (await app.request('/v1/models/latest')).json()).version).toBe('v2');
    expect((await app.request('/v1/models/v1/weights.bin')).status).toBe(200);
  });

  it.each([
    ['an altered file', async (d: string) => writeFile(join(d, 'weights.bin'), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 9])), /sha256/],
    ['a truncated file', async (d: string) => writeFile(join(d, 'weights.bin'), new Uint8Array([1, 2])), /bytes/],
    ['a missing file', async (d: string) => rm(join(d, 'weights.bin')), /missing/],
    ['an unreadable manifest', async (d: string) => writeFile(join(d, 'manifest.json'), '{"version": '), /manifest/],
    ['a path outside the artifact', async (d: string) => {
      const m = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8'));
      m.files[0].path = '../../etc/passwd';
      await writeFile(join(d, 'manifest.json'), JSON.stringify(m));
    }, /files\.0\.path: must be a plain file name/],
    ['a manifest without a config', async (d: string) => {
      const m = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8'));
      delete m.config;
      await writeFile(join(d, 'manifest.json'), JSON.stringify(m));
    }, /config: /],
  ])('refuses %s and keeps the previous version live', async (_name, damage, reason) => {
    const { app, registry } = await setup();
    await registry.publish(await artifact('v1'));
    const broken = await artifact('v2');
    await damage(broken);
    await expect(registry.publish(broken)).rejects.toThrow(reason);
    expect((await (await app.request('/v1/models/latest')).json()).version).toBe('v1');
    expect((await app.request('/v1/models/v2/weights.bin')).status).toBe(404);
  });

  it('does not serve files the manifest does not list', async () => {
    const { app, registry } = await setup();
    await registry.publish(await artifact('v1'));
    await mkdir(join(registry.dir, 'v1', 'x'), { recursive: true });
    expect((await app.request('/v1/models/v1/LATEST')).status).toBe(404);
    expect((await app.request('/v1/models/..%2FLATEST/weights.bin')).status).toBe(404);
  });
});
