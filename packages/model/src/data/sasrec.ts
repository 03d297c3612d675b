/** SASRec text format: one `user item` pair per line, chronological within each user. */
import type { Interaction, RawData } from './types.ts';

export function parseSasrec(text: string, name = 'sasrec'): RawData {
  const interactions: Interaction[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const f = t.split(/\s+/);
    if (f.length < 2) throw new Error(`sasrec: expected "user item" on line ${n + 1}: ${JSON.stringify(line)}`);
    interactions.push({ user: f[0]!, item: f[1]!, ts: n++ });
  }
  return { name, interactions };
}
