/** The synthetic world (@marquee/core/synthetic) as training data, through the store importer. */
import { createSparseWorld, createWorld, simulateEvents, simulateSparseEvents, type SparsePresetConfig, type WorldConfig } from '@marquee/core/synthetic';
import { fromStoreEvents } from './store.ts';
import type { ItemMeta, RawData } from './types.ts';

/** What `--data` asks of the synthetic format: the default world, or a named preset, with numeric overrides. */
export type SyntheticSpec = ({ preset?: undefined } & Partial<WorldConfig>) | ({ preset: 'sparse' } & Partial<SparsePresetConfig>);

const PRESETS = ['default', 'sparse'] as const;

/**
 * `--data` for the synthetic format: empty, or `key=value` pairs, e.g. `seed=7,members=2000,titles=2000`, or
 * `preset=sparse` (optionally with its own numeric options, e.g. `preset=sparse,members=5000`).
 */
export function parseSyntheticSpec(spec: string | undefined): SyntheticSpec {
  const out: Record<string, number> = {};
  let preset: (typeof PRESETS)[number] = 'default';
  if (!spec || spec === 'synthetic') return {};
  for (const kv of spec.replace(/^synthetic:/, '').split(',')) {
    if (!kv.trim()) continue;
    const [k, v] = kv.split('=');
    if (k?.trim() === 'preset') {
      const p = PRESETS.find((x) => x === v?.trim());
      if (!p) throw new Error(`synthetic: unknown preset ${JSON.stringify(v)} (valid: ${PRESETS.join(', ')})`);
      preset = p;
      continue;
    }
    const n = Number(v);
    if (!k || !Number.isFinite(n)) throw new Error(`synthetic: bad option ${JSON.stringify(kv)} (expected key=number)`);
    out[k.trim()] = n;
  }
  return preset === 'sparse' ? { preset: 'sparse', ...out } : out;
}

export async function syntheticRawData(spec: SyntheticSpec = {}): Promise<RawData> {
  const items = new Map<string, ItemMeta>();
  if (spec.preset === 'sparse') {
    const { preset: _, ...cfg } = spec;
    const world = createSparseWorld(cfg);
    for (const t of world.titles) items.set(t.id, { title: t.name, genres: [...t.genres], year: t.year });
    return fromStoreEvents(simulateSparseEvents(world), { name: `synthetic-sparse-seed${world.config.seed}`, items });
  }
  const { preset: _, ...cfg } = spec;
  const world = createWorld(cfg);
  for (const t of world.titles) items.set(t.id, { title: t.name, genres: [...t.genres], year: t.year });
  const raw = await fromStoreEvents(simulateEvents(world), { name: `synthetic-seed${world.config.seed}`, items });
  return raw;
}
