/**
 * Picks the tfjs backend inside the worker: the first of the preferred list that really works here.
 * `tf.setBackend` resolves false (it does not throw) when a backend cannot start, and a backend can start
 * and still fail its first kernel, so each candidate must also run one small op.
 * Loaded with a dynamic import so that tfjs never delays the event path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adapterKind, BACKEND_NAMES, choosePlan, type GpuAdapterInfo, type OperationTimings, type ProbeResult } from '@marquee/core';
import type { BackendName, BackendReport } from './protocol.ts';
import { probeRankingPath } from './probe.ts';
import { measureSwitches } from './scorer.ts';

export { tf };

/**
 * Each backend is its own chunk, imported (and registered with tfjs) only when it is tried: a player that asks for
 * `backends: ['wasm']` never downloads the webgl or webgpu code.
 */
const loaders: Record<BackendName, () => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  wasm: () => import('./wasm-backend.ts').then((m) => m.configureWasm(wasmPaths)),
};
const loaded = new Map<BackendName, Promise<unknown>>();
let wasmPaths: string | undefined;

/** Where the wasm binaries are served from when not next to the SDK's code (a URL prefix); call before any choice. */
export function useWasmPaths(prefix: string | undefined): void {
  wasmPaths = prefix;
}

function loadBackend(name: BackendName): Promise<unknown> {
  let p = loaded.get(name);
  if (!p) {
    p = loaders[name]();
    loaded.set(name, p);
    p.catch(() => loaded.delete(name)); // a failed chunk download can be retried later
  }
  return p;
}

type Adapter = { info?: GpuAdapterInfo; isFallbackAdapter?: boolean };

async function webgpuAdapterInfo(): Promise<GpuAdapterInfo | null> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  // Read field by field: GPUAdapterInfo's fields are getters on its prototype, which a spread would not copy.
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info ?? {};
  return { vendor, architecture, device, description, isFallbackAdapter: isFallbackAdapter ?? adapter.isFallbackAdapter };
}

async function works(): Promise<boolean> {
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.mul(x, 2);
  const values = await y.data(); // never dataSync: it can break a WebGPU device
  x.dispose();
  y.dispose();
  return values[2] === 6;
}

/** Starts the first backend of `preferred` that works here. */
export async function selectBackend(preferred: readonly BackendName[]): Promise<BackendReport> {
  const start = performance.now();
  const tried: BackendReport['tried'] = [];
  const report = await firstWorking(preferred, tried);
  return { ...report, tried, initMs: Math.round(performance.now() - start), chosenBy: 'first-working' };
}

/**
 * Measures the ranking path on every backend of `candidates` that starts, whole and by operation (update, scoring),
 * and the cost of switching between started backends; core's `choosePlan` then keeps the fastest plan: one backend,
 * or the update on one and catalog scoring on another. A software WebGPU adapter is measured like any other, not
 * assumed fast. Leaves the plan's update backend current.
 */
export async function measureBackends(candidates: readonly BackendName[]): Promise<Extract<ProbeResult, { ok: true }>> {
  const tried: BackendReport['tried'] = [];
  const operations: Partial<Record<BackendName, OperationTimings>> = {};
  for (const name of candidates) {
    const got = await firstWorking([name], tried).catch(() => null);
    if (!got) continue;
    try {
      const p = await probeRankingPath();
      operations[name] = { rerankMs: +p.rerankMs.toFixed(3), updateMs: +p.updateMs.toFixed(3), scoreMs: +p.scoreMs.toFixed(3) };
    } catch (err) {
      tried.push({ name, ok: false, reason: `probe failed: ${(err as Error).message}` });
    }
  }
  const measured = BACKEND_NAMES.filter((b) => operations[b] !== undefined);
  if (measured.length === 0) throw new Error(`no tfjs backend works here: ${tried.map((t) => `${t.name} (${t.reason})`).join(', ')}`);
  const switchMs = measureSwitches(measured);
  const plan = choosePlan(operations, switchMs);
  await tf.setBackend(plan.update);
  return { ok: true, operations, switchMs, plan, tried };
}

/**
 * Starts `name` beside the current backend (for a plan's catalog scoring) and checks it computes, leaving the
 * current backend current. Throws with the reason when it does not start.
 */
export async function startBesideCurrent(name: BackendName): Promise<void> {
  const home = tf.getBackend();
  if (home === name) return;
  const tried: BackendReport['tried'] = [];
  try {
    await firstWorking([name], tried);
  } finally {
    await tf.setBackend(home);
  }
}

async function firstWorking(preferred: readonly BackendName[], tried: BackendReport['tried']): Promise<Omit<BackendReport, 'tried' | 'initMs' | 'chosenBy'>> {
  for (const name of preferred) {
    let adapter: GpuAdapterInfo | null = null;
    try {
      if (name === 'webgpu') {
        adapter = await webgpuAdapterInfo();
        if (!adapter) {
          tried.push({ name, ok: false, reason: 'no WebGPU adapter' });
          continue;
        }
      }
      await loadBackend(name);
      if (!(await tf.setBackend(name))) {
        tried.push({ name, ok: false, reason: 'setBackend resolved false' });
        continue;
      }
      await tf.ready();
      if (!(await works())) {
        tried.push({ name, ok: false, reason: 'test op gave a wrong result' });
        continue;
      }
      tried.push({ name, ok: true });
      return adapter ? { name, adapterArchitecture: adapter.architecture, adapterVendor: adapter.vendor, adapterKind: adapterKind(adapter) } : { name };
    } catch (err) {
      tried.push({ name, ok: false, reason: (err as Error).message });
    }
  }
  throw new Error(`no tfjs backend works here: ${tried.map((t) => `${t.name} (${t.reason})`).join(', ')}`);
}
