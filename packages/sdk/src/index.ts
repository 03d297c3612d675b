export { createPersonalizer, type Personalizer, type PersonalizerOptions } from './client.ts';
export type { BackendName, BackendReport, HistoryStep, ModelStatus, SyncStats } from './protocol.ts';
