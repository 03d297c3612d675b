/**
 * Data-parallel training on several cores (Node): worker threads, each with its own wasm backend and a replica of
 * the weights and optimizer. tfjs runs wasm single-threaded in Node (tfjs issue #3830), so one process trains on one
 * core; replicas are how a step uses the others. Per step the training thread computes one share of the batch,
 * every worker another; the training thread averages the gradients (weighted by positions) and every replica applies
 * the average, so all replicas stay equal. Messages: @marquee/core's TrainWorker* schemas.
 */
import type { Worker } from 'node:worker_threads';
import {
  TrainWorkerReplySchema,
  type TrainBatchShare,
  type TrainWorkerInit,
  type TrainWorkerReply,
  type TrainWorkerRequest,
} from '@marquee/core';
import { tsWorker } from './ts-worker.ts';

type GradsReply = Extract<TrainWorkerReply, { type: 'grads' }>;

/** The item-id table's tensor name: kept by the training thread (lazy Adam), never replicated to workers. */
export const ID_TABLE = 'item.id';
/** The input-only item table's (untied models): kept by the training thread too (dense Adam), never replicated. */
export const IN_TABLE = 'item.in';

/** The item-table rows a step touches, as every replica receives them. */
export interface StepRows {
  rows: Int32Array | null;
  id: Float32Array;
  /** The same rows of the input-only table, when the model has one. */
  inId: Float32Array | undefined;
  idKeep: Float32Array | undefined;
}

const ENTRY = new URL('./train-worker-entry.ts', import.meta.url);

class GradientWorker {
  private readonly worker: Worker;
  private waiting: { resolve: (r: TrainWorkerReply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(init: TrainWorkerInit) {
    this.worker = tsWorker(ENTRY, init);
    this.worker.on('message', (m: unknown) => {
      const parsed = TrainWorkerReplySchema.safeParse(m);
      const w = this.waiting;
      this.waiting = null;
      if (!parsed.success) return w?.reject(new Error(`gradient worker: malformed reply (${parsed.error.message})`));
      if (parsed.data.type === 'error') return w?.reject(new Error(`gradient worker: ${parsed.data.message}`));
      w?.resolve(parsed.data);
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.waiting?.reject(e);
      this.waiting = null;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => code !== 0 && fail(new Error(`gradient worker exited with code ${code}`)));
  }

  private next(): Promise<TrainWorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new Error('gradient worker: a reply is already awaited'));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  ready(): Promise<TrainWorkerReply> {
    return this.next();
  }

  grads(batch: TrainBatchShare, r: StepRows, dropoutSeed: number): Promise<GradsReply> {
    const reply = this.next();
    this.post({ type: 'grads', batch, rows: r.rows, id: r.id, inId: r.inId, idKeep: r.idKeep, dropoutSeed });
    return reply.then((r) => {
      if (r.type !== 'grads') throw new Error(`gradient worker: expected gradients, got ${r.type}`);
      return r;
    });
  }

  post(m: TrainWorkerRequest): void {
    this.worker.postMessage(m);
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** n gradient workers started with the same initial state; resolves once every one has its backend and weights. */
export class GradientPool {
  private constructor(private readonly workers: GradientWorker[]) {}

  static async start(n: number, init: TrainWorkerInit): Promise<GradientPool> {
    const ws = Array.from({ length: n }, () => new GradientWorker(init));
    try {
      await Promise.all(ws.map((w) => w.ready()));
    } catch (e) {
      await Promise.all(ws.map((w) => w.close()));
      throw e;
    }
    return new GradientPool(ws);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Gradients of share i on worker i (fewer shares than workers leaves the rest idle). */
  grads(shares: TrainBatchShare[], r: StepRows, seeds: number[]): Promise<GradsReply[]> {
    return Promise.all(shares.map((share, i) => {
      const [w, seed] = [this.workers[i], seeds[i]];
      if (!w || seed === undefined) throw new Error(`GradientPool: no worker or seed for share ${i}`);
      return w.grads(share, r, seed);
    }));
  }

  /** Every worker applies the averaged gradient (queued behind nothing: workers handle messages in order). */
  apply(grads: Float32Array[]): void {
    for (const w of this.workers) w.post({ type: 'apply', grads });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
