/** Harnesses for tests and benchmarks (`@marquee/server/testing`): never imported by the server itself. */
export { startServerProcess, type ServerProcess } from './process.ts';
export { plantRows, prefill } from './store.ts';
