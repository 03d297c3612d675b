/** The model's seeded streams: core's mulberry32 under the model's own salt (its draws never change with core's). */
import { SeededRandom, fnv1a32 } from '@marquee/core';

export class Rng extends SeededRandom {
  constructor(seed: number) {
    super(seed, 0x9e3779b9);
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

/** Derive a 32-bit seed from a base seed and a salt. */
export function subSeed(seed: number, salt: number | string): number {
  return fnv1a32(`${seed}:${salt}`);
}
