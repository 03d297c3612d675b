/**
 * A set of 128-bit UUIDs in one typed array (open addressing, linear probing): 16 bytes per slot, at most 3/4 of
 * the slots used, so ~21-43 bytes per stored id against ~100 for a JS Set of strings, and no per-id object for the
 * garbage collector to walk. The store keeps every stored event id here to answer "stored before?" in memory.
 *
 * Ids are compared by value, case-insensitively (`ABC...` and `abc...` are the same 128 bits).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_LOAD = 0.75;

export class UuidSet {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;
  /** The nil UUID is all zeros, which marks an empty slot: kept aside. */
  private hasNil = false;
  private readonly words = new Uint32Array(4);

  /** `expected`: how many ids will be added, to size the table once. */
  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity * MAX_LOAD < expected) capacity *= 2;
    this.slots = new Uint32Array(capacity * 4);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count + (this.hasNil ? 1 : 0);
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /** True when `id` is a UUID in canonical 8-4-4-4-12 form (any case). */
  static isUuid(id: string): boolean {
    return UUID.test(id);
  }

  has(id: string): boolean {
    if (!this.parse(id)) return false;
    return this.isNil() ? this.hasNil : this.find(this.slots, this.mask) !== -1;
  }

  /** Adds `id`; false when it was already there. Throws on a string that is not a UUID. */
  add(id: string): boolean {
    if (!this.parse(id)) throw new TypeError(`not a UUID: ${JSON.stringify(id.slice(0, 64))}`);
    return this.addParsed();
  }

  /** Whether a UUID given as its four 32-bit words (most significant first) is in the set. */
  hasWords(w0: number, w1: number, w2: number, w3: number): boolean {
    const w = this.words;
    w[0] = w0;
    w[1] = w1;
    w[2] = w2;
    w[3] = w3;
    return this.isNil() ? this.hasNil : this.find(this.slots, this.mask) !== -1;
  }

  /** Adds a UUID given as its four 32-bit words, most significant first (as the store keeps them). */
  addWords(w0: number, w1: number, w2: number, w3: number): boolean {
    const w = this.words;
    w[0] = w0;
    w[1] = w1;
    w[2] = w2;
    w[3] = w3;
    return this.addParsed();
  }

  /**
   * The four 32-bit words of `id`, most significant first, or null when it is not a UUID (8-4-4-4-12 hex digits,
   * any case: what UUID above matches). One pass over the char codes: the commit path calls this for every event,
   * and the regex test plus four slices and parseInts cost ~3x more.
   */
  static words(id: string): [number, number, number, number] | null {
    if (id.length !== 36) return null;
    const out: [number, number, number, number] = [0, 0, 0, 0];
    let word = 0;
    let acc = 0;
    let digits = 0;
    for (let i = 0; i < 36; i++) {
      const c = id.charCodeAt(i);
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (c !== 45) return null; // '-'
        continue;
      }
      let v: number;
      if (c >= 48 && c <= 57) v = c - 48; // 0-9
      else if (c >= 97 && c <= 102) v = c - 87; // a-f
      else if (c >= 65 && c <= 70) v = c - 55; // A-F
      else return null;
      acc = acc * 16 + v; // below 2^32 after 8 digits: exact in a double, unlike a shift
      if (++digits === 8) {
        out[word++] = acc;
        acc = 0;
        digits = 0;
      }
    }
    return out;
  }

  private addParsed(): boolean {
    if (this.isNil()) {
      const added = !this.hasNil;
      this.hasNil = true;
      return added;
    }
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    // One probe sequence: the first empty slot ends the search and takes the id (start-up adds millions).
    const w = this.words;
    const [w0, w1, w2, w3] = this.wordValues();
    const slots = this.slots;
    const mask = this.mask;
    // Reads past the end are 0 (an empty slot) and the write there throws: the mask keeps both from happening.
    for (let i = UuidSet.hash(w0, w1, w2, w3) & mask; ; i = (i + 1) & mask) {
      const o = i * 4;
      const a = slots[o] ?? 0, b = slots[o + 1] ?? 0, c = slots[o + 2] ?? 0, d = slots[o + 3] ?? 0;
      if ((a | b | c | d) === 0) {
        slots.set(w, o);
        this.count++;
        return true;
      }
      if (a === w0 && b === w1 && c === w2 && d === w3) return false;
    }
  }

  private parse(id: string): boolean {
    const words = UuidSet.words(id);
    if (!words) return false;
    this.words.set(words);
    return true;
  }

  /** The parsed id's four words (the scratch buffer always holds four). */
  private wordValues(): [number, number, number, number] {
    const w = this.words;
    return [w[0] ?? 0, w[1] ?? 0, w[2] ?? 0, w[3] ?? 0];
  }

  private isNil(): boolean {
    const [w0, w1, w2, w3] = this.wordValues();
    return (w0 | w1 | w2 | w3) === 0;
  }

  /** UUIDv7 starts with a millisecond clock; the random tail (words 2 and 3) carries the entropy. */
  private static hash(w0: number, w1: number, w2: number, w3: number): number {
    let h = Math.imul(w3 ^ Math.imul(w2, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(w0 ^ w1, 0xc2b2ae35);
    h ^= h >>> 15;
    h = Math.imul(h, 0x27d4eb2f);
    return (h ^ (h >>> 13)) >>> 0;
  }

  /** The slot holding the parsed words, or -1. */
  private find(slots: Uint32Array, mask: number): number {
    const [w0, w1, w2, w3] = this.wordValues();
    for (let i = UuidSet.hash(w0, w1, w2, w3) & mask; ; i = (i + 1) & mask) {
      const o = i * 4;
      const a = slots[o] ?? 0, b = slots[o + 1] ?? 0, c = slots[o + 2] ?? 0, d = slots[o + 3] ?? 0;
      if ((a | b | c | d) === 0) return -1;
      if (a === w0 && b === w1 && c === w2 && d === w3) return i;
    }
  }

  private insert(slots: Uint32Array, mask: number): void {
    const w = this.words;
    let i = UuidSet.hash(...this.wordValues()) & mask;
    while (!UuidSet.emptyAt(slots, i * 4)) i = (i + 1) & mask;
    slots.set(w, i * 4);
  }

  private static emptyAt(slots: Uint32Array, o: number): boolean {
    return ((slots[o] ?? 0) | (slots[o + 1] ?? 0) | (slots[o + 2] ?? 0) | (slots[o + 3] ?? 0)) === 0;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const slots = new Uint32Array(capacity * 4);
    const mask = capacity - 1;
    const saved = this.words.slice();
    for (let o = 0; o < old.length; o += 4) {
      if (UuidSet.emptyAt(old, o)) continue;
      this.words.set(old.subarray(o, o + 4));
      this.insert(slots, mask);
    }
    this.words.set(saved);
    this.slots = slots;
    this.mask = mask;
  }
}
