import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { artwork as aw, SCHEMA_VERSION, uuidv7, type CatalogTitle, type MarqueeEvent } from '@marquee/core';
import { openDatabase } from '../src/db.ts';
import { ArtworkChooser } from '../src/artwork.ts';

let n = 0;
const freshDb = () => openDatabase(`artwork-${++n}`);
const freshDbOf = async () => {
  const db = await freshDb();
  return () => db;
};
const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

const themes = [['dark'], ['bright'], ['romance'], ['dark', 'villain']];
const catalog: CatalogTitle[] = Array.from({ length: 60 }, (_, i) => ({
  id: `t${i}`,
  name: `Title ${i}`,
  genres: ['drama'],
  year: 2020,
  runtimeMin: 100,
  artworks: themes.map((th, k) => ({ id: `t${i}-a${k}`, themes: th })),
}));

function event(over: Partial<MarqueeEvent>): MarqueeEvent {
  return { id: uuidv7(), ts: Date.now(), schemaVersion: SCHEMA_VERSION, sessionId: 's', userId: 'v1', ...over } as MarqueeEvent;
}

/**
 * Priors as the server would publish them: artwork a1 (bright) of every title is the population's favourite, with
 * `favouritePlays` quality plays in 200 impressions against 10 for the others.
 */
function servePriors(favouritePlays = 80) {
  const counts = new aw.ArtworkCounts();
  for (const t of catalog) for (const a of t.artworks) {
    for (let i = 0; i < 200; i++) counts.impression(t.id, a.id);
    for (let i = 0; i < (a.id.endsWith('-a1') ? favouritePlays : 10); i++) counts.qualityPlay(t.id, a.id);
  }
  const priors = counts.snapshot(aw.QUALITY_PLAY, 1);
  let calls = 0;
  globalThis.fetch = (async (url: string) => {
    calls++;
    expect(String(url)).toBe('http://api.test/v1/artwork/priors');
    return new Response(JSON.stringify(priors), { headers: { 'content-type': 'application/json', etag: '"1"' } });
  }) as typeof fetch;
  return () => calls;
}

describe('ArtworkChooser (worker side)', () => {
  it('starts a new viewer from the population priors and logs a propensity in (0, 1]', async () => {
    servePriors();
    const c = new ArtworkChooser(await freshDbOf(), 'http://api.test');
    await c.prepare(catalog);
    const shown = catalog.slice(0, 40).map((t) => c.present(t, 1_000_000));
    for (const s of shown) {
      expect(s.propensity).toBeGreaterThan(0);
      expect(s.propensity).toBeLessThanOrEqual(1);
      expect(s.policy).toBe('thompson');
      expect(s.policyVersion).toBe(aw.POLICY_VERSION);
    }
    const favourite = shown.filter((s) => s.artworkId.endsWith('-a1')).length;
    expect(favourite / shown.length).toBeGreaterThan(0.5);
  });

  it('keeps a card’s artwork within the stickiness window (no flicker across re-renders)', async () => {
    servePriors();
    const c = new ArtworkChooser(await freshDbOf(), 'http://api.test');
    await c.prepare(catalog);
    const first = catalog.map((t) => c.present(t, 1_000_000).artworkId);
    const again = catalog.map((t) => c.present(t, 1_000_000 + 3_600_000).artworkId);
    expect(again).toEqual(first);
  });

  it('learns the viewer’s theme taste from quality plays, persists it, and uses it after a restart', async () => {
    // A favourite by a few points (15% against 5% in 200 impressions, shrunk to a point apart), the size of real
    // artwork effects: a dozen plays of one viewer outweigh it; they would not outweigh an 8-fold favourite.
    servePriors(30);
    const db = await freshDb();
    const c = new ArtworkChooser(() => db, 'http://api.test', { stickinessMs: 0 });
    await c.prepare(catalog);
    // The viewer plays, for 20 minutes, every title shown with a dark artwork (a0), and none shown with the population's
    // favourite (a1): a preference only shows against what they passed over (a viewer shown nothing but dark, who
    // played everything, would only say they play more than the population).
    let ts = 1_000_000;
    for (const [i, t] of catalog.slice(0, 24).entries()) {
      const dark = i % 2 === 0;
      await c.record(event({ type: 'impression', titleId: t.id, row: 'Top', position: 0, ts: ts++, artwork: { artworkId: `${t.id}-a${dark ? 0 : 1}`, propensity: 0.2 } }));
      if (!dark) continue;
      await c.record(event({ type: 'play_start', titleId: t.id, ts: ts++ }));
      await c.record(event({ type: 'progress', titleId: t.id, ts: ts++, position: 1200, duration: 6000 }));
    }
    // Seven hours later the unplayed impressions' windows have closed: they settle with reward 0.
    await c.record(event({ type: 'impression', titleId: 't59', row: 'Top', position: 0, ts: ts + 7 * 3_600_000, artwork: { artworkId: 't59-a2', propensity: 0.2 } }));
    // A restarted worker reads the state back (parsed with its schema) and prefers dark over the population favourite.
    const restarted = new ArtworkChooser(() => db, 'http://api.test', { stickinessMs: 0 });
    await restarted.prepare(catalog);
    const later = catalog.slice(24, 59).map((t) => restarted.present(t, 2_000_000 + 7 * 3_600_000));
    const dark = later.filter((s) => s.themes.includes('dark')).length;
    expect(dark / later.length).toBeGreaterThan(0.6);
    const dbg = later[0]!.debug!;
    expect(dbg.updates).toBe(24);
    expect(dbg.historyPlays).toBe(12); // the played titles came back with the taste
    expect(dbg.taste[0]!.theme).toBe('dark');
    expect(dbg.taste[0]!.mean).toBeGreaterThan(0);
  });

  it('credits a quality play to the impression it came from, not to the re-render shown while it plays', async () => {
    servePriors();
    const db = await freshDbOf();
    const c = new ArtworkChooser(db, 'http://api.test', { stickinessMs: 0 });
    await c.prepare(catalog);
    const clicked = event({ type: 'impression', titleId: 't0', row: 'Top', position: 0, ts: 10, artwork: { artworkId: 't0-a0', propensity: 0.2 } });
    await c.record(clicked);
    await c.record(event({ type: 'play_start', titleId: 't0', ts: 11, impressionId: clicked.id }));
    await c.record(event({ type: 'impression', titleId: 't0', row: 'Top', position: 0, ts: 12, artwork: { artworkId: 't0-a1', propensity: 0.2 } }));
    await c.record(event({ type: 'progress', titleId: 't0', ts: 13, position: 1200, duration: 6000, impressionId: clicked.id }));
    // One update so far, a reward for the clicked (dark) artwork: the taste leans to dark, away from bright.
    const dbg = c.present(catalog[1]!, 20).debug!;
    expect(dbg.updates).toBe(1);
    expect(dbg.taste.find((t) => t.theme === 'dark')!.mean).toBeGreaterThan(0);
    expect(dbg.taste.find((t) => t.theme === 'bright')?.mean ?? 0).toBeLessThanOrEqual(0);
    // The re-render is still held (persisted with its id), and a restart keeps it: it settles with 0 at its window's end.
    const restarted = new ArtworkChooser(db, 'http://api.test', { stickinessMs: 0 });
    await restarted.prepare(catalog);
    await restarted.record(event({ type: 'pause', titleId: 't5', ts: 13 + aw.QUALITY_PLAY.windowMs, position: 10, duration: 6000 }));
    expect(restarted.present(catalog[1]!, 20 + aw.QUALITY_PLAY.windowMs).debug!.updates).toBe(2);
  });

  it('loads a state persisted before impressions were held by id, and its pending impression still earns its play', async () => {
    servePriors();
    const db = await freshDb();
    const old = {
      version: 1, viewer: db.name, policy: 'thompson', policyVersion: aw.POLICY_VERSION,
      taste: new aw.ArtworkBandit(db.name).taste, assignments: [],
      pending: [{ titleId: 't0', artworkId: 't0-a0', ts: 10 }],
    };
    await db.put('meta', old, 'artwork'); // as an older SDK wrote it: no ids, no engaged mark
    const c = new ArtworkChooser(() => db, 'http://api.test', { stickinessMs: 0 });
    await c.prepare(catalog);
    await c.record(event({ type: 'play_start', titleId: 't0', ts: 11 }));
    await c.record(event({ type: 'progress', titleId: 't0', ts: 12, position: 1200, duration: 6000 }));
    const dbg = c.present(catalog[1]!, 20).debug!;
    expect(dbg.updates).toBe(1);
    expect(dbg.taste.find((t) => t.theme === 'dark')!.mean).toBeGreaterThan(0);
  });

  it('a click alone is not a reward', async () => {
    servePriors();
    const c = new ArtworkChooser(await freshDbOf(), 'http://api.test', { stickinessMs: 0 });
    await c.prepare(catalog);
    await c.record(event({ type: 'impression', titleId: 't0', row: 'Top', position: 0, ts: 10, artwork: { artworkId: 't0-a0', propensity: 0.2 } }));
    await c.record(event({ type: 'play_start', titleId: 't0', ts: 11 }));
    await c.record(event({ type: 'pause', titleId: 't0', ts: 12, position: 60, duration: 6000 }));
    expect(c.present(catalog[1]!, 20).debug!.updates).toBe(0);
  });
});
