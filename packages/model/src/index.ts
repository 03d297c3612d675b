/** Browser-safe public API of @marquee/model (no Node imports). Node-only pieces: `@marquee/model/node`. */
export * from './config.ts';
export * from './model.ts';
export * from './artifact.ts';
export * from './metrics.ts';
export { registerFastWasmKernels } from './wasm-kernels.ts';
export { Rng, subSeed } from './rng.ts';
export type { EventKind, Interaction, ItemMeta, RawData, Dataset, UserSeq } from './data/types.ts';
export { EVENT_INDEX, fractionBucket, yearBucket } from './data/types.ts';
export { buildDataset, summarize, type DataSummary } from './data/dataset.ts';
export { leaveOneOut, type EvalCase, type Split } from './data/split.ts';
export { parseMovieLens, parseMovieLensItems } from './data/movielens.ts';
export { parseSasrec } from './data/sasrec.ts';
export { parseCsv } from './data/csv.ts';
export { fromStoreEvents, parseStoreJsonl, type StoreEvent, type StoreEventType } from './data/store.ts';
