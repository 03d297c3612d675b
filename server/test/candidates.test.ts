import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CandidateResponseSchema, CatalogSchema } from '@marquee/core';
import { randomModelArtifact } from '@marquee/model/testing';
import { createApp } from '../src/app.ts';
import { Catalog } from '../src/catalog.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { generateCandidates } from '../src/candidates/generate.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { ModelRegistry } from '../src/models/registry.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import { makeEvent } from './helpers.ts';

const DAY = 86_400_000;
const play = (member: string, titleId: string, ts = Date.now()) =>
  makeEvent({ type: 'play_start', titleId, userId: member, anonymousId: undefined, ts } as never);

describe('LiveAggregates', () => {
  it('counts plays, not impressions, and each event once', () => {
    const agg = new LiveAggregates();
    agg.observe([play('m1', 'a'), play('m2', 'a'), play('m1', 'b'), makeEvent({ type: 'impression', titleId: 'c', row: 'r', position: 0 } as never)]);
    expect(agg.popular(10)).toEqual([{ titleId: 'a', score: 2 }, { titleId: 'b', score: 1 }]);
  });

  it('ranks recent plays above old ones in trending, with the configured half-life', () => {
    const now = Date.UTC(2026, 0, 10);
    const agg = new LiveAggregates({ trendingHalfLifeMs: DAY });
    agg.observe([play('m1', 'old', now - 3 * DAY), play('m2', 'old', now - 3 * DAY), play('m3', 'old', now - 3 * DAY), play('m4', 'new', now)]);
    const [first, second] = agg.trending(2, now);
    expect(first).toMatchObject({ titleId: 'new' });
    expect(first?.score).toBeCloseTo(1, 6);
    expect(second?.score).toBeCloseTo(3 / 8, 6); // three plays, three half-lives ago
    expect(agg.popular(1)[0]?.titleId).toBe('old');
  });

  it('finds titles watched by the same members, normalised by popularity', () => {
    const agg = new LiveAggregates();
    // x is watched by everyone; b is watched exactly by the people who watch a.
    const events = [];
    for (let m = 0; m < 10; m++) events.push(play(`m${m}`, 'x'));
    for (let m = 0; m < 3; m++) events.push(play(`m${m}`, 'a'), play(`m${m}`, 'b'));
    agg.observe(events);
    const [b, x] = agg.similar('a', 2);
    expect(b?.titleId).toBe('b');
    expect(b?.score).toBeCloseTo(1, 6);
    expect(x?.titleId).toBe('x');
    expect(x?.score).toBeLessThan(b?.score ?? -Infinity);
  });
});

describe('generateCandidates', () => {
  const catalog = Catalog.synthetic({ titles: 300 });
  const ids = catalog.titles.map((t) => t.id);
  const idAt = (i: number) => ids[i] ?? expect.unreachable(`no title ${i} in the synthetic catalog`);

  it('tags every candidate with its sources, never proposes what was just watched, and respects the limit', () => {
    const agg = new LiveAggregates();
    const events = [];
    for (let m = 0; m < 40; m++) for (let k = 0; k < 5; k++) events.push(play(`m${m}`, idAt((m * 7 + k * 13) % 120)));
    agg.observe(events);
    const recent = [idAt(0), idAt(13)];
    const out = generateCandidates({ catalog, aggregates: agg }, { recentTitleIds: recent, limit: 150 });
    expect(out.length).toBe(150);
    expect(new Set(out.map((c) => c.titleId)).size).toBe(150);
    for (const c of out) {
      expect(recent).not.toContain(c.titleId);
      expect(c.sources.length).toBeGreaterThan(0);
    }
    const sources = new Set(out.flatMap((c) => c.sources.map((s) => s.source)));
    for (const s of ['similar', 'popular', 'trending', 'genre', 'new']) expect(sources).toContain(s);
    const similar = out.flatMap((c) => c.sources).filter((s) => s.source === 'similar');
    expect(similar.every((s) => recent.includes(s.because!))).toBe(true);
  });

  it('still fills the page on an empty store (a first visit to a new deployment)', () => {
    const out = generateCandidates({ catalog, aggregates: new LiveAggregates() }, { recentTitleIds: [], limit: 100 });
    expect(out.length).toBe(100);
  });
});

describe('POST /v1/candidates with a published model', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  /** A small untrained model over the first 200 of 300 titles: the other 100 are "new arrivals" (cold). */
  async function setup({ refresh = true } = {}) {
    const catalog = Catalog.synthetic({ titles: 300 });
    const { manifest, files } = await randomModelArtifact(catalog.titles.slice(0, 200), { dim: 16, maxLen: 20, layers: 1, heads: 2, seed: 7 });
    const dir = await mkdtemp(join(tmpdir(), 'marquee-cand-'));
    dirs.push(dir);
    for (const [path, bytes] of files) await writeFile(join(dir, path), bytes);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const registry = new ModelRegistry(join(dir, 'registry'));
    const { version } = await registry.publish(dir);
    const service = new CandidateService(catalog, new LiveAggregates(), registry);
    const index = refresh ? await service.refresh() : null;
    const app = createApp({ store: new MemoryEventStore(), writeKeys: ['wk'], adminToken: 'a', corsOrigins: [], candidates: service, models: registry });
    const post = (body: unknown) => app.request('/v1/candidates', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk' }, body: JSON.stringify(body) });
    return { app, post, index: index!, catalog, manifest, version, dir };
  }

  it('retrieves by the device embedding, cold titles included through their metadata', async () => {
    const { post, index, catalog, version } = await setup();
    expect(index.cold.size).toBe(100);
    const coldTitle = catalog.titles[250] ?? expect.unreachable('the synthetic catalog has 300 titles');
    expect(index.cold.has(coldTitle.id)).toBe(true);
    // A device whose taste is exactly this new title's metadata embedding gets it among the first proposals.
    const res = await post({ userEmbedding: Array.from(index.vector(coldTitle.id)!), limit: 50 });
    expect(res.status).toBe(200);
    const body = CandidateResponseSchema.parse(await res.json());
    expect(body.modelVersion).toBe(version);
    const embedded = body.candidates.filter((c) => c.sources.some((s) => s.source === 'embedding'));
    const top = embedded.filter((c) => c.sources.find((s) => s.source === 'embedding')!.score > 0.999);
    expect(top.map((c) => c.titleId)).toContain(coldTitle.id); // cosine 1 with itself (ties: same genres and year)
    expect(embedded.map((c) => c.titleId)).toEqual(index.nearest(index.vector(coldTitle.id)!, embedded.length).map((s) => s.titleId));
    expect(body.candidates.some((c) => c.sources.some((s) => s.source === 'new'))).toBe(true);
  });

  it('answers a wrong embedding size and a bad body with 400', async () => {
    const { post, app } = await setup();
    const wrong = await post({ userEmbedding: [1, 2, 3] });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).detail).toMatch(/16/);
    expect((await post({ limit: 0 })).status).toBe(400);
    expect((await app.request('/v1/candidates', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk' }, body: '{' })).status).toBe(400);
  });

  it('is not ready (/readyz) until the published model is loaded', async () => {
    const { app } = await setup({ refresh: false });
    const before = await app.request('/readyz');
    expect(before.status).toBe(503);
    expect((await before.json()).reasons.join()).toMatch(/published but not loaded/);
    // The first candidate request starts loading it in the background; then the service is ready.
    await app.request('/v1/candidates', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': 'wk' }, body: '{}' });
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await app.request('/readyz')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  it('swaps to a newly published model: requests use the previous index until the new one is built', async () => {
    const { app, post, catalog, version: v1, dir } = await setup();
    const registry = new ModelRegistry(join(dir, 'registry'));
    // v2: another model (other seed, other width) over the same titles.
    const next = await randomModelArtifact(catalog.titles.slice(0, 200), { dim: 8, maxLen: 20, layers: 1, heads: 2, seed: 8 });
    const dir2 = await mkdtemp(join(tmpdir(), 'marquee-cand-'));
    dirs.push(dir2);
    for (const [path, bytes] of next.files) await writeFile(join(dir2, path), bytes);
    await writeFile(join(dir2, 'manifest.json'), JSON.stringify(next.manifest));
    const { version: v2 } = await registry.publish(dir2);
    expect(v2).not.toBe(v1);

    // Published, not yet indexed: the answer still comes from v1, and a v1-sized embedding is still right.
    const during = CandidateResponseSchema.parse(await (await post({ userEmbedding: new Array(16).fill(0.25), limit: 20 })).json());
    expect(during.modelVersion).toBe(v1);

    // The background refresh (every 2 s at most) builds v2's index; then answers name v2 and expect its width.
    let after = during;
    for (let i = 0; i < 100 && after.modelVersion !== v2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = CandidateResponseSchema.parse(await (await post({ limit: 20 })).json());
    }
    expect(after.modelVersion).toBe(v2);
    expect((await post({ userEmbedding: new Array(16).fill(0.25) })).status).toBe(400);
    const ok = CandidateResponseSchema.parse(await (await post({ userEmbedding: new Array(8).fill(0.25), limit: 20 })).json());
    expect(ok.candidates.some((c) => c.sources.some((s) => s.source === 'embedding'))).toBe(true);
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('serves the catalog', async () => {
    const { app } = await setup();
    const all = CatalogSchema.parse(await (await app.request('/v1/catalog')).json());
    expect(all.titles).toHaveLength(300);
    const one = await (await app.request(`/v1/catalog/${all.titles[5]?.id}`)).json();
    expect(one.artworks.length).toBeGreaterThanOrEqual(3);
    expect((await app.request('/v1/catalog/nope')).status).toBe(404);
  });

  it('updates live aggregates from ingested events, once per event', async () => {
    const { app, post } = await setup();
    const events = [play('m1', 't001'), play('m1', 't002'), play('m2', 't001'), play('m2', 't002')];
    const send = () => app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'wk', events }) });
    await send();
    await send(); // a resend must not count twice
    const body = CandidateResponseSchema.parse(await (await post({ recentTitleIds: ['t001'], limit: 20 })).json());
    const t2 = body.candidates.find((c) => c.titleId === 't002');
    expect(t2?.sources).toContainEqual({ source: 'similar', score: 1, because: 't001' });
    const popular = t2?.sources;
    // Played by two members, once each however often the batch was resent.
    expect(popular).toContainEqual({ source: 'popular', score: 2 });
  });
});

describe('LiveAggregates over years', () => {
  it('keeps trending finite and ordered however far time runs', () => {
    const agg = new LiveAggregates({ trendingHalfLifeMs: DAY, t0: Date.UTC(2025, 0, 1) });
    const start = Date.UTC(2030, 0, 1); // ~1,800 half-lives after t0: exp would overflow without rebasing
    agg.observe([play('m1', 'a', start), play('m2', 'a', start), play('m3', 'a', start), play('m4', 'b', start + DAY)]);
    const [a, b] = agg.trending(2, start + DAY);
    expect(a).toMatchObject({ titleId: 'a' });
    expect(a?.score).toBeCloseTo(1.5, 6); // three plays one half-life ago
    expect(b).toMatchObject({ titleId: 'b' });
    expect(b?.score).toBeCloseTo(1, 6);
  });
});
