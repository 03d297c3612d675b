/**
 * Retry policy of the event sender, pure so that it is tested without timers.
 *
 * Full jitter (a uniform draw below an exponentially growing cap) spreads retries of many clients after an
 * outage instead of synchronising them. A server's `Retry-After` wins over our own guess, up to `maxMs`.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 60_000 };

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const cap = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3). Returns ms, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; afterMs?: number }
  | { kind: 'drop'; reason: string };

/** How the sender reacts to an HTTP status: network trouble, 408, 429 and 5xx are worth another try. */
export function classifyStatus(status: number, retryAfter?: string | null, now: number = Date.now()): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now) };
  }
  return { kind: 'drop', reason: `HTTP ${status}` };
}

/** The next delay: the server's word if it gave one, else our jittered backoff, never more than `maxMs`. */
export function nextRetryDelay(
  attempt: number,
  serverAfterMs: number | undefined,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (serverAfterMs !== undefined) return Math.min(opts.maxMs, serverAfterMs);
  return backoffDelay(attempt, opts, random);
}
