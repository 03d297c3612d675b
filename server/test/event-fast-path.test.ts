/**
 * The hand-written fast path (`commonEvent`, core's event-fast-path.ts) against EventSchema, the contract: whatever
 * the fast path accepts, EventSchema accepts with an equal output, over the ingest fuzz generator's events as the
 * server sees them (through JSON text); and it does take the common valid events, or it would be no fast path.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventSchema, commonEvent, judgeEvent, describeIssues, uuidv7 } from '@marquee/core';
import { eventArb, eventFrom, validEvent } from './fuzz-events.ts';

const SEED = 20261127;
const EVENTS = 10_000;

function throughJson(v: unknown): unknown | undefined {
  try {
    const text = JSON.stringify(v);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined; // nested deeper than JSON.stringify's stack allows
  }
}

describe('the event fast path', () => {
  it(`accepts only what EventSchema accepts, with an equal output (${EVENTS} fuzzed events, seed ${SEED})`, { timeout: 60_000 }, () => {
    const sentIds: string[] = [];
    let fast = 0;
    let zodOnlyValid = 0;
    let invalid = 0;
    let validTyped = 0;
    for (const spec of fc.sample(eventArb, { seed: SEED, numRuns: EVENTS })) {
      const raw = throughJson(eventFrom(spec, sentIds));
      if (raw === undefined) continue;
      const byFast = commonEvent(raw);
      const byZod = EventSchema.safeParse(raw);
      if (byFast !== null) {
        expect(byZod.success, JSON.stringify(raw)).toBe(true);
        if (byZod.success) expect(byFast).toStrictEqual(byZod.data);
        fast++;
      } else if (byZod.success) zodOnlyValid++;
      else invalid++;
      // judgeEvent gives EventSchema's verdict and reason either way.
      const verdict = judgeEvent(raw);
      expect(verdict.ok).toBe(byZod.success);
      if (!verdict.ok && !byZod.success) expect(verdict.reason).toBe(describeIssues(byZod.error));
      if (byZod.success) {
        sentIds.push(byZod.data.id);
        if (byZod.data.type !== 'custom' && spec.mode === 'valid') validTyped++;
      }
    }
    // Every kind was met, and the fast path took every valid non-custom event sent as the SDK sends it.
    expect(invalid).toBeGreaterThan(EVENTS / 4);
    expect(zodOnlyValid).toBeGreaterThan(100);
    expect(fast).toBeGreaterThanOrEqual(validTyped);
    expect(validTyped).toBeGreaterThan(EVENTS / 5);
  });

  it('leaves to EventSchema what it would change or refuse: an upper-case id, unknown keys, __proto__, custom props', () => {
    const ok = validEvent(1, 1);
    expect(commonEvent(ok)).toBe(ok);
    const cases: unknown[] = [
      { ...ok, id: String(ok.id).toUpperCase() },
      { ...ok, extra: 1 },
      JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(ok).slice(1)}`),
      JSON.parse(`{"constructor": 1, ${JSON.stringify(ok).slice(1)}`),
      { ...ok, userId: undefined, anonymousId: undefined },
      validEvent(6, 1),
      Object.assign(Object.create({ inherited: 1 }), ok),
      { ...ok, id: ((id) => `${id.slice(0, 14)}4${id.slice(15)}`)(uuidv7()) }, // version digit 4, not 7 (a timestamp digit may be 7 too)
    ];
    for (const raw of cases) expect(commonEvent(raw), JSON.stringify(raw)).toBeNull();
    // ...and EventSchema still gives its verdict: the upper-case id is the same event in lower case.
    const upper = judgeEvent(cases[0]);
    expect(upper).toMatchObject({ ok: true, event: { id: ok.id } });
    expect(judgeEvent(cases[1])).toMatchObject({ ok: true });
  });
});
