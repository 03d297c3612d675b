/** Selection of the best k of n without sorting all n: the candidate service, the model's recommend() and benches. */

/** A min-heap under `cmp` that keeps the k greatest values offered to it: O(log k) per offer. */
class BoundedHeap<T> {
  private readonly heap: T[] = []; // heap[0] is the weakest kept

  constructor(
    private readonly k: number,
    private readonly cmp: (a: T, b: T) => number,
  ) {}

  offer(x: T): void {
    const { heap, cmp } = this;
    if (heap.length < this.k) {
      heap.push(x);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        const parent = heap[p];
        if (parent === undefined || cmp(x, parent) >= 0) break;
        heap[i] = parent;
        heap[p] = x;
        i = p;
      }
      return;
    }
    const weakest = heap[0];
    if (weakest === undefined || cmp(x, weakest) <= 0) return;
    heap[0] = x;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let m = i;
      let best = x;
      const left = heap[l];
      if (left !== undefined && cmp(left, best) < 0) [m, best] = [l, left];
      const right = heap[l + 1];
      if (right !== undefined && cmp(right, best) < 0) [m, best] = [l + 1, right];
      if (m === i) return;
      heap[i] = best;
      heap[m] = x;
      i = m;
    }
  }

  /** What was kept, best first. */
  best(): T[] {
    return this.heap.sort((a, b) => this.cmp(b, a));
  }
}

/**
 * Indices 0..n-1 of the k greatest elements under `cmp` (cmp(a, b) > 0 when a ranks above b), best first, with a
 * bounded min-heap: O(n log k). Ties are whatever `cmp` says: give it a tie-break for a stable answer.
 */
export function topK(n: number, k: number, cmp: (a: number, b: number) => number): number[] {
  if (k <= 0) return [];
  const heap = new BoundedHeap(k, cmp);
  for (let x = 0; x < n; x++) heap.offer(x);
  return heap.best();
}

/** The k greatest of `items` under `cmp`, best first: `topK` over the elements themselves rather than indices. */
export function topKOf<T>(items: Iterable<T>, k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0) return [];
  const heap = new BoundedHeap(k, cmp);
  for (const x of items) heap.offer(x);
  return heap.best();
}
