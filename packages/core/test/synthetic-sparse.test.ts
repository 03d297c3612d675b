import { describe, expect, it } from 'vitest';
import { createSparseWorld, createWorld, simulateEvents, simulateSparseEvents, type SyntheticEvent } from '../src/synthetic/index.ts';

const plays = (evs: Iterable<SyntheticEvent>) => [...evs].filter((e) => e.type === 'play_start');

describe('synthetic sparse preset', () => {
  const world = createSparseWorld({ members: 2000, titles: 3000 });
  const events = [...simulateSparseEvents(world)];

  it('is deterministic per seed and differs across seeds', () => {
    expect([...simulateSparseEvents(createSparseWorld({ members: 2000, titles: 3000 }))]).toEqual(events);
    expect(plays(simulateSparseEvents(createSparseWorld({ members: 50, titles: 3000, seed: 2 })))).not.toEqual(plays(events).slice(0, 50));
  });

  it('is sparse and long-tailed: median ~6 plays per member, never a title twice, the top 1% of titles take a large share', () => {
    const byMember = new Map<string, string[]>();
    for (const e of plays(events)) byMember.set(e.userId, [...(byMember.get(e.userId) ?? []), e.titleId]);
    expect(byMember.size).toBe(2000);
    const lens = [...byMember.values()].map((l) => l.length).sort((a, b) => a - b);
    expect(lens[0]).toBeGreaterThanOrEqual(3);
    expect(lens[lens.length >> 1]).toBeGreaterThanOrEqual(5);
    expect(lens[lens.length >> 1]).toBeLessThanOrEqual(7);
    for (const l of byMember.values()) expect(new Set(l).size).toBe(l.length);
    const count = new Map<string, number>();
    for (const e of plays(events)) count.set(e.titleId, (count.get(e.titleId) ?? 0) + 1);
    const sorted = [...count.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, 30).reduce((a, b) => a + b, 0);
    expect(top / plays(events).length).toBeGreaterThan(0.1);
  });

  it('has sequential structure: the next title of a collection often follows its predecessor', () => {
    const next = new Map<string, string>();
    world.titles.forEach((t, i) => {
      const n = world.titles[i + 1];
      if (n && world._truth.next[i] === i + 1) next.set(t.id, n.id);
    });
    let follows = 0;
    let opportunities = 0;
    const ps = plays(events);
    for (let i = 1; i < ps.length; i++) {
      if (ps[i]!.userId !== ps[i - 1]!.userId || !next.has(ps[i - 1]!.titleId)) continue;
      opportunities++;
      if (next.get(ps[i - 1]!.titleId) === ps[i]!.titleId) follows++;
    }
    expect(follows / opportunities).toBeGreaterThan(0.25);
  });

  it('leaves the default world untouched (fingerprint of its events taken before the preset existed)', () => {
    const s = JSON.stringify([...simulateEvents(createWorld({ members: 20 }))]);
    let h = 0x811c9dc5; // FNV-1a 32
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    expect([(h >>> 0).toString(16), s.length]).toEqual(['f7f0f3ac', 1794841]);
  });
});
