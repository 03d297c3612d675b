import { describe, expect, it } from 'vitest';
import { backoffDelay, classifyStatus, nextRetryDelay, parseRetryAfter, takeBatch, utf8Length, ENVELOPE_BYTES } from '../src/index.ts';

describe('backoff', () => {
  const opts = { baseMs: 100, maxMs: 10_000 };
  it('grows exponentially with jitter between half and the whole cap', () => {
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 0)).toBe(400);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
  });
  it('never exceeds maxMs, even after many attempts', () => {
    expect(backoffDelay(60, opts, () => 1)).toBe(10_000);
  });
  it('honours Retry-After in seconds and as an HTTP date, capped', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(nextRetryDelay(0, 3000, opts)).toBe(3000);
    expect(nextRetryDelay(0, 3_600_000, opts)).toBe(10_000);
  });
  it.each([
    [200, 'ok'], [408, 'retry'], [429, 'retry'], [500, 'retry'], [503, 'retry'],
    [400, 'drop'], [401, 'drop'], [413, 'drop'], [422, 'drop'],
  ])('HTTP %i -> %s', (status, kind) => {
    expect(classifyStatus(status).kind).toBe(kind);
  });
});

describe('takeBatch', () => {
  it('stops at the event count', () => {
    expect(takeBatch([10, 10, 10, 10], { maxEvents: 3, maxBytes: 10_000 })).toBe(3);
  });
  it('stops before the byte limit, counting the envelope', () => {
    const limit = ENVELOPE_BYTES + 3 * 101;
    expect(takeBatch([100, 100, 100, 100], { maxEvents: 100, maxBytes: limit })).toBe(3);
  });
  it('always takes one event so an oversized one cannot block the queue', () => {
    expect(takeBatch([100_000, 10], { maxEvents: 100, maxBytes: 1000 })).toBe(1);
    expect(takeBatch([], { maxEvents: 100, maxBytes: 1000 })).toBe(0);
  });
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });
});
