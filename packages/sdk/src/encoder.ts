/**
 * The viewer's embedding, kept up to date incrementally. Keys and values of past positions stay cached (the
 * model's EncoderState), so one new play costs one position, and a play whose watched fraction changed costs one
 * position too (the last one is recomputed). Anything else (an older token changed, the window slid past maxLen,
 * a new model) re-encodes the window in one batched pass that fills the same cache.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EncoderState, History, LoadedModel, SequenceEncoder } from '@marquee/model';

export interface Token {
  item: number;
  event: number;
  frac: number;
}

/** The encoder's tokens for a model history; a missing event or fraction is index 0, as the model packs it. */
export function historyTokens(h: History): Token[] {
  return Array.from(h.items, (item, k) => ({ item, event: h.events?.[k] ?? 0, frac: h.fracs?.[k] ?? 0 }));
}

const same = (a: Token | undefined, b: Token | undefined) => a !== undefined && b !== undefined && a.item === b.item && a.event === b.event && a.frac === b.frac;

export type EncodeKind = 'none' | 'append' | 'replace-last' | 'full';

export class IncrementalEncoder {
  private readonly ops: SequenceEncoder;
  private state: EncoderState;
  private tokens: Token[] = [];

  constructor(private readonly model: LoadedModel) {
    this.ops = model.encoder();
    this.state = this.ops.full({ items: [] });
  }

  /** Brings the cached state to `next` (the whole history, oldest first); says how much work that took. */
  update(next: readonly Token[]): EncodeKind {
    const window = next.slice(-this.model.config.maxLen);
    const prev = this.tokens;
    const prefixEqual = (n: number) => {
      for (let i = 0; i < n; i++) if (!same(prev[i], window[i])) return false;
      return true;
    };
    const last = window.at(-1);
    let kind: EncodeKind;
    if (window.length === prev.length && prefixEqual(prev.length)) {
      kind = 'none';
    } else if (last && window.length === prev.length + 1 && prefixEqual(prev.length)) {
      this.step(last);
      kind = 'append';
    } else if (last && window.length === prev.length && prefixEqual(prev.length - 1)) {
      this.state = this.ops.truncate(this.state, this.state.length - 1);
      this.step(last);
      kind = 'replace-last';
    } else {
      this.ops.dispose(this.state);
      this.state = this.ops.full({ items: window.map((t) => t.item), events: window.map((t) => t.event), fracs: window.map((t) => t.frac) });
      kind = 'full';
    }
    this.tokens = window.slice();
    return kind;
  }

  get length(): number {
    return this.state.length;
  }

  /** The normalised user embedding [d] (caller disposes), or null before the first token. */
  embedding(): tf.Tensor1D | null {
    return this.state.last ? this.ops.embedding(this.state) : null;
  }

  private step(t: Token): void {
    this.state = this.ops.step(this.state, t.item, t.event, t.frac);
  }

  dispose(): void {
    this.ops.dispose(this.state);
  }
}
