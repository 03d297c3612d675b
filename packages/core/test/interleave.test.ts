import { describe, expect, it } from 'vitest';
import {
  composeDiversePage, composePage, DIVERSITY_DEFAULTS, EventSchema, interleaveRankings, interleavingResults, SCHEMA_VERSION, teamCreditsFromEvents, uuidv7,
  type HistoryEntry, type MarqueeEvent, type PageCandidate, type TitleInfo,
} from '../src/index.ts';

let clock = 1_767_225_600_000;
const ev = (unit: string, body: Record<string, unknown>, id = uuidv7()): MarqueeEvent =>
  EventSchema.parse({ id, ts: clock++, schemaVersion: SCHEMA_VERSION, sessionId: `s-${unit}`, userId: unit, ...body });
const imp = (unit: string, id: string, team: 'A' | 'B', experiment = 'il') =>
  ev(unit, { type: 'impression', titleId: `t-${id}`, row: 'Top Picks for You', position: 0, interleaving: { experiment, variant: 'interleave', team } }, id);
const play = (unit: string, impressionId?: string) => ev(unit, { type: 'play_start', titleId: 'any', impressionId });

/** A log small enough to credit by hand (ids are UUIDv7 so the schema takes them). */
function handLog() {
  const id = () => uuidv7();
  const [i1, i2, i3, i4, i5, i6, i7] = [id(), id(), id(), id(), id(), id(), id()];
  const events = [
    // u1: A, B, A shown; plays from i1 (A), i3 (A), i2 (B): A 2 - B 1, A wins.
    imp('u1', i1, 'A'), imp('u1', i2, 'B'), imp('u1', i3, 'A'),
    play('u1', i1), play('u1', i3.toUpperCase()), play('u1', i2),
    // u2: A, B shown; two plays from i5 (B): B wins. A play naming u1's impression is not u2's: not credited.
    imp('u2', i4, 'A'), imp('u2', i5, 'B'), play('u2', i5), play('u2', i5), play('u2', i1), play('u2'),
    // u3: one B impression, no play: a tie.
    imp('u3', i6, 'B'),
    // Another experiment's interleaved row: not this one's.
    imp('u1', i7, 'B', 'other'), play('u1', i7),
  ];
  return events;
}

describe('interleaving attribution', () => {
  it('credits plays to the team of the impression they name, per unit, on a hand-computed log', () => {
    const credits = teamCreditsFromEvents(handLog(), 'il');
    expect(credits).toEqual([
      { unit: 'u1', variant: 'interleave', impressionsA: 2, impressionsB: 1, playsA: 2, playsB: 1 },
      { unit: 'u2', variant: 'interleave', impressionsA: 1, impressionsB: 1, playsA: 0, playsB: 2 },
      { unit: 'u3', variant: 'interleave', impressionsA: 0, impressionsB: 1, playsA: 0, playsB: 0 },
    ]);
    const [r] = interleavingResults(credits, ['interleave']);
    // One win each and a tie: mean 0, sample variance (1 + 1 - 0) / 2 = 1, se sqrt(1/3).
    expect(r!.wins).toEqual({ A: 1, B: 1, ties: 1 });
    expect(r!.plays).toEqual({ A: 2, B: 3 });
    expect(r!.impressions).toEqual({ A: 3, B: 3 });
    expect(r!.preference.estimate).toBe(0);
    expect(r!.preference.se).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(r!.preference.ci[1]).toBeCloseTo(1.959964 * Math.sqrt(1 / 3), 5);
    expect(interleavingResults(credits, ['control'])).toEqual([]);
  });

  it('an impression carries a team only as A or B, validated with the event', () => {
    const bad = { id: uuidv7(), ts: clock, schemaVersion: SCHEMA_VERSION, sessionId: 's', userId: 'u', type: 'impression', titleId: 't', row: 'r', position: 0 };
    expect(EventSchema.safeParse({ ...bad, interleaving: { experiment: 'il', variant: 'v', team: 'C' } }).success).toBe(false);
    expect(EventSchema.safeParse({ ...bad, interleaving: { experiment: 'il', team: 'A' } }).success).toBe(false);
    expect(EventSchema.safeParse({ ...bad, interleaving: { experiment: 'il', variant: 'v', team: 'B' } }).success).toBe(true);
  });
});

describe('an interleaved Top Picks row in the page', () => {
  const info = (id: string): TitleInfo => ({ name: id, genres: [id.startsWith('c') ? 'crime' : 'comedy'] });
  const ids = ['c1', 'c2', 'c3', 'c4', 'c5', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
  const a: PageCandidate[] = ids.map((titleId, i) => ({ titleId, score: 1 - i / 100, sources: [{ source: 'trending' }] }));
  const b: PageCandidate[] = [...a].reverse();
  const history: HistoryEntry[] = [{ titleId: 'c1', lastTs: 1, fraction: 1, completed: true }];

  it('holds both rankers\u2019 titles, skips watched ones, and the other rows never repeat them', () => {
    const row = interleaveRankings(a, b, new Set(['c1']), 4, 'seed');
    expect(row.titleIds).not.toContain('c1');
    expect(new Set(row.titleIds.slice(0, 2))).toEqual(new Set(['c2', 'k7']));
    expect(row.teams.filter((t) => t === 'A').length).toBe(2);
    for (const rows of [
      composePage(a, history, info, { rowSize: 4, minRowSize: 2 }, row.titleIds),
      composeDiversePage(a, history, info, { rowSize: 4, minRowSize: 2 }, DIVERSITY_DEFAULTS, row.titleIds),
    ]) {
      expect(rows.find((r) => r.kind === 'top')!.titleIds).toEqual(row.titleIds);
      const shown = rows.flatMap((r) => r.titleIds);
      expect(new Set(shown).size).toBe(shown.length);
      expect(rows.find((r) => r.kind === 'trending')!.titleIds.length).toBeGreaterThan(0);
    }
    // Without a given row, Top Picks is A's own order.
    expect(composePage(a, history, info, { rowSize: 4, minRowSize: 2 }).find((r) => r.kind === 'top')!.titleIds).toEqual(['c2', 'c3', 'c4', 'c5']);
  });
});
