/**
 * The live aggregates are updated incrementally (per commit, with cached sorted lists patched for the titles that
 * changed): after any split of the stream into commits, and queries between them, they must answer exactly what
 * one pass over the whole stream answers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, type MarqueeEvent } from '@marquee/core';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { makeEvent } from './helpers.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

function stream(n: number, seed: number): MarqueeEvent[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const type = (['impression', 'play_start', 'complete'] as const)[rng.int(3)];
    const titleId = `t${String(rng.int(40)).padStart(3, '0')}`;
    const extra = type === 'complete' ? { position: 60, duration: 60 } : type === 'impression' ? { row: 'top', position: 0 } : {};
    return makeEvent({ type, titleId, userId: `m${rng.int(25)}`, ts: T0 + i * (HOUR / 4), ...extra } as Partial<MarqueeEvent>);
  });
}

function answers(a: LiveAggregates, now: number) {
  return {
    popular: a.popular(15),
    trending: a.trending(15, now),
    similar: ['t001', 't007', 't020'].map((t) => a.similar(t, 10)),
    plays: ['t000', 't013', 't039'].map((t) => a.playsOf(t)),
    observed: a.observed,
  };
}

describe('LiveAggregates, incremental', () => {
  it('answers the same after commits of any size, queried in between, as after one pass', () => {
    const events = stream(2000, 11);
    const end = events.at(-1)!.ts;
    const whole = new LiveAggregates({ t0: T0 });
    whole.observe(events);
    const expected = answers(whole, end);
    expect(expected.popular.length).toBe(15);
    expect(expected.similar.every((s) => s.length > 0)).toBe(true);

    for (const seed of [1, 2, 3]) {
      const rng = new SeededRandom(seed);
      const merged = new LiveAggregates({ t0: T0 });
      for (let i = 0; i < events.length; ) {
        const size = 1 + rng.int(120);
        merged.observe(events.slice(i, i + size));
        i += size;
        answers(merged, events[Math.min(i, events.length) - 1]!.ts); // fills the caches the next commit must patch
      }
      expect(answers(merged, end)).toEqual(expected);
    }
  });
});
