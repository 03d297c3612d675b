/**
 * The titles the service can recommend, with metadata and artwork variants. From `DATA_DIR/catalog.json` when a
 * deployment provides one (`{titles: CatalogTitle[]}`, core's CatalogSchema), else the seeded synthetic world's
 * catalog. Only a missing file means "no catalog provided": one that cannot be read or parsed stops the start,
 * since serving the synthetic world in its place would recommend titles the deployment does not have.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createWorld } from '@marquee/core/synthetic';

import { CatalogSchema, parseContract, type CatalogTitle } from '@marquee/core';

export type { CatalogTitle };

export class Catalog {
  readonly byId: ReadonlyMap<string, CatalogTitle>;
  /** Newest first (year, then catalog order): the "new arrivals". */
  readonly newest: readonly CatalogTitle[];
  readonly byGenre: ReadonlyMap<string, readonly CatalogTitle[]>;

  constructor(readonly titles: readonly CatalogTitle[]) {
    this.byId = new Map(titles.map((t) => [t.id, t]));
    this.newest = [...titles].sort((a, b) => b.year - a.year);
    const byGenre = new Map<string, CatalogTitle[]>();
    for (const t of titles) for (const g of t.genres) byGenre.set(g, [...(byGenre.get(g) ?? []), t]);
    this.byGenre = byGenre;
  }

  static synthetic(opts: { seed?: number; titles?: number } = {}): Catalog {
    const world = createWorld({ seed: opts.seed ?? 1, titles: opts.titles ?? 2000, members: 1 });
    return new Catalog(
      world.titles.map((t) => ({
        id: t.id,
        name: t.name,
        genres: [...t.genres],
        year: t.year,
        runtimeMin: t.runtimeMin,
        artworks: t.artworks.map((a) => ({ id: a.id, themes: [...a.themes] })),
      })),
    );
  }

  static async load(dataDir: string): Promise<Catalog> {
    const path = join(dataDir, 'catalog.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Catalog.synthetic();
      throw new Error(`${path}: cannot read the catalog: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}: not JSON: ${(err as Error).message}`);
    }
    const { titles } = parseContract(CatalogSchema, json, `${path}: not a catalog ({titles: [...]})`);
    const ids = new Set<string>();
    for (const t of titles) {
      if (ids.has(t.id)) throw new Error(`${path}: title id ${t.id} appears twice`);
      ids.add(t.id);
    }
    return new Catalog(titles);
  }
}
