import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMovieLens } from '../src/data/movielens.ts';
import { buildDataset } from '../src/data/dataset.ts';
import { leaveOneOut } from '../src/data/split.ts';
import { itemKnn, mostPop } from '../src/baselines.ts';
import { evaluate } from '../src/eval.ts';

const ML = new URL('../../../../shared/data/ml-100k/', import.meta.url);
const has = existsSync(new URL('u.data', ML));

describe.skipIf(!has)('baselines on MovieLens 100K match the reference numbers (shared/data/README.md)', () => {
  it('MostPop and ItemKNN, full ranking and sampled-100', async () => {
    const d = buildDataset(parseMovieLens(readFileSync(new URL('u.data', ML), 'utf8'), readFileSync(new URL('u.item', ML), 'latin1')));
    const split = leaveOneOut(d);
    expect(split.test).toHaveLength(943);
    const cut = Int32Array.from(d.seqs, (s) => s.items.length);
    for (const c of split.test) cut[c.user] = c.end;
    const pop = await evaluate(d, split.test, mostPop(d, cut));
    const knn = await evaluate(d, split.test, itemKnn(d, cut));
    expect(pop.full.hr10).toBeCloseTo(0.0859, 3);
    expect(pop.full.ndcg10).toBeCloseTo(0.045, 2);
    expect(knn.full.hr10).toBeCloseTo(0.1039, 3);
    expect(knn.full.ndcg10).toBeCloseTo(0.0529, 3);
    // sampled negatives differ from the reference script's draw: allow sampling noise (~2 standard errors)
    expect(Math.abs(pop.sampled100.hr10 - 0.4157)).toBeLessThan(0.035);
    expect(Math.abs(knn.sampled100.hr10 - 0.4857)).toBeLessThan(0.035);
  }, 60_000);
});
