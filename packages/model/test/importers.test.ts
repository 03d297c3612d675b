// Hand-written 5-line fixtures in MovieLens's u.data/u.item formats (invented values, not the shared dataset).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMovieLens } from '../src/data/movielens.ts';
import { parseSasrec } from '../src/data/sasrec.ts';
import { parseCsv } from '../src/data/csv.ts';
import { fromStoreEvents, parseStoreJsonl, type StoreEventType } from '../src/data/store.ts';
import { buildDataset, summarize } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { EVENT_INDEX, fractionBucket } from '../src/data/types.ts';

const fx = (p: string, enc: BufferEncoding = 'utf8') => readFileSync(new URL(`./fixtures/${p}`, import.meta.url), enc);

describe('movielens', () => {
  const raw = parseMovieLens(fx('ml/ratings-fixture.tsv'), fx('ml/items-fixture.psv', 'latin1'));
  const d = buildDataset(raw);
  it('orders each user chronologically and keeps metadata', () => {
    const u1 = d.seqs.find((s) => s.user === '1')!;
    expect(Array.from(u1.items, (i) => d.itemIds[i - 1])).toEqual(['20', '30', '10']);
    const heat = d.itemMeta[d.itemIds.indexOf('20')]!;
    expect(heat).toMatchObject({ title: 'Heat (1995)', year: 1995, genres: ['Action', 'Crime', 'Thriller'] });
    expect(d.itemMeta[d.itemIds.indexOf('10')]!.genres).toEqual(['Animation', "Children's", 'Comedy']);
  });
  it('puts metadata-only titles in the vocabulary as cold items', () => {
    expect(d.itemIds).toContain('40');
    expect(summarize(d)).toMatchObject({ users: 2, items: 4, interactions: 5, coldItems: 1 });
    expect(d.numYearBuckets).toBeGreaterThan(1);
  });
  it('rejects malformed lines', () => {
    expect(() => parseMovieLens('1\t2\n')).toThrow(/bad u.data line/);
  });
});

describe('sasrec', () => {
  it('keeps file order within each user', () => {
    const d = buildDataset(parseSasrec(fx('sasrec.txt')));
    const u1 = d.seqs.find((s) => s.user === 'u1')!;
    expect(Array.from(u1.items, (i) => d.itemIds[i - 1])).toEqual(['a', 'b', 'c']);
    expect(d.seqs.find((s) => s.user === 'u2')!.items.length).toBe(2);
    const split = leaveOneOut(d);
    expect(split.test).toEqual([{ user: 0, end: 2, target: u1.items[2] }]);
    expect(split.val).toEqual([{ user: 0, end: 1, target: u1.items[1] }]);
    expect(Array.from(split.trainEnd)).toEqual([1, 2]);
  });
});

describe('csv', () => {
  it('reads a header, ISO and numeric times, events and fractions', () => {
    const raw = parseCsv(fx('events.csv'));
    expect(raw.interactions).toEqual([
      { user: 'x', item: 'i1', ts: Date.parse('2025-01-02T00:00:00Z') / 1000, event: 'play', fraction: 0.5 },
      { user: 'x', item: 'i2', ts: 1735689600, event: 'complete', fraction: 1 },
      { user: 'y', item: 'i1', ts: 5, event: 'impression' },
      { user: 'y', item: 'i3', ts: 6, event: 'play' },
    ]);
    const d = buildDataset(raw);
    const x = d.seqs.find((s) => s.user === 'x')!;
    expect(Array.from(x.items, (i) => d.itemIds[i - 1])).toEqual(['i2', 'i1']); // sorted by time
    expect(Array.from(x.events)).toEqual([EVENT_INDEX.complete, EVENT_INDEX.play]);
    expect(Array.from(x.fracs)).toEqual([fractionBucket(1), fractionBucket(0.5)]);
    expect(d.seqs.find((s) => s.user === 'y')!.items.length).toBe(1); // impression dropped by default
    expect(buildDataset(raw, { includeImpressions: true }).seqs.find((s) => s.user === 'y')!.items.length).toBe(2);
  });
  it('works without a header and rejects unknown events', () => {
    expect(parseCsv('u,i,3\nu,j,4\n').interactions).toHaveLength(2);
    expect(() => parseCsv('u,i,3,click\n')).toThrow(/unknown event/);
  });
});

describe('store events', () => {
  it('turns play_start/progress/pause/complete into play tokens with watched fractions', async () => {
    const raw = await fromStoreEvents(parseStoreJsonl(fx('store.jsonl')));
    expect(raw.interactions).toEqual([
      { user: 'm1', item: 't1', ts: 1000, event: 'impression' },
      { user: 'm1', item: 't1', ts: 2000, event: 'play', fraction: 0.55 },
      { user: 'a9', item: 't2', ts: Date.parse('2025-01-01T00:00:00Z'), event: 'complete', fraction: 1 },
    ]);
  });
  it('one token per (title, viewing): a resumed title is not its own next target; the final fraction wins', async () => {
    const ev = (type: StoreEventType, ts: number, titleId: string, position?: number) => ({ userId: 'm', titleId, type, ts, position, duration: position === undefined ? undefined : 100 });
    const raw = await fromStoreEvents([
      ev('play_start', 1, 'a'), ev('progress', 2, 'a', 70), ev('pause', 3, 'a', 30), // rewound before pausing
      ev('play_start', 4, 'b'), ev('pause', 5, 'b', 20),
      ev('play_start', 6, 'a'), ev('progress', 7, 'a', 40), // resumes the open viewing of a
      ev('play_start', 8, 'b'), ev('complete', 9, 'b', 100),
      ev('play_start', 10, 'b'), // a re-watch after completion is a new viewing
    ]);
    expect(raw.interactions).toEqual([
      { user: 'm', item: 'a', ts: 1, event: 'play', fraction: 0.4 },
      { user: 'm', item: 'b', ts: 4, event: 'complete', fraction: 1 },
      { user: 'm', item: 'b', ts: 10, event: 'play', fraction: 0 },
    ]);
  });
  it('accepts async iterables', async () => {
    async function* gen() {
      yield { userId: 'u', titleId: 't', type: 'play_start' as const, ts: 1 };
    }
    expect((await fromStoreEvents(gen())).interactions).toHaveLength(1);
  });
});

describe('synthetic spec', () => {
  it('parses numeric options and the sparse preset; rejects unknown presets', async () => {
    const { parseSyntheticSpec, syntheticRawData } = await import('../src/data/synthetic.ts');
    expect(parseSyntheticSpec('seed=7,members=20')).toEqual({ seed: 7, members: 20 });
    expect(parseSyntheticSpec('synthetic:preset=sparse,members=40,titles=300')).toEqual({ preset: 'sparse', members: 40, titles: 300 });
    expect(() => parseSyntheticSpec('preset=dense')).toThrow(/unknown preset/);
    const raw = await syntheticRawData(parseSyntheticSpec('preset=sparse,members=40,titles=300'));
    expect(new Set(raw.interactions.map((i) => i.user)).size).toBe(40);
    expect(raw.items?.size).toBe(300);
  });
});
