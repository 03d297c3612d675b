/**
 * The one training chain from raw interactions to a publishable artifact: backend, dataset, leave-one-out split,
 * fit, then the artifact files. `npm run train` / `npm run eval` (runPipeline) and the server's bootstrap both call
 * it, so a change to how a model is trained or written reaches both.
 */
import { makeTrainConfig, MODEL_DEFAULTS, resolveTimeBudget, type ModelOverrides, type TrainConfig } from './config.ts';
import { buildDataset, summarize, type DataSummary } from './data/dataset.ts';
import { leaveOneOut, type Split } from './data/split.ts';
import type { Dataset, RawData } from './data/types.ts';
import { fit, type FitResult } from './train.ts';
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
}

export interface TrainedArtifact {
  dataset: Dataset;
  split: Split;
  summary: DataSummary;
  /** The backend the model trained on. */
  backend: string;
  fit: FitResult;
  /** One entry per history length trained (maxLenCandidates), in order; the model kept is the best validation's. */
  maxLenSearch: MaxLenTrial[];
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

export interface MaxLenTrial {
  maxLen: number;
  valNdcg10: number;
  epochs: number;
  seconds: number;
}

/**
 * The history lengths to train when `model.maxLen` is not given, each with an equal share of the time budget, the
 * best on validation kept. How far back taste reaches differs by data (ML-100K: 50 beats 200 by two standard errors
 * on validation; the synthetic default world: the reverse, README), and the median history length does not tell
 * (ML-100K's is longer than the default world's), so validation decides. The search runs only when at least a
 * quarter of the users' training histories are longer than the shorter length: otherwise the lengths train
 * nearly the same windows and the time is better spent on one run.
 */
export function maxLenCandidates(trainEnd: Int32Array, model?: ModelOverrides): number[] {
  if (model?.maxLen !== undefined) return [model.maxLen];
  const [short, long] = MAX_LEN_SEARCH;
  const longer = trainEnd.reduce((n, e) => n + (e > short ? 1 : 0), 0);
  return longer >= 0.25 * trainEnd.length ? [short, long] : [long];
}

/** Shorter and longer history length of the search; the longer is also the default where no search runs. */
export const MAX_LEN_SEARCH = [50, MODEL_DEFAULTS.maxLen] as const;

export async function trainArtifact(raw: RawData, o: TrainArtifactOptions = {}): Promise<TrainedArtifact> {
  const { backend } = await initNodeBackend(o.backend ?? 'wasm');
  const dataset = buildDataset(raw, { includeImpressions: o.train?.includeImpressions });
  const split = leaveOneOut(dataset);
  const summary = summarize(dataset);
  await o.onData?.(summary, split, backend);
  const bar = o.progress === false ? undefined : progressReporter();
  const lengths = maxLenCandidates(split.trainEnd, o.model);
  const budget = resolveTimeBudget(makeTrainConfig(o.train), dataset.interactions);
  const maxLenSearch: MaxLenTrial[] = [];
  let fr: FitResult | undefined;
  for (const maxLen of lengths) {
    const r = await fit(dataset, split, {
      model: { ...o.model, maxLen },
      train: { ...o.train, timeBudgetSec: budget / lengths.length },
      onProgress: bar?.onProgress,
      onEpoch: bar?.onEpoch,
    });
    maxLenSearch.push({ maxLen, valNdcg10: r.bestValNdcg10, epochs: r.epochs.length, seconds: r.seconds });
    const [keep, drop] = !fr || r.bestValNdcg10 > fr.bestValNdcg10 ? [r, fr] : [fr, r];
    if (drop) Object.values(drop.params).forEach((t) => t.dispose());
    fr = keep;
  }
  if (!fr) throw new Error('trainArtifact: no history length to train');
  const kept = fr;
  return {
    dataset,
    split,
    summary,
    backend,
    fit: kept,
    maxLenSearch,
    save: (dir, metrics) =>
      saveModelDir(dir, { config: kept.config, params: kept.params, items: itemsForManifest(dataset), train: kept.train, data: summary, metrics }),
    dispose: () => Object.values(kept.params).forEach((t) => t.dispose()),
  };
}
