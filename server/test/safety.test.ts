/**
 * The API under hostile and careless input: one test per finding of the black-box review (issue #8), through
 * `app.request` on `createApp`. Each would fail on the code before the fix.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { uuidv7 } from '@marquee/core';
import { createApp, type AppOptions } from '../src/app.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import type { EventStore } from '../src/store/types.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { Catalog } from '../src/catalog.ts';
import { assertSafeSecrets, loadConfig, redact } from '../src/config.ts';
import { TokenBuckets } from '../src/middleware/rate-limit/index.ts';
import { makeEvent, tempDirs } from './helpers.ts';

const tempDir = tempDirs('safety');

function setup(over: Partial<AppOptions> = {}) {
  const store = over.store ?? new MemoryEventStore();
  const aggregates = new LiveAggregates();
  const candidates = new CandidateService(Catalog.synthetic({ titles: 50 }), aggregates);
  const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], candidates, ...over });
  const post = (body: unknown, headers: Record<string, string> = {}, path = '/v1/events') =>
    app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const count = async () => (await (await app.request('/v1/admin/events/count', { headers: { authorization: 'Bearer admin' } })).json()).count as number;
  return { app, post, count, store, aggregates };
}

const LONE = '\ud800';

describe('case 1: lone surrogates never reach the store', () => {
  it.each([
    ['sessionId', { sessionId: `s${LONE}` }],
    ['titleId', { titleId: `t${LONE}` }],
    ['anonymousId', { anonymousId: `\udc00a` }],
    ['an impression row', { type: 'impression', row: `Top ${LONE}`, position: 0 }],
    ['an experiment variant', { experiments: [{ experiment: 'e', variant: `v${LONE}` }] }],
    ['an artwork policy', { artwork: { artworkId: 'a', propensity: 0.5, policy: LONE } }],
    ['a custom name', { type: 'custom', name: `n${LONE}` }],
    ['a custom prop value', { type: 'custom', name: 'n', props: { deep: [{ s: `x${LONE}` }] } }],
    ['a custom prop key', { type: 'custom', name: 'n', props: { [`k${LONE}`]: 1 } }],
  ])('rejects the event with %s alone, keeps the rest of the batch', async (_name, over) => {
    const { post, count } = setup();
    const bad = { ...makeEvent(), ...over };
    // Sent as JSON escapes, exactly as an attacker would (`JSON.stringify` writes `\ud800`).
    const res = await post({ writeKey: 'wk', events: [makeEvent(), bad, makeEvent()] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toHaveLength(1);
    expect(body.rejected[0]).toMatchObject({ index: 1 });
    expect(body.rejected[0].reason).toMatch(/well-formed/);
    expect(await count()).toBe(2);
  });

  it('accepts well-formed text beyond the BMP (a surrogate pair is not lone)', async () => {
    const { post } = setup();
    const res = await post({ writeKey: 'wk', events: [makeEvent({ sessionId: 's-🎬' })] });
    expect((await res.json()).accepted).toBe(1);
  });
});

describe('case 2: event time cannot take over trending', () => {
  it('rejects ts outside the window (30 days back, 5 minutes ahead), each event alone', async () => {
    const now = Date.now();
    const { post } = setup({ now: () => now });
    const res = await post({
      writeKey: 'wk',
      events: [
        makeEvent({ ts: now + 365 * 86_400_000 }),
        makeEvent({ ts: Number.MAX_SAFE_INTEGER }),
        makeEvent({ ts: now - 31 * 86_400_000 }),
        makeEvent({ ts: now + 4 * 60_000 }),
        makeEvent({ ts: now - 29 * 86_400_000 }),
      ],
    });
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
    expect(body.rejected[0].reason).toMatch(/^ts: .*after/);
    expect(body.rejected[2].reason).toMatch(/^ts: .*before/);
  });

  it('counts a play at its arrival time even when the window lets a future ts in', async () => {
    const now = Date.now();
    const { post, aggregates } = setup({ now: () => now, limits: { tsFutureMs: Number.MAX_SAFE_INTEGER } });
    const play = (titleId: string, ts: number, member: string) => makeEvent({ type: 'play_start', titleId, ts, anonymousId: member } as never);
    const normal = Array.from({ length: 300 }, (_, i) => play('popular', now, `m${i}`));
    await post({ writeKey: 'wk', events: [play('attacker', now + 365 * 86_400_000, 'x'), play('attacker2', Number.MAX_SAFE_INTEGER, 'y')] });
    for (let i = 0; i < normal.length; i += 100) await post({ writeKey: 'wk', events: normal.slice(i, i + 100) });
    const top = aggregates.trending(3, now);
    expect(top[0]).toMatchObject({ titleId: 'popular' });
    expect(top[0]?.score).toBeCloseTo(300, 6);
    expect(top[1]?.score).toBeCloseTo(1, 6);
    for (const s of top) expect(Number.isFinite(s.score)).toBe(true);
  });

  it('keeps every trending and popularity score finite, whatever the times (property, seeded)', () => {
    const time = fc.oneof(
      fc.double({ noNaN: false }),
      fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Infinity, -Infinity, NaN, 0),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ title: fc.constantFrom('a', 'b', 'c', 'd'), member: fc.constantFrom('m1', 'm2', 'm3'), time }), { maxLength: 40 }),
        time,
        (plays, now) => {
          const agg = new LiveAggregates();
          for (const p of plays) agg.observeEngagement('play_start', p.title, p.member, p.time);
          for (const s of [...agg.trending(10, now), ...agg.popular(10), ...agg.similar('a', 10)]) {
            if (!Number.isFinite(s.score) || s.score < 0) return false;
          }
          return true;
        },
      ),
      { seed: 8, numRuns: 2000 },
    );
  });
});

describe('case 3 and 9: /v1/candidates behind the same door as /v1/events', () => {
  const request = { recentTitleIds: ['t001'], limit: 10 };

  it('needs a known key: 401 without one or with a wrong one', async () => {
    const { post } = setup();
    expect((await post(request, {}, '/v1/candidates')).status).toBe(401);
    expect((await post(request, { 'x-marquee-key': 'nope' }, '/v1/candidates')).status).toBe(401);
    expect((await post(request, { 'x-marquee-key': 'wk' }, '/v1/candidates')).status).toBe(200);
    expect((await post({ ...request, writeKey: 'wk' }, {}, '/v1/candidates')).status).toBe(200);
  });

  it('limits the body to 64 KiB, checks the content type and every field', async () => {
    const { post, app } = setup();
    const big = JSON.stringify({ recentTitleIds: Array.from({ length: 400 }, () => 'x'.repeat(128)) + 'y'.repeat(20_000) });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const tooBig = await post(big, { 'x-marquee-key': 'wk' }, '/v1/candidates');
    expect(tooBig.status).toBe(413);
    const form = await app.request('/v1/candidates', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-marquee-key': 'wk' }, body: 'a=1' });
    expect(form.status).toBe(415);
    expect((await post({ recentTitleIds: [`t${LONE}`] }, { 'x-marquee-key': 'wk' }, '/v1/candidates')).status).toBe(400);
    expect((await post({ userEmbedding: ['x'] }, { 'x-marquee-key': 'wk' }, '/v1/candidates')).status).toBe(400);
    expect((await post(request, { 'x-marquee-key': 'wk', 'content-type': 'text/plain' }, '/v1/candidates')).status).toBe(200);
  });

  it('checks a header or query key before reading the body, and answers 401 whatever the body', async () => {
    const { post, app } = setup();
    // Not JSON, and far over the limit: the key decides first.
    expect((await post('x'.repeat(2 * 1024 * 1024), { 'x-marquee-key': 'nope' })).status).toBe(401);
    expect((await app.request('/v1/events?key=nope', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{' })).status).toBe(401);
    // An unknown key in the body with an empty batch: 401, not 400.
    expect((await post({ writeKey: 'nope', events: [] })).status).toBe(401);
    expect((await post({ writeKey: 'wk', events: [makeEvent()] }, { 'x-marquee-key': 'wk' })).status).toBe(200);
  });

  it('answers 429 with Retry-After per key and per client address, and other addresses go on', async () => {
    const { app } = setup({ limits: { perIp: { perSecond: 1, burst: 2 }, perKey: { perSecond: 1000, burst: 1000 } } });
    const from = (ip: string) =>
      app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'wk', events: [makeEvent()] }) }, { incoming: { socket: { remoteAddress: ip } } });
    expect((await from('10.0.0.1')).status).toBe(200);
    expect((await from('10.0.0.1')).status).toBe(200);
    const limited = await from('10.0.0.1');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await from('10.0.0.2')).status).toBe(200);

    const perKey = setup({ limits: { perKey: { perSecond: 1, burst: 1 } } });
    expect((await perKey.post({ writeKey: 'wk', events: [makeEvent()] })).status).toBe(200);
    const keyLimited = await perKey.post(request, { 'x-marquee-key': 'wk' }, '/v1/candidates');
    expect(keyLimited.status).toBe(429);
    expect(keyLimited.headers.get('retry-after')).toBe('1');
  });

  it('cuts off an address after a few unknown keys: 429 with Retry-After and the connection closed, other addresses go on', async () => {
    let t = Date.now();
    const { app } = setup({ now: () => t, limits: { failedKeysPerIp: { perSecond: 1, burst: 2 } } });
    const from = (ip: string, key: string) =>
      app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', 'x-marquee-key': key }, body: JSON.stringify({ events: [makeEvent()] }) }, { incoming: { socket: { remoteAddress: ip } } });
    expect((await from('10.0.0.1', 'nope')).status).toBe(401);
    expect((await from('10.0.0.1', 'nope')).status).toBe(401);
    const cut = await from('10.0.0.1', 'nope');
    expect(cut.status).toBe(429);
    expect(Number(cut.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(cut.headers.get('connection')).toBe('close');
    // The address as a whole waits, whatever key it tries next; others are not affected.
    expect((await from('10.0.0.1', 'wk')).status).toBe(429);
    expect((await from('10.0.0.2', 'wk')).status).toBe(200);
    expect((await from('10.0.0.2', 'nope')).status).toBe(401);
    t += 1000; // one token back
    expect((await from('10.0.0.1', 'wk')).status).toBe(200);
  });

  it('refills a bucket at its rate and forgets idle names', () => {
    let t = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 2 }, () => t);
    expect([buckets.take('a'), buckets.take('a')]).toEqual([0, 0]);
    expect(buckets.take('a')).toBe(500);
    t = 500;
    expect(buckets.take('a')).toBe(0);
  });
});

describe('case 4: deeply nested props are one rejected event, never a 500', () => {
  it('rejects props nested 4,500 levels deep alone; the batch is stored', async () => {
    const { post, count } = setup();
    // Written by hand: JSON.stringify itself overflows the stack on such a value.
    const deep = '{"d":'.repeat(4500) + '1' + '}'.repeat(4500);
    const custom = JSON.stringify({ ...makeEvent(), type: 'custom', name: 'x', props: { deep: '@' } }).replace('"@"', deep);
    const res = await post(`{"writeKey":"wk","events":[${JSON.stringify(makeEvent())},${custom}]}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected[0].reason).toMatch(/nested deeper/);
    expect(await count()).toBe(1);
  });

  it.each([
    ['too many entries', { list: Array.from({ length: 101 }, (_, i) => i) }, /more than 100/],
    ['too deep', { a: { b: { c: { d: { e: { f: 1 } } } } } }, /nested deeper than 5/],
  ])('rejects props with %s', async (_name, props, reason) => {
    const { post } = setup();
    const body = await (await post({ writeKey: 'wk', events: [{ ...makeEvent(), type: 'custom', name: 'x', props }] })).json();
    expect(body.rejected[0].reason).toMatch(reason);
  });
});

describe('case 6: /healthz is alive, /readyz says whether the service can work', () => {
  it('is ready on a healthy store, and says why not after a failed commit', async () => {
    let failing = false;
    const inner = new MemoryEventStore();
    const store: EventStore = {
      append: async (events, at) => {
        if (failing) throw new Error('IO Error: Cannot open file "events.duckdb.wal": Read-only file system');
        return inner.append(events, at);
      },
      count: () => inner.count(),
      ids: (n) => inner.ids(n),
      scan: (t) => inner.scan(t),
      close: () => inner.close(),
    };
    const { app, post } = setup({ store });
    expect((await app.request('/readyz')).status).toBe(200);
    failing = true;
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect((await post({ writeKey: 'wk', events: [makeEvent()] })).status).toBe(503);
    quiet.mockRestore();
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true });
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).reasons.join()).toMatch(/last commit failed: .*Read-only/);
    failing = false;
    expect((await post({ writeKey: 'wk', events: [makeEvent()] })).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it("reports a store that cannot write (the DuckDB store's probe is a real write)", async () => {
    const duck = await DuckDbEventStore.open(await tempDir());
    expect(await duck.health()).toEqual({ ok: true });
    const { app } = setup({ store: duck });
    expect((await app.request('/readyz')).status).toBe(200);
    await duck.close();
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).reasons.join()).toMatch(/store not writable/);
  });
});

describe('case 7: ids are canonical before dedup', () => {
  it('stores an upper-case resend of an id once (memory and DuckDB stores)', async () => {
    for (const store of [new MemoryEventStore(), await DuckDbEventStore.open(await tempDir())]) {
      const { post, count } = setup({ store });
      const e = makeEvent();
      expect((await (await post({ writeKey: 'wk', events: [e] })).json()).accepted).toBe(1);
      const again = await (await post({ writeKey: 'wk', events: [{ ...e, id: e.id.toUpperCase() }] })).json();
      expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
      expect(await count()).toBe(1);
      await store.close();
    }
  });
});

describe('case 10: secrets', () => {
  it('refuses the development secrets off loopback and never prints a secret', () => {
    expect(() => assertSafeSecrets(loadConfig({ HOST: '0.0.0.0' }))).toThrow(/ADMIN_TOKEN.*development/);
    expect(() => assertSafeSecrets(loadConfig({ HOST: '0.0.0.0', ADMIN_TOKEN: 'a'.repeat(32) }))).toThrow(/WRITE_KEYS/);
    expect(() => assertSafeSecrets(loadConfig({ HOST: '0.0.0.0', ADMIN_TOKEN: 'a'.repeat(32), WRITE_KEYS: 'wk_live' }))).not.toThrow();
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(() => assertSafeSecrets(loadConfig({ HOST: host }))).not.toThrow();
    expect(redact('s3cr3t-admin-token')).not.toMatch(/s3c|token/);
  });

  it('refuses a malformed limit in the environment with its name', () => {
    expect(() => loadConfig({ RATE_IP_PER_S: 'lots' })).toThrow(/RATE_IP_PER_S/);
    expect(() => loadConfig({ RATE_FAILED_KEY_BURST: '0' })).toThrow(/RATE_FAILED_KEY_BURST/);
    expect(loadConfig({ RATE_FAILED_KEY_PER_S: '3' }).limits.failedKeysPerIp).toEqual({ perSecond: 3, burst: 20 });
  });
});

describe('ids: a typed-array set of 128-bit values', () => {
  it('holds many ids, case-insensitively, across growth', async () => {
    const { UuidSet } = await import('../src/store/uuid-set.ts');
    const set = new UuidSet(10);
    const ids = Array.from({ length: 50_000 }, () => uuidv7());
    for (const id of ids) expect(set.add(id)).toBe(true);
    expect(set.size).toBe(50_000);
    for (const id of ids.slice(0, 1000)) expect(set.has(id.toUpperCase())).toBe(true);
    expect(set.add(ids[123]?.toUpperCase() ?? expect.unreachable('50,000 ids were made'))).toBe(false);
    expect(set.has(uuidv7())).toBe(false);
    expect(set.add('00000000-0000-0000-0000-000000000000')).toBe(true);
    expect(set.has('00000000-0000-0000-0000-000000000000')).toBe(true);
    expect(set.size).toBe(50_001);
    expect(() => set.add('not-a-uuid')).toThrow(/not a UUID/);
  });

  it('reads an id\'s words as the 8-4-4-4-12 hex pattern does, and nothing else', async () => {
    const { UuidSet } = await import('../src/store/uuid-set.ts');
    const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const byPattern = (id: string) => {
      if (!pattern.test(id)) return null;
      const hex = id.replaceAll('-', '');
      return [0, 1, 2, 3].map((i) => parseInt(hex.slice(i * 8, i * 8 + 8), 16));
    };
    const hexChars = fc.constantFrom(...'0123456789abcdefABCDEF-gG /'.split(''));
    const nearUuid = fc.oneof(
      fc.uuid().map((u) => u),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.array(hexChars, { minLength: 34, maxLength: 38 }).map((a) => a.join('')),
      fc.tuple(fc.uuid(), fc.nat(35), hexChars).map(([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1)),
      fc.constantFrom('ffffffff-ffff-ffff-ffff-ffffffffffff', '00000000-0000-0000-0000-000000000000'),
    );
    for (const id of fc.sample(nearUuid, { seed: 8, numRuns: 20_000 })) expect(UuidSet.words(id), id).toEqual(byPattern(id));
  });
});
