/**
 * The door of every keyed write route (`/v1/events`, `/v1/candidates`), cheapest check first:
 *
 * 1. per-address token buckets (429), before anything else: one for all requests, and one for unknown keys, so a
 *    flood of wrong keys cannot crowd out others (past its budget an address is not even told 401, and its
 *    connection is closed without reading the body);
 * 2. a key in the `x-marquee-key` header or `?key=` is checked before the body is read (401 whatever the body);
 * 3. content type (415), then the body read up to a byte limit (413) and parsed (400);
 * 4. a key only in the body (`writeKey`) is checked right after the parse, before any other validation (401);
 * 5. per-key token bucket (429).
 */
import type { Context } from 'hono';
import { WRITE_KEY_HEADER } from '@marquee/core';
import { jsonError } from '../../errors.ts';
import type { IncomingMessage } from 'node:http';
import { clientAddress, nodeIncoming, type TokenBuckets } from '../rate-limit/index.ts';

export interface GuardOptions {
  writeKeys: ReadonlySet<string>;
  perKey: TokenBuckets;
  perIp: TokenBuckets;
  /** Unknown keys per client address: each 401 takes a token. */
  failedKeysPerIp: TokenBuckets;
}

export type Guarded = { ok: true; body: unknown; writeKey: string } | { ok: false; response: Response };

const ACCEPTED_TYPES = new Set(['application/json', 'text/plain']);

function tooMany(c: Context, waitMs: number, what: string): Response {
  c.header('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
  return jsonError(c, 429, 'too many requests', `rate limit per ${what}`);
}

/**
 * Reads at most `maxBytes` of the body; null when it is longer (the rest is never buffered). Under the Node server
 * the body is read from the Node request itself: the web stream that `Request.body` wraps around it cost more per
 * request than the parse of a 100-event batch. Either way, reading stops without destroying anything: cancelling
 * can destroy the socket under a client still sending, which then sees EPIPE instead of the 413; the server drains
 * what is left (bounded) after the response is flushed.
 */
async function readBounded(c: Context, maxBytes: number): Promise<string | null> {
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return null;
  const incoming = nodeIncoming(c);
  const bytes = incoming && !incoming.readableEnded ? await readNode(incoming, maxBytes) : await readWeb(c.req.raw, maxBytes);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

function readNode(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) return void chunks.push(chunk);
      settle();
      incoming.pause();
      resolve(null);
    };
    const onEnd = () => {
      settle();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      settle();
      reject(err);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
}

async function readWeb(req: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.releaseLock();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

export async function guardedJson(c: Context, opts: GuardOptions, maxBytes: number): Promise<Guarded> {
  const fail = (response: Response): Guarded => ({ ok: false, response });
  const address = clientAddress(c);
  const ipWait = opts.perIp.take(address);
  if (ipWait > 0) return fail(tooMany(c, ipWait, 'client address'));
  const failedWait = opts.failedKeysPerIp.wait(address);
  if (failedWait > 0) {
    // Closing costs the flooder a new connection per request and spares the server its unread body; a client
    // that honours Retry-After never gets here twice in a row.
    c.header('Connection', 'close');
    return fail(tooMany(c, failedWait, 'client address with unknown write keys'));
  }
  const unknownKey = (): Guarded => {
    opts.failedKeysPerIp.take(address);
    return fail(jsonError(c, 401, 'unknown write key'));
  };

  const early = c.req.header(WRITE_KEY_HEADER) ?? c.req.query('key');
  if (early !== undefined && !opts.writeKeys.has(early)) return unknownKey();

  const [mediaType = ''] = (c.req.header('content-type') ?? '').split(';', 1);
  if (!ACCEPTED_TYPES.has(mediaType.trim().toLowerCase())) return fail(jsonError(c, 415, 'unsupported content type', 'send application/json or text/plain'));

  const text = await readBounded(c, maxBytes);
  if (text === null) return fail(jsonError(c, 413, 'body too large', `at most ${maxBytes} bytes`));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(jsonError(c, 400, 'malformed JSON'));
  }

  let writeKey = early;
  if (writeKey === undefined) {
    const inBody = typeof body === 'object' && body !== null && 'writeKey' in body ? body.writeKey : undefined;
    if (typeof inBody !== 'string' || !opts.writeKeys.has(inBody)) return unknownKey();
    writeKey = inBody;
  }
  const keyWait = opts.perKey.take(writeKey);
  if (keyWait > 0) return fail(tooMany(c, keyWait, 'write key'));
  return { ok: true, body, writeKey };
}
