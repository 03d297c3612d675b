/**
 * Well-formed text and bounded JSON: what every string and free-form value crossing the API must be before it is
 * stored. A lone UTF-16 surrogate (`"\ud800"` in JSON) is valid in a JS string but not in UTF-8: DuckDB, PostgreSQL
 * and most JSON parsers refuse it later, when the stored row is read back, so it is refused here, at the door.
 */
import { z } from 'zod';

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `s` has no lone surrogate, i.e. it can be written as UTF-8. The native `String.prototype.isWellFormed`
 * (Node 20, browsers since 2023) is ~5x faster than the regex, and the server calls this on every string of every
 * event; the regex is there for older browsers.
 */
export function isWellFormed(s: string): boolean {
  return typeof s.isWellFormed === 'function' ? s.isWellFormed() : !LONE_SURROGATE.test(s);
}

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no lone surrogates)';

/** A string of `min..max` UTF-16 units that can be stored as UTF-8. */
export function wellFormedString(min: number, max: number) {
  return z.string().min(min).max(max).refine(isWellFormed, { message: WELL_FORMED_MESSAGE });
}

export interface JsonBounds {
  /** Nesting levels below the top object (`{a: 1}` is depth 1). */
  maxDepth: number;
  /** Object keys plus array items, all levels together. */
  maxEntries: number;
  /** UTF-16 units of the JSON text. */
  maxChars: number;
}

/**
 * Why `value` (parsed JSON) is out of bounds, or null when it is fine. Walks iteratively with an explicit stack, so
 * a value nested thousands of levels deep is refused with a reason instead of overflowing the call stack.
 */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  let entries = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isWellFormed(v)) return `a string ${WELL_FORMED_MESSAGE}`;
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'numbers must be finite';
      continue;
    }
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v !== 'object') return `${typeof v} is not JSON`;
    if (depth >= bounds.maxDepth) return `nested deeper than ${bounds.maxDepth} levels`;
    const items = Array.isArray(v) ? v : Object.entries(v as object);
    entries += items.length;
    if (entries > bounds.maxEntries) return `more than ${bounds.maxEntries} keys and items`;
    if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
    else
      for (const [key, item] of items as [string, unknown][]) {
        if (!isWellFormed(key)) return `a key ${WELL_FORMED_MESSAGE}`;
        stack.push([item, depth + 1]);
      }
  }
  // Depth and size are bounded now, so serializing cannot overflow or take long.
  if (JSON.stringify(value).length > bounds.maxChars) return `must serialize to at most ${bounds.maxChars} characters`;
  return null;
}
