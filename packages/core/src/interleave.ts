/**
 * Team-draft interleaving (Radlinski, Kurup & Joachims, 2008), pure: two rankers' lists merged into one row, each
 * title remembering the team that placed it, so plays can be credited to a ranker. The coin flips come from the
 * FNV-1a hash of a seed (e.g. session id + row), so the same seed gives the same row on every device.
 */
import { fnv1a32 } from './random.ts';

export type Team = 'A' | 'B';

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
