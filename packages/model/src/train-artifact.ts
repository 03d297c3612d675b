/**
 * The one training chain from raw interactions to a publishable artifact: backend, dataset, leave-one-out split,
 * fit, then the artifact files. `npm run train` / `npm run eval` (runPipeline) and the server's bootstrap both call
 * it, so a change to how a model is trained or written reaches both.
 */
import { makeTrainConfig, MODEL_DEFAULTS, resolveTimeBudget, type ModelConfig, type ModelOverrides, type TrainConfig } from './config.ts';
import { joinMembers, type Params } from './model.ts';
import { buildDataset, summarize, type DataSummary } from './data/dataset.ts';
import { leaveOneOut, type Split } from './data/split.ts';
import type { Dataset, RawData } from './data/types.ts';
import { fit, modelConfigFor, type EpochLog, type FitResult } from './train.ts';
import { fitItemKnn } from './baselines.ts';
import { evaluate, modelScorer } from './eval.ts';
import { Rng, subSeed } from './rng.ts';
import { initNodeBackend, type NodeBackendName } from './backend-node.ts';
import { saveModelDir } from './artifact-node.ts';
import { fitInWorker } from './member-workers.ts';
import { availableParallelism } from 'node:os';
import { progressReporter } from './progress.ts';
import type { Manifest } from './artifact.ts';

export interface TrainArtifactOptions {
  backend?: NodeBackendName;
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  /** Show the trainer's progress bar and epoch lines on stderr (default true). */
  progress?: boolean;
  /** Called once the data is indexed and split, before training starts (callers log what is about to be trained). */
  onData?: (summary: DataSummary, split: Split, backend: string) => void | Promise<void>;
  /** Called with the chosen weights before a refit (train.refitEpochs) changes them; see FitOptions.onBeforeRefit. */
  onBeforeRefit?: (d: Dataset, split: Split, params: Params, config: Readonly<ModelConfig>) => Promise<void>;
  /**
   * An ensemble's members trained at once, one worker thread each (wasm only): 1 = one after another on this
   * thread. Default: as many as there are members and cores (one core per member; with train.workers > 1, 1).
   */
  memberThreads?: number;
}

/** How one member of an ensemble trained (model.members > 1). */
export interface MemberFit {
  seed: number;
  epochs: number;
  bestEpoch: number;
  averagedEpochs: number[];
  stopReason: FitResult['stopReason'];
  /** Validation NDCG@10 of the member's chosen weights, on its own validation sample. */
  valNdcg10: number;
  seconds: number;
}

export interface TrainedArtifact {
  dataset: Dataset;
  split: Split;
  summary: DataSummary;
  /** The backend the model trained on. */
  backend: string;
  /**
   * The trained model. For an ensemble: every member's weights (joinMembers), epochs, positions and seconds summed
   * over the members, best and averaged epochs member 0's, validation NDCG@10 the ensemble's (on member 0's sample).
   */
  fit: FitResult;
  /** An ensemble's members, in order (empty for one model). */
  members: MemberFit[];
  /** How many members trained at once (one worker thread each); 1 = one after another on this thread. */
  memberThreads: number;
  /** One entry per history length compared (chooseMaxLen), empty where none was searched. */
  maxLenSearch: MaxLenTrial[];
  /** The validation figures that chose `model.untiedInput`, where it was not given. */
  untiedInputTrial?: UntiedInputTrial;
  /** Seconds the history-length and input-table choices took (counted in the training budget). */
  searchSeconds: number;
  /** Writes the artifact (config, weights, vocabulary, training config, data summary, these metrics) into `dir`. */
  save(dir: string, metrics: Record<string, unknown>): Promise<Manifest>;
  /** Frees the trained weights' tensors. */
  dispose(): void;
}

/** The vocabulary block of a manifest: ids and, where the data has them, titles, genres and years. */
export function itemsForManifest(d: Dataset): Manifest['items'] {
  const gi = new Map(d.genres.map((g, i) => [g, i]));
  const hasTitles = d.itemMeta.some((m) => m.title);
  const hasGenres = d.genres.length > 0;
  const hasYears = d.itemMeta.some((m) => m.year !== undefined);
  return {
    ids: d.itemIds,
    titles: hasTitles ? d.itemMeta.map((m) => m.title ?? null) : undefined,
    genreNames: d.genres,
    genres: hasGenres ? d.itemMeta.map((m) => (m.genres ?? []).flatMap((g) => gi.get(g) ?? [])) : undefined,
    years: hasYears ? d.itemMeta.map((m) => m.year ?? null) : undefined,
  };
}

/** One history length the choice compared: the windowed ItemKNN's validation NDCG@10 that stood for it. */
export interface MaxLenTrial {
  maxLen: number;
  knnValNdcg10: number;
}

/**
 * Whether to search the history length at all (`model.maxLen` absent): only where at least a quarter of the users'
 * training histories are longer than the shorter length; otherwise both lengths see nearly the same windows.
 */
export function maxLenCandidates(trainEnd: Int32Array, model?: ModelOverrides): number[] {
  if (model?.maxLen !== undefined) return [model.maxLen];
  const [short, long] = MAX_LEN_SEARCH;
  const longer = trainEnd.reduce((n, e) => n + (e > short ? 1 : 0), 0);
  return longer >= 0.25 * trainEnd.length ? [short, long] : [long];
}

/** Shorter and longer history length of the search; the longer is also the default where no search runs. */
export const MAX_LEN_SEARCH = [50, MODEL_DEFAULTS.maxLen] as const;

/**
 * The history length to train, chosen before training so that it gets the whole budget. How far back taste reaches
 * differs by data (ML-100K: maxLen 50 beats 200 by two standard errors on validation; the synthetic default world:
 * the reverse) and the history-length distribution does not tell (ML-100K's histories are the longer ones), so the
 * data answers through a model that costs seconds: ItemKNN fit on the training interactions, scoring each
 * validation target from only the last `maxLen` consumed titles of the history, full-ranking NDCG@10 on (a sample
 * of) the validation users; the longest candidate whose score is within `tolerance` (relative) of the best is kept,
 * since a longer window loses little where it does not help and the model can learn to discount old titles.
 */
export async function chooseMaxLen(d: Dataset, split: Split, candidates: number[], valUsers: number, seed: number, tolerance = MAX_LEN_TOLERANCE, knnFit?: KnnOnValidation): Promise<{ maxLen: number; trials: MaxLenTrial[] }> {
  const [only] = candidates;
  if (candidates.length === 1 && only !== undefined) return { maxLen: only, trials: [] };
  const { cases, knn } = knnFit ?? knnOnValidation(d, split, valUsers, seed);
  const trials: MaxLenTrial[] = [];
  for (const maxLen of candidates) {
    const m = await evaluate(d, cases, knn()({ window: maxLen }), { fullOnly: true });
    trials.push({ maxLen, knnValNdcg10: m.full.ndcg10 });
  }
  return { maxLen: keptMaxLen(trials, tolerance), trials };
}

/** ItemKNN fit on the training interactions (once, on first use) and the validation users `fit` validates on. */
export interface KnnOnValidation {
  cases: Split['val'];
  knn: () => ReturnType<typeof fitItemKnn>;
}

export function knnOnValidation(d: Dataset, split: Split, valUsers: number, seed: number): KnnOnValidation {
  const cases = split.val.length > valUsers ? new Rng(subSeed(seed, 'val')).shuffle(split.val.slice()).slice(0, valUsers) : split.val;
  let fitted: ReturnType<typeof fitItemKnn> | undefined;
  return { cases, knn: () => (fitted ??= fitItemKnn(d, split.trainEnd)) };
}

/** The two ItemKNN scorers whose validation NDCG@10 decided `model.untiedInput`. */
export interface UntiedInputTrial {
  knnLastValNdcg10: number;
  knnRecencyValNdcg10: number;
}

/**
 * Whether to train an input-only item table (`model.untiedInput`), chosen before training like the history length.
 * The table lets a title's input embedding point at what follows it, which pays where the last title alone says
 * most about the next one (series, collections) and overfits where taste across the history does (measured: the
 * sparse preset's 10k-member world, test full NDCG@10 0.1843 -> 0.2622; ML-100K 0.1070 -> 0.0985). The data answers
 * through two ItemKNN scorers on validation: cosine neighbours of the last title alone (ItemKNN-last) against every
 * recent title weighted 0.8^k (the recency-weighted kNN); untied when the last title alone scores higher.
 */
export async function chooseUntiedInput(d: Dataset, split: Split, valUsers: number, seed: number, model?: ModelOverrides, knnFit?: KnnOnValidation): Promise<{ untiedInput: boolean; trial?: UntiedInputTrial }> {
  if (model?.untiedInput !== undefined) return { untiedInput: Boolean(model.untiedInput) };
  const { cases, knn } = knnFit ?? knnOnValidation(d, split, valUsers, seed);
  if (!cases.length) return { untiedInput: MODEL_DEFAULTS.untiedInput };
  const trial = {
    knnLastValNdcg10: (await evaluate(d, cases, knn()({ lastOnly: true }), { fullOnly: true })).full.ndcg10,
    knnRecencyValNdcg10: (await evaluate(d, cases, knn()({ recencyDecay: 0.8 }), { fullOnly: true })).full.ndcg10,
  };
  return { untiedInput: trial.knnLastValNdcg10 > trial.knnRecencyValNdcg10, trial };
}

/** The longest length whose windowed ItemKNN validation NDCG@10 is within `tolerance` (relative) of the best. */
export function keptMaxLen(trials: MaxLenTrial[], tolerance: number): number {
  const best = Math.max(...trials.map((t) => t.knnValNdcg10));
  const within = trials.filter((t) => t.knnValNdcg10 >= best * (1 - tolerance));
  if (!within.length) throw new Error('keptMaxLen: no trial');
  return Math.max(...within.map((t) => t.maxLen));
}

/** Relative shortfall of a longer window's ItemKNN validation NDCG@10 that still keeps the longer length. */
export const MAX_LEN_TOLERANCE = 0.05;

/**
 * Members of the ensemble trained where `model.members` is not given and members can train at once (defaultMembers;
 * a refit asked for trains one model). Measured over training seeds with the default command (README, eleventh and
 * twelfth sessions), test full NDCG@10 against one model: ML-100K +0.0046 with 2 members, +0.0083 with 3, +0.0086
 * with 4; the default world +0.0024 with 2, +0.0047 with 4 (the first size past ItemKNN on average). On 2 cores 4
 * members train as two rounds of 2 at once, each starting with half the budget; on the device they cost about 4x
 * one model's full encode and download (README).
 */
export const DEFAULT_MEMBERS = 4;

/**
 * DEFAULT_MEMBERS where members can train at once (wasm, train.workers 1, at least 2 cores), else 1: one after
 * another, 4 members would each get a quarter of the budget, which is worse than one model with all of it.
 */
export function defaultMembers(backend: string, workers: number, cores = availableParallelism()): number {
  return memberThreadsFor(DEFAULT_MEMBERS, backend, workers, undefined, cores) > 1 ? DEFAULT_MEMBERS : 1;
}

export async function trainArtifact(raw: RawData, o: TrainArtifactOptions = {}): Promise<TrainedArtifact> {
  const { backend } = await initNodeBackend(o.backend ?? 'wasm');
  const dataset = buildDataset(raw, { includeImpressions: o.train?.includeImpressions });
  const split = leaveOneOut(dataset);
  const summary = summarize(dataset);
  await o.onData?.(summary, split, backend);
  const bar = o.progress === false ? undefined : progressReporter();
  const t = makeTrainConfig(o.train);
  const budget = resolveTimeBudget(t, dataset.interactions);
  const s0 = performance.now();
  const knnFit = knnOnValidation(dataset, split, t.valUsers, t.seed);
  const { maxLen, trials: maxLenSearch } = await chooseMaxLen(dataset, split, maxLenCandidates(split.trainEnd, o.model), t.valUsers, t.seed, MAX_LEN_TOLERANCE, knnFit);
  const { untiedInput, trial: untiedInputTrial } = await chooseUntiedInput(dataset, split, t.valUsers, t.seed, o.model, knnFit);
  const searchSeconds = (performance.now() - s0) / 1000;
  // The whole ensemble's config, checked before any member trains (e.g. members 0 or 1.5 fail here, with the reason).
  const refit = t.refitEpochs > 0 || t.refitScratch;
  const { members } = modelConfigFor(dataset, { ...o.model, maxLen, untiedInput, members: o.model?.members ?? (refit ? 1 : defaultMembers(backend, t.workers)) });
  if (members > 1 && refit) throw new Error(`train.refitEpochs and train.refitScratch refit one model: train it with --model.members 1 (asked for ${members} members)`);
  const threads = memberThreadsFor(members, backend, t.workers, o.memberThreads);
  const m0 = performance.now();
  const member = { ...o.model, maxLen, untiedInput, members: 1 };
  let fits: FitResult[] = [];
  if (threads > 1) fits = await fitMembersInParallel(dataset, member, t, members, threads, budget - searchSeconds, bar?.onEpoch);
  else {
    for (let k = 0; k < members; k++) {
      // Each member gets an equal share of what is left (the choice's seconds come out of the budget, so train +
      // choice stay within it); a member that stops early leaves its time to the ones after it.
      const left = budget - searchSeconds - fits.reduce((a, f) => a + f.seconds, 0);
      const share = memberShare(left, members - k, 1);
      if (members > 1 && bar) process.stderr.write(`member ${k + 1}/${members} (seed ${t.seed + k}, budget ${share.toFixed(0)}s)\n`);
      fits.push(await fit(dataset, split, {
        model: member,
        train: { ...o.train, seed: t.seed + k, timeBudgetSec: share },
        onProgress: bar?.onProgress,
        onEpoch: bar?.onEpoch,
        onBeforeRefit: o.onBeforeRefit && ((params, config) => o.onBeforeRefit!(dataset, split, params, config)),
      }));
    }
  }
  const wallSeconds = (performance.now() - m0) / 1000;
  const kept = fits.length === 1 ? fits[0]! : await joinFits(fits, dataset, knnFit.cases, budget, threads > 1 ? wallSeconds : undefined);
  return {
    dataset,
    split,
    summary,
    backend,
    fit: kept,
    memberThreads: threads,
    members: fits.length === 1 ? [] : fits.map((f) => ({ seed: f.train.seed, epochs: f.epochs.length, bestEpoch: f.bestEpoch, averagedEpochs: f.averagedEpochs, stopReason: f.stopReason, valNdcg10: f.bestValNdcg10, seconds: f.seconds })),
    maxLenSearch,
    untiedInputTrial,
    searchSeconds,
    save: (dir, metrics) =>
      saveModelDir(dir, { config: kept.config, params: kept.params, items: itemsForManifest(dataset), train: kept.train, data: summary, metrics }),
    dispose: () => Object.values(kept.params).forEach((t) => t.dispose()),
  };
}

/**
 * How many members train at once: `asked` (a positive integer; more than one needs the wasm backend), else one per
 * member up to the cores, except where each member already trains on several (train.workers > 1) or off wasm.
 */
export function memberThreadsFor(members: number, backend: string, workers: number, asked?: number, cores = availableParallelism()): number {
  if (asked !== undefined) {
    if (!Number.isInteger(asked) || asked < 1) throw new Error(`memberThreads must be a positive integer, got ${asked}`);
    if (asked > 1 && backend !== 'wasm') throw new Error(`memberThreads > 1 trains members in worker threads on wasm, not ${backend}: use --member-threads 1`);
    return Math.min(asked, members);
  }
  return backend === 'wasm' && workers === 1 ? Math.max(1, Math.min(members, cores)) : 1;
}

/**
 * An ensemble's members (seeds t.seed..t.seed+members-1) trained `threads` at a time, one worker thread each, all by
 * one deadline (budgetSec from now). A member starting gets what is left before the deadline divided by the rounds
 * still to come (memberShare): all of it where all train at once, 1/rounds of it at the start, and a member that
 * stops early leaves its time to the one its thread starts next.
 */
async function fitMembersInParallel(d: Dataset, model: ModelOverrides, t: Readonly<TrainConfig>, members: number, threads: number, budgetSec: number, onEpoch?: (e: EpochLog, label?: string) => void): Promise<FitResult[]> {
  const config = modelConfigFor(d, model);
  const start = performance.now();
  const shareFor = (k: number) => memberShare(budgetSec - (performance.now() - start) / 1000, members - k, threads);
  if (onEpoch) process.stderr.write(`${members} members, ${threads} at a time in worker threads (seeds ${t.seed}..${t.seed + members - 1}, budget ${shareFor(0).toFixed(0)}s each to start with)\n`);
  const fits: FitResult[] = [];
  const stop = new AbortController();
  let next = 0;
  const lane = async () => {
    for (let k = next++; k < members; k = next++) {
      const share = shareFor(k);
      if (onEpoch && k >= threads) process.stderr.write(`member ${k + 1}/${members} (seed ${t.seed + k}) starts with ${share.toFixed(0)}s of the budget left to it\n`);
      fits[k] = await fitInWorker(d, config, { ...t, seed: t.seed + k, timeBudgetSec: share }, onEpoch && ((e) => onEpoch(e, `member ${k + 1}/${members}`)), stop.signal);
    }
  };
  try {
    await Promise.all(Array.from({ length: threads }, () => lane().catch((e) => {
      stop.abort('another member failed');
      throw e;
    })));
  } catch (e) {
    for (const f of fits) if (f) Object.values(f.params).forEach((p) => p.dispose());
    throw e;
  }
  return fits;
}

/**
 * Seconds of budget for a member starting now: `leftSec` (what is left before the ensemble's deadline) divided by the
 * rounds still to come, `unstarted` members (this one included) `threads` at a time; at least 1.
 */
export function memberShare(leftSec: number, unstarted: number, threads: number): number {
  return Math.max(1, leftSec / Math.ceil(unstarted / threads));
}

/**
 * One FitResult for an ensemble's members: their weights side by side (joinMembers), config with `members`, the
 * training config with member 0's seed and the whole budget, totals of positions, time (the wall time where members
 * trained at once, `wallSeconds`) and the ensemble's own validation NDCG@10 on `valCases` (member 0's sample).
 */
async function joinFits(fits: FitResult[], d: Dataset, valCases: Split['val'], budgetSec: number, wallSeconds?: number): Promise<FitResult> {
  const first = fits[0]!;
  const config = Object.freeze({ ...first.config, members: fits.length });
  const params = joinMembers(fits.map((f) => f.params));
  const sum = (f: (r: FitResult) => number) => fits.reduce((a, r) => a + f(r), 0);
  const stepSeconds = sum((r) => r.stepSeconds);
  return {
    ...first,
    config,
    train: Object.freeze({ ...first.train, timeBudgetSec: budgetSec }),
    params,
    epochs: fits.flatMap((r) => r.epochs),
    bestValNdcg10: valCases.length ? (await evaluate(d, valCases, modelScorer(params, config, d), { fullOnly: true })).full.ndcg10 : first.bestValNdcg10,
    stopReason: fits.find((r) => r.stopReason === 'time-budget')?.stopReason ?? first.stopReason,
    seconds: wallSeconds ?? sum((r) => r.seconds),
    stepSeconds,
    positions: sum((r) => r.positions),
    achievedGflops: stepSeconds > 0 ? sum((r) => r.achievedGflops * r.stepSeconds) / stepSeconds : first.achievedGflops,
  };
}
