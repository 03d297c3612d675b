/**
 * The only platform APIs core uses, present in every runtime it runs in (browsers, workers, Node >= 20). Core's own
 * typecheck has neither DOM nor Node types, so anything else would be a type error here.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };
