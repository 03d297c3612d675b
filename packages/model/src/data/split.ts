/**
 * Deterministic leave-one-out split. Per user with at least 3 target tokens (non-impressions): the last is the test
 * target, the one before it the validation target; training uses only the tokens before the validation target.
 * Users with fewer targets train on their whole sequence and are not evaluated.
 */
import { isTargetEvent, type Dataset } from './types.ts';

export interface EvalCase {
  /** Index into dataset.seqs. */
  user: number;
  /** History is seq[0 .. end) (exclusive). */
  end: number;
  /** Target model item id. */
  target: number;
}

export interface Split {
  /** Per user: tokens [0, trainEnd[u]) are training data. */
  trainEnd: Int32Array;
  val: EvalCase[];
  test: EvalCase[];
}

export function leaveOneOut(d: Dataset, minTargets = 3): Split {
  const trainEnd = new Int32Array(d.seqs.length);
  const val: EvalCase[] = [];
  const test: EvalCase[] = [];
  d.seqs.forEach((s, u) => {
    const pos: number[] = [];
    for (let j = 0; j < s.items.length; j++) if (isTargetEvent(s.events[j]!)) pos.push(j);
    if (pos.length >= minTargets) {
      const t = pos[pos.length - 1]!;
      const v = pos[pos.length - 2]!;
      trainEnd[u] = v;
      val.push({ user: u, end: v, target: s.items[v]! });
      test.push({ user: u, end: t, target: s.items[t]! });
    } else {
      trainEnd[u] = s.items.length;
    }
  });
  return { trainEnd, val, test };
}

/** Per user, the training cut with the validation target included: tokens [0, cut[u]) are training + validation data. */
export function withValidationTargets(split: Split): Int32Array {
  const cut = split.trainEnd.slice();
  for (const v of split.val) cut[v.user] = v.end + 1;
  return cut;
}

/** Items the user consumed (target tokens) in seq[0 .. end). */
export function historyItems(d: Dataset, user: number, end: number): Set<number> {
  const s = d.seqs[user]!;
  const out = new Set<number>();
  for (let j = 0; j < end; j++) if (isTargetEvent(s.events[j]!)) out.add(s.items[j]!);
  return out;
}
