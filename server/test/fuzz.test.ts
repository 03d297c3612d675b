/**
 * Fuzzing `POST /v1/events` (seeded, reproducible): 10,000+ events, valid ones and every kind of broken one an
 * attacker or a careless client sends, in batches, against the real DuckDB store. Whatever comes in: no 5xx, every
 * event accounted for (accepted + duplicates + rejected = sent), exactly one stored row per distinct accepted id,
 * and the store opens again with nothing to quarantine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { createApp } from '../src/app.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { Catalog } from '../src/catalog.ts';
import { eventArb, eventFrom, nasty } from './fuzz-events.ts';

const SEED = 20261126;
const EVENTS = 10_000;

const batchArb = fc.record({
  events: fc.array(eventArb, { minLength: 5, maxLength: 30, size: 'max' }),
  envelope: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'wrong-key', 'no-key', 'not-json', 'events-not-array'),
});

describe('fuzzing POST /v1/events', () => {
  it(`never answers 5xx and stores exactly the distinct accepted events (${EVENTS} events, seed ${SEED})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'marquee-fuzz-'));
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const store = await DuckDbEventStore.open(dir, { log: () => {} });
      const app = createApp({ store, writeKeys: ['wk'], adminToken: 'admin', corsOrigins: [], limits: { perIp: { perSecond: 1e9, burst: 1e9 }, failedKeysPerIp: { perSecond: 1e9, burst: 1e9 } } });
      const sentIds: string[] = [];
      const expected = new Set<string>();
      let sent = 0;
      let accepted = 0;
      const statuses = new Map<number, number>();
      const batches = fc.sample(batchArb, { seed: SEED, numRuns: 800 });
      for (const batch of batches) {
        if (sent >= EVENTS) break;
        const events = batch.events.map((spec) => eventFrom(spec, sentIds));
        let body: string;
        try {
          if (batch.envelope === 'not-json') body = '{"writeKey":"wk","events":[';
          else if (batch.envelope === 'events-not-array') body = JSON.stringify({ writeKey: 'wk', events: { 0: events[0] ?? 1 } });
          else body = JSON.stringify({ ...(batch.envelope === 'ok' ? { writeKey: 'wk' } : batch.envelope === 'wrong-key' ? { writeKey: 'nope' } : {}), events });
        } catch {
          continue; // a value JSON.stringify cannot write in this worker's stack; the deep-nesting test sends raw text
        }
        sent += events.length;
        const res = await app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, await res.clone().text()).toBeLessThan(500);
        if (res.status !== 200) continue;
        const out = (await res.json()) as { accepted: number; duplicates: number; rejected: { index: number }[] };
        expect(out.accepted + out.duplicates + out.rejected.length).toBe(events.length);
        const rejected = new Set(out.rejected.map((r) => r.index));
        events.forEach((e, i) => {
          if (rejected.has(i)) return;
          const id = String((e as { id: string }).id).toLowerCase();
          expected.add(id);
          sentIds.push(id);
        });
        accepted += out.accepted;
      }
      expect(sent).toBeGreaterThanOrEqual(EVENTS);
      expect(statuses.get(200)).toBeGreaterThan(100);
      expect(statuses.get(401)).toBeGreaterThan(0);
      expect(expected.size).toBeGreaterThan(1000);
      expect(accepted).toBe(expected.size);
      expect(await store.count()).toBe(expected.size);
      await store.close();

      // Nothing stored is unreadable: the store opens with nothing to quarantine, every id still there.
      const reopened = await DuckDbEventStore.open(dir, { log: () => {} });
      expect(reopened.recovery).toMatchObject({ quarantined: 0, stored: expected.size, lost: 0 });
      const ids = await reopened.query('SELECT id FROM events_v');
      expect(new Set(ids.map((r) => r.id))).toEqual(expected);
      await reopened.close();
    } finally {
      quiet.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('fuzzing POST /v1/candidates', () => {
  it(`never answers 5xx, and 200 only with candidates (1,500 requests, seed ${SEED})`, async () => {
    const catalog = Catalog.synthetic({ titles: 100 });
    const service = new CandidateService(catalog, new LiveAggregates());
    const app = createApp({ store: new MemoryEventStore(), writeKeys: ['wk'], adminToken: 'a', corsOrigins: [], candidates: service, limits: { perIp: { perSecond: 1e9, burst: 1e9 }, failedKeysPerIp: { perSecond: 1e9, burst: 1e9 } } });
    const field = fc.oneof(nasty, fc.array(fc.oneof(fc.constantFrom(...catalog.titles.slice(0, 20).map((t) => t.id)), nasty), { maxLength: 30 }));
    const requestArb = fc.record({
      body: fc.dictionary(fc.constantFrom('recentTitleIds', 'userEmbedding', 'limit', 'userId', 'writeKey', 'extra'), field, { maxKeys: 4 }),
      key: fc.constantFrom('wk', 'wk', 'wk', 'nope', undefined),
      type: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/xml'),
    });
    const statuses = new Map<number, number>();
    for (const r of fc.sample(requestArb, { seed: SEED, numRuns: 1500 })) {
      let body: string;
      try {
        body = JSON.stringify(r.body);
      } catch {
        continue;
      }
      const headers: Record<string, string> = { 'content-type': r.type };
      if (r.key) headers['x-marquee-key'] = r.key;
      const res = await app.request('/v1/candidates', { method: 'POST', headers, body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, await res.clone().text()).toBeLessThan(500);
      if (res.status === 200) expect(Array.isArray(((await res.json()) as { candidates: unknown }).candidates)).toBe(true);
    }
    // Every door was reached: accepted, refused for the key, the type and the fields.
    for (const status of [200, 400, 401, 415]) expect(statuses.get(status), `status ${status}`).toBeGreaterThan(0);
  }, 120_000);
});
