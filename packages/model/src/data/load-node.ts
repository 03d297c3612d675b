/** Node-only: read a dataset from disk in one of the supported formats. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseMovieLens } from './movielens.ts';
import { parseSasrec } from './sasrec.ts';
import { parseCsv } from './csv.ts';
import { fromStoreEvents, parseStoreJsonl } from './store.ts';
import { syntheticRawData, parseSyntheticSpec } from './synthetic.ts';
import type { RawData } from './types.ts';

export const FORMATS = ['movielens', 'sasrec', 'csv', 'store', 'synthetic'] as const;
export type Format = (typeof FORMATS)[number];

export async function loadRawData(format: Format, dataPath: string | undefined): Promise<RawData> {
  const need = () => {
    if (!dataPath) throw new Error(`--data PATH is required for --format ${format}`);
    if (!existsSync(dataPath)) throw new Error(`data not found: ${dataPath}`);
    return dataPath;
  };
  switch (format) {
    case 'movielens': {
      const p = need();
      const dir = statSync(p).isDirectory() ? p : path.dirname(p);
      const dataFile = statSync(p).isDirectory() ? path.join(p, 'u.data') : p;
      const itemFile = path.join(dir, 'u.item');
      const uItem = existsSync(itemFile) ? readFileSync(itemFile, 'latin1') : undefined;
      return parseMovieLens(readFileSync(dataFile, 'utf8'), uItem, path.basename(dir));
    }
    case 'sasrec':
      return parseSasrec(readFileSync(need(), 'utf8'), path.basename(need()));
    case 'csv':
      return parseCsv(readFileSync(need(), 'utf8'), path.basename(need()));
    case 'store':
      return fromStoreEvents(parseStoreJsonl(readFileSync(need(), 'utf8')), { name: path.basename(need()) });
    case 'synthetic':
      return syntheticRawData(parseSyntheticSpec(dataPath));
    default:
      throw new Error(`unknown format ${String(format)}; valid: ${FORMATS.join(', ')}`);
  }
}
