/**
 * Typed, frozen configuration. Defaults are chosen by principle, not tuned to one dataset:
 * - architecture: SASRec (2 causal self-attention blocks, d=64, pre-LayerNorm), history up to 200 positions;
 *   batches are cut to the longest sequence in them, so short-history datasets do not pay for L=200.
 * - loss: softmax over cosine scores (L2-normalised user and item vectors) with temperature 0.05, as in HSTU;
 *   Klenitskiy & Vasilev (RecSys 2023) for softmax over BCE. Full-catalog softmax up to 5,000 items (ML-100K, the
 *   synthetic world); above that, sampled softmax over the batch's own targets plus 1,024 shared uniform negatives
 *   with the logQ correction (Yi et al., RecSys 2019). See loss.ts.
 * - training: Adam (lr 2e-3, ~2k positions per step: more, smaller steps per second of a 2-core budget), fixed
 *   seed, early stopping on validation NDCG@10 with patience 10 (validation on ~1k users is noisy: one standard
 *   error of NDCG@10 is ~0.008 on ML-100K), and a wall-clock budget. The returned weights are the greedy average of
 *   the 5 best validation epochs' (train.averageTop; ML-100K test full NDCG@10 0.0988 -> 0.1070, README).
 * - history length: without an explicit maxLen the trainer chooses 50 or 200 before training, by ItemKNN on
 *   validation scoring from the last 50 or 200 titles (train-artifact.ts: chooseMaxLen).
 * - input item table: without an explicit model.untiedInput the trainer unties it where ItemKNN-last beats the
 *   recency-weighted kNN on validation (train-artifact.ts: chooseUntiedInput); the sparse preset does, ML-100K and
 *   the default world do not. An untied model trains with dropout 0.5 unless model.dropout is given
 *   (UNTIED_INPUT_DROPOUT); a tied one with 0.2.
 * - refit (train.refitEpochs, off by default: not a consistent gain): after the weights are chosen on validation,
 *   more passes with the validation targets added, so the most recent title of every evaluated user is trained on;
 *   or (train.refitScratch, off by default) the whole run again from scratch on them.
 * - off by default, measured without a gain beyond the training-seed noise on more than one kind of data (README,
 *   tenth session): a learned recency bias in attention (model.recencyBias), a per-title score bias
 *   (model.itemBias), the item-id tables' own learning rate (train.idLearningRateScale).
 * - ensembles (model.members, 1 by default): two members gained test NDCG@10 over their members' mean of +0.0028 on
 *   the default world (7 seed pairs), +0.0046 on ML-100K (5 pairs) and +0.003 on the sparse preset, at twice the
 *   training time, download and on-device encoding, and met no target (README, eleventh session).
 */

export interface ModelConfig {
  /** Number of item ids; index 0 is padding, items are 1..numItems. */
  readonly numItems: number;
  /** Maximum history length (positions). */
  readonly maxLen: number;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  /** FFN hidden width = ffnMult * dim. */
  readonly ffnMult: number;
  readonly dropout: number;
  /** Cosine-score temperature used in training; serving ranks by the dot product of normalised vectors. */
  readonly temperature: number;
  /** Event types a token can carry: 0 unknown, 1 impression, 2 play, 3 complete. */
  readonly numEventTypes: number;
  /** Watched-fraction buckets: 0 unknown, 1..5 quintiles. */
  readonly numFractionBuckets: number;
  /** Metadata vocabularies (0 when the data has none). */
  readonly numGenres: number;
  /** Year buckets: 0 unknown, then 1..numYearBuckets-1. */
  readonly numYearBuckets: number;
  readonly yearBucketStart: number;
  readonly yearBucketWidth: number;
  /**
   * A second item-id table on the input side only (`item.in`, zeros at start, added to the shared item embedding),
   * so a title's input embedding can point at what follows it (a collection's next title) rather than at itself.
   * Artifacts with it are format 2.
   */
  readonly untiedInput: boolean;
  /**
   * A learned recency bias in every attention head (ALiBi-style, Press et al. 2022, with learned slopes):
   * logit(i, j) -= slope[h] * (i - j), so a head can weight the history by how recent each title is, 0.8^k style,
   * whatever the history's length (positions are counted from the start). The bias depends on the distance alone, so
   * appending a token leaves earlier positions as they were and the incremental encoder stays exact. Slopes start
   * at 0 (the model without it). Artifacts with it are format 3.
   */
  readonly recencyBias: boolean;
  /**
   * A learned score bias per title (`item.bias`, zeros at start): training logits are cos(user, item) / temperature
   * + bias, so popularity need not be carried by the angle of a normalised vector. Serving keeps one dot product:
   * user and item vectors gain one column, [user, 1] . [item, temperature * bias] = cos + temperature * bias.
   * Artifacts with it are format 3.
   */
  readonly itemBias: boolean;
  /**
   * An ensemble of this many models of the same configuration, trained one after another with seeds seed, seed + 1,
   * ...; each splits what is left of the time budget with the members after it. Served as one dot product: every
   * member's user and item vectors scaled by 1/sqrt(members) and placed side by side, so a score is the mean of the
   * members' scores. Artifacts with more than one member are format 4 (weights named `m0.`, `m1.`, ...).
   */
  readonly members: number;
}

export interface TrainConfig {
  readonly seed: number;
  /** Positions (tokens) per batch; batch size in sequences = floor(tokensPerBatch / paddedLength). */
  readonly tokensPerBatch: number;
  readonly maxSequencesPerBatch: number;
  readonly learningRate: number;
  /** Linear learning-rate warm-up over this many optimizer steps (0 = none), constant afterwards. */
  readonly warmupSteps: number;
  /**
   * Cosine learning-rate decay over this many epochs (from the end of warm-up down to a tenth of the rate, constant
   * after), 0 = constant. In epochs, not seconds, so a seeded run is the same on any machine.
   */
  readonly decayEpochs: number;
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter 2019) on weight matrices and embeddings, per unit of learning rate. */
  readonly weightDecay: number;
  /**
   * Decoupled weight decay on the input-only item table (`item.in`, model.untiedInput) alone, added to weightDecay
   * there: it pulls a rarely trained title's input back toward the shared embedding.
   */
  readonly inputWeightDecay: number;
  /** The item-id tables' learning rate (`item.id`, and `item.in` when untied) as a multiple of learningRate. */
  readonly idLearningRateScale: number;
  /**
   * With an input-only item table (model.untiedInput): start each title's `item.in` row at this multiple of the mean
   * starting `item.id` embedding of the titles that followed it in training, 0 = zeros. The untrained model then
   * already points from a title toward its successors, which sparse data shows once or twice.
   */
  readonly successorInit: number;
  /** Dropout on the attention probabilities (training only; serving is unchanged). */
  readonly attentionDropout: number;
  /** Label smoothing (Szegedy et al. 2016): eps of the target's probability spread over the step's candidates; 0 = none. */
  readonly labelSmoothing: number;
  /**
   * Data-parallel gradient replicas: 1 = train on this thread; n > 1 = this thread plus n-1 worker threads, each with
   * its own wasm backend, every batch split between them and the gradients averaged (Node, wasm backend only).
   */
  readonly workers: number;
  /** Shared uniform negatives per batch (sampled softmax only). */
  readonly negatives: number;
  /** Full-catalog softmax when the catalog has at most this many items; sampled softmax above (0 = always sampled). */
  readonly fullSoftmaxMaxItems: number;
  /** Sampled softmax: add the batch's own targets as negatives (popularity-distributed, in-batch). */
  readonly inBatchNegatives: boolean;
  /** Sampled softmax: subtract log q(item) from every logit (Yi et al. 2019). */
  readonly logQ: boolean;
  /** Probability of dropping an item's id embedding for a step so metadata learns to stand alone (cold start). */
  readonly itemIdDropout: number;
  readonly maxEpochs: number;
  /** Stop after this many validations without a better validation NDCG@10. */
  readonly patience: number;
  /**
   * Weight averaging at the end of training: the snapshots of the this-many best validation epochs are candidates,
   * and each (best first) joins the uniform average only if the average's validation NDCG@10 does not drop ("greedy
   * soup", Wortsman et al. 2022). 1 = keep the best epoch's weights alone.
   */
  readonly averageTop: number;
  /**
   * Wall-clock budget for training, seconds; 0 = auto: proportional to the data, 450 s per 100k interactions,
   * clamped to [540, 1500] s (ML-100K: train + eval under 10 minutes; 300k interactions: 22.5 minutes). The floor
   * is for the default ensemble on 2 cores: its members train in two rounds, and on ML-100K the second round's
   * slowest member needs 27 epochs to stop early, about 240 s at 12k positions/s but 330 s at the 9k this machine
   * gives on a busier day; 540 s lets it finish there too, and a first round that stops early leaves its time to
   * the second.
   */
  readonly timeBudgetSec: number;
  /** Validation users sampled for early stopping (full ranking). */
  readonly valUsers: number;
  /**
   * After training: this many more passes over the training windows with each evaluated user's validation target
   * added (the baselines are then fit on the same interactions), starting from the chosen weights, their time kept
   * out of the end of the budget. 0 = none (default: one pass from averaged weights at the full learning rate gained
   * +0.0037 and +0.0018 test NDCG@10 in two runs and lost 0.0104 in a third, README sixth session).
   */
  readonly refitEpochs: number;
  /**
   * After training: the same run again from the initial weights and seeds, on the training windows with each
   * evaluated user's validation target added, for as many epochs as the chosen average's latest, averaging the same
   * epochs (the baselines are then fit on the same interactions). Its time counts in the budget; cut short by it,
   * the chosen weights stay. Exclusive with refitEpochs.
   */
  readonly refitScratch: boolean;
  /** Keep impressions as input tokens (they are never targets). */
  readonly includeImpressions: boolean;
}

export const MODEL_DEFAULTS: Readonly<Omit<ModelConfig, 'numItems' | 'numGenres' | 'numYearBuckets' | 'yearBucketStart' | 'yearBucketWidth'>> = Object.freeze({
  maxLen: 200,
  dim: 64,
  layers: 2,
  heads: 2,
  ffnMult: 2,
  dropout: 0.2,
  temperature: 0.05,
  numEventTypes: 4,
  numFractionBuckets: 6,
  untiedInput: false,
  recencyBias: false,
  itemBias: false,
  members: 1,
});

/**
 * The dropout of a model with an input-only item table when model.dropout is not given. The second table doubles
 * the id weights a rare title trains, and more dropout kept the sparse preset's validation rising for longer: paired
 * over two training seeds on the full preset, 0.5 against 0.2 gained +0.006 / +0.004 validation and +0.005 / +0.004
 * test NDCG@10 (README, eighth session). Tied models (ML-100K, the default world, the bootstrap) keep 0.2.
 */
export const UNTIED_INPUT_DROPOUT = 0.5;

export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  seed: 42,
  tokensPerBatch: 2048,
  maxSequencesPerBatch: 256,
  learningRate: 2e-3,
  warmupSteps: 0,
  decayEpochs: 0,
  weightDecay: 0,
  inputWeightDecay: 0,
  idLearningRateScale: 1,
  successorInit: 2,
  attentionDropout: 0,
  labelSmoothing: 0,
  workers: 1,
  negatives: 1024,
  fullSoftmaxMaxItems: 5000,
  inBatchNegatives: true,
  logQ: true,
  itemIdDropout: 0.1,
  maxEpochs: 200,
  patience: 10,
  averageTop: 5,
  timeBudgetSec: 0,
  valUsers: 2000,
  refitEpochs: 0,
  refitScratch: false,
  includeImpressions: false,
});

export type ModelOverrides = Partial<Omit<ModelConfig, 'numItems' | 'numGenres' | 'numYearBuckets' | 'yearBucketStart' | 'yearBucketWidth' | 'untiedInput' | 'recencyBias' | 'itemBias'>> & {
  /** CLI overrides arrive as numbers (--model.untiedInput 1). */
  untiedInput?: boolean | number;
  recencyBias?: boolean | number;
  itemBias?: boolean | number;
};

const positiveInt = (name: string, v: number) => {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`config.${name} must be a positive integer, got ${v}`);
};
const inRange = (name: string, v: number, lo: number, hi: number) => {
  if (!(typeof v === 'number' && v >= lo && v <= hi)) throw new Error(`config.${name} must be in [${lo}, ${hi}], got ${v}`);
};

export function validateModelConfig(c: Omit<ModelConfig, 'untiedInput' | 'recencyBias' | 'itemBias' | 'members'> & { untiedInput?: boolean; recencyBias?: boolean; itemBias?: boolean; members?: number }): Readonly<ModelConfig> {
  for (const k of ['numItems', 'maxLen', 'dim', 'layers', 'heads', 'ffnMult', 'numEventTypes', 'numFractionBuckets'] as const) positiveInt(k, c[k]);
  const members = c.members ?? 1;
  positiveInt('members', members);
  if (members > MAX_MEMBERS) throw new Error(`config.members must be at most ${MAX_MEMBERS} (each member is another model to train and run on the device), got ${members}`);
  if (c.dim % c.heads !== 0) throw new Error(`config.dim (${c.dim}) must be divisible by config.heads (${c.heads})`);
  inRange('dropout', c.dropout, 0, 0.9);
  inRange('temperature', c.temperature, 1e-3, 10);
  if (!Number.isInteger(c.numGenres) || c.numGenres < 0) throw new Error(`config.numGenres must be >= 0`);
  if (!Number.isInteger(c.numYearBuckets) || c.numYearBuckets < 0) throw new Error(`config.numYearBuckets must be >= 0`);
  return Object.freeze({ ...c, untiedInput: c.untiedInput ?? false, recencyBias: c.recencyBias ?? false, itemBias: c.itemBias ?? false, members });
}

/** The largest ensemble a config may ask for. */
export const MAX_MEMBERS = 8;

export function makeModelConfig(
  data: Pick<ModelConfig, 'numItems' | 'numGenres' | 'numYearBuckets' | 'yearBucketStart' | 'yearBucketWidth'>,
  overrides: ModelOverrides = {},
): Readonly<ModelConfig> {
  const unknown = Object.keys(overrides).filter((k) => !(k in MODEL_DEFAULTS));
  if (unknown.length) throw new Error(`unknown model option(s): ${unknown.join(', ')}; valid: ${Object.keys(MODEL_DEFAULTS).join(', ')}`);
  const untiedInput = Boolean(overrides.untiedInput ?? MODEL_DEFAULTS.untiedInput);
  const recencyBias = Boolean(overrides.recencyBias ?? MODEL_DEFAULTS.recencyBias);
  const itemBias = Boolean(overrides.itemBias ?? MODEL_DEFAULTS.itemBias);
  const o = { ...MODEL_DEFAULTS, dropout: untiedInput ? UNTIED_INPUT_DROPOUT : MODEL_DEFAULTS.dropout, ...overrides };
  return validateModelConfig({ ...o, untiedInput, recencyBias, itemBias, ...data });
}

export function makeTrainConfig(overrides: Partial<TrainConfig> = {}): Readonly<TrainConfig> {
  const unknown = Object.keys(overrides).filter((k) => !(k in TRAIN_DEFAULTS));
  if (unknown.length) throw new Error(`unknown train option(s): ${unknown.join(', ')}; valid: ${Object.keys(TRAIN_DEFAULTS).join(', ')}`);
  const c = { ...TRAIN_DEFAULTS, ...overrides };
  // CLI overrides arrive as numbers (--train.logQ 0): flags are truthiness.
  for (const k of ['inBatchNegatives', 'logQ', 'includeImpressions', 'refitScratch'] as const) c[k] = Boolean(c[k]);
  if (!Number.isInteger(c.fullSoftmaxMaxItems) || c.fullSoftmaxMaxItems < 0) throw new Error(`config.fullSoftmaxMaxItems must be an integer >= 0, got ${c.fullSoftmaxMaxItems}`);
  for (const k of ['tokensPerBatch', 'maxSequencesPerBatch', 'negatives', 'maxEpochs', 'patience', 'averageTop', 'valUsers', 'workers'] as const) positiveInt(k, c[k]);
  for (const k of ['warmupSteps', 'decayEpochs', 'refitEpochs'] as const) if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`config.${k} must be an integer >= 0, got ${c[k]}`);
  if (c.refitScratch && c.refitEpochs > 0) throw new Error('config.refitScratch and config.refitEpochs are two kinds of refit: set one');
  inRange('weightDecay', c.weightDecay, 0, 10);
  inRange('inputWeightDecay', c.inputWeightDecay, 0, 10);
  inRange('idLearningRateScale', c.idLearningRateScale, 1e-3, 100);
  inRange('successorInit', c.successorInit, 0, 100);
  inRange('attentionDropout', c.attentionDropout, 0, 0.9);
  inRange('labelSmoothing', c.labelSmoothing, 0, 0.5);
  inRange('learningRate', c.learningRate, 1e-6, 1);
  inRange('itemIdDropout', c.itemIdDropout, 0, 1);
  inRange('timeBudgetSec', c.timeBudgetSec, 0, 7 * 24 * 3600);
  if (!Number.isInteger(c.seed)) throw new Error('config.seed must be an integer');
  return Object.freeze(c);
}

/** Resolve the auto time budget (timeBudgetSec = 0) for a dataset size. */
export function resolveTimeBudget(t: TrainConfig, interactions: number): number {
  return t.timeBudgetSec > 0 ? t.timeBudgetSec : Math.min(1500, Math.max(540, (450 * interactions) / 100_000));
}
