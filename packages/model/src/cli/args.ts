/** Tiny argv parser for the CLIs: --key value, --flag, --model.dim 128 / --train.seed 7 overrides. */
import { FORMATS, type Format } from '../data/load-node.ts';
import type { PipelineOptions } from '../pipeline.ts';
import { NODE_BACKENDS, type NodeBackendName } from '../backend-node.ts';

function parseBackend(v: string | boolean | undefined): NodeBackendName {
  if (v === undefined) return 'wasm';
  const b = NODE_BACKENDS.find((x) => x === v);
  if (!b) throw new Error(`--backend must be one of ${NODE_BACKENDS.join('|')}, got ${String(v)}`);
  return b;
}

export function parseArgs(argv: string[], usage: string): PipelineOptions & { json: boolean } {
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${usage}`);
    const k = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) o[k] = true;
    else (o[k] = next), i++;
  }
  const format = (o.format ?? 'synthetic') as Format;
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join('|')}`);
  const model: Record<string, number> = {};
  const train: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(o)) {
    const num = (x: string | boolean) => {
      if (typeof x === 'boolean') return x;
      const n = Number(x);
      if (!Number.isFinite(n)) throw new Error(`--${k} needs a number, got ${x}`);
      return n;
    };
    if (k.startsWith('model.')) model[k.slice(6)] = num(v) as number;
    else if (k.startsWith('train.')) train[k.slice(6)] = num(v);
  }
  if (o.seed !== undefined) train.seed = Number(o.seed);
  if (o['time-budget'] !== undefined) train.timeBudgetSec = Number(o['time-budget']);
  if (o.epochs !== undefined) train.maxEpochs = Number(o.epochs);
  if (o.workers !== undefined) train.workers = Number(o.workers);
  return {
    format,
    data: typeof o.data === 'string' ? o.data : undefined,
    out: typeof o.out === 'string' ? o.out : undefined,
    modelDir: typeof o.model === 'string' ? o.model : undefined,
    backend: parseBackend(o.backend),
    baselines: o['no-baselines'] !== true,
    model,
    train: train as PipelineOptions['train'],
    json: o.json === true,
  };
}

export const COMMON_USAGE = `  --data PATH            dataset (movielens: directory with u.data/u.item; sasrec: text file; csv; store: JSONL
                         export; synthetic: optional "seed=1,members=1000,titles=2000")
  --format F             movielens | sasrec | csv | store | synthetic (default synthetic)
  --seed N               training seed (default 42)
  --time-budget SEC      training wall-clock budget (default auto: 450 s per 100k interactions, 450..1500 s)
  --epochs N             maximum epochs (default 200)
  --workers N            data-parallel training replicas: this thread plus N-1 worker threads, each with its own
                         wasm backend, gradients averaged every step (default 1; see README for measurements)
  --model.KEY V          model override (maxLen, dim, layers, heads, ffnMult, dropout, temperature)
  --train.KEY V          training override (tokensPerBatch, learningRate, negatives, patience, weightDecay,
                         warmupSteps, attentionDropout, ...)
  --backend B            tfjs backend: wasm (default), cpu, or webgpu (needs the optional 'webgpu' package and a GPU
                         adapter; fails clearly without one)`;
