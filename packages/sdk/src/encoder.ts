/**
 * The viewer's embedding, kept up to date incrementally. Keys and values of past positions stay cached (the
 * model's EncoderState), so one new play costs one position, and a play whose watched fraction changed costs one
 * position too (the last one is recomputed). Anything else (an older token changed, the window slid past maxLen,
 * a new model) re-encodes the window in one batched pass that fills the same cache.
 */
import * as tf from '@tensorflow/tfjs-core';
import { disposeState, emptyState, encodeHistory, encodeStep, itemTable, stateEmbedding, type EncoderState, type LoadedModel } from '@marquee/model';

export interface Token {
  item: number;
  event: number;
  frac: number;
}

const same = (a: Token, b: Token) => a.item === b.item && a.event === b.event && a.frac === b.frac;

export type EncodeKind = 'none' | 'append' | 'replace-last' | 'full';

export class IncrementalEncoder {
  private state: EncoderState = emptyState();
  private tokens: Token[] = [];
  private readonly table: tf.Tensor2D;
  /** Without item metadata the table is the model's own id embedding, which is not ours to dispose. */
  private readonly ownsTable: boolean;

  constructor(private readonly model: LoadedModel) {
    this.table = tf.tidy(() => itemTable(model.params, model.config));
    this.ownsTable = !Object.values(model.params).includes(this.table);
  }

  /** Brings the cached state to `next` (the whole history, oldest first); says how much work that took. */
  update(next: readonly Token[]): EncodeKind {
    const window = next.slice(-this.model.config.maxLen);
    const prev = this.tokens;
    const prefixEqual = (n: number) => {
      for (let i = 0; i < n; i++) if (!same(prev[i], window[i])) return false;
      return true;
    };
    let kind: EncodeKind;
    if (window.length === prev.length && prefixEqual(prev.length)) {
      kind = 'none';
    } else if (window.length === prev.length + 1 && prefixEqual(prev.length)) {
      this.step(window[window.length - 1]);
      kind = 'append';
    } else if (window.length === prev.length && window.length > 0 && prefixEqual(prev.length - 1)) {
      this.dropLast();
      this.step(window[window.length - 1]);
      kind = 'replace-last';
    } else {
      disposeState(this.state);
      const { params, config } = this.model;
      this.state = encodeHistory(params, config, { items: window.map((t) => t.item), events: window.map((t) => t.event), fracs: window.map((t) => t.frac) });
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
    return this.state.last ? stateEmbedding(this.state) : null;
  }

  private step(t: Token): void {
    const { params, config } = this.model;
    this.state = encodeStep(params, config, this.state, t.item, t.event, t.frac, this.table);
  }

  private dropLast(): void {
    const s = this.state;
    const n = s.length - 1;
    const cut = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [-1, n, -1]) as tf.Tensor3D;
    const keys = n > 0 ? s.keys.map(cut) : [];
    const values = n > 0 ? s.values.map(cut) : [];
    disposeState(s);
    this.state = { length: n, keys, values, last: null };
  }

  dispose(): void {
    disposeState(this.state);
    if (this.ownsTable) this.table.dispose();
  }
}
