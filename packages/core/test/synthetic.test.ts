import { describe, expect, it } from 'vitest';
import {
  GENRES, THEMES, artworkAffinity, createWorld, expectedWatchFraction, playProbability, simulateEvents, titleAffinity, trueTopTitles,
  type SyntheticEvent,
} from '../src/synthetic/index.ts';

const small = { seed: 3, titles: 200, members: 60, sessionsPerMember: 12 };

describe('synthetic world', () => {
  it('is deterministic under a seed and differs across seeds', () => {
    const a = createWorld(small);
    const b = createWorld(small);
    const c = createWorld({ ...small, seed: 4 });
    expect(a.titles).toEqual(b.titles);
    expect([...simulateEvents(a)]).toEqual([...simulateEvents(b)]);
    expect(a.titles).not.toEqual(c.titles);
  });

  it('has a catalog with genres, years, runtimes and 3-6 themed artworks per title', () => {
    const w = createWorld({ seed: 1 });
    expect(w.titles).toHaveLength(2000);
    for (const t of w.titles) {
      expect(t.artworks.length).toBeGreaterThanOrEqual(3);
      expect(t.artworks.length).toBeLessThanOrEqual(6);
      expect(t.genres.length).toBeGreaterThan(0);
      for (const g of t.genres) expect(GENRES).toContain(g);
      for (const a of t.artworks) for (const th of a.themes) expect(THEMES).toContain(th);
      expect(t.year).toBeGreaterThan(1950);
      expect(t.runtimeMin).toBeGreaterThanOrEqual(80);
    }
    expect(new Set(w.titles.map((t) => t.id)).size).toBe(2000);
  });

  it('produces sessions of impressions, plays and watch time, chronological per member', () => {
    const w = createWorld(small);
    const ev = [...simulateEvents(w)];
    const count = (t: SyntheticEvent['type']) => ev.filter((e) => e.type === t).length;
    expect(count('impression')).toBeGreaterThan(1000);
    expect(count('play_start')).toBeGreaterThan(count('impression') * 0.03);
    expect(count('complete') + count('pause')).toBe(count('play_start'));
    const last = new Map<string, number>();
    for (const e of ev) {
      expect(e.ts).toBeGreaterThanOrEqual(last.get(e.userId) ?? 0);
      last.set(e.userId, e.ts);
      if (e.type === 'impression') expect(e.propensity).toBeGreaterThan(0);
    }
  });

  it('exposes ground truth: affinities in range, artwork changes plays but not watch time', () => {
    const w = createWorld(small);
    const m = w.members[0]!.id;
    const t = w.titles[0]!;
    const a = titleAffinity(w, m, t.id);
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThan(1);
    const effects = t.artworks.map((x) => artworkAffinity(w, m, t.id, x.id));
    const probs = t.artworks.map((x) => playProbability(w, m, t.id, x.id));
    // the artwork with the higher effect has the higher play probability
    const iMax = effects.indexOf(Math.max(...effects));
    expect(probs[iMax]).toBe(Math.max(...probs));
    expect(expectedWatchFraction(w, m, t.id)).toBeGreaterThan(0);
    expect(() => titleAffinity(w, 'nobody', t.id)).toThrow(/unknown member/);
  });

  it('genres matter: members who play a genre a lot have that genre at the top of their true ranking', () => {
    const w = createWorld(small);
    const ev = [...simulateEvents(w)];
    let agree = 0;
    let n = 0;
    for (const m of w.members) {
      const plays = ev.filter((e) => e.userId === m.id && e.type === 'play_start');
      if (plays.length < 8) continue;
      const freq = new Map<string, number>();
      for (const p of plays) for (const g of w.titleById.get(p.titleId)!.genres) freq.set(g, (freq.get(g) ?? 0) + 1);
      const fav = [...freq].sort((x, y) => y[1] - x[1])[0]![0];
      const top = trueTopTitles(w, m.id, 20);
      if (top.filter((t) => t.genres.includes(fav as (typeof GENRES)[number])).length >= 10) agree++;
      n++;
    }
    expect(n).toBeGreaterThan(20);
    expect(agree / n).toBeGreaterThan(0.7);
  });
});
