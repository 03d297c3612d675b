/**
 * Moves the outbox to the server: batches bounded by count, bytes and age; retries with jittered backoff that
 * honours Retry-After; one sender at a time across tabs; paused while offline. Pure of browser globals: the
 * worker passes in fetch, the cross-tab lock and the online flag, and tests pass fakes.
 */
import {
  classifyStatus,
  nextRetryDelay,
  type BackoffOptions,
  type BatchLimits,
  IngestResponseSchema,
  parseContract,
  type IngestResponse,
} from '@marquee/core';
import type { Batch, Outbox } from './outbox.ts';

/** keepalive requests share a 64 KiB in-flight budget per page; stay under it with room for the envelope. */
export const KEEPALIVE_MAX_BYTES = 60_000;

export interface SenderOptions {
  endpoint: string;
  writeKey: string;
  batch: BatchLimits;
  maxAgeMs: number;
  backoff: BackoffOptions;
}

export interface SenderDeps {
  fetch: typeof fetch;
  /** Runs `fn` holding the origin-wide sender lock, so two tabs never send at once. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  isOnline(): boolean;
  random?: () => number;
  /** Called whenever counters or state change. */
  onChange?: () => void;
}

export class Sender {
  /** Events put on the wire by this sender, retries included. */
  sent = 0;
  attempt = 0;
  lastError: string | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private ageTimer: ReturnType<typeof setTimeout> | null = null;
  private trackedSinceFlush = 0;
  private closed = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly opts: SenderOptions,
    private readonly deps: SenderDeps,
  ) {}

  /** After each tracked event: send now if a batch is full, else at the latest when it is maxAgeMs old. */
  onTracked(): void {
    this.trackedSinceFlush++;
    if (this.trackedSinceFlush >= this.opts.batch.maxEvents) {
      void this.flush();
    } else if (!this.ageTimer) {
      this.ageTimer = setTimeout(() => {
        this.ageTimer = null;
        void this.flush();
      }, this.opts.maxAgeMs);
    }
  }

  /** The network came back: forget the backoff and send at once. */
  onOnline(): void {
    this.cancelRetry();
    this.attempt = 0;
    void this.flush();
  }

  get backingOff(): boolean {
    return this.retryTimer !== null;
  }

  /**
   * Sends until the outbox is empty, a retry is scheduled, or (keepalive) one batch is on its way. While a retry
   * is scheduled, flushes wait for it: backoff is not skipped because the page is busy tracking.
   */
  flush(opts: { keepalive?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    // .finally runs asynchronously, so it always clears after the assignment, even when loop returns at once.
    this.running = this.loop(opts.keepalive ?? false).finally(() => {
      this.running = null;
      this.deps.onChange?.();
    });
    return this.running;
  }

  private async loop(keepalive: boolean): Promise<void> {
    do {
      this.again = false;
      if (!this.deps.isOnline() || this.backingOff) return;
      await this.deps.withLock(() => this.drain(keepalive));
    } while (this.again && !this.closed);
  }

  private async drain(keepalive: boolean): Promise<void> {
    this.trackedSinceFlush = 0;
    const limits = keepalive
      ? { maxEvents: this.opts.batch.maxEvents, maxBytes: Math.min(this.opts.batch.maxBytes, KEEPALIVE_MAX_BYTES) }
      : this.opts.batch;
    while (!this.closed && this.deps.isOnline()) {
      const batch = await this.outbox.peek(limits);
      if (batch.events.length === 0) return;
      const outcome = await this.send(batch, keepalive);
      if (outcome === 'retry') return;
      if (keepalive) return;
    }
  }

  private async send(batch: Batch, keepalive: boolean): Promise<'done' | 'retry'> {
    this.sent += batch.events.length;
    let res: Response;
    try {
      // text/plain keeps this a CORS "simple" request: no preflight, and keepalive works cross-origin.
      res = await this.deps.fetch(`${this.opts.endpoint}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({ writeKey: this.opts.writeKey, events: batch.events }),
        keepalive,
      });
    } catch (err) {
      return this.scheduleRetry(`network error: ${(err as Error).message}`);
    }
    const outcome = classifyStatus(res.status, res.headers.get('retry-after'));
    if (outcome.kind === 'retry') {
      return this.scheduleRetry(`HTTP ${res.status}`, outcome.afterMs);
    }
    if (outcome.kind === 'drop') {
      const detail = await res.text().catch(() => '');
      this.lastError = `batch of ${batch.events.length} refused: ${outcome.reason} ${detail}`.trim();
      await this.outbox.settle(batch.seqs, { rejected: batch.events.length });
    } else {
      let body: IngestResponse;
      try {
        body = parseContract(IngestResponseSchema, await res.json(), 'POST /v1/events answered');
      } catch (err) {
        // Not an answer this sender understands: keep the batch and try again (the server deduplicates by id).
        return this.scheduleRetry(err instanceof TypeError ? err.message : 'unreadable answer');
      }
      const rejected = body.rejected?.length ?? 0;
      const firstRejection = body.rejected?.[0];
      if (firstRejection) this.lastError = `server rejected ${rejected} event(s): ${firstRejection.reason}`;
      await this.outbox.settle(batch.seqs, {
        acknowledged: batch.events.length - rejected,
        rejected,
      });
      this.attempt = 0;
      if (rejected === 0) this.lastError = undefined;
    }
    this.deps.onChange?.();
    return 'done';
  }

  private scheduleRetry(reason: string, serverAfterMs?: number): 'retry' {
    const delay = nextRetryDelay(this.attempt, serverAfterMs, this.opts.backoff, this.deps.random);
    this.attempt++;
    this.lastError = reason;
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, delay);
    this.deps.onChange?.();
    return 'retry';
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    if (this.ageTimer) clearTimeout(this.ageTimer);
    await this.running;
  }
}
