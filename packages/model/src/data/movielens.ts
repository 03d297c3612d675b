/** MovieLens 100K: `u.data` (user \t item \t rating \t unix time) and optional `u.item` (| separated, Latin-1). */
import type { Interaction, ItemMeta, RawData } from './types.ts';

export const MOVIELENS_GENRES = Object.freeze([
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
]);

/** Every rating counts as an interaction (implicit feedback), as in the SASRec paper. */
export function parseMovieLens(uData: string, uItem?: string, name = 'movielens'): RawData {
  const interactions: Interaction[] = [];
  for (const line of uData.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const f = t.split(/\t|::|\s+/);
    if (f.length < 4) throw new Error(`movielens: bad u.data line: ${JSON.stringify(line)}`);
    const ts = Number(f[3]);
    if (!Number.isFinite(ts)) throw new Error(`movielens: bad timestamp in line: ${JSON.stringify(line)}`);
    interactions.push({ user: f[0]!, item: f[1]!, ts });
  }
  return { name, interactions, items: uItem ? parseMovieLensItems(uItem) : undefined };
}

export function parseMovieLensItems(uItem: string): Map<string, ItemMeta> {
  const items = new Map<string, ItemMeta>();
  for (const line of uItem.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    if (f.length < 5 + MOVIELENS_GENRES.length) throw new Error(`movielens: bad u.item line: ${JSON.stringify(line.slice(0, 80))}`);
    const flags = f.slice(f.length - MOVIELENS_GENRES.length);
    const genres = MOVIELENS_GENRES.filter((g, i) => flags[i]!.trim() === '1' && g !== 'unknown');
    const m = /(\d{4})\s*$/.exec(f[2]!.trim()) ?? /\((\d{4})\)\s*$/.exec(f[1]!.trim());
    items.set(f[0]!, { title: f[1]!, genres, year: m ? Number(m[1]) : undefined });
  }
  return items;
}
