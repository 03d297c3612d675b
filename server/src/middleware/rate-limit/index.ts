/**
 * Token buckets keyed by a string (a write key, a client address): each request takes one token, tokens come back
 * at a steady rate up to the bucket size. An empty bucket answers 429 with `Retry-After`, which the SDK honours.
 */
import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { RateLimit } from '../../limits.ts';

/** Beyond this many tracked names, full buckets (which hold no state worth keeping) are forgotten first. */
const MAX_TRACKED = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for `name`: 0 when granted, else the milliseconds until one is available. */
  take(name: string): number {
    const t = this.now();
    let b = this.buckets.get(name);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED) this.forget(t);
      b = { tokens: this.limit.burst, at: t };
      this.buckets.set(name, b);
    }
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 1000) * this.limit.perSecond);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.limit.perSecond) * 1000);
  }

  /** Milliseconds until `name` has a token (0: it has one now), without taking it. */
  wait(name: string): number {
    const b = this.buckets.get(name);
    if (!b) return 0;
    const tokens = Math.min(this.limit.burst, b.tokens + ((this.now() - b.at) / 1000) * this.limit.perSecond);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.limit.perSecond) * 1000);
  }

  private forget(t: number): void {
    for (const [name, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.buckets.delete(name);
    }
    // Still full of active names (a flood from many addresses): drop the oldest half rather than grow without end.
    if (this.buckets.size >= MAX_TRACKED) {
      let n = this.buckets.size / 2;
      for (const name of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(name);
      }
    }
  }
}

/** The Node request under a Hono context when served by @hono/node-server; undefined under `app.request`. */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  if (typeof env === 'object' && env !== null && 'incoming' in env && env.incoming instanceof IncomingMessage) return env.incoming;
  return undefined;
}

/** The peer address of the connection (Node server), never a client-supplied header. */
export function clientAddress(c: Context): string {
  const env: unknown = c.env;
  if (typeof env === 'object' && env !== null && 'incoming' in env) {
    // Read structurally, not through nodeIncoming: tests give `app.request` a bare `{ socket: { remoteAddress } }`.
    const incoming: unknown = env.incoming;
    if (typeof incoming === 'object' && incoming !== null && 'socket' in incoming) {
      const socket: unknown = incoming.socket;
      if (typeof socket === 'object' && socket !== null && 'remoteAddress' in socket && typeof socket.remoteAddress === 'string') {
        return socket.remoteAddress;
      }
    }
  }
  return 'unknown';
}
