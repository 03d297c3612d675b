export { createPersonalizer, type Personalizer, type PersonalizerOptions } from './client.ts';
export type { BackendName, BackendReport, SyncStats } from './protocol.ts';
