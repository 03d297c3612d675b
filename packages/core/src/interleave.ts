/**
 * Team-draft interleaving (Radlinski, Kurup & Joachims, 2008), pure: two rankers' lists merged into one row, each
 * title remembering the team that placed it, so plays can be credited to a ranker. The coin flips come from the
 * FNV-1a hash of a seed (e.g. session id + row), so the same seed gives the same row on every device.
 */
import { fnv1a32 } from './random.ts';
import type { MarqueeEvent, Team } from './events.ts';
import { interleavingPreference } from './stats.ts';
import type { InterleavingResult } from './experiment-results.ts';

export interface Interleaved {
  titleIds: string[];
  teams: Team[];
}

export function teamDraft(a: readonly string[], b: readonly string[], length: number, seed: string): Interleaved {
  const titleIds: string[] = [];
  const teams: Team[] = [];
  const used = new Set<string>();
  let ia = 0;
  let ib = 0;
  let na = 0;
  let nb = 0;
  const nextOf = (list: readonly string[], i: number) => {
    while (i < list.length && used.has(list[i]!)) i++;
    return i;
  };
  for (let round = 0; titleIds.length < length; round++) {
    ia = nextOf(a, ia);
    ib = nextOf(b, ib);
    const aLeft = ia < a.length;
    const bLeft = ib < b.length;
    if (!aLeft && !bLeft) break;
    // The team with fewer picks goes next; on a tie, a coin decides.
    let team: Team = na < nb || (na === nb && (fnv1a32(`${seed}.${round}`) & 1) === 0) ? 'A' : 'B';
    if (team === 'A' && !aLeft) team = 'B';
    if (team === 'B' && !bLeft) team = 'A';
    const id = team === 'A' ? a[ia]! : b[ib]!;
    used.add(id);
    titleIds.push(id);
    teams.push(team);
    if (team === 'A') na++;
    else nb++;
  }
  return { titleIds, teams };
}

/** Credit for one impression of an interleaved row: the team whose titles got more plays wins; equal is a tie. */
export function creditPlays(row: Interleaved, playedTitleIds: Iterable<string>): Team | 'tie' {
  const teamOf = new Map(row.titleIds.map((id, i) => [id, row.teams[i]!]));
  let a = 0;
  let b = 0;
  for (const id of playedTitleIds) {
    const t = teamOf.get(id);
    if (t === 'A') a++;
    else if (t === 'B') b++;
  }
  return a > b ? 'A' : b > a ? 'B' : 'tie';
}

/**
 * An interleaving experiment's Top Picks row: team draft of two rankings (best first) over the titles the page may
 * propose, i.e. not in `exclude` (what the viewer already has in their history, as composePage leaves out).
 */
export function interleaveRankings(
  a: readonly { titleId: string }[],
  b: readonly { titleId: string }[],
  exclude: ReadonlySet<string>,
  length: number,
  seed: string,
): Interleaved {
  const ids = (r: readonly { titleId: string }[]) => r.filter((c) => !exclude.has(c.titleId)).slice(0, 3 * length).map((c) => c.titleId);
  return teamDraft(ids(a), ids(b), length, seed);
}

/** One unit's interleaved impressions and the plays that came from them (via the play's `impressionId`), per team. */
export interface UnitTeamCredit {
  unit: string;
  variant: string;
  impressionsA: number;
  impressionsB: number;
  playsA: number;
  playsB: number;
}

/**
 * Credits per unit from an event log, the definition the server's SQL follows: an interleaved impression is an
 * impression whose `interleaving.experiment` is this experiment; a play_start whose `impressionId` names one of the
 * same unit's interleaved impressions is credited to that impression's team. The unit is the userId, else the
 * anonymousId; its variant that of its first interleaved impression.
 */
export function teamCreditsFromEvents(events: readonly MarqueeEvent[], experiment: string): UnitTeamCredit[] {
  const unitOf = (e: MarqueeEvent) => (e.userId ?? e.anonymousId)!;
  const impressions = new Map<string, { unit: string; team: Team }>();
  const units = new Map<string, UnitTeamCredit & { first: number }>();
  for (const e of events) {
    if (e.type !== 'impression' || e.interleaving?.experiment !== experiment) continue;
    const unit = unitOf(e);
    impressions.set(e.id, { unit, team: e.interleaving.team });
    let u = units.get(unit);
    if (!u) units.set(unit, (u = { unit, variant: e.interleaving.variant, first: e.ts, impressionsA: 0, impressionsB: 0, playsA: 0, playsB: 0 }));
    else if (e.ts < u.first) Object.assign(u, { variant: e.interleaving.variant, first: e.ts });
    if (e.interleaving.team === 'A') u.impressionsA++;
    else u.impressionsB++;
  }
  for (const e of events) {
    if (e.type !== 'play_start' || !e.impressionId) continue;
    const from = impressions.get(e.impressionId.toLowerCase());
    if (!from || from.unit !== unitOf(e)) continue;
    const u = units.get(from.unit)!;
    if (from.team === 'A') u.playsA++;
    else u.playsB++;
  }
  return [...units.values()].map(({ first: _, ...u }) => u).sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0));
}

/**
 * The preference per variant from units' credits: each unit counts once, +1 when its plays from interleaved rows
 * went more to team A, -1 when more to B, 0 otherwise (no play counts as a tie). The unit, not the impression, is
 * the independent observation: a viewer's plays are correlated.
 */
export function interleavingResults(units: readonly UnitTeamCredit[], variants: readonly string[], alpha = 0.05): InterleavingResult[] {
  return variants.flatMap((variant) => {
    const mine = units.filter((u) => u.variant === variant);
    if (mine.length === 0) return [];
    const sum = (f: (u: UnitTeamCredit) => number) => mine.reduce((n, u) => n + f(u), 0);
    const winsA = mine.filter((u) => u.playsA > u.playsB).length;
    const winsB = mine.filter((u) => u.playsB > u.playsA).length;
    const p = interleavingPreference(winsA, winsB, mine.length - winsA - winsB, alpha);
    return [{
      variant,
      units: mine.length,
      impressions: { A: sum((u) => u.impressionsA), B: sum((u) => u.impressionsB) },
      plays: { A: sum((u) => u.playsA), B: sum((u) => u.playsB) },
      wins: { A: winsA, B: winsB, ties: mine.length - winsA - winsB },
      preference: { estimate: p.estimate, se: p.se, ci: p.ci, pValue: p.pValue },
    }];
  });
}
