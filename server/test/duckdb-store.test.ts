import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { artwork as aw, EXPOSURE_EVENT, EventSchema, teamCreditsFromEvents, type MarqueeEvent } from '@marquee/core';
import { ArtworkAggregates, replayArtwork } from '../src/artwork/logs.ts';
import { Catalog } from '../src/catalog.ts';
import { artworkRow } from '../src/store/types.ts';
import { teamCredits } from '../src/experiments/interleaving.ts';
import { DuckDbEventStore } from '../src/store/duckdb.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import { plantRows } from '@marquee/server/testing';
import { makeEvent, tempDirs } from './helpers.ts';

const tempDir = tempDirs('store');

describe('DuckDbEventStore', () => {
  it('applies every migration once and records it', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir);
    expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    await store.close();
    const reopened = await DuckDbEventStore.open(dir);
    expect(await reopened.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    await reopened.close();
  });

  it('keeps events and their uniqueness across a reopen', async () => {
    const dir = await tempDir();
    const events = Array.from({ length: 50 }, () => makeEvent());
    const store = await DuckDbEventStore.open(dir);
    expect(await store.append(events, Date.now())).toMatchObject({ accepted: 50, duplicates: 0 });
    await store.close();

    const reopened = await DuckDbEventStore.open(dir);
    expect(await reopened.append(events.slice(0, 10), Date.now())).toMatchObject({ accepted: 0, duplicates: 10, fresh: [] });
    expect(await reopened.count()).toBe(50);
    expect(await reopened.ids(1000)).toEqual(events.map((e) => e.id));
    expect(await reopened.ids(3)).toEqual(events.slice(0, 3).map((e) => e.id));
    await reopened.close();
  });

  it('stores each id once when the same events race in concurrent appends', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    const events = Array.from({ length: 200 }, () => makeEvent());
    const results = await Promise.all([
      store.append(events, 1),
      store.append(events.slice(50), 2),
      store.append([...events.slice(0, 20), ...events.slice(0, 20)], 3),
    ]);
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(200);
    expect(results.reduce((n, r) => n + r.accepted + r.duplicates, 0)).toBe(200 + 150 + 40);
    expect(await store.count()).toBe(200);
    await store.close();
  });

  it('stores an id once when it comes twice in one commit group in different case, and refuses only a request with a non-UUID id', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    const e = makeEvent();
    const bad = { ...makeEvent(), id: 'not-a-uuid' };
    const [lower, upper, refused] = await Promise.allSettled([
      store.append([e], 1),
      store.append([{ ...e, id: e.id.toUpperCase() }], 2),
      store.append([bad], 3),
    ]);
    expect(lower).toMatchObject({ status: 'fulfilled', value: { accepted: 1, duplicates: 0 } });
    expect(upper).toMatchObject({ status: 'fulfilled', value: { accepted: 0, duplicates: 1 } });
    expect(refused).toMatchObject({ status: 'rejected' });
    expect(await store.count()).toBe(1);
    await store.close();
  });

  it('keeps the columns analytics need and the full event as JSON', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    const e = makeEvent({ type: 'impression', titleId: 't9', row: 'Top Picks', position: 2, artwork: { artworkId: 'a3', propensity: 0.5 } } as never);
    await store.append([e], 1234);
    const [row = expect.unreachable('the event was not stored')] = await store.query('SELECT type, title_id, artwork_id, propensity, received_at, payload FROM events_v');
    expect(row).toMatchObject({ type: 'impression', title_id: 't9', artwork_id: 'a3', propensity: 0.5, received_at: 1234n });
    expect(JSON.parse(row.payload as string)).toEqual(e);
    await store.close();
  });

  it('releases cached memory without losing a concurrent append, and restores the buffer pool limit', async () => {
    const store = await DuckDbEventStore.open(':memory:', { memoryLimit: '200MB' });
    const limit = async () => (await store.query("SELECT current_setting('memory_limit') AS m"))[0]?.m;
    const before = await limit();
    const events = Array.from({ length: 50 }, () => makeEvent());
    const [, first, , second] = await Promise.all([store.releaseMemory(), store.append(events.slice(0, 25), 1), store.releaseMemory(), store.append(events.slice(25), 2)]);
    expect(first.accepted + second.accepted).toBe(50);
    expect(await store.count()).toBe(50);
    expect(await limit()).toBe(before);
    await store.close();
  });

  it('never runs a reader query under the lowered limit: queries on reader connections during releaseMemory all succeed', async () => {
    // A dashboard opened as the first catch-up ends: its queries raced the release and failed with DuckDB's
    // out-of-memory error (an HTTP 500) while the limit was 16MB. Each query here needs far more than that.
    const store = await DuckDbEventStore.open(':memory:', { memoryLimit: '500MB' });
    const readers = await Promise.all([store.connect(), store.connect(), store.connect()]);
    const heavy = 'SELECT count(DISTINCT range * 7919 % 4000037) AS n FROM range(3000000)';
    const rounds = await Promise.allSettled(
      Array.from({ length: 4 }, async (_, i) => {
        const queries = readers.map((r) => r.query(heavy));
        const releases = [store.releaseMemory(), new Promise((r) => setTimeout(r, 5 * i)).then(() => store.releaseMemory())];
        const [rows] = await Promise.all([Promise.all(queries), Promise.all(releases)]);
        return rows;
      }),
    );
    const failures = rounds.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    for (const r of rounds) if (r.status === 'fulfilled') for (const rows of r.value) expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    await store.close();
  });

  it('refuses appends after close', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    await store.close();
    await expect(store.append([makeEvent()], 1)).rejects.toThrow(/closed/);
  });
});

describe('DuckDbEventStore start-up replay', () => {
  it('streams the same engagement rows as it stored, in arrival order, across a reopen', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    const events = [
      makeEvent({ type: 'play_start', titleId: 'a', anonymousId: 'anon-9' } as never),
      makeEvent({ type: 'impression', titleId: 'b', row: 'r', position: 0 } as never),
      makeEvent({ type: 'complete', titleId: 'c', userId: 'member-1', position: 10, duration: 10 } as never),
    ];
    await store.append(events.slice(0, 2), 1000);
    await store.append(events.slice(2), 2000);
    await store.close();
    const reopened = await DuckDbEventStore.open(dir, { log: () => {} });
    const rows = [];
    for await (const chunk of reopened.scanEngagement(['play_start', 'complete'])) rows.push(...chunk);
    expect(rows).toEqual([
      { type: 'play_start', titleId: 'a', memberId: 'anon-9', ts: events[0]?.ts, receivedAt: 1000 },
      { type: 'complete', titleId: 'c', memberId: 'member-1', ts: events[2]?.ts, receivedAt: 2000 },
    ]);
    await reopened.close();
  });
});

describe('DuckDbEventStore artwork replay', () => {
  it('streams every stored event\'s artwork row in arrival order, from the typed copy where it has caught up and from the JSON beyond', async () => {
    const dir = await tempDir();
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    const shown = { artworkId: 'a1', propensity: 0.5 };
    // As the API stores them: what EventSchema outputs.
    const events = [
      { type: 'impression', titleId: 't1', userId: 'm1', row: 'r', position: 3, artwork: shown },
      { type: 'impression', titleId: 't2', row: 'r', position: 0 }, // no artwork: not a row
      { type: 'play_start', titleId: 't1', userId: 'm1', impressionId: 'x' },
      { type: 'progress', titleId: 't1', userId: 'm1', position: 30, duration: 60 },
      { type: 'custom', name: 'n', titleId: undefined },
      { type: 'complete', titleId: 't1', userId: undefined, anonymousId: 'anon-2', position: 60.5, duration: 60.5 },
    ].map((over) => EventSchema.parse(makeEvent(over as Partial<MarqueeEvent>)));
    const scanFrom = async (fromRowid: number) => {
      const rows = [];
      for await (const chunk of store.scanArtwork(fromRowid)) rows.push(...chunk);
      return rows;
    };
    const scan = () => scanFrom(0);
    const expected = events.map(artworkRow).filter((r) => r !== null && (r.type !== 'impression' || r.artworkId !== undefined));
    expect(expected).toHaveLength(4);
    // From row 0, a completion by a viewer who was never shown the title with an artwork changes nothing: left out
    // where the copy has it; from a later row (after a snapshot, with impressions pending) every row counts.
    const joinable = expected.filter((r) => r?.memberId !== 'anon-2');
    await store.append(events.slice(0, 3), 1000);
    await store.typedEvents(); // the first three in the copy...
    await store.append(events.slice(3), 2000); // ...the rest only in events (the copy follows 200 ms later)
    expect(store.typedEventsBehind()).toBe(0);
    expect(await scan()).toEqual(expected);
    await store.typedEvents();
    expect(await scan()).toEqual(joinable);
    expect(await scanFrom(1)).toEqual(expected.slice(1));
    await store.close();
  });
});

/**
 * The one typed copy of the events (store/typed-events.ts): caught up off the write path, with every event
 * committed before a `typedEvents()` call; rows written another way are copied when readable and never when not;
 * for stores older than migration 50 it is built from `events` while the two per-feature copies it replaces go.
 */
const TS = Date.UTC(2026, 0, 3, 12);
const impression = makeEvent({ type: 'impression', ts: TS, userId: 'm1', sessionId: 's1', titleId: 't9', row: 'Top Picks', position: 4, duration: undefined, artwork: { artworkId: 'a2', propensity: 0.5 } } as Partial<MarqueeEvent>);
const pause = makeEvent({ type: 'pause', ts: TS + 1, userId: undefined, anonymousId: 'anon7', sessionId: 's2', titleId: 't9', position: 1800, duration: 3600 } as Partial<MarqueeEvent>);
const exposure = makeEvent({ type: 'custom', ts: TS + 2, userId: 'm1', sessionId: 's1', titleId: undefined, position: undefined, duration: undefined, name: EXPOSURE_EVENT, experiments: [{ experiment: 'e1', variant: 'b' }] } as Partial<MarqueeEvent>);

const typedRows = async (store: DuckDbEventStore) => {
  await store.typedEvents();
  return store.query(
    `SELECT day, ts::DOUBLE AS ts, type, member_id, session_id, title_id, row_name, slot, artwork_id, position, duration, name, experiment, variant
     FROM typed_events ORDER BY ts`,
  );
};

const expected = [
  { day: 20456, ts: TS, type: 'impression', member_id: 'm1', session_id: 's1', title_id: 't9', row_name: 'Top Picks', slot: 4, artwork_id: 'a2', position: null, duration: null, name: null, experiment: null, variant: null },
  { day: 20456, ts: TS + 1, type: 'pause', member_id: 'anon7', session_id: 's2', title_id: 't9', row_name: null, slot: null, artwork_id: null, position: 1800, duration: 3600, name: null, experiment: null, variant: null },
  { day: 20456, ts: TS + 2, type: 'custom', member_id: 'm1', session_id: 's1', title_id: null, row_name: null, slot: null, artwork_id: null, position: null, duration: null, name: EXPOSURE_EVENT, experiment: 'e1', variant: 'b' },
];

/** A store in `dir` as the version before `version` left it: the migrations before it applied, and recorded. */
async function storeBefore(dir: string, version: number) {
  const instance = await DuckDBInstance.create(join(dir, 'events.duckdb'));
  const conn = await instance.connect();
  await conn.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)');
  for (const m of MIGRATIONS.filter((m) => m.version < version)) {
    await conn.run(m.sql);
    await conn.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
  }
  return { instance, conn };
}

/**
 * A store as the version before `version` left it, holding `events` and their typed copy (`copied`: the copy's columns
 * beyond seq, src_rowid, day, ts, type and member_id, each as SQL over the row of events), then opened by this version.
 */
async function migratedStore(dir: string, version: number, events: readonly MarqueeEvent[], copied: Record<string, string>): Promise<DuckDbEventStore> {
  const { instance, conn } = await storeBefore(dir, version);
  for (const [i, e] of events.entries()) {
    await conn.run('INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3) VALUES (1, $1, 1, 2, 3, $2)', [JSON.stringify(e), i]);
  }
  await conn.run(`INSERT INTO typed_events (seq, src_rowid, day, ts, type, member_id, ${Object.keys(copied).join(', ')})
                  SELECT nextval('typed_events_seq'), rowid, 20456, (payload->>'$.ts')::BIGINT, payload->>'$.type', payload->>'$.userId',
                         ${Object.values(copied).join(', ')} FROM events;
                  UPDATE typed_events_state SET next_rowid = ${events.length}`);
  conn.closeSync();
  instance.closeSync();
  const store = await DuckDbEventStore.open(dir, { log: () => {} });
  expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
  return store;
}

describe('typed_events', () => {
  it('has every committed event once, with its fields typed, when a reader asks', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    await store.append([impression, pause], Date.now());
    expect(await typedRows(store)).toEqual(expected.slice(0, 2));
    await store.append([exposure, impression], Date.now()); // a resent event is not copied again
    expect(await typedRows(store)).toEqual(expected);
    const [counted] = await store.query('SELECT count(DISTINCT seq)::INTEGER AS n FROM typed_events');
    expect(counted?.n).toBe(3);
    expect(store.typedEventsBehind()).toBe(0);
    await store.close();
  });

  it('catches up by itself after a commit, without a reader asking', async () => {
    const store = await DuckDbEventStore.open(':memory:');
    await store.append([impression, pause, exposure], Date.now());
    const copied = async () => Number((await store.query('SELECT count(*) AS n FROM typed_events'))[0]!.n);
    await expect.poll(copied, { timeout: 5000 }).toBe(3);
    await store.close();
  });

  it('copies rows written outside the API when readable, and never an unreadable one', async () => {
    const dir = await tempDir();
    await plantRows(dir, [JSON.stringify(impression), '{"id": "not json', JSON.stringify(pause)]);
    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    expect(store.recovery.quarantined).toBe(1);
    // While running: a row inserted behind the store's back, readable or not (the copy's query must not fail).
    await store.query(`INSERT INTO events (received_at, payload) VALUES (1, $1), (1, '{"ts": 1, "type": "x"')`, [JSON.stringify(exposure)]);
    expect(await typedRows(store)).toEqual(expected);
    await store.close();
  });

  it('migrations 50 and 51 replace the per-feature copies of an older store, and the store fills the new one', async () => {
    const dir = await tempDir();
    // A store as the version before 50 left it: its migrations, three events with their id words, and the old
    // copies with something in them.
    const { instance, conn } = await storeBefore(dir, 50);
    for (const e of [impression, pause, exposure]) {
      await conn.run('INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3) VALUES (1, $1, 1, 2, 3, $2)', [JSON.stringify(e), e.ts % 1000]);
    }
    await conn.run('INSERT INTO experiment_events (src_rowid) VALUES (0); UPDATE experiment_watermark SET last_rowid = 2; UPDATE analytics_state SET next_rowid = 3');
    await conn.run("INSERT INTO analytics_plays VALUES ('s2', 't9', 'anon7', 20456, 1800, 3600, false, true, NULL, NULL, NULL)");
    conn.closeSync();
    instance.closeSync();

    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    const tables = await store.query("SELECT table_name FROM information_schema.tables WHERE table_name IN ('experiment_events', 'experiment_watermark', 'analytics_events')");
    expect(tables).toEqual([]);
    // The rollups start over from the new copy (their old watermark counted rowids of events).
    expect(await store.query('SELECT next_seq FROM analytics_state')).toEqual([{ next_seq: 0n }]);
    expect(await store.query('SELECT count(*)::INTEGER AS n FROM analytics_plays')).toEqual([{ n: 0 }]);
    expect(await typedRows(store)).toEqual(expected);
    // New events come after the copied ones.
    await store.append([makeEvent({ ts: TS + 3 })], Date.now());
    await store.typedEvents();
    const seqs = (await store.query('SELECT seq FROM typed_events ORDER BY ts')).map((r) => Number(r.seq));
    expect(seqs[3]).toBeGreaterThan(Math.max(...seqs.slice(0, 3)));
    await store.close();
  });

  it('migration 52 gives the rows already copied their interleaving columns, and team credits read them', async () => {
    const dir = await tempDir();
    const il = { experiment: 'il', variant: 'mix' };
    const shownA = makeEvent({ type: 'impression', ts: TS, userId: 'm1', row: 'Top Picks', position: 0, duration: undefined, interleaving: { ...il, team: 'A' } } as Partial<MarqueeEvent>);
    const shownB = makeEvent({ type: 'impression', ts: TS + 1, userId: 'm1', titleId: 't2', row: 'Top Picks', position: 1, duration: undefined, interleaving: { ...il, team: 'B' } } as Partial<MarqueeEvent>);
    const plain = makeEvent({ type: 'impression', ts: TS + 2, userId: 'm1', titleId: 't3', row: 'Trending', position: 0, duration: undefined } as Partial<MarqueeEvent>);
    const play = (ts: number, impressionId?: string) =>
      makeEvent({ type: 'play_start', ts, userId: 'm1', titleId: 't2', position: undefined, duration: undefined, impressionId } as Partial<MarqueeEvent>);
    const before = [shownA, shownB, plain, play(TS + 3, shownB.id.toUpperCase()), play(TS + 4, plain.id), play(TS + 5)];
    // A store as version 51 left it: the events, and their typed copy without the interleaving columns.
    const { instance, conn } = await storeBefore(dir, 52);
    for (const [i, e] of before.entries()) {
      await conn.run('INSERT INTO events (received_at, payload, id_w0, id_w1, id_w2, id_w3) VALUES (1, $1, 1, 2, 3, $2)', [JSON.stringify(e), i]);
    }
    await conn.run(`INSERT INTO typed_events (seq, src_rowid, day, ts, type, member_id)
                    SELECT nextval('typed_events_seq'), rowid, 20456, (payload->>'$.ts')::BIGINT, payload->>'$.type', payload->>'$.userId' FROM events;
                    UPDATE typed_events_state SET next_rowid = ${before.length}`);
    conn.closeSync();
    instance.closeSync();

    const store = await DuckDbEventStore.open(dir, { log: () => {} });
    expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    // Backfilled, not copied again; the copy goes on from where it was, with the columns filled in.
    const after = [play(TS + 6, shownA.id)];
    await store.append(after, Date.now());
    await store.typedEvents();
    expect(await store.query('SELECT count(*)::INTEGER AS n, max(seq)::INTEGER AS last FROM typed_events')).toEqual([{ n: 7, last: 6 }]);
    expect(await store.query('SELECT event_id, impression_id, team, team_experiment, team_variant FROM typed_events ORDER BY ts')).toEqual([
      { event_id: shownA.id, impression_id: null, team: 'A', team_experiment: 'il', team_variant: 'mix' },
      { event_id: shownB.id, impression_id: null, team: 'B', team_experiment: 'il', team_variant: 'mix' },
      { event_id: null, impression_id: null, team: null, team_experiment: null, team_variant: null },
      { event_id: null, impression_id: shownB.id, team: null, team_experiment: null, team_variant: null },
      { event_id: null, impression_id: plain.id, team: null, team_experiment: null, team_variant: null },
      { event_id: null, impression_id: null, team: null, team_experiment: null, team_variant: null },
      { event_id: null, impression_id: shownA.id, team: null, team_experiment: null, team_variant: null },
    ]);
    const credits = await teamCredits(store, 'il');
    expect(credits).toEqual([{ unit: 'm1', variant: 'mix', impressionsA: 1, impressionsB: 1, playsA: 1, playsB: 1 }]);
    expect(credits).toEqual(teamCreditsFromEvents([...before, ...after], 'il'));
    await store.close();
  });
  it('migration 54 gives the rows already copied the propensity ingest writes, and the priors replay reads it', async () => {
    const shown = (ts: number, titleId: string, artwork?: { artworkId: string; propensity: number }) =>
      makeEvent({ type: 'impression', ts, userId: 'm1', titleId, row: 'Top Picks', position: 0, duration: undefined, artwork } as Partial<MarqueeEvent>);
    const before = [
      shown(TS, 't1', { artworkId: 't1-a2', propensity: 0.25 }),
      shown(TS + 1, 't2', { artworkId: 't2-a1', propensity: 1 }),
      shown(TS + 2, 't3'),
      makeEvent({ type: 'play_start', ts: TS + 3, userId: 'm1', titleId: 't1', position: undefined, duration: undefined } as Partial<MarqueeEvent>),
      // Mentions a propensity, but is no impression: nothing to backfill.
      makeEvent({ type: 'custom', ts: TS + 4, userId: 'm1', titleId: undefined, position: undefined, duration: undefined, name: 'x', props: { propensity: 0.3 } } as Partial<MarqueeEvent>),
    ];
    const after = [shown(TS + 5, 't4', { artworkId: 't4-a3', propensity: 0.0625 })];
    const all = [...before, ...after];

    // A store as version 53 left it: the events and their typed copy, without the propensity column.
    const migrated = await migratedStore(await tempDir(), 54, before, {
      title_id: "payload->>'$.titleId'",
      slot: "CASE WHEN payload->>'$.type' = 'impression' THEN 0 END",
      artwork_id: "payload->>'$.artwork.artworkId'",
    });
    await migrated.append(after, Date.now());

    // The same events through ingest on a store that never lacked the column.
    const ingested = await DuckDbEventStore.open(':memory:');
    await ingested.append(all, Date.now());

    const propensities = async (store: DuckDbEventStore) => {
      await store.typedEvents();
      return (await store.query('SELECT type, title_id, propensity FROM typed_events ORDER BY ts')).map((r) => ({ ...r }));
    };
    const expected = [
      { type: 'impression', title_id: 't1', propensity: 0.25 },
      { type: 'impression', title_id: 't2', propensity: 1 },
      { type: 'impression', title_id: 't3', propensity: null },
      { type: 'play_start', title_id: 't1', propensity: null },
      { type: 'custom', title_id: null, propensity: null },
      { type: 'impression', title_id: 't4', propensity: 0.0625 },
    ];
    expect(await propensities(ingested)).toEqual(expected);
    expect(await propensities(migrated)).toEqual(expected);
    // The start-up replay of the artwork priors reads it from the copy, as the live path takes it from the event.
    const replayed = async (store: DuckDbEventStore) => {
      const rows = [];
      for await (const chunk of store.scanArtwork()) rows.push(...chunk);
      return rows.filter((r) => r.type === 'impression').map((r) => [r.titleId, r.artworkId, r.propensity]);
    };
    const live = all.map(artworkRow).filter((r) => r?.type === 'impression' && r.artworkId).map((r) => [r!.titleId, r!.artworkId, r!.propensity]);
    expect(live).toEqual([['t1', 't1-a2', 0.25], ['t2', 't2-a1', 1], ['t4', 't4-a3', 0.0625]]);
    expect(await replayed(migrated)).toEqual(live);
    expect(await replayed(ingested)).toEqual(live);
    await migrated.close();
    await ingested.close();
  });

  it('migration 55 gives the artwork impressions already copied their event ids, without losing a row, and the priors replay credits by id', async () => {
    const catalog = Catalog.synthetic({ titles: 5 });
    const title = catalog.titles[0]!;
    const [a1, a2] = title.artworks;
    const at = (ts: number, over: Partial<MarqueeEvent>) =>
      makeEvent({ userId: 'm1', anonymousId: undefined, titleId: title.id, ts, position: undefined, duration: undefined, ...over } as Partial<MarqueeEvent>);
    // The title in two rows; the viewer plays the first card (the older impression): by the rule for unnamed plays
    // the second would take the play.
    const first = at(TS, { type: 'impression', row: 'Top Picks', position: 0, artwork: { artworkId: a1!.id, propensity: 0.5 } } as Partial<MarqueeEvent>);
    const second = at(TS + 1, { type: 'impression', row: 'Trending', position: 2, artwork: { artworkId: a2!.id, propensity: 0.5 } } as Partial<MarqueeEvent>);
    const plain = at(TS + 2, { type: 'impression', titleId: catalog.titles[1]!.id, row: 'Top Picks', position: 1 } as Partial<MarqueeEvent>);
    const before = [first, second, plain, at(TS + 3, { type: 'play_start', impressionId: first.id })];
    const after = [at(TS + 1_300_000, { type: 'progress', position: 1200, duration: 5400, impressionId: first.id } as Partial<MarqueeEvent>)];

    // A store as version 54 left it: the events and their typed copy, event ids only on interleaved impressions (none).
    const migrated = await migratedStore(await tempDir(), 55, before, {
      title_id: "payload->>'$.titleId'",
      row_name: "payload->>'$.row'",
      slot: "CASE WHEN payload->>'$.type' = 'impression' THEN 0 END",
      artwork_id: "payload->>'$.artwork.artworkId'",
      propensity: "(payload->>'$.artwork.propensity')::DOUBLE",
      impression_id: "lower(payload->>'$.impressionId')",
    });
    await migrated.append(after, Date.now());
    await migrated.typedEvents();
    expect(await migrated.query('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 5 }]);
    expect((await migrated.query('SELECT type, event_id, impression_id FROM typed_events ORDER BY ts')).map((r) => ({ ...r }))).toEqual([
      { type: 'impression', event_id: first.id, impression_id: null },
      { type: 'impression', event_id: second.id, impression_id: null },
      { type: 'impression', event_id: null, impression_id: null },
      { type: 'play_start', event_id: null, impression_id: first.id },
      { type: 'progress', event_id: null, impression_id: first.id },
    ]);

    // The priors rebuilt from the store at start are the ones the live path published: the play credits a1.
    const live = new ArtworkAggregates(aw.QUALITY_PLAY, catalog.byId);
    live.observe([...before, ...after]);
    const replayed = new ArtworkAggregates(aw.QUALITY_PLAY, catalog.byId);
    await replayArtwork(migrated, replayed);
    const counts = (a: ArtworkAggregates) => a.priors(TS).artworks.filter((x) => x.titleId === title.id).map((x) => [x.artworkId, x.impressions, x.plays, x.qualityPlays]);
    expect(counts(live)).toEqual([[a1!.id, 1, 1, 1], [a2!.id, 1, 0, 0]]);
    expect(counts(replayed)).toEqual(counts(live));
    await migrated.close();
  });
});
