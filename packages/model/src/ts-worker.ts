/** Worker threads on a TypeScript entry file (Node): started through tsx's loader, as the CLIs and tests run. */
import { Worker } from 'node:worker_threads';

/** A worker thread running `entry` (a .ts module URL) with `workerData`, structured-cloned. */
export function tsWorker(entry: URL, workerData: unknown): Worker {
  const href = JSON.stringify(entry.href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${href}, ${href}))`, { eval: true, workerData });
}
