/**
 * Messages between the model trainer and a member worker (Node worker_threads): one thread per ensemble member
 * (model.members > 1), each with its own wasm backend, training that member from start to end. Members share nothing
 * while they train, so on two cores two members take the time of one. The worker gets the indexed dataset and the
 * member's settings, rebuilds the leave-one-out split (deterministic), runs the same `fit` the main thread would, and
 * sends back its epochs as they finish and its weights at the end. Typed arrays travel as they are.
 */
import { z } from 'zod';
import { ModelConfigSchema } from './manifest.ts';

const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const i32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'expected an Int32Array');
const u8 = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
const count = z.number().int().nonnegative();

/** The trainer's indexed dataset (the model package's `Dataset`): model item i+1 is `itemIds[i]`. */
export const TrainingDatasetSchema = z.object({
  name: z.string(),
  itemIds: z.array(z.string()),
  itemMeta: z.array(z.object({ title: z.string().optional(), genres: z.array(z.string()).optional(), year: z.number().optional() }).strict()),
  genres: z.array(z.string()),
  yearBucketStart: z.number(),
  yearBucketWidth: z.number(),
  numYearBuckets: count,
  seqs: z.array(z.object({ user: z.string(), items: i32, events: u8, fracs: u8 }).strict()),
  interactions: count,
}).strict();
export type TrainingDataset = z.infer<typeof TrainingDatasetSchema>;

/**
 * Every training setting, resolved (the model package's `TrainConfig`). Strict: a setting the trainer gains and this
 * schema lacks fails the worker's parse instead of silently falling back to its default there.
 */
export const TrainSettingsSchema = z.object({
  seed: z.number().int(),
  tokensPerBatch: z.number().int().positive(),
  maxSequencesPerBatch: z.number().int().positive(),
  learningRate: z.number().positive(),
  warmupSteps: count,
  decayEpochs: z.number().nonnegative(),
  weightDecay: z.number().nonnegative(),
  inputWeightDecay: z.number().nonnegative(),
  idLearningRateScale: z.number().nonnegative(),
  successorInit: z.number().nonnegative(),
  attentionDropout: z.number().min(0).max(0.9),
  labelSmoothing: z.number().min(0).max(0.5),
  workers: z.number().int().positive(),
  negatives: z.number().int().positive(),
  fullSoftmaxMaxItems: count,
  inBatchNegatives: z.boolean(),
  logQ: z.boolean(),
  itemIdDropout: z.number().min(0).max(1),
  maxEpochs: z.number().int().positive(),
  patience: z.number().int().positive(),
  averageTop: z.number().int().positive(),
  timeBudgetSec: z.number().nonnegative(),
  valUsers: z.number().int().positive(),
  refitEpochs: count,
  refitScratch: z.boolean(),
  includeImpressions: z.boolean(),
}).strict();
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;

/** Start-up: the data, the member's model overrides (one model: members 1) and its training settings (its seed, its budget). */
export const MemberWorkerInitSchema = z.object({
  dataset: TrainingDatasetSchema,
  model: ModelConfigSchema.partial().strict(),
  train: TrainSettingsSchema,
});
export type MemberWorkerInit = z.infer<typeof MemberWorkerInitSchema>;

/** One finished epoch (the model package's `EpochLog`). */
export const MemberEpochSchema = z.object({
  epoch: z.number().int(),
  loss: z.number(),
  valNdcg10: z.number(),
  seconds: z.number().nonnegative(),
  positionsPerSec: z.number().nonnegative(),
  stepSeconds: z.number().nonnegative(),
}).strict();

export const MemberWorkerReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('epoch'), epoch: MemberEpochSchema }),
  /** The trained member: every tensor of the chosen weights, and how training went (the model package's `FitResult`). */
  z.object({
    type: z.literal('done'),
    tensors: z.array(z.object({ name: z.string(), shape: z.array(count), values: z.union([f32, i32]) })),
    epochs: z.array(MemberEpochSchema),
    bestEpoch: z.number().int(),
    averagedEpochs: z.array(z.number().int()),
    bestValNdcg10: z.number(),
    refitEpochs: count,
    trainCut: i32,
    stopReason: z.enum(['early-stopping', 'time-budget', 'max-epochs']),
    seconds: z.number().nonnegative(),
    stepSeconds: z.number().nonnegative(),
    positions: count,
    achievedGflops: z.number().nonnegative(),
    replicaPositionsPerSec: z.array(z.number().nonnegative()),
  }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type MemberWorkerReply = z.infer<typeof MemberWorkerReplySchema>;
