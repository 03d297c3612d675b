import { describe, expect, it } from 'vitest';
import {
  assignAll, assignVariant, bucketOf, BUCKETS, ExperimentsDocumentSchema, ExperimentSchema, fnv1a32, srmTest, type Experiment,
} from '../src/index.ts';

// FNV-1a 32-bit reference values (Fowler/Noll/Vo test suite, as in the brief): written by hand, not computed here.
const FNV_VECTORS: [string, number][] = [
  ['', 0x811c9dc5],
  ['a', 0xe40c292c],
  ['b', 0xe70c2de5],
  ['f', 0xe30c2799],
  ['fo', 0x6222e842],
  ['foo', 0xa9f37ed7],
  ['foob', 0x3f5076ef],
  ['fooba', 0x39aaa18a],
  ['foobar', 0xbf9cf968],
];

const exp = (over: Partial<Experiment> = {}): Experiment =>
  ExperimentSchema.parse({ id: 'e1', traffic: 1, variants: [{ id: 'control', weight: 1 }, { id: 'treatment', weight: 1 }], ...over });

describe('bucketing', () => {
  it.each(FNV_VECTORS)('fnv1a32(%j) is the reference value', (s, h) => expect(fnv1a32(s)).toBe(h));

  it('bucket = fnv1a32 of the decimal of fnv1a32(salt + "." + unit), mod 10,000', () => {
    // "foo" + "." + "bar" hashes like the string "foo.bar"; the second pass hashes its decimal digits.
    expect(bucketOf('foo', 'bar')).toBe(fnv1a32(String(fnv1a32('foo.bar'))) % 10_000);
    // Golden values that the worker, the server and every later SDK must reproduce.
    expect([bucketOf('exp', 'u'), bucketOf('e1', 'm0001'), bucketOf('e1', 'm0002'), bucketOf('layer:home', 'anon-7')]).toMatchSnapshot();
  });

  it('spreads sequential member ids evenly over the buckets', () => {
    const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[Math.floor(bucketOf('e1', `m${String(i).padStart(6, '0')}`) / 1000)]!++;
    expect(srmTest(counts, counts.map(() => 1)).mismatch).toBe(false);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe('assignVariant', () => {
  it('splits units by weight and is stable', () => {
    const e = exp({ variants: [{ id: 'a', weight: 1, params: {} }, { id: 'b', weight: 3, params: {} }] });
    const n = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 20_000; i++) n[assignVariant(e, `u${i}`, 0)!.variant]!++;
    expect(srmTest([n.a!, n.b!], [1, 3]).mismatch).toBe(false);
    expect(assignVariant(e, 'u17', 0)).toEqual(assignVariant(e, 'u17', 99));
  });

  it('keeps units beyond the traffic share out', () => {
    const e = exp({ traffic: 0.2 });
    let inside = 0;
    for (let i = 0; i < 20_000; i++) if (assignVariant(e, `u${i}`, 0)) inside++;
    expect(inside / 20_000).toBeGreaterThan(0.18);
    expect(inside / 20_000).toBeLessThan(0.22);
    for (let i = 0; i < 200; i++) {
      const a = assignVariant(e, `u${i}`, 0);
      if (a) expect(a.bucket).toBeLessThan(0.2 * BUCKETS);
    }
  });

  it('starts and stops on time', () => {
    const e = exp({ start: 1000, stop: 2000 });
    expect(assignVariant(e, 'u1', 999)).toBeNull();
    expect(assignVariant(e, 'u1', 1000)).not.toBeNull();
    expect(assignVariant(e, 'u1', 2000)).toBeNull();
  });

  it('never puts a unit in two experiments of one layer, and layers overlap freely', () => {
    const a = exp({ id: 'a', layer: { id: 'home', from: 0, to: 5000 } });
    const b = exp({ id: 'b', layer: { id: 'home', from: 5000, to: 10_000 } });
    const c = exp({ id: 'c', layer: { id: 'art', from: 0, to: 10_000 } });
    let both = 0;
    let ab = 0;
    for (let i = 0; i < 10_000; i++) {
      const ids = assignAll([a, b, c], `u${i}`, 0).map((x) => x.experiment);
      if (ids.includes('a') && ids.includes('b')) both++;
      if (ids.includes('c')) ab++;
      expect(ids.includes('a') || ids.includes('b')).toBe(true);
    }
    expect(both).toBe(0);
    expect(ab).toBe(10_000);
  });
});

describe('experiment documents', () => {
  it('refuses overlapping layer ranges, duplicate ids and unknown controls with a reason', () => {
    const doc = (experiments: unknown[]) => ExperimentsDocumentSchema.safeParse({ version: 1, updatedAt: 0, experiments });
    const v = [{ id: 'a', weight: 1 }];
    const overlap = doc([
      { id: 'x', traffic: 1, variants: v, layer: { id: 'l', from: 0, to: 6000 } },
      { id: 'y', traffic: 1, variants: v, layer: { id: 'l', from: 5000, to: 10000 } },
    ]);
    expect(overlap.success).toBe(false);
    expect(JSON.stringify(overlap.error)).toContain('overlap');
    expect(doc([{ id: 'x', traffic: 1, variants: v }, { id: 'x', traffic: 1, variants: v }]).success).toBe(false);
    expect(doc([{ id: 'x', traffic: 1, variants: v, control: 'nope' }]).success).toBe(false);
    expect(doc([{ id: 'x', traffic: 1.5, variants: v }]).success).toBe(false);
    expect(doc([{ id: 'x', traffic: 1, variants: v, layer: { id: 'l', from: 0, to: 5000 } }]).success).toBe(true);
  });
});
