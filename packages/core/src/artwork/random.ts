/**
 * Seeded randomness for the artwork bandit: FNV-1a to turn an impression's identity into a seed, mulberry32 for the
 * stream, Box-Muller for normals. The same seed gives the same draws in the worker, the server and the benchmark, so
 * a Thompson-sampling propensity can be recomputed from the log.
 */

import { SeededRandom, fnv1a32 } from '../random.ts';

export { fnv1a32 };

/** The synthetic world's mulberry32 stream, with the second Box-Muller normal kept (Thompson draws many). */
export class Rng extends SeededRandom {
  private spare = NaN;
  override normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const a = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
}
