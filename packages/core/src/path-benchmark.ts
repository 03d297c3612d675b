/**
 * What one run of the on-device path benchmark reports (the SDK's `benchmarkPath`): read by `npm run bench:browser`
 * from the worker and by `npm run bench:node` from a child process, parsed on arrival with this schema.
 */
import { z } from 'zod';

/** Latencies in ms. */
export const PercentilesSchema = z.object({ p50: z.number(), p95: z.number() });
export type Percentiles = z.infer<typeof PercentilesSchema>;

/**
 * tfjs kernels one operation runs (tf.profile): `launches` counts the backend's own kernels less Reshape (a shape
 * change); `ms` is each kernel's time by name as the backend measures it (CPU backends: wall time of the kernel
 * call; GPU backends: GPU time), to say which kernel an operation's time goes to.
 */
export const KernelCountSchema = z.object({ launches: z.number().int(), kernels: z.number().int(), ms: z.record(z.string(), z.number()).optional() });
export type KernelCount = z.infer<typeof KernelCountSchema>;

export const PathBenchmarkSchema = z.object({
  backend: z.string(),
  encode50: PercentilesSchema,
  encode200: PercentilesSchema,
  /** One new event on top of a cached 199-event history (one position). */
  update1: PercentilesSchema,
  /** Model scores alone for N candidates: gather their rows, one matMul, one read of all N. */
  scores1k: PercentilesSchema,
  scores10k: PercentilesSchema,
  scores100k: PercentilesSchema,
  /** Scores, then the JS blend of all N (core's rankCandidates). */
  rank1k: PercentilesSchema,
  rank10k: PercentilesSchema,
  rank100k: PercentilesSchema,
  /**
   * Scores, then the blend and top-k on the device (TensorRanker): only the top `rankTopK` is read. Timed
   * interleaved with `scoresN` (one loop, alternating), since its target is relative to them.
   */
  rankTensor1k: PercentilesSchema,
  rankTensor10k: PercentilesSchema,
  rankTensor100k: PercentilesSchema,
  /** The ranker alone on scores already on the device (blend, top-k, the head's read): rankTensorN less the scoring. */
  rankerAlone10k: PercentilesSchema,
  rankerAlone100k: PercentilesSchema,
  /**
   * webgpu only (where the ranker's top-k is its own chunked kernel): the ranker alone with tfjs's top-k instead,
   * timed in the same interleaved loop, so the two are compared on one machine and load.
   */
  rankerAloneTfjsTopK10k: PercentilesSchema.optional(),
  rankerAloneTfjsTopK100k: PercentilesSchema.optional(),
  rankTopK: z.number().int(),
  /** Whether the tensor ranker's top `rankTopK` equalled the JS blend's (titles and scores) at 1k, 10k and 100k. */
  rankTensorEqualsJs: z.boolean(),
  /**
   * The re-rank after a play as the page runs it under the worker's backend plan: the update after one event, then
   * the catalog scorer's scores of 1,000 candidates (on `scoringBackend`; the user vector crosses as a Float32Array
   * when that is another backend) and the JS blend. What the automatic choice is judged on.
   */
  rerank1k: PercentilesSchema,
  /** The backend that scored in `rerank1k` (`backend` ran the encoder). */
  scoringBackend: z.string(),
  /** Encode 200 events, score and rank 5,000 candidates, compose rows. */
  page5k: PercentilesSchema,
  /** Artwork choice for a 50-card page, every card fresh (the first page of a visit), Thompson sampling. */
  artwork50: PercentilesSchema,
  kernels: z.object({ encode200: KernelCountSchema, update1: KernelCountSchema, rankTensor10k: KernelCountSchema, scores10k: KernelCountSchema }),
  /** webgpu only: GPU time of the kernels (tf.time), ms, beside the wall times above; null elsewhere. */
  gpuKernelMs: z.object({ encode200: z.number(), update1: z.number(), scores100k: z.number(), rankTensor100k: z.number() }).nullable(),
  /** Why gpuKernelMs is missing on webgpu (e.g. no timestamp queries on this adapter). */
  gpuTimerError: z.string().optional(),
});
export type PathBenchmark = z.infer<typeof PathBenchmarkSchema>;
