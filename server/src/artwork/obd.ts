/**
 * Importer for the Open Bandit Dataset's CSV layout (Saito et al., NeurIPS 2021 Datasets track): one row per
 * impression with `item_id` (0..n-1), `position` (1..3), `click`, `propensity_score` (the logging policy's probability
 * of that item at that position), hashed user features and user-item affinities; `*_item_context.csv` lists the items.
 *
 * Each row becomes a decision over all items (action features: the item's one-hot, so the direct model learns a rate
 * per item), at its position (0-based), with the click as reward. User features are not used: the targets here do
 * not read them, and the direct model does not need them to be unbiased inside DR.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artwork as aw } from '@marquee/core';

/** Splits a CSV line without quoted fields (the OBD files have none). */
function header(line: string): Map<string, number> {
  return new Map(line.split(',').map((c, i) => [c.trim(), i]));
}

export async function readObd(dir: string, log: 'random' | 'bts'): Promise<aw.LoggedDecision[]> {
  const path = join(dir, `${log}.csv`);
  const itemsText = await readFile(join(dir, `${log}_item_context.csv`), 'utf8').catch(() => null);
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  const h = header(lines[0]!);
  for (const col of ['item_id', 'position', 'click', 'propensity_score']) if (!h.has(col)) throw new Error(`${path}: no ${col} column (is this an Open Bandit Dataset log?)`);
  const itemCol = h.get('item_id')!;
  const posCol = h.get('position')!;
  const clickCol = h.get('click')!;
  const propCol = h.get('propensity_score')!;
  let nItems = itemsText ? itemsText.split('\n').filter((l) => l.trim()).length - 1 : 0;
  const rows = lines.slice(1).map((l, i) => {
    const c = l.split(',');
    const item = Number(c[itemCol]);
    const position = Number(c[posCol]);
    const click = Number(c[clickCol]);
    const propensity = Number(c[propCol]);
    if (!Number.isInteger(item) || item < 0 || !Number.isInteger(position) || position < 1 || !(click === 0 || click === 1) || !(propensity > 0 && propensity <= 1)) {
      throw new Error(`${path}: line ${i + 2}: bad item_id, position, click or propensity_score`);
    }
    nItems = Math.max(nItems, item + 1);
    return { item, position, click, propensity };
  });
  const actions = Array.from({ length: nItems }, (_, k) => ({ id: `item-${k}`, features: Array.from({ length: nItems }, (_, j) => (j === k ? 1 : 0)) }));
  return rows.map((r) => aw.LoggedDecisionSchema.parse({ context: [], actions, action: r.item, position: r.position - 1, reward: r.click, propensity: r.propensity }));
}
