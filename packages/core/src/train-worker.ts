/**
 * Messages between the model trainer's main thread and its data-parallel gradient workers (Node worker_threads,
 * one wasm backend each). Every replica holds the same dense weights and optimizer state: a worker computes the
 * gradient of its share of a batch, the main thread averages the shares (weighted by positions) and sends the
 * average back, and every replica applies it. The item-id table stays on the main thread (lazy Adam): each request
 * carries the rows the batch touches and gets back their gradient, so a step exchanges R rows, not the catalog.
 * Typed arrays travel as they are (structured clone / transfer).
 */
import { z } from 'zod';

// z.custom keeps the arrays' buffer type open (ArrayBufferLike): gradients read from tfjs come typed that way.
const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const i32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'expected an Int32Array');

/** One share of a training batch: left-aligned tokens [B*T] and the flat positions with a target. */
export const TrainBatchShareSchema = z.object({
  B: z.number().int().positive(),
  T: z.number().int().positive(),
  items: i32,
  events: i32,
  fracs: i32,
  positions: i32,
  targets: i32,
  candidates: z.object({ ids: i32, logQ: f32.optional() }).optional(),
  targetLogQ: f32.optional(),
});
export type TrainBatchShare = z.infer<typeof TrainBatchShareSchema>;

const count = z.number().int().nonnegative();

/**
 * Start-up: the model config (validated again by the model package), the optimizer settings, every initial tensor
 * but the item tables the main thread keeps (`item.id`, and `item.in` in an untied model).
 */
export const TrainWorkerInitSchema = z.object({
  model: z.object({
    numItems: count, maxLen: count, dim: count, layers: count, heads: count, ffnMult: count, dropout: z.number(),
    temperature: z.number(), numEventTypes: count, numFractionBuckets: count, numGenres: count, numYearBuckets: count,
    yearBucketStart: z.number(), yearBucketWidth: z.number(), untiedInput: z.boolean(), recencyBias: z.boolean(), itemBias: z.boolean(),
  }),
  optimizer: z.object({ learningRate: z.number().positive(), warmupSteps: count, decaySteps: count, weightDecay: z.number().nonnegative() }),
  attentionDropout: z.number().min(0).max(0.9),
  labelSmoothing: z.number().min(0).max(0.5),
  /** Tensors in paramSpecs order, weights and per-item metadata alike. */
  tensors: z.array(z.object({ name: z.string(), values: z.union([f32, i32]) })),
});
export type TrainWorkerInit = z.infer<typeof TrainWorkerInitSchema>;

export const TrainWorkerRequestSchema = z.discriminatedUnion('type', [
  /**
   * Compute the gradient of `batch`'s mean loss. `batch` is renumbered into `rows` (the item ids the whole batch
   * touches; null = every item, in order), `id` [R x dim] holds those rows' id embeddings, `inId` [R x dim] their
   * input-only embeddings (untied models) and `idKeep` [R] the step's input item-id dropout mask over them.
   */
  z.object({ type: z.literal('grads'), batch: TrainBatchShareSchema, rows: i32.nullable(), id: f32, inId: f32.optional(), idKeep: f32.optional(), dropoutSeed: z.number().int() }),
  /** Apply the averaged gradient (one array per trained weight but the main thread's item tables, in paramSpecs order) with the replica's optimizer. */
  z.object({ type: z.literal('apply'), grads: z.array(f32) }),
]);
export type TrainWorkerRequest = z.infer<typeof TrainWorkerRequestSchema>;

export const TrainWorkerReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /**
   * `grads`: one per trained weight but the main thread's item tables; `idGrad` and `inGrad` [R x dim]: the
   * gradients of the request's `id` and `inId` rows. `ms`: time the worker spent computing them (its own
   * throughput, apart from waiting).
   */
  z.object({ type: z.literal('grads'), loss: z.number(), grads: z.array(f32), idGrad: f32, inGrad: f32.optional(), ms: z.number().nonnegative() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type TrainWorkerReply = z.infer<typeof TrainWorkerReplySchema>;
