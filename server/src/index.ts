/**
 * The server package's public surface: the app and the parts a deployment, a benchmark or an end-to-end test
 * composes it from. Anything not exported here is internal to the server.
 */
export { createApp, type AppOptions } from './app.ts';
export { Catalog } from './catalog.ts';
export { LiveAggregates } from './candidates/aggregates.ts';
export { CandidateService } from './candidates/service.ts';
export { ModelRegistry, verifyArtifact } from './models/registry.ts';
export { DuckDbEventStore } from './store/duckdb.ts';
export { MemoryEventStore } from './store/memory.ts';
export { AnalyticsService } from './analytics/service.ts';
export { uniformLogWeight } from './artwork/logs.ts';
export { ExperimentDefinitions } from './experiments/definitions.ts';
export { analyse } from './experiments/analysis.ts';
export { teamCredits } from './experiments/interleaving.ts';
export { simulateExperimentEvents } from './experiments/simulate.ts';
export type { UnitRow } from './experiments/units.ts';
export { seedLaunchWorld, writeLaunchWorldCatalog } from './forecasts/seed.ts';
export { seedSyntheticHistory, toMarqueeEvent } from './seed.ts';
