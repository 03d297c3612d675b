import { describe, expect, it } from 'vitest';
import { createUuidV7Generator, uuidv7Time } from '../src/index.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('matches a golden vector for fixed time and randomness', () => {
    // RFC 9562 appendix A.6 uses ts 0x017F22E279B0 with these random bits.
    const gen = createUuidV7Generator(
      () => 0x017f22e279b0,
      () => Uint8Array.from([0, 0, 0, 0, 0, 0, 0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]),
    );
    // Our counter replaces rand_a (0xCC3 in the RFC) with 0 for the first id of a millisecond.
    expect(gen()).toBe('017f22e2-79b0-7000-98c4-dc0c0c07398f');
  });

  it('is well-formed, time-ordered and strictly increasing within one millisecond', () => {
    let t = 1_700_000_000_000;
    const gen = createUuidV7Generator(() => t);
    const ids = Array.from({ length: 5000 }, (_, i) => {
      if (i % 1000 === 999) t++;
      return gen();
    });
    for (const id of ids) expect(id).toMatch(V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidv7Time(ids[0] ?? expect.unreachable('ids were made'))).toBe(1_700_000_000_000);
  });

  it('never goes backwards when the clock does', () => {
    const times = [1000, 2000, 1500, 1500, 2500];
    const gen = createUuidV7Generator(() => times.shift()!);
    const ids = Array.from({ length: 5 }, gen);
    expect([...ids].sort()).toEqual(ids);
  });
});
