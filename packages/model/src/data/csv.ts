/**
 * Generic CSV: `user,item,timestamp[,event[,fraction]]`. A header row is optional; when present, columns are found
 * by name (user|user_id|userId, item|item_id|itemId|title|titleId, timestamp|ts|time, event|type, fraction).
 * Timestamps may be numbers or ISO dates. Events: impression | play | complete (play_start counts as play).
 */
import type { EventKind, Interaction, RawData } from './types.ts';

const NAMES = {
  user: ['user', 'user_id', 'userid', 'member', 'member_id'],
  item: ['item', 'item_id', 'itemid', 'title', 'title_id', 'titleid'],
  ts: ['timestamp', 'ts', 'time', 'date'],
  event: ['event', 'type', 'event_type'],
  fraction: ['fraction', 'watched_fraction', 'watch_fraction'],
} as const;

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') out.push(cur.trim()), (cur = '');
    else cur += c;
  }
  out.push(cur.trim());
  return out;
}

export function parseEventKind(s: string | undefined): EventKind | undefined {
  if (!s) return undefined;
  const t = s.trim().toLowerCase();
  if (t === 'impression') return 'impression';
  if (t === 'play' || t === 'play_start') return 'play';
  if (t === 'complete' || t === 'completed') return 'complete';
  throw new Error(`csv: unknown event ${JSON.stringify(s)} (expected impression, play or complete)`);
}

function parseTs(s: string, lineNo: number): number {
  const n = Number(s);
  if (s !== '' && Number.isFinite(n)) return n;
  const d = Date.parse(s);
  if (Number.isFinite(d)) return d / 1000;
  throw new Error(`csv: bad timestamp ${JSON.stringify(s)} on line ${lineNo}`);
}

export function parseCsv(text: string, name = 'csv'): RawData {
  const lines = text.split(/\r?\n/);
  let cols = { user: 0, item: 1, ts: 2, event: 3, fraction: 4 } as Record<keyof typeof NAMES, number>;
  let start = 0;
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first >= 0) {
    const head = splitCsvLine(lines[first]!).map((h) => h.toLowerCase());
    const ts = head[2];
    if (ts !== undefined && !Number.isFinite(Number(ts)) && !Number.isFinite(Date.parse(ts))) {
      const find = (k: keyof typeof NAMES) => head.findIndex((h) => (NAMES[k] as readonly string[]).includes(h));
      cols = { user: find('user'), item: find('item'), ts: find('ts'), event: find('event'), fraction: find('fraction') };
      if (cols.user < 0 || cols.item < 0 || cols.ts < 0) throw new Error(`csv: header needs user, item and timestamp columns, got ${head.join(',')}`);
      start = first + 1;
    }
  }
  const interactions: Interaction[] = [];
  for (let i = start; i < lines.length; i++) {
    if (!lines[i]!.trim()) continue;
    const f = splitCsvLine(lines[i]!);
    const user = f[cols.user];
    const item = f[cols.item];
    if (!user || !item || f[cols.ts] === undefined) throw new Error(`csv: line ${i + 1} needs user,item,timestamp: ${JSON.stringify(lines[i])}`);
    const it: Interaction = { user, item, ts: parseTs(f[cols.ts]!, i + 1) };
    const ev = cols.event >= 0 ? parseEventKind(f[cols.event]) : undefined;
    if (ev) it.event = ev;
    const fr = cols.fraction >= 0 && f[cols.fraction] ? Number(f[cols.fraction]) : undefined;
    if (fr !== undefined && Number.isFinite(fr)) it.fraction = Math.min(1, Math.max(0, fr));
    interactions.push(it);
  }
  return { name, interactions };
}
