/**
 * Measures the ranking path on each backend in a worker of its own, so the worker serving pages never waits for
 * (or shares its tfjs backend with) the measurement. Posts one result and is terminated.
 */
import { measureBackends, useWasmPaths } from './backend.ts';
import type { BackendName } from './protocol.ts';

self.onmessage = async (e: MessageEvent<{ backends: BackendName[]; wasmPaths?: string }>) => {
  try {
    useWasmPaths(e.data.wasmPaths);
    postMessage({ ok: true, report: await measureBackends(e.data.backends) });
  } catch (err) {
    postMessage({ ok: false, error: (err as Error).message });
  }
};
