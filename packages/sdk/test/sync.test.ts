import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SCHEMA_VERSION, uuidv7, type MarqueeEvent } from '@marquee/core';
import { openDatabase } from '../src/db.ts';
import { Outbox } from '../src/outbox.ts';
import { Sender, KEEPALIVE_MAX_BYTES, type SenderDeps } from '../src/sync.ts';

let dbCount = 0;
const freshDb = () => openDatabase(`test-${++dbCount}`);

function event(i = 0, extra: Partial<MarqueeEvent> = {}): MarqueeEvent {
  return { id: uuidv7(), ts: Date.now(), schemaVersion: SCHEMA_VERSION, sessionId: 's', anonymousId: 'a', type: 'play_start', titleId: `t${i}`, ...extra } as MarqueeEvent;
}

/** A fake API: stores ids like the real one (dedup), answers from a script of statuses, then 200. */
function fakeServer(script: (number | 'network' | { status: number; retryAfter?: string })[] = []) {
  const stored = new Set<string>();
  const requests: { ids: string[]; keepalive: boolean; bytes: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = (async (_url: string, init: RequestInit) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setImmediate(r)); // a round trip: later, but on no clock the tests fake
      const body = JSON.parse(init.body as string) as { events: MarqueeEvent[] };
      requests.push({ ids: body.events.map((e) => e.id), keepalive: !!init.keepalive, bytes: (init.body as string).length });
      const step = script.shift();
      if (step === 'network') throw new TypeError('Failed to fetch');
      const s = typeof step === 'number' ? { status: step } : step;
      if (s && s.status !== 200) {
        return new Response(JSON.stringify({ error: 'x' }), { status: s.status, headers: s.retryAfter ? { 'retry-after': s.retryAfter } : {} });
      }
      let accepted = 0;
      const rejected: { index: number; reason: string }[] = [];
      body.events.forEach((e, index) => {
        if ((e as { titleId?: string }).titleId === 'invalid') rejected.push({ index, reason: 'bad' });
        else if (!stored.has(e.id)) { stored.add(e.id); accepted++; }
      });
      return new Response(JSON.stringify({ accepted, duplicates: body.events.length - accepted - rejected.length, rejected }));
    } finally {
      inFlight--;
    }
  }) as unknown as typeof globalThis.fetch;
  return { fetch, stored, requests, maxInFlight: () => maxInFlight };
}

function mutex(): SenderDeps['withLock'] {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}

const opts = { endpoint: 'http://api', writeKey: 'wk', batch: { maxEvents: 10, maxBytes: 60_000 }, maxAgeMs: 20, backoff: { baseMs: 5, maxMs: 40 } };
const until = async (cond: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * Lets the sender and fake-indexeddb (which schedules on setImmediate, never faked here) run until `cond` holds or
 * they go quiet, without moving any clock: what happens here happens without a timer firing.
 */
const settle = async (cond: () => boolean, rounds = 500): Promise<boolean> => {
  for (let i = 0; i < rounds && !cond(); i++) await new Promise((r) => setImmediate(r));
  return cond();
};
/** The sender's own timers (batch age, retry backoff) run on a fake clock that only the test moves. */
const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });

describe('Outbox', () => {
  it('holds an event once add resolves, in order', async () => {
    const box = new Outbox(await freshDb(), 100);
    const events = [event(1), event(2), event(3)];
    await Promise.all(events.map((e) => box.add(e)));
    expect(await box.size()).toBe(3);
    expect((await box.peek({ maxEvents: 10, maxBytes: 60_000 })).events.map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('drops the oldest beyond capacity and counts them', async () => {
    const box = new Outbox(await freshDb(), 5);
    const events = Array.from({ length: 8 }, (_, i) => event(i));
    for (const e of events) await box.add(e);
    expect(await box.size()).toBe(5);
    expect((await box.counters()).dropped).toBe(3);
    const kept = (await box.peek({ maxEvents: 10, maxBytes: 60_000 })).events.map((e) => e.id);
    expect(kept).toEqual(events.slice(3).map((e) => e.id));
  });

  it('rejects a nonsensical capacity', async () => {
    const db = await freshDb();
    expect(() => new Outbox(db, 0)).toThrow(/capacity/);
  });

  it('cuts batches by count and by bytes', async () => {
    const box = new Outbox(await freshDb(), 100);
    for (let i = 0; i < 20; i++) await box.add(event(i, { titleId: 'x'.repeat(100) } as never));
    expect((await box.peek({ maxEvents: 7, maxBytes: 60_000 })).events).toHaveLength(7);
    const byBytes = await box.peek({ maxEvents: 100, maxBytes: 1000 });
    expect(byBytes.events.length).toBeGreaterThan(0);
    expect(byBytes.bytes + 256).toBeLessThanOrEqual(1000);
  });
});

describe('Sender', () => {
  async function setup(server = fakeServer(), isOnline = () => true) {
    const box = new Outbox(await freshDb(), 10_000);
    const sender = new Sender(box, opts, { fetch: server.fetch, withLock: mutex(), isOnline, random: () => 0.5 });
    return { box, sender, server };
  }

  it('delivers everything exactly once and empties the outbox', async () => {
    const { box, sender, server } = await setup();
    for (let i = 0; i < 35; i++) await box.add(event(i));
    await sender.flush();
    expect(server.stored.size).toBe(35);
    expect(server.requests.map((r) => r.ids.length)).toEqual([10, 10, 10, 5]);
    expect(await box.size()).toBe(0);
    expect((await box.counters()).acknowledged).toBe(35);
  });

  it('retries 5xx, 408, 429 and network errors with backoff until they pass', async () => {
    const server = fakeServer([500, 503, 'network', 408, 429]);
    const { box, sender } = await setup(server);
    for (let i = 0; i < 5; i++) await box.add(event(i));
    await sender.flush();
    expect(sender.attempt).toBe(1);
    expect(sender.lastError).toBe('HTTP 500');
    await until(async () => (await box.size()) === 0);
    expect(server.stored.size).toBe(5);
    expect(server.requests).toHaveLength(6);
    expect(sender.attempt).toBe(0);
  });

  it('keeps the batch and retries when a 200 answer is not an ingest response', async () => {
    const server = fakeServer();
    let garbled = true;
    const fetch = (async (url: string, init: RequestInit) => {
      const res = await server.fetch(url, init);
      if (!garbled) return res;
      garbled = false; // stored by the server, but the answer is lost in a proxy: the resend is a duplicate
      return new Response(JSON.stringify({ ok: true }), { status: 200 });
    }) as typeof globalThis.fetch;
    const { box, sender } = await setup({ ...server, fetch });
    for (let i = 0; i < 3; i++) await box.add(event(i));
    await sender.flush();
    expect(sender.lastError).toMatch(/^POST \/v1\/events answered: accepted: /);
    expect(await box.size()).toBe(3);
    await until(async () => (await box.size()) === 0);
    expect(server.stored.size).toBe(3);
    expect((await box.counters()).acknowledged).toBe(3);
  });

  it('waits as long as Retry-After says', async () => {
    const server = fakeServer([{ status: 503, retryAfter: '1' }]);
    const { box, sender } = await setup(server);
    await box.add(event());
    fakeClock();
    await sender.flush();
    // Our own backoff would retry after ~5 ms: the server's 1 s wins, capped at retry.maxMs (40 ms).
    await vi.advanceTimersByTimeAsync(39);
    expect(await settle(() => server.requests.length > 1)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settle(() => server.stored.size === 1)).toBe(true);
  });

  it.each([400, 401, 413])('drops a batch answered with a non-retryable %i, counts it, and sends what follows', async (status) => {
    const server = fakeServer([status]);
    const { box, sender } = await setup(server);
    for (let i = 0; i < 3; i++) await box.add(event(i));
    await sender.flush();
    expect(await box.size()).toBe(0);
    expect((await box.counters()).rejected).toBe(3);
    expect(sender.lastError).toMatch(new RegExp(`HTTP ${status}`));
    // Never resent, and the outbox is not blocked behind it.
    await box.add(event(3));
    await sender.flush();
    expect(server.requests).toHaveLength(2);
    expect(server.stored.size).toBe(1);
  });

  it('counts events the server rejected one by one', async () => {
    const { box, sender } = await setup();
    await box.add(event(1));
    await box.add(event(2, { titleId: 'invalid' } as never));
    await sender.flush();
    expect(await box.counters()).toMatchObject({ acknowledged: 1, rejected: 1 });
  });

  it('sends nothing while offline and everything when back online', async () => {
    let online = false;
    const { box, sender, server } = await setup(fakeServer(), () => online);
    for (let i = 0; i < 4; i++) await box.add(event(i));
    await sender.flush();
    expect(server.requests).toHaveLength(0);
    online = true;
    sender.onOnline();
    await until(() => server.stored.size === 4);
  });

  it('keeps keepalive flushes to one batch under 64 KiB', async () => {
    const { box, sender, server } = await setup();
    for (let i = 0; i < 30; i++) await box.add(event(i, { titleId: 'y'.repeat(3000) } as never));
    await sender.flush({ keepalive: true });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.keepalive).toBe(true);
    expect(server.requests[0]?.bytes).toBeLessThanOrEqual(KEEPALIVE_MAX_BYTES);
    expect(await box.size()).toBeGreaterThan(0);
  });

  it('never has two senders sharing an outbox send at once', async () => {
    const server = fakeServer();
    const db = await freshDb();
    const box = new Outbox(db, 10_000);
    const lock = mutex();
    const a = new Sender(box, opts, { fetch: server.fetch, withLock: lock, isOnline: () => true });
    const b = new Sender(new Outbox(db, 10_000), opts, { fetch: server.fetch, withLock: lock, isOnline: () => true });
    for (let i = 0; i < 50; i++) await box.add(event(i));
    await Promise.all([a.flush(), b.flush(), a.flush(), b.flush()]);
    expect(server.maxInFlight()).toBe(1);
    expect(server.stored.size).toBe(50);
    const sentIds = server.requests.flatMap((r) => r.ids);
    expect(new Set(sentIds).size).toBe(sentIds.length);
  });

  it('sends a full batch at once and a partial one when it is maxAgeMs old', async () => {
    const { box, sender, server } = await setup();
    fakeClock();
    for (let i = 0; i < 3; i++) {
      await box.add(event(i));
      sender.onTracked();
    }
    await vi.advanceTimersByTimeAsync(opts.maxAgeMs - 1);
    expect(await settle(() => server.requests.length > 0)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settle(() => server.stored.size === 3)).toBe(true);
    for (let i = 0; i < 10; i++) {
      await box.add(event(i));
      sender.onTracked();
    }
    // The clock has not moved: only a full batch can have gone out.
    expect(await settle(() => server.stored.size === 13)).toBe(true);
  });
});

afterEach(() => {
  vi.useRealTimers();
});
