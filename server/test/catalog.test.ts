import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../src/catalog.ts';

const dirs: string[] = [];
async function dataDir(catalog?: string | object): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'marquee-catalog-'));
  dirs.push(d);
  if (catalog !== undefined) await writeFile(join(d, 'catalog.json'), typeof catalog === 'string' ? catalog : JSON.stringify(catalog));
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const title = (id: string, year = 2001) => ({ id, name: `Title ${id}`, genres: ['drama'], year, runtimeMin: 90, artworks: [{ id: `${id}-a`, themes: ['calm'] }] });

describe('Catalog.load', () => {
  it('serves the deployment catalog when DATA_DIR has one', async () => {
    const c = await Catalog.load(await dataDir({ titles: [title('a', 1999), title('b', 2020)] }));
    expect(c.titles.map((t) => t.id)).toEqual(['a', 'b']);
    expect(c.newest.map((t) => t.id)).toEqual(['b', 'a']);
  });

  it('falls back to the synthetic world only when no catalog.json exists', async () => {
    const c = await Catalog.load(await dataDir());
    expect(c.titles.map((t) => t.id)).toEqual(Catalog.synthetic().titles.map((t) => t.id));
  });

  it('refuses a catalog.json it cannot read instead of serving the synthetic world', async () => {
    const d = await dataDir();
    await mkdir(join(d, 'catalog.json'));
    await expect(Catalog.load(d)).rejects.toThrow(/catalog\.json: cannot read the catalog: .*EISDIR/);
  });

  it.each([
    ['truncated JSON', '{"titles": [', /catalog\.json: not JSON/],
    ['no titles', { titles: [] }, /catalog\.json: not a catalog .*titles: a catalog needs at least one title/],
    ['a title without a year', { titles: [{ ...title('a'), year: undefined }] }, /titles\.0\.year/],
    ['an artwork without themes', { titles: [{ ...title('a'), artworks: [{ id: 'x' }] }] }, /titles\.0\.artworks\.0\.themes/],
    ['one id twice', { titles: [title('a'), title('a')] }, /title id a appears twice/],
  ])('refuses a corrupt catalog.json (%s) with the reason', async (_name, content, reason) => {
    await expect(Catalog.load(await dataDir(content))).rejects.toThrow(reason);
  });
});
