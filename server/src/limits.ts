/**
 * The API's abuse limits and the accepted event-time window, with defaults generous enough for the demo, the
 * end-to-end tests and the benchmarks on one machine, and their environment variables.
 */
export interface RateLimit {
  /** Tokens (requests) added per second. */
  perSecond: number;
  /** Bucket size: how many requests may come at once after a quiet period. */
  burst: number;
}

export interface ApiLimits {
  /** Events whose `ts` is older than this before the arrival time are rejected (default 30 days). */
  tsPastMs: number;
  /** Events whose `ts` is further than this after the arrival time are rejected (default 5 minutes). */
  tsFutureMs: number;
  /** Requests per write key (all clients of one key together). */
  perKey: RateLimit;
  /** Requests per client address, whatever the key (a wrong key too). */
  perIp: RateLimit;
  /**
   * Unknown write keys per client address: once spent, the address is answered 429 (with Retry-After) before its
   * key is looked at or its body read, and the connection is closed, so a flood of wrong keys costs a header parse.
   */
  failedKeysPerIp: RateLimit;
}

export const DEFAULT_LIMITS: ApiLimits = {
  tsPastMs: 30 * 86_400_000,
  tsFutureMs: 5 * 60_000,
  perKey: { perSecond: 5000, burst: 10_000 },
  perIp: { perSecond: 2000, burst: 4000 },
  // A client with a mistyped key needs one 401 to learn it; a burst of 20 leaves room for a page's parallel sends.
  failedKeysPerIp: { perSecond: 1, burst: 20 },
};

function positive(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * `TS_WINDOW_PAST_S`, `TS_WINDOW_FUTURE_S`, `RATE_KEY_PER_S`, `RATE_KEY_BURST`, `RATE_IP_PER_S`, `RATE_IP_BURST`,
 * `RATE_FAILED_KEY_PER_S`, `RATE_FAILED_KEY_BURST`.
 */
export function loadLimits(env: Record<string, string | undefined> = process.env): ApiLimits {
  const d = DEFAULT_LIMITS;
  return {
    tsPastMs: positive(env, 'TS_WINDOW_PAST_S', d.tsPastMs / 1000) * 1000,
    tsFutureMs: positive(env, 'TS_WINDOW_FUTURE_S', d.tsFutureMs / 1000) * 1000,
    perKey: { perSecond: positive(env, 'RATE_KEY_PER_S', d.perKey.perSecond), burst: positive(env, 'RATE_KEY_BURST', d.perKey.burst) },
    perIp: { perSecond: positive(env, 'RATE_IP_PER_S', d.perIp.perSecond), burst: positive(env, 'RATE_IP_BURST', d.perIp.burst) },
    failedKeysPerIp: {
      perSecond: positive(env, 'RATE_FAILED_KEY_PER_S', d.failedKeysPerIp.perSecond),
      burst: positive(env, 'RATE_FAILED_KEY_BURST', d.failedKeysPerIp.burst),
    },
  };
}
