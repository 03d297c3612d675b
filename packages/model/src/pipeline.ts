/** Node pipeline shared by the CLIs: load -> train (trainArtifact) or load an artifact -> evaluate with every baseline -> save. */
import type { ModelOverrides, TrainConfig, ModelConfig } from './config.ts';
import { buildDataset, summarize, type DataSummary } from './data/dataset.ts';
import { loadRawData, type Format } from './data/load-node.ts';
import { leaveOneOut, type Split } from './data/split.ts';
import type { Dataset } from './data/types.ts';
import { BASELINES, type BaselineName } from './baselines.ts';
import { evaluate, modelScorer, type ProtocolMetrics } from './eval.ts';
import { initNodeBackend, measureMatMulGflops, type NodeBackendName } from './backend-node.ts';
import { loadModelDir } from './artifact-node.ts';
import { trainArtifact, type MaxLenTrial, type MemberFit, type TrainedArtifact, type UntiedInputTrial } from './train-artifact.ts';
import type { Params } from './model.ts';

export interface PipelineOptions {
  format: Format;
  data?: string;
  /** Write the trained artifact here. */
  out?: string;
  /** Evaluate this artifact instead of training. */
  modelDir?: string;
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  backend?: NodeBackendName;
  /** An ensemble's members trained at once, one worker thread each (TrainArtifactOptions.memberThreads). */
  memberThreads?: number;
  baselines?: boolean;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface PipelineResult {
  model: ProtocolMetrics;
  /** With train.refitEpochs: the same run's model before the refit (baselines are fit on the refit's interactions). */
  model_before_refit?: ProtocolMetrics;
  /** Refit passes that ran on training + validation targets. */
  refit_epochs?: number;
  mostpop?: ProtocolMetrics;
  itemknn?: ProtocolMetrics;
  itemknn_last?: ProtocolMetrics;
  itemknn_recency?: ProtocolMetrics;
  train_seconds: number;
  eval_seconds: number;
  users: number;
  items: number;
  data: DataSummary;
  backend: string;
  matmul_gflops?: number;
  achieved_gflops?: number;
  positions_per_sec?: number;
  epochs?: number;
  best_epoch?: number;
  /** Epochs whose weights were averaged into the evaluated model (train.averageTop), best first. */
  averaged_epochs?: number[];
  /** History lengths compared before training (windowed ItemKNN on validation) when `model.maxLen` was not given. */
  max_len_search?: MaxLenTrial[];
  /** Whether the model has an input-only item table (model.untiedInput), and the validation figures that chose it. */
  untied_input?: boolean;
  untied_input_search?: UntiedInputTrial;
  /** The model's dropout (0.5 with the untied table, 0.2 without, unless model.dropout is given). */
  dropout?: number;
  /** Models in the ensemble (model.members); with more than one, how each trained (`members_detail`). */
  members?: number;
  members_detail?: MemberFit[];
  /** How many members trained at once, one worker thread each (1 = one after another). */
  member_threads?: number;
  stop_reason?: string;
  val_ndcg10?: number;
  manifest_version?: string;
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (o.train?.includeImpressions) {
    throw new Error('includeImpressions is refused here: every run is evaluated, and the held-out title\'s own impression would be the last input token (every metric becomes 1.0)');
  }
  const raw = await loadRawData(o.format, o.data);
  const dataLine = (summary: DataSummary, split: Split, backend: string) =>
    log(`data ${summary.name}: ${summary.users} users, ${summary.items} items (${summary.coldItems} without interactions), ${summary.interactions} interactions, ${split.test.length} evaluated users; backend ${backend}`);

  let d: Dataset;
  let split: Split;
  let summary: DataSummary;
  let backend: string;
  let params: Params;
  let config: ModelConfig;
  let trained: TrainedArtifact | undefined;
  let matmul: number | undefined;
  let beforeRefit: ProtocolMetrics | undefined;
  let dispose = () => {};
  if (o.modelDir) {
    backend = (await initNodeBackend(o.backend ?? 'wasm')).backend;
    d = buildDataset(raw);
    split = leaveOneOut(d);
    summary = summarize(d);
    dataLine(summary, split, backend);
    const m = await loadModelDir(o.modelDir);
    if (m.manifest.items.ids.length !== d.itemIds.length || m.manifest.items.ids.some((id, i) => id !== d.itemIds[i])) {
      throw new Error(`model vocabulary (${m.manifest.items.ids.length} items) does not match the data (${d.itemIds.length} items): evaluate on the data it was trained on`);
    }
    params = m.params;
    config = m.config;
    dispose = () => m.dispose();
    log(`loaded model ${m.manifest.version}`);
  } else {
    trained = await trainArtifact(raw, {
      backend: o.backend, model: o.model, train: o.train, progress: o.progress, memberThreads: o.memberThreads,
      onData: async (s, sp, b) => {
        dataLine(s, sp, b);
        matmul = await measureMatMulGflops();
      },
      onBeforeRefit: async (dd, sp, p, c) => {
        beforeRefit = await evaluate(dd, sp.test, modelScorer(p, c, dd));
      },
    });
    const fr = trained.fit;
    ({ dataset: d, split, summary, backend } = trained);
    // The machine may be shared: measure plain matMul again after training and keep the better (less disturbed) one.
    matmul = Math.max(matmul ?? 0, await measureMatMulGflops());
    if (trained.maxLenSearch.length > 1) {
      log(`history length by ItemKNN on validation (${trained.searchSeconds.toFixed(1)}s): ${trained.maxLenSearch.map((m) => `last ${m.maxLen} titles NDCG@10 ${m.knnValNdcg10.toFixed(4)}`).join('; ')}; kept maxLen ${fr.config.maxLen}`);
    }
    if (trained.untiedInputTrial) {
      const u = trained.untiedInputTrial;
      log(`input item table by ItemKNN on validation: last title alone NDCG@10 ${u.knnLastValNdcg10.toFixed(4)} vs recency-weighted ${u.knnRecencyValNdcg10.toFixed(4)}: ${fr.config.untiedInput ? 'untied' : 'tied'}`);
    }
    params = fr.params;
    config = fr.config;
    dispose = trained.dispose;
    for (const [k, m] of trained.members.entries()) {
      log(`member ${k + 1}/${trained.members.length} (seed ${m.seed}): ${m.epochs} epochs in ${m.seconds.toFixed(1)}s (${m.stopReason}, best epoch ${m.bestEpoch}${m.averagedEpochs.length > 1 ? `, averaged epochs ${m.averagedEpochs.join(',')}` : ''}, val NDCG@10 ${m.valNdcg10.toFixed(4)})`);
    }
    log(`trained ${trained.members.length ? `${trained.members.length} members (${trained.memberThreads > 1 ? `${trained.memberThreads} at a time, one worker thread each` : 'one after another'}), ` : ''}${fr.epochs.length} epochs in ${fr.seconds.toFixed(1)}s (${fr.stopReason}, best epoch ${fr.bestEpoch}${fr.averagedEpochs.length > 1 ? `, averaged epochs ${fr.averagedEpochs.join(',')}` : ''}, val NDCG@10 ${fr.bestValNdcg10.toFixed(4)}${fr.refitEpochs ? `; then ${fr.refitEpochs} refit epoch(s) on train + validation` : ''}); ` +
      `${(fr.positions / fr.stepSeconds).toFixed(0)} positions/s; model ${fr.achievedGflops.toFixed(2)} GFLOP/s vs plain ${backend} matMul 512x512 ${matmul.toFixed(2)} GFLOP/s`);
  }
  const fr = trained?.fit;

  const e0 = performance.now();
  const model = await evaluate(d, split.test, modelScorer(params, config, d));
  const res: PipelineResult = {
    model,
    ...(beforeRefit ? { model_before_refit: beforeRefit } : {}),
    // The history-length choice counts as training time.
    train_seconds: trained ? trained.searchSeconds + trained.fit.seconds : 0,
    eval_seconds: 0,
    users: split.test.length,
    items: d.itemIds.length,
    data: summary,
    backend,
  };
  if (o.baselines !== false) {
    // Baselines are fit on exactly the interactions the model trained on (split.trainEnd: validation targets excluded;
    // with them after a refit) and, like the model, score each test user from the full history before the test target.
    const cut = fr?.trainCut ?? split.trainEnd;
    for (const name of Object.keys(BASELINES) as BaselineName[]) res[name] = await evaluate(d, split.test, BASELINES[name](d, cut));
  }
  res.eval_seconds = (performance.now() - e0) / 1000;
  if (fr) {
    Object.assign(res, {
      matmul_gflops: matmul, achieved_gflops: fr.achievedGflops, positions_per_sec: fr.positions / fr.stepSeconds,
      epochs: fr.epochs.length, refit_epochs: fr.refitEpochs, best_epoch: fr.bestEpoch, averaged_epochs: fr.averagedEpochs, max_len_search: trained?.maxLenSearch, untied_input: fr.config.untiedInput, successor_init: fr.config.untiedInput ? fr.train.successorInit : 0, dropout: fr.config.dropout, members: fr.config.members, ...(trained?.members.length ? { members_detail: trained.members, member_threads: trained.memberThreads } : {}), untied_input_search: trained?.untiedInputTrial, stop_reason: fr.stopReason, val_ndcg10: fr.bestValNdcg10,
    });
    if (o.out && trained) {
      const manifest = await trained.save(o.out, {
        test: { model: res.model, mostpop: res.mostpop, itemknn: res.itemknn, itemknn_last: res.itemknn_last, itemknn_recency: res.itemknn_recency },
        val_ndcg10: fr.bestValNdcg10, epochs: fr.epochs, train_seconds: res.train_seconds, max_len_search: res.max_len_search, achieved_gflops: fr.achievedGflops, matmul_gflops: matmul, backend,
      });
      res.manifest_version = manifest.version;
      log(`wrote ${o.out} (version ${manifest.version})`);
    }
  }
  dispose();
  return res;
}
