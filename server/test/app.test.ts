import { describe, expect, it, vi } from 'vitest';
import { INGEST_LIMITS, SCHEMA_VERSION, uuidv7 } from '@marquee/core';
import { createApp } from '../src/app.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import type { EventStore } from '../src/store/types.ts';
import { makeEvent } from './helpers.ts';

const ORIGIN = 'http://localhost:5173';
function setup(store: EventStore = new MemoryEventStore()) {
  const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [ORIGIN] });
  const post = (body: unknown, init: { type?: string; query?: string; raw?: string } = {}) =>
    app.request(`/v1/events${init.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': init.type ?? 'application/json' },
      body: init.raw ?? JSON.stringify(body),
    });
  const count = async () =>
    (await (await app.request('/v1/admin/events/count', { headers: { authorization: 'Bearer admin' } })).json()).count;
  return { app, post, count, store };
}

describe('POST /v1/events', () => {
  it('stores a batch and answers what it did', async () => {
    const { post, count } = setup();
    const res = await post({ writeKey: 'wk', events: [makeEvent(), makeEvent({ type: 'play_start' } as never)] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await count()).toBe(2);
  });

  it('stores nothing twice when a batch is resent', async () => {
    const { post, count } = setup();
    const events = [makeEvent(), makeEvent(), makeEvent()];
    await post({ writeKey: 'wk', events });
    const again = await post({ writeKey: 'wk', events: [...events, makeEvent()] });
    expect(await again.json()).toEqual({ accepted: 1, duplicates: 3, rejected: [] });
    expect(await count()).toBe(4);
  });

  it('rejects invalid events with index and reason and keeps the valid ones', async () => {
    const { post, count } = setup();
    const bad = { ...makeEvent(), position: -5 };
    const res = await post({ writeKey: 'wk', events: [makeEvent(), bad, { nonsense: true }, makeEvent()] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2]);
    expect(body.rejected[0].reason).toMatch(/position/);
    expect(await count()).toBe(2);
  });

  it('stores an alias event (identify) and refuses one that does not name the anonymous id', async () => {
    const { post, count } = setup();
    const alias = (anonymousId?: string) => ({ id: uuidv7(), ts: Date.now(), schemaVersion: SCHEMA_VERSION, sessionId: 's', type: 'alias', userId: 'member-42', anonymousId });
    const res = await post({ writeKey: 'wk', events: [alias('anon-1'), alias()] });
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([{ index: 1, reason: expect.stringContaining('anonymousId') }]);
    expect(await count()).toBe(1);
  });

  it('takes the write key from ?key= and text/plain bodies (sendBeacon)', async () => {
    const { post } = setup();
    const res = await post({ events: [makeEvent()] }, { type: 'text/plain;charset=UTF-8', query: '?key=wk' });
    expect(res.status).toBe(200);
  });

  it.each([
    ['an unknown write key', { writeKey: 'nope', events: [makeEvent()] }, {}, 401],
    ['no write key at all', { events: [makeEvent()] }, {}, 401],
    ['malformed JSON', null, { raw: '{"writeKey": "wk", "events": [' }, 400],
    ['a wrong content type', { writeKey: 'wk', events: [makeEvent()] }, { type: 'application/x-www-form-urlencoded' }, 415],
    ['an empty batch', { writeKey: 'wk', events: [] }, {}, 400],
    ['events that is not an array', { writeKey: 'wk', events: 'x' }, {}, 400],
    ['a JSON array body', [1, 2], { query: '?key=wk' }, 400],
    ['too many events', { writeKey: 'wk', events: Array.from({ length: INGEST_LIMITS.maxEventsPerBatch + 1 }, () => ({})) }, {}, 413],
    ['an oversized body', null, { raw: JSON.stringify({ writeKey: 'wk', events: ['x'.repeat(INGEST_LIMITS.maxBodyBytes)] }) }, 413],
  ])('answers %s with a JSON 4xx', async (_name, body, init, status) => {
    const { post, count } = setup();
    const res = await post(body, init);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(typeof (await res.json()).error).toBe('string');
    expect(await count()).toBe(0);
  });

  it('answers 503 with Retry-After when the store fails, so clients retry', async () => {
    const failing: EventStore = {
      append: async () => { throw new Error('disk full'); },
      count: async () => 0,
      scan: async () => [],
      close: async () => {},
    };
    const { post } = setup(failing);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await post({ writeKey: 'wk', events: [makeEvent()] });
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});

describe('CORS', () => {
  it('allows listed origins, exposes Retry-After, and answers preflight', async () => {
    const { app } = setup();
    const pre = await app.request('/v1/events', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const res = await app.request('/healthz', { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    const post = await app.request('/v1/events', { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: '{}' });
    expect(post.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
  });

  it('does not allow other origins', async () => {
    const { app } = setup();
    const res = await app.request('/v1/events', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('admin and health', () => {
  it('guards the admin count with a bearer token', async () => {
    const { app } = setup();
    expect((await app.request('/v1/admin/events/count')).status).toBe(401);
    expect((await app.request('/v1/admin/events/count', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await app.request('/v1/admin/events/count', { headers: { authorization: 'Bearer admin' } });
    expect(await ok.json()).toEqual({ count: 0 });
  });

  it('answers health and JSON 404s', async () => {
    const { app } = setup();
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true });
    const nf = await app.request('/nope');
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ error: 'not found' });
  });
});
