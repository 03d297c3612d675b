/**
 * Measures the ranking path on each backend in a worker of its own, so the worker serving pages never waits for
 * (or shares its tfjs backend with) the measurement. Posts one ProbeResult (core) and is terminated.
 */
import { ProbeRequestSchema, type ProbeResult } from '@marquee/core';
import { measureBackends, useWasmPaths } from './backend.ts';

self.onmessage = async (e: MessageEvent<unknown>) => {
  let result: ProbeResult;
  try {
    const request = ProbeRequestSchema.parse(e.data);
    useWasmPaths(request.wasmPaths);
    result = await measureBackends(request.backends);
  } catch (err) {
    result = { ok: false, error: (err as Error).message };
  }
  postMessage(result);
};
