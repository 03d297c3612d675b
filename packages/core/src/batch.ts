/**
 * Cutting the outbox into request-sized batches. The byte size counted is that of the JSON the sender will
 * POST, so a keepalive request can be held under the browser's 64 KiB in-flight budget.
 */
export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

/** Bytes of the `{"writeKey":...,"events":[` envelope around a batch, generously rounded up. */
export const ENVELOPE_BYTES = 256;

/**
 * The longest prefix of `sizes` (bytes per serialized event) that fits the limits. Always at least one item, so an
 * event larger than maxBytes is still sent (and the server judges it) instead of blocking the queue forever.
 */
export function takeBatch(sizes: readonly number[], limits: BatchLimits): number {
  let bytes = ENVELOPE_BYTES;
  let n = 0;
  for (const size of sizes) {
    if (n >= limits.maxEvents) break;
    if (n > 0 && bytes + size + 1 > limits.maxBytes) break;
    bytes += size + 1;
    n++;
  }
  return n;
}

export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
