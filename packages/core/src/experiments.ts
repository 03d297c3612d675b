/**
 * Experiments, the pure part: the definition document (zod, one schema for the server's file, its routes and the
 * worker's cache) and deterministic assignment. The same function runs in the worker (offline, on the device) and on
 * the server, so a unit gets the same variant everywhere.
 *
 * Bucketing (version 1, never edited in place; a new hash would be a new version):
 *   h      = FNV-1a 32-bit over the UTF-8 bytes of `salt + "." + unitId`
 *   bucket = FNV-1a 32-bit over the decimal digits of h, modulo 10,000
 * The second pass is GrowthBook's "v2" fix: FNV-1a's low bits are poorly mixed for inputs that differ only in the
 * last characters (member ids m0001, m0002, ...), and hashing the decimal of the first hash spreads them.
 */
import { z } from 'zod';
import { fnv1a32 } from './random.ts';

export const BUCKETS = 10_000;
export const BUCKETING_VERSION = 1;

/** The unit's bucket in [0, 10,000) for this salt. */
export function bucketOf(salt: string, unitId: string): number {
  return fnv1a32(String(fnv1a32(`${salt}.${unitId}`))) % BUCKETS;
}

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ids are 1-64 of A-Z a-z 0-9 _ . : -');
const weight3 = z.object({ model: z.number().finite(), popularity: z.number().finite(), trending: z.number().finite() });

/** Page-level diversity: maximal marginal relevance over genres, and a cap on titles of one genre per row. */
export const DiversityPolicySchema = z.object({
  /** 0 = pure relevance, 1 = only novelty. */
  lambda: z.number().min(0).max(1),
  /** How many of the previously placed titles a new one is compared with (about a row). */
  window: z.number().int().min(1).max(100),
  /** At most this many titles sharing a genre in one row (genre rows excepted). */
  maxPerGenrePerRow: z.number().int().min(1).max(100),
});
export type DiversityPolicy = z.infer<typeof DiversityPolicySchema>;

/**
 * What a variant changes. The worker applies all of these: ranking weights, the row and diversity policies, an
 * interleaved Top Picks row, the model version (the model manager serves it when the server has it) and the artwork
 * policy (the artwork chooser's). Unknown keys are kept for host pages (`marquee.variant(id).params`).
 */
export const VariantParamsSchema = z.looseObject({
  rankWeights: weight3.optional(),
  rowPolicy: z
    .object({ rowSize: z.number().int().min(1).max(50), minRowSize: z.number().int().min(1).max(50), becauseRows: z.number().int().min(0).max(10), genreRows: z.number().int().min(0).max(10) })
    .partial()
    .optional(),
  diversity: DiversityPolicySchema.nullable().optional(),
  /** Interleave two rankers (team draft) in Top Picks: the other ranker's blend weights. */
  interleaveWith: weight3.optional(),
  modelVersion: z.string().max(200).optional(),
  artworkPolicy: z.string().max(200).optional(),
});
export type VariantParams = z.infer<typeof VariantParamsSchema>;

export const VariantSchema = z.object({ id, weight: z.number().positive().finite(), params: VariantParamsSchema.default({}) });

export const ExperimentSchema = z
  .object({
    id,
    /** Bucketing salt; defaults to the id. Changing it reshuffles every unit. */
    salt: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    /** The surface it changes, for people reading results: 'ranking', 'page', 'artwork', 'model'. */
    surface: z.string().max(64).optional(),
    /** Share of eligible units in the experiment, 0..1. */
    traffic: z.number().min(0).max(1),
    variants: z.array(VariantSchema).min(1).max(20),
    /** Optional: experiments in one layer never share a unit; each owns [from, to) of the layer's 10,000 buckets. */
    layer: z.object({ id, from: z.number().int().min(0).max(BUCKETS), to: z.number().int().min(0).max(BUCKETS) }).refine((l) => l.from < l.to, 'layer range needs from < to').optional(),
    /** ms since epoch; inactive before start and from stop on. */
    start: z.number().int().nonnegative().optional(),
    stop: z.number().int().nonnegative().optional(),
    /** The variant analysed as the baseline; default the first. */
    control: id.optional(),
  })
  .superRefine((e, ctx) => {
    const ids = e.variants.map((v) => v.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', message: `experiment ${e.id}: variant ids must be unique`, path: ['variants'] });
    if (e.control !== undefined && !ids.includes(e.control)) ctx.addIssue({ code: 'custom', message: `experiment ${e.id}: control ${e.control} is not a variant`, path: ['control'] });
    if (e.start !== undefined && e.stop !== undefined && e.stop <= e.start) ctx.addIssue({ code: 'custom', message: `experiment ${e.id}: stop must be after start`, path: ['stop'] });
  });
export type Experiment = z.infer<typeof ExperimentSchema>;

/** The versioned document the server keeps under DATA_DIR and serves to devices. */
export const ExperimentsDocumentSchema = z
  .object({
    /** Increases by one with every accepted edit (optimistic concurrency for the admin route). */
    version: z.number().int().nonnegative(),
    updatedAt: z.number().int().nonnegative(),
    experiments: z.array(ExperimentSchema).max(500),
  })
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    for (const e of d.experiments) {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', message: `duplicate experiment id ${e.id}`, path: ['experiments'] });
      seen.add(e.id);
    }
    const byLayer = new Map<string, Experiment[]>();
    for (const e of d.experiments) if (e.layer) byLayer.set(e.layer.id, [...(byLayer.get(e.layer.id) ?? []), e]);
    for (const [layer, list] of byLayer) {
      const sorted = [...list].sort((a, b) => a.layer!.from - b.layer!.from);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.layer!.from < sorted[i - 1]!.layer!.to) {
          ctx.addIssue({ code: 'custom', message: `layer ${layer}: ${sorted[i - 1]!.id} and ${sorted[i]!.id} overlap; experiments in one layer must not share buckets`, path: ['experiments'] });
        }
      }
    }
  });
export type ExperimentsDocument = z.infer<typeof ExperimentsDocumentSchema>;

/** The public view a device fetches: only what assignment needs, only experiments that are not over. */
export const ActiveExperimentsSchema = z.object({ version: z.number().int().nonnegative(), experiments: z.array(ExperimentSchema) });
export type ActiveExperiments = z.infer<typeof ActiveExperimentsSchema>;

export interface Assignment {
  experiment: string;
  variant: string;
  params: VariantParams;
  /** The unit's bucket in the experiment's salt (for debugging). */
  bucket: number;
}

export const isActive = (e: Experiment, now: number) => (e.start === undefined || now >= e.start) && (e.stop === undefined || now < e.stop);

/**
 * The variant of a unit, or null when the unit is outside the experiment (not running, another experiment's share
 * of the layer, or beyond the traffic share). Steps, in order:
 * 1. active at `now`;
 * 2. layer: the unit's layer bucket (salt `layer:<id>`) must fall in the experiment's [from, to);
 * 3. traffic and variant: the unit's bucket b in the experiment's salt; the first `traffic` share of the buckets is
 *    split among the variants by weight, in order; b beyond it is out.
 */
export function assignVariant(e: Experiment, unitId: string, now: number): Assignment | null {
  if (!isActive(e, now)) return null;
  if (e.layer) {
    const lb = bucketOf(`layer:${e.layer.id}`, unitId);
    if (lb < e.layer.from || lb >= e.layer.to) return null;
  }
  const b = bucketOf(e.salt ?? e.id, unitId);
  const total = e.variants.reduce((s, v) => s + v.weight, 0);
  const covered = e.traffic * BUCKETS;
  let edge = 0;
  for (const v of e.variants) {
    edge += (v.weight / total) * covered;
    if (b < edge) return { experiment: e.id, variant: v.id, params: v.params, bucket: b };
  }
  return null;
}

/** Every assignment of a unit, one per experiment it is in. */
export function assignAll(experiments: readonly Experiment[], unitId: string, now: number): Assignment[] {
  const out: Assignment[] = [];
  for (const e of experiments) {
    const a = assignVariant(e, unitId, now);
    if (a) out.push(a);
  }
  return out;
}

/** The experiment's baseline variant. */
export const controlOf = (e: Experiment) => e.control ?? e.variants[0]!.id;

/** An admin edit: the new list of experiments and the document version it was made against. */
export const ExperimentsEditSchema = z.object({ baseVersion: z.number().int().nonnegative(), experiments: z.array(z.unknown()) });
