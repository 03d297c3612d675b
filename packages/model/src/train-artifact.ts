/**
 * The one training chain from raw interactions to a publishable artifact: backend, dataset, leave-one-out split,
 * fit, then the artifact files. `npm run train` / `npm run eval` (runPipeline) and the server's bootstrap both call
 * it, so a change to how a model is trained or written reaches both.
 */
import { makeTrainConfig, MODEL_DEFAULTS, resolveTimeBudget, type ModelConfig, type ModelOverrides, type TrainConfig } from './config.ts';
import type { Params } from './model.ts';
import { buildDataset, summarize, type DataSummary } from './data/dataset.ts';
import { leaveOneOut, type Split } from './data/split.ts';
import type { Dataset, RawData } from './data/types.ts';
import { fit, type FitResult } from './train.ts';
import { fitItemKnn } from './baselines.ts';
import { evaluate } from './eval.ts';
import { Rng, subSeed } from './rng.ts';
import { initNodeBackend, type NodeBackendName } from './backend-node.ts';
import { saveModelDir } from './artifact-node.ts';
import { progressReporter } from './progress.ts';
import type { Manifest } from './artifact.ts';

export interface TrainArtifactOptions {
  backend?: NodeBackendName;
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  /** Show the trainer's progress bar and epoch lines on stderr (default true). */
  progress?: boolean;
  /** Called once the data is indexed and split, before training starts (callers log what is about to be trained). */
  onData?: (summary: DataSummary, split: Split, backend: string) => void | Promise<void>;
  /** Called with the chosen weights before a refit (train.refitEpochs) changes them; see FitOptions.onBeforeRefit. */
  onBeforeRefit?: (d: Dataset, split: Split, params: Params, config: Readonly<ModelConfig>) => Promise<void>;
}

export interface TrainedArtifact {
  dataset: Dataset;
  split: Split;
  summary: DataSummary;
  /** The backend the model trained on. */
  backend: string;
  fit: FitResult;
  /** One entry per history length compared (chooseMaxLen), empty where none was searched. */
  maxLenSearch: MaxLenTrial[];
  /** Seconds the history-length choice took (counted in the training budget). */
  searchSeconds: number;
  /** Writes the artifact (config, weights, vocabulary, training config, data summary, these metrics) into `dir`. */
  save(dir: string, metrics: Record<string, unknown>): Promise<Manifest>;
  /** Frees the trained weights' tensors. */
  dispose(): void;
}

/** The vocabulary block of a manifest: ids and, where the data has them, titles, genres and years. */
export function itemsForManifest(d: Dataset): Manifest['items'] {
  const gi = new Map(d.genres.map((g, i) => [g, i]));
  const hasTitles = d.itemMeta.some((m) => m.title);
  const hasGenres = d.genres.length > 0;
  const hasYears = d.itemMeta.some((m) => m.year !== undefined);
  return {
    ids: d.itemIds,
    titles: hasTitles ? d.itemMeta.map((m) => m.title ?? null) : undefined,
    genreNames: d.genres,
    genres: hasGenres ? d.itemMeta.map((m) => (m.genres ?? []).flatMap((g) => gi.get(g) ?? [])) : undefined,
    years: hasYears ? d.itemMeta.map((m) => m.year ?? null) : undefined,
  };
}

/** One history length the choice compared: the windowed ItemKNN's validation NDCG@10 that stood for it. */
export interface MaxLenTrial {
  maxLen: number;
  knnValNdcg10: number;
}

/**
 * Whether to search the history length at all (`model.maxLen` absent): only where at least a quarter of the users'
 * training histories are longer than the shorter length; otherwise both lengths see nearly the same windows.
 */
export function maxLenCandidates(trainEnd: Int32Array, model?: ModelOverrides): number[] {
  if (model?.maxLen !== undefined) return [model.maxLen];
  const [short, long] = MAX_LEN_SEARCH;
  const longer = trainEnd.reduce((n, e) => n + (e > short ? 1 : 0), 0);
  return longer >= 0.25 * trainEnd.length ? [short, long] : [long];
}

/** Shorter and longer history length of the search; the longer is also the default where no search runs. */
export const MAX_LEN_SEARCH = [50, MODEL_DEFAULTS.maxLen] as const;

/**
 * The history length to train, chosen before training so that it gets the whole budget. How far back taste reaches
 * differs by data (ML-100K: maxLen 50 beats 200 by two standard errors on validation; the synthetic default world:
 * the reverse) and the history-length distribution does not tell (ML-100K's histories are the longer ones), so the
 * data answers through a model that costs seconds: ItemKNN fit on the training interactions, scoring each
 * validation target from only the last `maxLen` consumed titles of the history, full-ranking NDCG@10 on (a sample
 * of) the validation users; the longest candidate whose score is within `tolerance` (relative) of the best is kept,
 * since a longer window loses little where it does not help and the model can learn to discount old titles.
 */
export async function chooseMaxLen(d: Dataset, split: Split, candidates: number[], valUsers: number, seed: number, tolerance = MAX_LEN_TOLERANCE): Promise<{ maxLen: number; trials: MaxLenTrial[] }> {
  const [only] = candidates;
  if (candidates.length === 1 && only !== undefined) return { maxLen: only, trials: [] };
  const cases = split.val.length > valUsers ? new Rng(subSeed(seed, 'val')).shuffle(split.val.slice()).slice(0, valUsers) : split.val;
  const trials: MaxLenTrial[] = [];
  const knn = fitItemKnn(d, split.trainEnd);
  for (const maxLen of candidates) {
    const m = await evaluate(d, cases, knn({ window: maxLen }), { fullOnly: true });
    trials.push({ maxLen, knnValNdcg10: m.full.ndcg10 });
  }
  return { maxLen: keptMaxLen(trials, tolerance), trials };
}

/** The longest length whose windowed ItemKNN validation NDCG@10 is within `tolerance` (relative) of the best. */
export function keptMaxLen(trials: MaxLenTrial[], tolerance: number): number {
  const best = Math.max(...trials.map((t) => t.knnValNdcg10));
  const within = trials.filter((t) => t.knnValNdcg10 >= best * (1 - tolerance));
  if (!within.length) throw new Error('keptMaxLen: no trial');
  return Math.max(...within.map((t) => t.maxLen));
}

/** Relative shortfall of a longer window's ItemKNN validation NDCG@10 that still keeps the longer length. */
export const MAX_LEN_TOLERANCE = 0.05;

export async function trainArtifact(raw: RawData, o: TrainArtifactOptions = {}): Promise<TrainedArtifact> {
  const { backend } = await initNodeBackend(o.backend ?? 'wasm');
  const dataset = buildDataset(raw, { includeImpressions: o.train?.includeImpressions });
  const split = leaveOneOut(dataset);
  const summary = summarize(dataset);
  await o.onData?.(summary, split, backend);
  const bar = o.progress === false ? undefined : progressReporter();
  const t = makeTrainConfig(o.train);
  const budget = resolveTimeBudget(t, dataset.interactions);
  const s0 = performance.now();
  const { maxLen, trials: maxLenSearch } = await chooseMaxLen(dataset, split, maxLenCandidates(split.trainEnd, o.model), t.valUsers, t.seed);
  const searchSeconds = (performance.now() - s0) / 1000;
  const kept = await fit(dataset, split, {
    model: { ...o.model, maxLen },
    // The choice's seconds come out of the budget, so train + choice stay within it.
    train: { ...o.train, timeBudgetSec: Math.max(1, budget - searchSeconds) },
    onProgress: bar?.onProgress,
    onEpoch: bar?.onEpoch,
    onBeforeRefit: o.onBeforeRefit && ((params, config) => o.onBeforeRefit!(dataset, split, params, config)),
  });
  return {
    dataset,
    split,
    summary,
    backend,
    fit: kept,
    maxLenSearch,
    searchSeconds,
    save: (dir, metrics) =>
      saveModelDir(dir, { config: kept.config, params: kept.params, items: itemsForManifest(dataset), train: kept.train, data: summary, metrics }),
    dispose: () => Object.values(kept.params).forEach((t) => t.dispose()),
  };
}
