/**
 * Everything that needs tfjs, behind one dynamic import so the worker's event path never waits for it.
 */
import type { LoadedModel } from '@marquee/model';
import type { HistoryStep } from './protocol.ts';

import { tf } from './backend.ts';
import { historyTokens, IncrementalEncoder } from './encoder.ts';
import { CatalogScorer } from './scorer.ts';

import { ProbeResultSchema, type ProbeRequest } from '@marquee/core';
import { selectBackend, startBesideCurrent, useWasmPaths } from './backend.ts';
import { getMeta, putMeta, type Database } from './db.ts';
import { crossOriginWorker, sameOrigin } from './cross-origin-worker.ts';
import type { BackendReport, WorkerOptions } from './protocol.ts';

export { probeRankingPath } from './probe.ts';
export { benchmarkPath } from './bench.ts';

/** The first page comes first: the measurement starts this long after a first run's backend is up. */
const PROBE_DELAY_MS = 3000;

/**
 * 'first': the first backend that works, in the given order. 'auto': the backend measured fastest on this device,
 * cached. On the first run nothing is measured yet: pages start at once on a provisional backend (wasm, predictable
 * on any CPU) while a separate worker measures them all; later runs use the winner. Re-measured when the cached
 * one stops working or the candidate list changes.
 */
export async function chooseBackend(db: Database, opts: Pick<WorkerOptions, 'backends' | 'backendChoice' | 'wasmPaths'>): Promise<BackendReport> {
  useWasmPaths(opts.wasmPaths);
  if (opts.backendChoice === 'first' || opts.backends.length === 1) return selectBackend(opts.backends);
  const key = `${opts.backends.join(',')}|${navigator.userAgent}`;
  const cached = await getMeta(db, 'backend:choice');
  if (cached?.key === key) {
    const again = await selectBackend([cached.name]).catch(() => null);
    if (again) {
      const report: BackendReport = { ...again, chosenBy: 'cached', timings: cached.timings };
      if (cached.scoring) {
        // The plan's scoring backend; if it no longer starts, scoring stays with the encoder (a working page first).
        await startBesideCurrent(cached.scoring).then(
          () => (report.scoring = cached.scoring),
          (err: Error) => report.tried.push({ name: cached.scoring!, ok: false, reason: `scoring backend: ${err.message}` }),
        );
      }
      return report;
    }
  }
  const order = opts.backends.includes('wasm') ? ['wasm' as const, ...opts.backends.filter((b) => b !== 'wasm')] : opts.backends;
  const report: BackendReport = { ...(await selectBackend(order)), chosenBy: 'provisional' };
  setTimeout(() => measureInBackground(db, opts, key, report), PROBE_DELAY_MS);
  return report;
}

function measureInBackground(db: Database, { backends, wasmPaths }: Pick<WorkerOptions, 'backends' | 'wasmPaths'>, key: string, report: BackendReport): void {
  // The literal `new Worker(new URL(...))` is what bundlers recognise; from a CDN, a same-origin trampoline.
  const probe = sameOrigin(import.meta.url)
    ? new Worker(new URL('./probe-worker.ts', import.meta.url), { type: 'module', name: 'marquee-probe' })
    : crossOriginWorker(new URL('./probe-worker.ts', import.meta.url).href, 'marquee-probe');
  probe.onmessage = async (e: MessageEvent<unknown>) => {
    probe.terminate();
    const parsed = ProbeResultSchema.safeParse(e.data);
    if (!parsed.success) {
      report.probeError = `probe answer of another shape: ${parsed.error.message}`;
      return;
    }
    const r = parsed.data;
    if (!r.ok) {
      report.probeError = r.error;
      return;
    }
    const timings = Object.fromEntries(Object.entries(r.operations).map(([b, o]) => [b, o.rerankMs]));
    const scoring = r.plan.scoring !== r.plan.update ? r.plan.scoring : undefined;
    await putMeta(db, 'backend:choice', { key, name: r.plan.update, scoring, timings });
    // Seen by later backend() calls: what was measured, and what the next run will use.
    Object.assign(report, { timings, operations: r.operations, switchMs: r.switchMs, plan: r.plan, nextRun: r.plan.update, nextRunScoring: scoring });
  };
  probe.onerror = (e) => {
    probe.terminate();
    report.probeError = e.message || 'probe worker failed';
  };
  probe.postMessage({ backends: [...backends], wasmPaths } satisfies ProbeRequest);
}
export { ModelManager } from './model-manager.ts';
export { IncrementalEncoder, CatalogScorer };
export { Homepage } from './homepage.ts';

/** Model scores of `titleIds` (null for titles the model does not know) on the homepage's own path. */
export async function scoreTitles(model: LoadedModel, titleIds: string[], history: HistoryStep[], scoringBackend?: string | null): Promise<(number | null)[]> {
  const h = model.toHistory(history);
  if (h.items.length === 0) throw new RangeError('scoreTitles: the history has no title the model knows');
  // What a page does: the incremental encoder's user vector against the scorer's catalog matrix.
  const encoder = new IncrementalEncoder(model);
  encoder.update(historyTokens(h));
  const scorer = await CatalogScorer.create(model, titleIds.filter((id) => model.itemIndex(id) !== undefined).map((id) => ({ id, genres: [], year: NaN })), scoringBackend ?? undefined);
  const user = encoder.embedding()!;
  try {
    const scores = await scorer.score(user, titleIds);
    return titleIds.map((id, k) => (scorer.has(id) ? (scores[k] ?? null) : null));
  } finally {
    user.dispose();
    encoder.dispose();
    scorer.dispose();
  }
}

/** Tensor bookkeeping, for the debug drawer and leak tests. */
export function memory(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}
