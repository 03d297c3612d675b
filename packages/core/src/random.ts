/** The one seeded generator and the one string hash of the house, shared by core, the model, the server and benches. */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a, 32 bits, over the UTF-8 bytes of `s`; an unsigned integer. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(s)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * mulberry32: small, fast, deterministic on every platform. `salt` keeps the streams of users that share a seed
 * apart (the synthetic world, the model's initialisation); changing it changes every draw they make.
 */
export class SeededRandom {
  private s: number;
  constructor(seed: number, salt = 0x2545f491) {
    this.s = (seed >>> 0) ^ salt;
    for (let i = 0; i < 4; i++) this.next();
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** Index drawn proportionally to non-negative weights. */
  weighted(w: ArrayLike<number>, total?: number): number {
    let sum = total ?? 0;
    if (total === undefined) for (let i = 0; i < w.length; i++) sum += w[i]!;
    let r = this.next() * sum;
    for (let i = 0; i < w.length; i++) if ((r -= w[i]!) < 0) return i;
    return w.length - 1;
  }
}
