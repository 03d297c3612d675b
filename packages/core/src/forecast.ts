/**
 * Acquisition forecasts: how many hours a prospective title would be watched in its first 28 days and first year,
 * learned from the catalog's own history (each title's launch date and viewing curve). Pure and deterministic, so
 * the server, the CLI and the backtest (bench/forecast.ts) give the same answer for the same history.
 *
 * Model, in log hours: a ridge regression on what is known before a title launches (genre mix, log runtime, the
 * title's age at launch), plus a shrunken correction from its nearest comparables' residuals (user-named
 * comparables weigh more). Interval: split-conformal. The model is fitted on the earlier-launched 75% of the
 * history and its residuals on the later 25% (as a forecast faces the future) give the quantiles; then it is
 * refitted on everything. p10/p90 are those residual quantiles around the point; cost per hour viewed is cost over
 * hours, so its p10 comes from the hours' p90 (intervalFromResiduals, costPerHour: golden tests in test/forecast.test.ts).
 */
import { z } from 'zod';
import { quantile } from './stats.ts';

export const FORECAST_HORIZONS = { first28Days: 28, firstYear: 365 } as const;

export const ForecastRequestSchema = z.object({
  genres: z.array(z.string().min(1).max(64)).min(1).max(8),
  year: z.number().int().min(1900).max(2100),
  runtimeMin: z.number().positive().max(1000),
  /** Licence cost, in the deployment's currency. */
  cost: z.number().positive(),
  /** Catalog title ids the buyer considers comparable: they weigh more among the neighbours. */
  comparables: z.array(z.string().min(1).max(128)).max(20).optional(),
  /** Launch date (ms); default: the day after the history ends. */
  launchTs: z.number().int().positive().optional(),
});
export type ForecastRequest = z.infer<typeof ForecastRequestSchema>;

export const QuantilesSchema = z.object({ p10: z.number(), p50: z.number(), p90: z.number() });
export type Quantiles = z.infer<typeof QuantilesSchema>;

export const ForecastResponseSchema = z.object({
  first28Days: QuantilesSchema,
  /** null when the history has too few titles watched for a whole year. */
  firstYear: QuantilesSchema.nullable(),
  costPerHour: QuantilesSchema.extend({ basis: z.enum(['firstYear', 'first28Days']) }),
  /** Quantiles of the 28-day hours from 5% to 95%, for drawing the distribution. */
  distribution: z.array(z.object({ q: z.number(), hours: z.number() })),
  comparables: z.array(z.object({ titleId: z.string(), name: z.string(), weight: z.number(), hours28: z.number(), named: z.boolean() })),
  unknownComparables: z.array(z.string()),
  history: z.object({ titles: z.number().int(), titlesWithYear: z.number().int(), calibration: z.number().int(), endTs: z.number() }),
});
export type ForecastResponse = z.infer<typeof ForecastResponseSchema>;

/** One title of the history: metadata, when it launched, and hours watched per day since (index 0: launch day). */
export interface TitleHistory {
  titleId: string;
  name: string;
  genres: readonly string[];
  year: number;
  runtimeMin: number;
  launchTs: number;
  daily: ArrayLike<number>;
}

const DAY_MS = 86_400_000;
const sum = (a: ArrayLike<number>, n: number) => {
  let s = 0;
  for (let i = 0; i < Math.min(n, a.length); i++) s += a[i]!;
  return s;
};

/** A point forecast in log space and calibration residuals (actual - predicted, log) -> hours quantiles. */
export function intervalFromResiduals(logPoint: number, residuals: readonly number[]): Quantiles {
  const r = [...residuals].sort((a, b) => a - b);
  return { p10: Math.exp(logPoint + quantile(r, 0.1)), p50: Math.exp(logPoint + quantile(r, 0.5)), p90: Math.exp(logPoint + quantile(r, 0.9)) };
}

/** Cost per hour viewed: decreasing in hours, so the hours' p90 gives its p10. */
export function costPerHour(cost: number, hours: Quantiles): Quantiles {
  return { p10: cost / hours.p90, p50: cost / hours.p50, p90: cost / hours.p10 };
}

interface Features {
  x: number[];
  genres: Set<string>;
  logRuntime: number;
  age: number;
}

/** The ridge model for one horizon over a vocabulary of genres. */
interface Ridge {
  w: number[];
  mean: number[];
  scale: number[];
  bias: number;
}

const RIDGE_LAMBDA = 1;
const NEIGHBOURS = 8;
const NAMED_WEIGHT = 3;

function features(vocab: readonly string[], t: { genres: readonly string[]; runtimeMin: number; year: number }, launchTs: number): Features {
  const genres = new Set(t.genres);
  const known = t.genres.filter((g) => vocab.includes(g)).length || 1;
  const age = Math.max(0, Math.min(70, new Date(launchTs).getUTCFullYear() - t.year));
  const logRuntime = Math.log(t.runtimeMin / 100);
  // Genre mix as fractions (a title's appeal is an average over its genres), runtime, age at launch and its square.
  return { x: [...vocab.map((g) => (genres.has(g) ? 1 / known : 0)), logRuntime, age / 10, (age / 10) ** 2], genres, logRuntime, age };
}

function fitRidge(X: number[][], y: number[]): Ridge {
  const d = X[0]!.length;
  const n = X.length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / n);
  const scale = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  const Z = X.map((r) => r.map((v, j) => (v - mean[j]!) / scale[j]!));
  const bias = y.reduce((s, v) => s + v, 0) / n;
  // (Z'Z + λI) w = Z'(y - bias), solved by Gaussian elimination with partial pivoting (d is ~20).
  const A = Array.from({ length: d }, (_, i) => Array.from({ length: d + 1 }, (_, j) => (j === d ? Z.reduce((s, r, k) => s + r[i]! * (y[k]! - bias), 0) : Z.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j ? RIDGE_LAMBDA : 0))));
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let r = 0; r < d; r++) {
      if (r === c || A[c]![c] === 0) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k <= d; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  return { w: A.map((row, i) => (row[i] === 0 ? 0 : row[d]! / row[i]!)), mean, scale, bias };
}

const predictRidge = (m: Ridge, x: number[]) => m.bias + x.reduce((s, v, j) => s + m.w[j]! * ((v - m.mean[j]!) / m.scale[j]!), 0);

function similarity(a: Features, b: Features): number {
  let inter = 0;
  for (const g of a.genres) if (b.genres.has(g)) inter++;
  const jaccard = inter / (a.genres.size + b.genres.size - inter || 1);
  return jaccard * Math.exp(-Math.abs(a.age - b.age) / 10) * Math.exp(-Math.abs(a.logRuntime - b.logRuntime) / 0.3);
}

interface Sample {
  t: TitleHistory;
  f: Features;
  y: number;
  resid: number;
}

/** A fitted horizon: ridge + neighbour correction, and the samples it can name as comparables. */
class Horizon {
  private constructor(
    private readonly ridge: Ridge,
    private readonly samples: Sample[],
    readonly shrink: number,
  ) {}

  static fit(vocab: readonly string[], titles: readonly TitleHistory[], days: number, shrink: number): Horizon {
    const rows = titles.map((t) => ({ t, f: features(vocab, t, t.launchTs), y: Math.log(Math.max(1e-3, sum(t.daily, days))) }));
    const ridge = fitRidge(rows.map((r) => r.f.x), rows.map((r) => r.y));
    return new Horizon(ridge, rows.map((r) => ({ ...r, resid: r.y - predictRidge(ridge, r.f.x) })), shrink);
  }

  predict(f: Features, named: ReadonlySet<string> = new Set(), exclude?: string) {
    const scored = this.samples
      .filter((s) => s.t.titleId !== exclude)
      .map((s) => ({ s, w: similarity(f, s.f) + (named.has(s.t.titleId) ? NAMED_WEIGHT : 0) }))
      .filter((x) => x.w > 0)
      .sort((a, b) => b.w - a.w || (a.s.t.titleId < b.s.t.titleId ? -1 : 1));
    const chosen = [...scored.filter((x) => named.has(x.s.t.titleId)), ...scored.filter((x) => !named.has(x.s.t.titleId)).slice(0, NEIGHBOURS)];
    const total = chosen.reduce((s, x) => s + x.w, 0);
    const correction = total > 0 ? chosen.reduce((s, x) => s + x.w * x.s.resid, 0) / total : 0;
    return {
      log: predictRidge(this.ridge, f.x) + this.shrink * correction,
      comparables: chosen.map((x) => ({ t: x.s.t, weight: total > 0 ? x.w / total : 0, hours: Math.exp(x.s.y), named: named.has(x.s.t.titleId) })),
    };
  }
}

export interface ForecastModelOptions {
  /** Minimum titles with a full horizon observed to forecast it. */
  minTitles?: number;
}

/** The model learned from a history; `forecast` answers one request. */
export class ForecastModel {
  private constructor(
    private readonly vocab: string[],
    private readonly h28: Horizon,
    private readonly h28Residuals: number[],
    private readonly hYear: { model: Horizon; residuals: number[] } | null,
    private readonly byId: ReadonlyMap<string, TitleHistory>,
    readonly stats: ForecastResponse['history'],
  ) {}

  /**
   * Learns from the titles whose horizon is fully observed by `endTs` (the end of the history). Throws with the
   * reason when there are too few to learn from.
   */
  static fit(history: readonly TitleHistory[], endTs: number, opts: ForecastModelOptions = {}): ForecastModel {
    const minTitles = opts.minTitles ?? 20;
    const observed = (days: number) =>
      history.filter((t) => t.launchTs + days * DAY_MS <= endTs + DAY_MS).sort((a, b) => a.launchTs - b.launchTs || (a.titleId < b.titleId ? -1 : 1));
    const with28 = observed(28);
    if (with28.length < minTitles) {
      throw new Error(`not enough history to forecast: ${with28.length} titles have 28 days of viewing, ${minTitles} needed`);
    }
    const vocab = [...new Set(history.flatMap((t) => t.genres))].sort();
    const h28 = calibrate(vocab, with28, 28);
    const withYear = observed(365);
    const hYear = withYear.length >= minTitles ? calibrate(vocab, withYear, 365) : null;
    return new ForecastModel(vocab, h28.model, h28.residuals, hYear, new Map(history.map((t) => [t.titleId, t])), {
      titles: with28.length,
      titlesWithYear: withYear.length,
      calibration: h28.residuals.length,
      endTs,
    });
  }

  forecast(req: ForecastRequest): ForecastResponse {
    const launchTs = req.launchTs ?? this.stats.endTs + DAY_MS;
    const f = features(this.vocab, req, launchTs);
    const named = new Set((req.comparables ?? []).filter((id) => this.byId.has(id)));
    const p28 = this.h28.predict(f, named);
    const first28Days = intervalFromResiduals(p28.log, this.h28Residuals);
    const sorted = [...this.h28Residuals].sort((a, b) => a - b);
    const firstYear = this.hYear ? intervalFromResiduals(this.hYear.model.predict(f, named).log, this.hYear.residuals) : null;
    return {
      first28Days,
      firstYear,
      costPerHour: { ...costPerHour(req.cost, firstYear ?? first28Days), basis: firstYear ? 'firstYear' : 'first28Days' },
      distribution: Array.from({ length: 19 }, (_, i) => (i + 1) * 0.05).map((q) => ({ q: +q.toFixed(2), hours: Math.exp(p28.log + quantile(sorted, q)) })),
      comparables: p28.comparables.map((c) => ({ titleId: c.t.titleId, name: c.t.name, weight: c.weight, hours28: c.hours, named: c.named })),
      unknownComparables: (req.comparables ?? []).filter((id) => !this.byId.has(id)),
      history: this.stats,
    };
  }

  /** Forecast for a title of the history as if it were new (no leakage of its own viewing): for backtests. */
  static hours28(title: TitleHistory): number {
    return sum(title.daily, 28);
  }
}

/**
 * Split-conformal calibration: fit on the earlier 75% (by launch), residuals of the later 25%, refit on all. The
 * neighbour shrink is chosen on the same split (the one with the smallest median absolute residual).
 */
function calibrate(vocab: readonly string[], byLaunch: readonly TitleHistory[], days: number) {
  const cut = Math.floor(byLaunch.length * 0.75);
  const train = byLaunch.slice(0, cut);
  const held = byLaunch.slice(cut);
  let best = { shrink: 0, mae: Infinity, residuals: [] as number[] };
  for (const shrink of [0, 0.25, 0.5, 0.75]) {
    const m = Horizon.fit(vocab, train, days, shrink);
    const residuals = held.map((t) => Math.log(Math.max(1e-3, sum(t.daily, days))) - m.predict(features(vocab, t, t.launchTs)).log);
    const mae = quantile([...residuals.map(Math.abs)].sort((a, b) => a - b), 0.5);
    if (mae < best.mae) best = { shrink, mae, residuals };
  }
  return { model: Horizon.fit(vocab, byLaunch, days, best.shrink), residuals: best.residuals };
}
