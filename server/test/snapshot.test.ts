/**
 * Start-up from a snapshot of the aggregates (server/src/snapshot.ts): snapshot + the rows past its watermark must
 * give exactly what replaying every stored row gives, also when rows were committed after the snapshot and the
 * process died before the next one; a snapshot that does not match the store is rebuilt, never trusted.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AggregatesSnapshotSchema, type MarqueeEvent } from '@marquee/core';
import { Catalog } from '../src/catalog.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { loadAggregates, SNAPSHOT_FILE, takeSnapshot, writeSnapshot } from '../src/snapshot.ts';
import { ArtworkAggregates } from '../src/artwork/logs.ts';
import { makeEvent, tempDirs } from './helpers.ts';

const tempDir = tempDirs('snapshot');

const catalog = Catalog.synthetic({ titles: 40 });
const lookup = { titles: catalog.titles, get: (id: string) => catalog.byId.get(id) };
const T0 = Date.now() - 86_400_000;

/** Viewers `from`..`to`-1: impressions with uneven propensities, plays, quality and short pauses, custom events. */
function traffic(from: number, to: number, t0: number): MarqueeEvent[] {
  const events: MarqueeEvent[] = [];
  let ts = t0;
  for (let u = from; u < to; u++) {
    const who = { userId: u % 3 ? `u${u}` : undefined, anonymousId: u % 3 ? undefined : `anon${u}`, sessionId: `s${u}` };
    for (let i = 0; i < 12; i++) {
      const title = catalog.titles[(u * 7 + i * 3) % catalog.titles.length]!;
      const k = (u + i) % title.artworks.length;
      const artwork = { artworkId: title.artworks[k]!.id, propensity: k === 0 ? 0.7 : 0.3 / Math.max(1, title.artworks.length - 1) };
      events.push(makeEvent({ ...who, type: 'impression', titleId: title.id, row: 'Top', position: i, ts: ts++, duration: undefined, artwork } as Partial<MarqueeEvent>));
      if ((u + 2 * i) % 3 === 0) {
        events.push(makeEvent({ ...who, type: 'play_start', titleId: title.id, ts: (ts += 1000), position: undefined, duration: undefined } as Partial<MarqueeEvent>));
        const watched = (u + i) % 2 ? 1500 : 90;
        events.push(makeEvent({ ...who, type: i % 4 ? 'pause' : 'complete', titleId: title.id, ts: (ts += watched * 1000), position: watched, duration: 6000 } as Partial<MarqueeEvent>));
      }
    }
    // A title this viewer was never shown (3i = 37 mod 40 has no i < 12), played from search: the play joins no
    // impression, the pause neither, but the play goes into the viewer's history.
    const found = catalog.titles[(u * 7 + 37) % catalog.titles.length]!;
    events.push(makeEvent({ ...who, type: 'play_start', titleId: found.id, ts: (ts += 1000), position: undefined, duration: undefined } as Partial<MarqueeEvent>));
    events.push(makeEvent({ ...who, type: 'pause', titleId: found.id, ts: (ts += 1_500_000), position: 1500, duration: 6000 } as Partial<MarqueeEvent>));
    events.push(makeEvent({ ...who, type: 'custom', name: 'x', ts: ts++, titleId: undefined, position: undefined, duration: undefined } as Partial<MarqueeEvent>));
  }
  return events;
}

/** Both aggregates as plain data and as published (the snapshot's own serialisation is the comparison). */
async function outcome(dir: string) {
  const store = await DuckDbEventStore.open(dir, { log: () => {} });
  const lines: string[] = [];
  const loaded = await loadAggregates(store, { dataDir: dir, catalog: lookup, log: (l) => lines.push(l) });
  const result = {
    live: loaded.live.state(),
    artwork: loaded.artwork.state(),
    priors: loaded.artwork.priors(0),
    trending: loaded.live.trending(10, T0),
    similar: loaded.live.similar(catalog.titles[3]!.id, 5),
  };
  await store.close();
  return { result, loaded, lines };
}

/** The full replay of the same store: the snapshot moved aside. */
async function fullReplay(dir: string) {
  const path = join(dir, SNAPSHOT_FILE);
  const kept = await readFile(path, 'utf8').catch(() => null);
  await rm(path, { force: true });
  const full = await outcome(dir);
  expect(full.loaded.rebuilt).toBe('no snapshot');
  if (kept !== null) await writeFile(path, kept);
  return full.result;
}

async function storeWithSnapshot() {
  const dir = await tempDir();
  const store = await DuckDbEventStore.open(dir, { log: () => {} });
  await store.append(traffic(0, 30, T0), T0 + 86_000_000);
  // Snapshot taken as a running server takes it: the aggregates built from the store, then its state.
  const loaded = await loadAggregates(store, { dataDir: dir, catalog: lookup });
  await writeSnapshot(dir, await takeSnapshot(store, loaded.live, loaded.artwork, lookup));
  // Later commits the snapshot does not cover; then the process dies (no snapshot at stop). Viewers of both halves
  // overlap, so their recent titles, histories and pending joins carry across the watermark.
  await store.append(traffic(20, 45, T0 + 3_600_000), T0 + 86_100_000);
  await store.close();
  return dir;
}

describe('aggregates snapshot', () => {
  it('the full replay (which leaves out rows that change nothing) equals observing every event as it arrives', async () => {
    const dir = await tempDir();
    const events = traffic(0, 30, T0);
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    await store.append(events, T0 + 86_000_000);
    await store.typedEvents(); // the replay reads the typed copy, where it leaves rows out
    await store.close();
    const replayed = await fullReplay(dir);
    const live = new ArtworkAggregates(undefined, lookup);
    live.observe(events);
    expect(replayed.priors).toEqual(live.priors(0));
    expect(replayed.artwork).toEqual({ ...live.state(), observed: replayed.artwork.observed });
    // Not vacuous: the search plays' pauses were left out, their play starts (histories) were not.
    const { loaded } = await outcome(dir);
    expect(loaded.artworkRows).toBe(events.filter((e) => e.type !== 'custom').length - 30);
  });

  it('snapshot + the rows committed after it equals the full replay, after a crash between the two', async () => {
    const dir = await storeWithSnapshot();
    const fromSnapshot = await outcome(dir);
    expect(fromSnapshot.loaded.rebuilt).toBeNull();
    expect(fromSnapshot.loaded.fromRowid).toBeGreaterThan(0);
    const all = await fullReplay(dir);
    const tail = traffic(20, 45, T0).filter((e) => e.type !== 'custom').length;
    expect(fromSnapshot.loaded.artworkRows).toBe(tail);
    // Only the tail was replayed: the rows of the second half.
    expect(fromSnapshot.result).toEqual(all);
    expect(fromSnapshot.result.priors.impressions).toBe((30 + 25) * 12);
    expect(fromSnapshot.result.priors.context?.impressions).toBe((30 + 25) * 12);
    // The between-viewer variance's state crosses the watermark too: its sums and the reference priors they use.
    expect(fromSnapshot.result.priors.context?.betweenViewerVar).toBeGreaterThanOrEqual(0);
    expect(fromSnapshot.result.artwork.reference?.impressions).toBe(640); // the last refresh, a sixteenth apart
    expect(fromSnapshot.result.live.titles.length).toBeGreaterThan(10);
  });

  it('rebuilds from the store rather than trust a snapshot from an older format, migration or catalog, or one whose rows changed', async () => {
    const dir = await storeWithSnapshot();
    const all = await fullReplay(dir);
    const path = join(dir, SNAPSHOT_FILE);
    const good = AggregatesSnapshotSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    const cases: [string, unknown, RegExp][] = [
      ['older format', { ...good, format: 0 }, /snapshot format 0/],
      ['older migration', { ...good, schemaVersion: good.schemaVersion - 1 }, /schema version/],
      ['another catalog', { ...good, catalog: 'x' }, /another catalog/],
      ['a field out of shape', { ...good, live: { ...good.live, plays: good.live.plays.slice(1) } }, /snapshot invalid/],
      ['more rows than the store has below the watermark', { ...good, watermark: { ...good.watermark, rows: good.watermark.rows + 1 } }, /the store has/],
      ['not JSON', '{"format": 1, "live"', /unreadable/],
    ];
    for (const [name, content, reason] of cases) {
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
      const got = await outcome(dir);
      expect(got.loaded.rebuilt, name).toMatch(reason);
      expect(got.lines.join('\n'), name).toMatch(/rebuilding from the store/);
      expect(got.result, name).toEqual(all);
    }
  });

  it('rebuilds when a row below the watermark was removed behind its back', async () => {
    const dir = await storeWithSnapshot();
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    await store.query("DELETE FROM events WHERE rowid = (SELECT min(rowid) FROM events WHERE eng_type = 'play_start')");
    await store.close();
    const got = await outcome(dir);
    expect(got.loaded.rebuilt).toMatch(/the store has/);
    expect(got.result).toEqual(await fullReplay(dir));
  });
});
