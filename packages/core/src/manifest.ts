/**
 * The model artifact's manifest: written beside the weights by the trainer, served by `GET /v1/models/latest`,
 * cached on the device. The loader (`loadModel` in @marquee/model) checks the config's values and every file's
 * sha256 after this shape check.
 */
import { z } from 'zod';

/** Version and file names become directory and URL parts: plain, and never `.` or `..`. */
export const ARTIFACT_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;
const artifactName = z.string().regex(ARTIFACT_NAME, 'must be a plain file name (letters, digits, ".", "_", "-")');
const count = z.number().int().nonnegative();

export const ModelConfigSchema = z.object({
  numItems: count,
  maxLen: count,
  dim: count,
  layers: count,
  heads: count,
  ffnMult: count,
  dropout: z.number(),
  temperature: z.number(),
  numEventTypes: count,
  numFractionBuckets: count,
  numGenres: count,
  numYearBuckets: count,
  yearBucketStart: z.number(),
  yearBucketWidth: z.number(),
  /** Absent in artifacts from before the option (format 1): the input and output item tables are one. */
  untiedInput: z.boolean().optional(),
  /** Absent in artifacts from before the option (formats 1 and 2): no recency bias in attention. */
  recencyBias: z.boolean().optional(),
  /** Absent in artifacts from before the option (formats 1 and 2): no per-title score bias. */
  itemBias: z.boolean().optional(),
  /** Absent in artifacts from before the option (formats 1 to 3): one model, not an ensemble. */
  members: count.optional(),
});

export const WeightEntrySchema = z.object({
  name: z.string().min(1),
  shape: z.array(count),
  dtype: z.enum(['float32', 'int32']),
  file: artifactName,
  /** Byte offset in `file`. */
  offset: count,
  bytes: count,
});

export const FileEntrySchema = z.object({
  path: artifactName,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});

export const ManifestItemsSchema = z.object({
  /** External item ids; model item id = index + 1. */
  ids: z.array(z.string()),
  titles: z.array(z.string().nullable()).optional(),
  /** Genre vocabulary, and per item the genre indices. */
  genreNames: z.array(z.string()),
  genres: z.array(z.array(count)).optional(),
  years: z.array(z.number().nullable()).optional(),
});

export const ModelManifestSchema = z.object({
  formatVersion: z.number().int(),
  /** `<ISO time>-<first 12 hex of the weights' sha256>` */
  version: artifactName,
  createdAt: z.string(),
  config: ModelConfigSchema,
  train: z.unknown().optional(),
  items: ManifestItemsSchema,
  metrics: z.unknown().optional(),
  data: z.unknown().optional(),
  weights: z.array(WeightEntrySchema),
  files: z.array(FileEntrySchema).min(1, 'a manifest lists at least one file'),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type WeightEntry = z.infer<typeof WeightEntrySchema>;
export type FileEntry = z.infer<typeof FileEntrySchema>;
export type ManifestItems = z.infer<typeof ManifestItemsSchema>;
