/**
 * Everything that needs tfjs, behind one dynamic import so the worker's event path never waits for it.
 */
import type { LoadedModel } from '@marquee/model';
import type { HistoryStep } from './protocol.ts';

import { tf } from './backend.ts';

import { measureBackends, selectBackend } from './backend.ts';
import type { Database } from './db.ts';
import type { BackendReport, WorkerOptions } from './protocol.ts';

export { probeRankingPath } from './probe.ts';
export { benchmarkPath } from './bench.ts';

const CHOICE = 'backend:choice';

/**
 * 'first': the first backend that works, in the given order. 'auto': the fastest ranking path measured on this
 * device, measured once and cached (re-measured if the cached one stops working or the candidates change).
 */
export async function chooseBackend(db: Database, opts: Pick<WorkerOptions, 'backends' | 'backendChoice'>): Promise<BackendReport> {
  if (opts.backendChoice === 'first' || opts.backends.length === 1) return selectBackend(opts.backends);
  const key = `${opts.backends.join(',')}|${navigator.userAgent}`;
  const cached = (await db.get('meta', CHOICE)) as (BackendReport & { key: string }) | undefined;
  if (cached?.key === key) {
    const again = await selectBackend([cached.name]).catch(() => null);
    if (again) return { ...again, chosenBy: 'cached', timings: cached.timings };
  }
  const measured = await measureBackends(opts.backends);
  await db.put('meta', { ...measured, key }, CHOICE);
  return measured;
}
export { ModelManager } from './model-manager.ts';
export { IncrementalEncoder } from './encoder.ts';
export { CatalogScorer } from './scorer.ts';
export { Homepage } from './homepage.ts';

export async function scoreTitles(model: LoadedModel, titleIds: string[], history: HistoryStep[]): Promise<(number | null)[]> {
  const h = model.toHistory(history);
  if (h.items.length === 0) throw new RangeError('scoreTitles: the history has no title the model knows');
  const scores = await model.score(h);
  return titleIds.map((id) => {
    const i = model.itemIndex(id);
    return i === undefined ? null : scores[i];
  });
}

/** Tensor bookkeeping, for the debug drawer and leak tests. */
export function memory(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}
