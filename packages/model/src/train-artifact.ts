/**
 * The one training chain from raw interactions to a publishable artifact: backend, dataset, leave-one-out split,
 * fit, then the artifact files. `npm run train` / `npm run eval` (runPipeline) and the server's bootstrap both call
 * it, so a change to how a model is trained or written reaches both.
 */
import type { ModelOverrides, TrainConfig } from './config.ts';
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
  onData?: (summary: DataSummary, split: Split, backend: string) => void;
}

export interface TrainedArtifact {
  dataset: Dataset;
  split: Split;
  summary: DataSummary;
  /** The backend the model trained on. */
  backend: string;
  fit: FitResult;
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

export async function trainArtifact(raw: RawData, o: TrainArtifactOptions = {}): Promise<TrainedArtifact> {
  const { backend } = await initNodeBackend(o.backend ?? 'wasm');
  const dataset = buildDataset(raw, { includeImpressions: o.train?.includeImpressions });
  const split = leaveOneOut(dataset);
  const summary = summarize(dataset);
  o.onData?.(summary, split, backend);
  const bar = o.progress === false ? undefined : progressReporter();
  const fr = await fit(dataset, split, { model: o.model, train: o.train, onProgress: bar?.onProgress, onEpoch: bar?.onEpoch });
  return {
    dataset,
    split,
    summary,
    backend,
    fit: fr,
    save: (dir, metrics) =>
      saveModelDir(dir, { config: fr.config, params: fr.params, items: itemsForManifest(dataset), train: fr.train, data: summary, metrics }),
    dispose: () => Object.values(fr.params).forEach((t) => t.dispose()),
  };
}
