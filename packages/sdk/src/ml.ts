/**
 * Everything that needs tfjs, behind one dynamic import so the worker's event path never waits for it.
 */
import type { LoadedModel } from '@marquee/model';
import type { HistoryStep } from './protocol.ts';

import { tf } from './backend.ts';

export { selectBackend } from './backend.ts';
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
