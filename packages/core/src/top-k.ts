/** Selection of the best k of n without sorting all n: the candidate service, the model's recommend() and benches. */

/**
 * Indices 0..n-1 of the k greatest elements under `cmp` (cmp(a, b) > 0 when a ranks above b), best first, with a
 * bounded min-heap: O(n log k). Ties are whatever `cmp` says: give it a tie-break for a stable answer.
 */
export function topK(n: number, k: number, cmp: (a: number, b: number) => number): number[] {
  if (k <= 0) return [];
  const heap: number[] = []; // min-heap under cmp: heap[0] is the weakest kept
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l], heap[m]) < 0) m = l;
      if (r < heap.length && cmp(heap[r], heap[m]) < 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let x = 0; x < n; x++) {
    if (heap.length < k) {
      heap.push(x);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (cmp(heap[i], heap[p]) >= 0) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (cmp(x, heap[0]) > 0) {
      heap[0] = x;
      down(0);
    }
  }
  return heap.sort((a, b) => cmp(b, a));
}
