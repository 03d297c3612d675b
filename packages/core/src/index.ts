export * from './events.ts';
export * from './ingest.ts';
export * from './uuid.ts';
export * from './backoff.ts';
export * from './batch.ts';
export * from './rank.ts';
export * from './page.ts';
export type * from './catalog.ts';
export * as artwork from './artwork/index.ts';
