/** Raw interactions -> indexed, chronological per-user sequences. Deterministic: ties keep input order. */
import { EVENT_INDEX, fractionBucket, type Dataset, type RawData, type UserSeq } from './types.ts';

export interface BuildOptions {
  /** Keep impression tokens as inputs (never targets). Default false. */
  includeImpressions?: boolean;
}

export function buildDataset(raw: RawData, opts: BuildOptions = {}): Dataset {
  const itemIndex = new Map<string, number>();
  const itemIds: string[] = [];
  const addItem = (id: string) => {
    let i = itemIndex.get(id);
    if (i === undefined) {
      i = itemIds.length + 1;
      itemIndex.set(id, i);
      itemIds.push(id);
    }
    return i;
  };
  const byUser = new Map<string, number[]>();
  const ints = raw.interactions;
  for (let k = 0; k < ints.length; k++) {
    const it = ints[k]!;
    if (it.event === 'impression' && !opts.includeImpressions) continue;
    let list = byUser.get(it.user);
    if (!list) byUser.set(it.user, (list = []));
    list.push(k);
  }
  // Vocabulary: items in order of first appearance, then metadata-only (cold) items.
  for (const list of byUser.values()) for (const k of list) addItem(ints[k]!.item);
  if (raw.items) for (const id of raw.items.keys()) addItem(id);

  const seqs: UserSeq[] = [];
  let total = 0;
  for (const [user, list] of byUser) {
    list.sort((a, b) => ints[a]!.ts - ints[b]!.ts || a - b);
    const n = list.length;
    const s: UserSeq = { user, items: new Int32Array(n), events: new Uint8Array(n), fracs: new Uint8Array(n) };
    list.forEach((k, j) => {
      const it = ints[k]!;
      s.items[j] = itemIndex.get(it.item)!;
      s.events[j] = it.event ? EVENT_INDEX[it.event] : EVENT_INDEX.unknown;
      s.fracs[j] = fractionBucket(it.fraction);
    });
    total += n;
    seqs.push(s);
  }

  const itemMeta = itemIds.map((id) => raw.items?.get(id) ?? {});
  const genreSet = new Set<string>();
  let minYear = Infinity;
  let maxYear = -Infinity;
  for (const m of itemMeta) {
    for (const g of m.genres ?? []) genreSet.add(g);
    if (m.year !== undefined && Number.isFinite(m.year)) {
      minYear = Math.min(minYear, m.year);
      maxYear = Math.max(maxYear, m.year);
    }
  }
  const width = 5;
  const start = Number.isFinite(minYear) ? Math.floor(minYear / width) * width : 0;
  const numYearBuckets = Number.isFinite(minYear) ? 2 + Math.floor((maxYear - start) / width) : 0;
  return {
    name: raw.name,
    itemIds,
    itemMeta,
    genres: [...genreSet].sort(),
    yearBucketStart: start,
    yearBucketWidth: width,
    numYearBuckets,
    seqs,
    interactions: total,
  };
}

export interface DataSummary {
  name: string;
  users: number;
  items: number;
  interactions: number;
  coldItems: number;
  genres: number;
  meanSeqLen: number;
  medianSeqLen: number;
  maxSeqLen: number;
}

export function summarize(d: Dataset): DataSummary {
  const lens = d.seqs.map((s) => s.items.length).sort((a, b) => a - b);
  const seen = new Set<number>();
  for (const s of d.seqs) for (const i of s.items) seen.add(i);
  return {
    name: d.name,
    users: d.seqs.length,
    items: d.itemIds.length,
    interactions: d.interactions,
    coldItems: d.itemIds.length - seen.size,
    genres: d.genres.length,
    meanSeqLen: lens.length ? d.interactions / lens.length : 0,
    medianSeqLen: lens.length ? lens[lens.length >> 1]! : 0,
    maxSeqLen: lens.length ? lens[lens.length - 1]! : 0,
  };
}
