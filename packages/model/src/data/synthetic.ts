/** The synthetic world (@marquee/core/synthetic) as training data, through the store importer. */
import { createWorld, simulateEvents, type WorldConfig } from '@marquee/core/synthetic';
import { fromStoreEvents } from './store.ts';
import type { ItemMeta, RawData } from './types.ts';

/** `--data` for the synthetic format: empty, or `key=value` pairs, e.g. `seed=7,members=2000,titles=2000`. */
export function parseSyntheticSpec(spec: string | undefined): Partial<WorldConfig> {
  const out: Record<string, number> = {};
  if (!spec || spec === 'synthetic') return out;
  for (const kv of spec.replace(/^synthetic:/, '').split(',')) {
    if (!kv.trim()) continue;
    const [k, v] = kv.split('=');
    const n = Number(v);
    if (!k || !Number.isFinite(n)) throw new Error(`synthetic: bad option ${JSON.stringify(kv)} (expected key=number)`);
    out[k.trim()] = n;
  }
  return out as Partial<WorldConfig>;
}

export async function syntheticRawData(cfg: Partial<WorldConfig> = {}): Promise<RawData> {
  const world = createWorld(cfg);
  const items = new Map<string, ItemMeta>();
  for (const t of world.titles) items.set(t.id, { title: t.name, genres: [...t.genres], year: t.year });
  const raw = await fromStoreEvents(simulateEvents(world), { name: `synthetic-seed${world.config.seed}`, items });
  return raw;
}
