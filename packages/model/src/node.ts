/** Node-only entry (`@marquee/model/node`): backend setup, training, evaluation, artifact files. */
export { initNodeBackend, registerWasmScatterKernels, measureMatMulGflops, NODE_BACKENDS, type BackendInfo, type NodeBackendName } from './backend-node.ts';
export { registerNodeGradients } from './node-gradients.ts';
export { fit, modelConfigFor, itemMetaArrays, type FitOptions, type FitResult, type EpochLog, type Progress } from './train.ts';
export { evaluate, modelScorer, sampleNegatives, type ProtocolMetrics, type EvalOptions } from './eval.ts';
export { mostPop, itemKnn, type BatchScorer } from './baselines.ts';
export { saveModelDir, loadModelDir, readManifest, MANIFEST_FILE } from './artifact-node.ts';
export { loadRawData, FORMATS, type Format } from './data/load-node.ts';
export { syntheticRawData, parseSyntheticSpec } from './data/synthetic.ts';
export { runPipeline, type PipelineOptions, type PipelineResult } from './pipeline.ts';
export { progressReporter } from './progress.ts';
export { trainArtifact, itemsForManifest, maxLenCandidates, MAX_LEN_SEARCH, type MaxLenTrial, type TrainArtifactOptions, type TrainedArtifact } from './train-artifact.ts';
export { softmaxLoss, trainingLoss, candidateLogQ, forwardFlops, type LossBatch, type SampledCandidates } from './loss.ts';
export { buildDataset, summarize } from './data/dataset.ts';
export { leaveOneOut } from './data/split.ts';
