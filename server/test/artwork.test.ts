import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { artwork as aw, type MarqueeEvent } from '@marquee/core';
import { createApp } from '../src/app.ts';
import { Catalog } from '../src/catalog.ts';
import { ArtworkAggregates, decisionsFromEvents, MAX_IMPRESSION_WEIGHT, uniformLogWeight } from '../src/artwork/logs.ts';
import { readObd } from '../src/artwork/obd.ts';
import { LiveAggregates } from '../src/candidates/aggregates.ts';
import { CandidateService } from '../src/candidates/service.ts';
import { MemoryEventStore } from '../src/store/memory.ts';
import { makeEvent } from './helpers.ts';

const catalog = Catalog.synthetic({ titles: 50 });
const title = catalog.titles[0]!;
const [a1, a2] = title.artworks;
/** Recent enough for the API's timestamp window, with room for a 20-minute play before now. */
const T0 = Date.now() - 3_600_000;

function setup() {
  const artwork = new ArtworkAggregates();
  const app = createApp({
    store: new MemoryEventStore(),
    writeKeys: ['wk'],
    adminToken: 'admin',
    corsOrigins: [],
    candidates: new CandidateService(catalog, new LiveAggregates()),
    artwork,
  });
  return { app, artwork };
}

/** An impression of `title` with an artwork, then (optionally) a play watched for `watchedS` seconds. */
function visit(user: string, artworkId: string, propensity: number, t0: number, watchedS?: number): MarqueeEvent[] {
  const ev: MarqueeEvent[] = [
    makeEvent({ userId: user, anonymousId: undefined, type: 'impression', titleId: title.id, row: 'Top', position: 2, ts: t0, artwork: { artworkId, propensity } } as Partial<MarqueeEvent>),
  ];
  if (watchedS !== undefined) {
    ev.push(makeEvent({ userId: user, anonymousId: undefined, type: 'play_start', titleId: title.id, ts: t0 + 1000 } as Partial<MarqueeEvent>));
    ev.push(makeEvent({ userId: user, anonymousId: undefined, type: 'pause', titleId: title.id, ts: t0 + 1000 + watchedS * 1000, position: watchedS, duration: 6000 } as Partial<MarqueeEvent>));
  }
  return ev;
}

const post = (app: ReturnType<typeof createApp>, events: MarqueeEvent[]) =>
  app.request('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: 'wk', events }) });

describe('artwork priors', () => {
  it('counts impressions, plays and quality plays per (title, artwork), live, versioned', async () => {
    const { app } = setup();
    const before = await app.request('/v1/artwork/priors');
    expect(before.status).toBe(200);
    const etag0 = before.headers.get('etag');
    await post(app, [...visit('u1', a1!.id, 0.5, T0, 1200), ...visit('u2', a1!.id, 0.5, T0, 60), ...visit('u3', a2!.id, 0.5, T0)]);
    const res = await app.request('/v1/artwork/priors');
    const priors = aw.ArtworkPriorsSchema.parse(await res.json());
    expect(res.headers.get('etag')).not.toBe(etag0);
    const s1 = priors.artworks.find((s) => s.artworkId === a1!.id)!;
    const s2 = priors.artworks.find((s) => s.artworkId === a2!.id)!;
    expect(s1).toMatchObject({ titleId: title.id, impressions: 2, plays: 2, qualityPlays: 1 }); // 20 min counts, 1 min does not
    expect(s2).toMatchObject({ impressions: 1, plays: 0, qualityPlays: 0 });
    expect(priors.reward.kind).toBe('quality-play');
    const again = await app.request('/v1/artwork/priors', { headers: { 'If-None-Match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });
});

describe('history-context weights in the priors', () => {
  it('learns from every viewer that a history of dark titles goes with playing the dark image, and publishes it', () => {
    const themed = (id: string, themes: string[][]) => ({ id, artworks: themes.map((th, k) => ({ id: `${id}-a${k}`, themes: th })) });
    const titles = [
      ...Array.from({ length: 5 }, (_, i) => themed(`dark${i}`, [['dark'], ['dark', 'villain']])),
      ...Array.from({ length: 5 }, (_, i) => themed(`bright${i}`, [['bright'], ['bright', 'family']])),
      ...Array.from({ length: 20 }, (_, i) => themed(`mixed${i}`, [['dark'], ['bright']])),
    ];
    const lookup = new Map(titles.map((t) => [t.id, t]));
    const aggregates = new ArtworkAggregates(aw.QUALITY_PLAY, lookup);
    const events: MarqueeEvent[] = [];
    let ts = T0;
    const ev = (user: string, over: Partial<MarqueeEvent>) => makeEvent({ userId: user, anonymousId: undefined, ts: ts++, ...over } as Partial<MarqueeEvent>);
    for (let u = 0; u < 200; u++) {
      const user = `u${u}`;
      const fan = u % 2 ? 'dark' : 'bright';
      // Their history: five titles of their kind, played.
      for (let i = 0; i < 5; i++) events.push(ev(user, { type: 'play_start', titleId: `${fan}${i}` }));
      // Then the mixed titles, each shown with one image at random; they play (20 minutes) the one of their kind.
      for (let i = 0; i < 20; i++) {
        const k = (u * 7 + i * 3) % 2;
        const titleId = `mixed${i}`;
        events.push(ev(user, { type: 'impression', titleId, row: 'Top', position: 0, artwork: { artworkId: `${titleId}-a${k}`, propensity: 0.5 } }));
        if ((k === 0) === (fan === 'dark')) {
          events.push(ev(user, { type: 'play_start', titleId }));
          events.push(ev(user, { type: 'progress', titleId, position: 1200, duration: 6000 }));
        }
      }
    }
    aggregates.observe(events);
    const priors = aw.ArtworkPriorsSchema.parse(aggregates.priors(ts));
    expect(priors.context?.impressions).toBe(4000);
    const w = priors.context!.weights;
    expect(w[aw.themeIndex('dark')!]).toBeGreaterThan(0.5);
    expect(w[aw.themeIndex('bright')!]).toBeGreaterThan(0.5);
    // Without a catalog there are no themes to build a history from: no weights.
    const bare = new ArtworkAggregates();
    bare.observe(events);
    expect(bare.priors(ts).context).toBeUndefined();
  });
});

describe('between-viewer variance in the priors', () => {
  // Twenty titles, each with a dark and a bright image, shown at random. In the first log half the viewers play
  // (20 minutes) every title shown with the dark image and the other half every one shown with the bright image:
  // their tastes stray from anything the population could predict by a whole play. In the second every viewer
  // plays every other title whatever its image: no taste to stray.
  const titles = Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, artworks: [{ id: `m${i}-dark`, themes: ['dark'] }, { id: `m${i}-bright`, themes: ['bright'] }] }));
  const lookup = new Map(titles.map((t) => [t.id, t]));
  function published(plays: (u: number, i: number, dark: boolean) => boolean) {
    const aggregates = new ArtworkAggregates(aw.QUALITY_PLAY, lookup);
    const events: MarqueeEvent[] = [];
    let ts = T0;
    const ev = (user: string, over: Partial<MarqueeEvent>) => makeEvent({ userId: user, anonymousId: undefined, ts: ts++, ...over } as Partial<MarqueeEvent>);
    const rng = new aw.Rng(3);
    for (let u = 0; u < 200; u++) {
      for (const [i, t] of titles.entries()) {
        const dark = rng.next() < 0.5;
        events.push(ev(`u${u}`, { type: 'impression', titleId: t.id, row: 'Top', position: i, artwork: { artworkId: `${t.id}-${dark ? 'dark' : 'bright'}`, propensity: 0.5 } }));
        if (!plays(u, i, dark)) continue;
        events.push(ev(`u${u}`, { type: 'play_start', titleId: t.id }));
        events.push(ev(`u${u}`, { type: 'progress', titleId: t.id, position: 1200, duration: 6000 }));
      }
    }
    aggregates.observe(events);
    return aw.ArtworkPriorsSchema.parse(aggregates.priors(ts)).context!;
  }

  it('publishes how far viewers stray from the prediction: large where tastes part, near 0 where they do not', () => {
    const parted = published((u, _i, dark) => (u % 2 === 0) === dark);
    const alike = published((_u, i) => i % 2 === 0);
    // Parted: measured theme by theme (the estimator's diagonal), a viewer's response to the dark image is a whole
    // play up or down around a population average of 0: a variance of about 1 (rate units squared).
    expect(parted.betweenViewerVar).toBeGreaterThan(0.5);
    expect(alike.betweenViewerVar).toBeLessThan(0.01);
  });
});

describe('the population fit weighted by 1 / (K x propensity)', () => {
  // Ten titles, each with a dark and a bright image. The image does not matter to anyone: half the viewers play
  // every title they are shown (20 minutes), the other half none. The logging policy shows the eager viewers the
  // dark image 9 times in 10 and the idle ones the bright image 9 times in 10, and logs those propensities.
  const titles = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, artworks: [{ id: `m${i}-dark`, themes: ['dark'] }, { id: `m${i}-bright`, themes: ['bright'] }] }));
  const lookup = new Map(titles.map((t) => [t.id, t]));
  function log(policy: (eager: boolean, i: number) => { dark: boolean; propensity: number }) {
    const events: MarqueeEvent[] = [];
    let ts = T0;
    const ev = (user: string, over: Partial<MarqueeEvent>) => makeEvent({ userId: user, anonymousId: undefined, ts: ts++, ...over } as Partial<MarqueeEvent>);
    for (let u = 0; u < 200; u++) {
      const user = `u${u}`;
      const eager = u % 2 === 0;
      for (const [i, t] of titles.entries()) {
        const { dark, propensity } = policy(eager, i);
        events.push(ev(user, { type: 'impression', titleId: t.id, row: 'Top', position: i, artwork: { artworkId: `${t.id}-${dark ? 'dark' : 'bright'}`, propensity } }));
      }
      // Plays after all of the viewer's impressions, so every impression has the same (empty) history context.
      if (eager) {
        for (const t of titles) {
          events.push(ev(user, { type: 'play_start', titleId: t.id }));
          events.push(ev(user, { type: 'progress', titleId: t.id, position: 1200, duration: 6000 }));
        }
      }
    }
    return { events, end: ts };
  }
  const fit = (events: MarqueeEvent[], end: number, strip = false) => {
    const aggregates = new ArtworkAggregates(aw.QUALITY_PLAY, lookup);
    // `strip`: the same log with every propensity at 1/K, i.e. the unweighted fit.
    aggregates.observe(strip ? events.map((e) => (e.type === 'impression' && e.artwork ? { ...e, artwork: { ...e.artwork, propensity: 0.5 } } : e)) : events);
    return aw.ArtworkPriorsSchema.parse(aggregates.priors(end)).context!;
  };
  const dark = aw.themeIndex('dark')!;
  const bright = aw.themeIndex('bright')!;

  it('finds no theme effect in a policy log where the unweighted fit finds one', () => {
    const policyLog = log((eager, i) => {
      const majority = i !== 0; // 9 titles of 10 get the policy's favourite image
      return { dark: eager ? majority : !majority, propensity: majority ? 0.9 : 0.1 };
    });
    const uniformLog = log((_, i) => ({ dark: i % 2 === 0, propensity: 0.5 }));
    const unweighted = fit(policyLog.events, policyLog.end, true);
    const weighted = fit(policyLog.events, policyLog.end);
    const uniform = fit(uniformLog.events, uniformLog.end);
    expect(weighted.impressions).toBe(2000);
    // Unweighted, the eager viewers' play rate leaks into the image they were mostly shown.
    expect(unweighted.themeEffects[dark]).toBeGreaterThan(0.1);
    expect(unweighted.themeEffects[bright]).toBeLessThan(-0.1);
    // Weighted, the policy log says what a uniform log of the same viewers says: the image changes nothing.
    for (const f of [weighted, uniform]) {
      expect(Math.abs(f.themeEffects[dark]!)).toBeLessThan(1e-9);
      expect(Math.abs(f.themeEffects[bright]!)).toBeLessThan(1e-9);
      expect(Math.max(...f.averageEffects.map(Math.abs))).toBeLessThan(1e-9);
    }
  });

  it('bounds what one impression with a tiny logged propensity can do to the fit', () => {
    expect(uniformLogWeight(2, 0.5)).toBe(1);
    expect(uniformLogWeight(4, 0.05)).toBe(5);
    expect(uniformLogWeight(2, Number.MIN_VALUE)).toBe(MAX_IMPRESSION_WEIGHT);
    const { events, end } = log((eager, i) => ({ dark: eager === (i !== 0), propensity: i === 0 ? Number.MIN_VALUE : 0.9 }));
    const f = fit(events, end);
    for (const v of [...f.themeEffects, ...f.weights, ...f.averageEffects]) expect(Number.isFinite(v)).toBe(true);
  });
});

describe('admin OPE over the store’s own log', () => {
  it('needs the admin token and a known target', async () => {
    const { app } = setup();
    expect((await app.request('/v1/admin/artwork/ope')).status).toBe(401);
    const bad = await app.request('/v1/admin/artwork/ope?target=nope', { headers: { Authorization: 'Bearer admin' } });
    expect(bad.status).toBe(400);
  });

  it('estimates the uniform policy from a uniform log near its true rate', async () => {
    const { app } = setup();
    const K = title.artworks.length;
    // Artwork 0 gets a quality play 60% of the time, the others 20%: uniform's value is (0.6 + 0.2 (K-1)) / K.
    const events: MarqueeEvent[] = [];
    for (let i = 0; i < 600; i++) {
      const k = i % K;
      const good = k === 0 ? i % 5 < 3 : i % 5 === 0;
      events.push(...visit(`u${i}`, title.artworks[k]!.id, 1 / K, T0 + i, good ? 1200 : undefined));
    }
    for (let i = 0; i < events.length; i += 500) expect((await post(app, events.slice(i, i + 500))).status).toBe(200);
    const res = await app.request('/v1/admin/artwork/ope?target=uniform', { headers: { Authorization: 'Bearer admin' } });
    expect(res.status).toBe(200);
    const body = aw.OpeReportSchema.parse(await res.json());
    const truth = (0.6 + 0.2 * (K - 1)) / K;
    expect(body.decisions).toBe(600);
    for (const e of body.estimates) {
      expect(e.ciLow).toBeLessThanOrEqual(truth + 1e-9);
      expect(e.ciHigh).toBeGreaterThanOrEqual(truth - 1e-9);
    }
    const priors = await app.request('/v1/admin/artwork/ope?target=priors', { headers: { Authorization: 'Bearer admin' } });
    const pr = aw.OpeReportSchema.parse(await priors.json());
    // Greedy on the fitted rates picks artwork 0, worth 0.6: IPS and DR must see it beat uniform.
    expect(pr.estimates.find((e) => e.estimator === 'ips')!.value).toBeGreaterThan(truth);
    // Asked for bootstrap-t, IPS, SNIPS and DR say so, keep their estimates, and still cover the true rate.
    const boot = aw.OpeReportSchema.parse(await (await app.request('/v1/admin/artwork/ope?target=uniform&bootstrap=500', { headers: { Authorization: 'Bearer admin' } })).json());
    for (const e of boot.estimates) {
      const normal = body.estimates.find((x) => x.estimator === e.estimator)!;
      expect(e.interval).toBe(e.estimator === 'replay' ? normal.interval : 'bootstrap-t');
      expect(e.value).toBe(normal.value);
      expect(e.ciLow).toBeLessThanOrEqual(truth);
      expect(e.ciHigh).toBeGreaterThanOrEqual(truth);
    }
    expect((await app.request('/v1/admin/artwork/ope?bootstrap=5', { headers: { Authorization: 'Bearer admin' } })).status).toBe(400);
  });

  it('credits a quality play to the impression the play came from, not to the re-render shown while it plays', () => {
    const at = (ts: number, over: Partial<MarqueeEvent>) => makeEvent({ userId: 'u1', anonymousId: undefined, titleId: title.id, ts, ...over } as Partial<MarqueeEvent>);
    const clicked = at(T0, { type: 'impression', row: 'Top', position: 0, artwork: { artworkId: a1!.id, propensity: 0.5 } } as Partial<MarqueeEvent>);
    const ev = [
      clicked,
      at(T0 + 1000, { type: 'play_start', impressionId: clicked.id }),
      at(T0 + 2000, { type: 'impression', row: 'Top', position: 0, artwork: { artworkId: a2!.id, propensity: 0.5 } } as Partial<MarqueeEvent>),
      at(T0 + 1_300_000, { type: 'progress', position: 1200, duration: 6000 } as Partial<MarqueeEvent>),
      at(T0 + 1_400_000, { type: 'complete', position: 6000, duration: 6000 } as Partial<MarqueeEvent>),
    ];
    const { decisions } = decisionsFromEvents(ev, catalog.byId);
    expect(decisions.map((d) => [catalog.byId.get(title.id)!.artworks[d.action]!.id, d.reward])).toEqual([[a1!.id, 1], [a2!.id, 0]]);
    const live = new ArtworkAggregates(aw.QUALITY_PLAY, catalog.byId);
    live.observe(ev);
    const priors = live.priors(T0);
    expect(priors.artworks.find((s) => s.artworkId === a1!.id)).toMatchObject({ impressions: 1, plays: 1, qualityPlays: 1 });
    expect(priors.artworks.find((s) => s.artworkId === a2!.id)).toMatchObject({ impressions: 1, plays: 0, qualityPlays: 0 });
  });

  it('credits a play to the older impression of the title it names, in the published priors as in the OPE', () => {
    // The title on screen twice (two rows): the viewer plays the first card. By the rule for unnamed plays the newer
    // impression would settle the first with 0 and take the play.
    const at = (ts: number, over: Partial<MarqueeEvent>) => makeEvent({ userId: 'u1', anonymousId: undefined, titleId: title.id, ts, ...over } as Partial<MarqueeEvent>);
    const first = at(T0, { type: 'impression', row: 'Top', position: 0, artwork: { artworkId: a1!.id, propensity: 0.5 } } as Partial<MarqueeEvent>);
    const second = at(T0 + 1000, { type: 'impression', row: 'Trending', position: 3, artwork: { artworkId: a2!.id, propensity: 0.5 } } as Partial<MarqueeEvent>);
    const ev = [
      first,
      second,
      at(T0 + 2000, { type: 'play_start', impressionId: first.id.toUpperCase() }),
      at(T0 + 1_300_000, { type: 'progress', position: 1200, duration: 6000, impressionId: first.id } as Partial<MarqueeEvent>),
    ];
    const { decisions } = decisionsFromEvents(ev, catalog.byId);
    expect(decisions.map((d) => [title.artworks[d.action]!.id, d.reward])).toEqual([[a1!.id, 1], [a2!.id, 0]]);
    const live = new ArtworkAggregates(aw.QUALITY_PLAY, catalog.byId);
    live.observe(ev);
    const priors = live.priors(T0);
    expect(priors.artworks.find((s) => s.artworkId === a1!.id)).toMatchObject({ impressions: 1, plays: 1, qualityPlays: 1 });
    expect(priors.artworks.find((s) => s.artworkId === a2!.id)).toMatchObject({ impressions: 1, plays: 0, qualityPlays: 0 });
  });

  it('joins a quality play to the impression before it, never to a later one', () => {
    const ev = [...visit('u1', a1!.id, 0.5, 0), ...visit('u1', a2!.id, 0.5, 10_000, 1000)];
    const { decisions } = decisionsFromEvents(ev, catalog.byId);
    expect(decisions.map((d) => d.reward)).toEqual([0, 1]);
  });
});

const OBD = fileURLToPath(new URL('../../../shared/data/obd-women', import.meta.url));

describe('Open Bandit Dataset (../shared/data/obd-women)', () => {
  const present = existsSync(OBD);
  it.runIf(present || process.env.CI === 'true')('estimates the uniform policy’s click rate from the Thompson-sampling log', async () => {
    expect(present, `${OBD} is missing`).toBe(true);
    const bts = await readObd(OBD, 'bts');
    const random = await readObd(OBD, 'random');
    expect(bts).toHaveLength(10_000);
    expect(bts[0]!.actions).toHaveLength(46);
    const actual = random.reduce((s, d) => s + d.reward, 0) / random.length;
    const report = aw.evaluatePolicy(bts, aw.uniformTarget, 'uniform');
    for (const name of ['ips', 'snips', 'dr'] as const) {
      const e = report.estimates.find((x) => x.estimator === name)!;
      expect(e.ciLow, name).toBeLessThanOrEqual(actual);
      expect(e.ciHigh, name).toBeGreaterThanOrEqual(actual);
      expect(e.ess).toBeLessThan(100); // heavy-tailed weights: the estimators must say so
    }
  });
});
