export { createPersonalizer, type Personalizer, type PersonalizerOptions } from './client.ts';
export type { BackendName, BackendReport, HistoryStep, HomePage, ModelStatus, PageRow, PageTitle, SyncStats } from './protocol.ts';
export type { IdentityApi, PathBenchmark } from './protocol.ts';
export type { Consent, IdentityState } from '@marquee/core';
