/** The training and evaluation CLIs' options: --key value, --flag, --model.dim 128 / --train.seed 7 overrides. */
import { parseArgs } from 'node:util';
import { FORMATS } from '../data/load-node.ts';
import type { PipelineOptions } from '../pipeline.ts';
import { NODE_BACKENDS, type NodeBackendName } from '../backend-node.ts';

function parseBackend(v: string | boolean | undefined): NodeBackendName {
  if (v === undefined) return 'wasm';
  const b = NODE_BACKENDS.find((x) => x === v);
  if (!b) throw new Error(`--backend must be one of ${NODE_BACKENDS.join('|')}, got ${String(v)}`);
  return b;
}

/** The CLIs' options, parsed by node:util parseArgs; `--model.KEY V` / `--train.KEY V` overrides take any key. */
export function parseCliArgs(argv: string[], usage: string): PipelineOptions & { json: boolean } {
  const { values, tokens } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      data: { type: 'string' },
      format: { type: 'string', default: 'synthetic' },
      out: { type: 'string' },
      model: { type: 'string' },
      seed: { type: 'string' },
      'time-budget': { type: 'string' },
      epochs: { type: 'string' },
      workers: { type: 'string' },
      'member-threads': { type: 'string' },
      backend: { type: 'string' },
      'no-baselines': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  const number = (name: string, v: unknown): number => {
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${String(v)}\n${usage}`);
    return n;
  };
  // Overrides are open-ended, so parseArgs sees `--model.dim 128` as an unknown flag and a positional: pair them.
  const model: Record<string, number> = {};
  const train: Record<string, number | boolean> = {};
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional') throw new Error(`unexpected argument ${t.value}\n${usage}`);
    if (t.kind !== 'option' || !/^(model|train)\./.test(t.name)) continue;
    const next = tokens[i + 1];
    const raw = t.value ?? (next?.kind === 'positional' ? (i++, next.value) : undefined);
    const [group, key] = [t.name.slice(0, 5), t.name.slice(6)];
    if (group === 'model') model[key] = number(t.name, raw);
    else train[key] = raw === undefined ? true : number(t.name, raw);
  }
  const format = FORMATS.find((f) => f === values.format);
  if (!format) throw new Error(`--format must be one of ${FORMATS.join('|')}`);
  if (values.seed !== undefined) train.seed = number('seed', values.seed);
  if (values['time-budget'] !== undefined) train.timeBudgetSec = number('time-budget', values['time-budget']);
  if (values.epochs !== undefined) train.maxEpochs = number('epochs', values.epochs);
  if (values.workers !== undefined) train.workers = number('workers', values.workers);
  const text = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  return {
    format,
    data: text(values.data),
    out: text(values.out),
    modelDir: text(values.model),
    backend: parseBackend(values.backend),
    memberThreads: values['member-threads'] === undefined ? undefined : number('member-threads', values['member-threads']),
    baselines: values['no-baselines'] !== true,
    model,
    train: train as PipelineOptions['train'],
    json: values.json === true,
  };
}

export const COMMON_USAGE = `  --data PATH            dataset (movielens: directory with u.data/u.item; sasrec: text file; csv; store: JSONL
                         export; synthetic: optional "seed=1,members=1000,titles=2000")
  --format F             movielens | sasrec | csv | store | synthetic (default synthetic)
  --seed N               training seed (default 42)
  --time-budget SEC      training wall-clock budget (default auto: 450 s per 100k interactions, 540..1500 s)
  --epochs N             maximum epochs (default 200)
  --workers N            data-parallel training replicas: this thread plus N-1 worker threads, each with its own
                         wasm backend, gradients averaged every step (default 1; see README for measurements)
  --member-threads N     ensemble members trained at once, one worker thread (and core) each, all by one
                         deadline: each starts with what is left divided by the rounds still to come (default:
                         one per member up to the cores on wasm with --workers 1; 1 = one after another on
                         this thread, each on a share of what is left)
  --model.KEY V          model override (maxLen, dim, layers, heads, ffnMult, dropout, temperature, untiedInput
                         0/1: an input-only item table, chosen by ItemKNN on validation when absent; dropout
                         defaults to 0.5 with that table, 0.2 without; recencyBias 0/1: a learned recency
                         bias per attention head; itemBias 0/1: a per-title score bias; members N: an ensemble
                         of N models, seeds seed..seed+N-1, served as one (format 4); default 4 where members
                         can train at once (wasm, --workers 1, 2+ cores; 4 on 2 cores: two rounds of 2 by one
                         deadline, each starting with half the budget), else 1, and 1 with a refit); without
                         --model.maxLen the history length (50 or 200) is chosen before training by ItemKNN on
                         validation, scoring from the last 50 or 200 titles, where a quarter of the histories are
                         longer than 50; the chosen length trains on the whole budget
  --train.KEY V          training override (tokensPerBatch, learningRate, negatives, patience, averageTop,
                         weightDecay, inputWeightDecay (item.in only), idLearningRateScale (item-id tables),
                         successorInit (item.in's start: S x the mean id row of each title's successors),
                         warmupSteps, decayEpochs, attentionDropout, labelSmoothing, refitEpochs, refitScratch 0/1,
                         ...)
  --backend B            tfjs backend: wasm (default), cpu, or webgpu (needs the optional 'webgpu' package and a GPU
                         adapter; fails clearly without one)`;
