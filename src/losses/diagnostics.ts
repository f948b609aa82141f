/**
 * Troubleshooting helpers: chapter 7.6 ("Troubleshooting Contrastive Learning"), its debugging
 * steps 2–4 and its collapse monitor, as functions that return numbers (and a printable table)
 * instead of printing. Everything is computed in float64 with no gradient recorded.
 *
 *   similarityStats(z, positives?)   the similarity matrix, summarized (chapter step 2)
 *   gradientNorms(namedParameters)   ‖∂L/∂θ‖ per parameter, flagging zero / non-finite (step 3)
 *   temperatureSweep(loss, τs)       the loss at several temperatures (step 4)
 *   collapseMonitor(z)               spread and effective rank of the embeddings ("Problem 2")
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { noGrad } from "../autograd/tape.js";
import { normalize } from "../ops/functional.js";
import { contiguousData, requireTensor } from "../ops/util.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { ntXent } from "./nt-xent.js";
import { effectiveRankOf, symmetricEigen } from "../linalg/symmetric-eigen.js";
import { checkOptions } from "../tensor/options.js";

// ---- similarityStats ----------------------------------------------------------------------------

/** The result of {@link similarityStats}: the spread of a batch's pairwise cosine similarities, and the positives' when given. */
export interface SimilarityStats {
  /** N, the number of embeddings. */
  count: number;
  /** Over the N(N − 1) pairs i ≠ j of cos(z_i, z_j). */
  offDiagonalMax: number;
  /** The smallest off-diagonal cosine. */
  offDiagonalMin: number;
  /** The mean off-diagonal cosine. */
  offDiagonalMean: number;
  /** The standard deviation of the off-diagonal cosines. */
  offDiagonalStd: number;
  /** Mean ‖z_i‖ before normalization (cosines cannot show a norm blow-up; this can). */
  meanNorm: number;
  /** With positives: mean and min of cos(z_i, positives_i). */
  positiveMean?: number;
  /** With positives: the smallest cos(z_i, positives_i). */
  positiveMin?: number;
  /** With positives: mean of cos(z_i, positives_j), i ≠ j (the in-batch negatives). */
  negativeMean?: number;
  /** positiveMean − negativeMean: > 0 once the model tells pairs apart. */
  gap?: number;
  /** The numbers above as a printable table. */
  table: string;
}

/**
 * The chapter prints z zᵀ's max and min and expects "Max ≈ 1, Min ≈ −1" — but the max of z zᵀ
 * is the diagonal, always 1 for unit rows, so it says nothing. Here the diagonal is excluded.
 * Healthy embeddings: off-diagonal mean near 0 and a spread of values; collapse: every
 * off-diagonal cosine near 1. With `positives` (the other view, or the paired text), the gap
 * between positive and negative cosines is the quantity the loss is trying to grow.
 */
export function similarityStats(z: Tensor, positives?: Tensor): SimilarityStats {
  checkEmbeddings("similarityStats", "z", z);
  if (z.shape[0] < 2) throw new Error(`similarityStats: need at least 2 embeddings to compare, got shape ${shapeToString(z.shape)}`);
  if (positives !== undefined) {
    checkEmbeddings("similarityStats", "positives", positives);
    checkSameShape("similarityStats", "z", z, "positives", positives);
  }
  return noGrad(() => {
    const count = z.shape[0];
    const unit = normalize(z.to("float64")); // (N, D)
    const cosines = unit.matmul(unit.t()).toTypedArray(); // (N, N)
    const offDiagonal = new Summary();
    for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) if (i !== j) offDiagonal.add(cosines[i * count + j]);
    const norms = new Summary();
    z.to("float64").norm(2, 1).toTypedArray().forEach((norm) => norms.add(norm)); // (N)
    const stats: SimilarityStats = {
      count,
      offDiagonalMax: offDiagonal.max,
      offDiagonalMin: offDiagonal.min,
      offDiagonalMean: offDiagonal.mean(),
      offDiagonalStd: offDiagonal.std(),
      meanNorm: norms.mean(),
      table: "",
    };
    if (positives !== undefined) {
      const other = normalize(positives.to("float64")); // (N, D)
      const cross = unit.matmul(other.t()).toTypedArray(); // (N, N): cos(z_i, positives_j)
      const diagonal = new Summary();
      const negatives = new Summary();
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < count; j++) (i === j ? diagonal : negatives).add(cross[i * count + j]);
      }
      stats.positiveMean = diagonal.mean();
      stats.positiveMin = diagonal.min;
      stats.negativeMean = negatives.mean();
      stats.gap = stats.positiveMean - stats.negativeMean;
    }
    stats.table = formatRows(
      ["statistic", "value"],
      Object.entries(stats)
        .filter(([key, value]) => key !== "table" && value !== undefined)
        .map(([key, value]) => [key, formatNumber(value as number)]),
    );
    return stats;
  });
}

// ---- gradientNorms ------------------------------------------------------------------------------

/** The verdict on one parameter's gradient in {@link gradientNorms}. */
export type GradientStatus = "ok" | "zero" | "non-finite" | "no grad" | "frozen";

/** One parameter's row in a {@link GradientNormReport}. */
export interface GradientNormEntry {
  /** The parameter's dotted name ("0.weight"). */
  name: string;
  /** The parameter's shape. */
  shape: number[];
  /** ‖grad‖₂ (NaN or Infinity when the gradient holds such values; null without a gradient). */
  norm: number | null;
  /** "zero": the gradient is exactly 0; "no grad": requiresGrad but .grad is null (a cut graph,
   * e.g. a detach() or a noGrad block on the way); "frozen": requiresGrad is false. */
  status: GradientStatus;
}

/** The result of {@link gradientNorms}: one entry per parameter, the total norm and the problems. */
export interface GradientNormReport {
  /** One entry per parameter, in the order given. */
  entries: GradientNormEntry[];
  /** √(Σ ‖g‖²) over the finite gradients: the number clipGradNorm would see. */
  totalNorm: number;
  /** The entries whose status is "zero", "non-finite" or "no grad". */
  problems: GradientNormEntry[];
  /** The entries as a printable table. */
  table: string;
}

/**
 * Per-parameter gradient norms after backward(): chapter 7.6 step 3 ("should be reasonable
 * values (not 0, not inf)"). Pass `model.namedParameters()` or any [name, tensor] pairs.
 */
export function gradientNorms(namedParameters: Iterable<[string, Tensor]>): GradientNormReport {
  const entries: GradientNormEntry[] = [];
  for (const [name, parameter] of namedParameters) {
    requireTensor("gradientNorms", parameter, `parameter "${name}"`);
    const shape = parameter.shape;
    if (!parameter.requiresGrad) {
      entries.push({ name, shape, norm: parameter.grad ? l2Norm(parameter.grad) : null, status: "frozen" });
      continue;
    }
    if (parameter.grad === null) {
      entries.push({ name, shape, norm: null, status: "no grad" });
      continue;
    }
    const norm = l2Norm(parameter.grad);
    const status: GradientStatus = !Number.isFinite(norm) ? "non-finite" : norm === 0 ? "zero" : "ok";
    entries.push({ name, shape, norm, status });
  }
  const finite = entries.filter((e) => e.norm !== null && Number.isFinite(e.norm) && e.status !== "frozen");
  const totalNorm = Math.sqrt(finite.reduce((total, e) => total + (e.norm as number) ** 2, 0));
  const problems = entries.filter((e) => e.status === "zero" || e.status === "non-finite" || e.status === "no grad");
  const table = formatRows(
    ["parameter", "shape", "grad norm", "status"],
    entries.map((e) => [e.name, shapeToString(e.shape), e.norm === null ? "-" : formatNumber(e.norm), e.status]),
  ) + `\ntotal norm ${formatNumber(totalNorm)}; ${problems.length} problem(s)`;
  return { entries, totalNorm, problems, table };
}

/** ‖g‖₂ with the largest magnitude factored out (no overflow); NaN/Infinity pass through. */
function l2Norm(t: Tensor): number {
  const { data, offset } = contiguousData(t);
  const n = t.numel();
  let largest = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.abs(data[offset + i]);
    if (Number.isNaN(v)) return NaN;
    largest = Math.max(largest, v);
  }
  if (largest === 0 || largest === Infinity) return largest;
  let total = 0;
  for (let i = 0; i < n; i++) total += (data[offset + i] / largest) ** 2;
  return largest * Math.sqrt(total);
}

// ---- temperatureSweep ---------------------------------------------------------------------------

/** The temperatures {@link temperatureSweep} tries by default: 0.01, 0.05, 0.1, 0.2, 0.5. */
export const DEFAULT_SWEEP_TEMPERATURES: readonly number[] = [0.01, 0.05, 0.1, 0.2, 0.5];

/** One temperature of a {@link TemperatureSweep} and the loss at it. */
export interface TemperatureSweepRow {
  /** τ. */
  temperature: number;
  /** The loss at τ. */
  loss: number;
}

/** The result of {@link temperatureSweep}: the loss at each temperature. */
export interface TemperatureSweep {
  /** One row per temperature, in the order given. */
  rows: TemperatureSweepRow[];
  /** With embeddings: log(2N − 1), the NT-Xent of identical embeddings and its τ → ∞ limit. */
  chanceLoss?: number;
  /** The rows as a printable table. */
  table: string;
}

/**
 * The loss of fixed embeddings at several temperatures (chapter 7.6 step 4). Pass a function
 * τ ↦ loss, or two views { z1, z2 } (then the loss is ntXent). Runs without recording.
 *
 * Reading it (for fixed embeddings, per row): as τ → 0 the loss goes to 0 if the positive is
 * the most similar candidate and grows like (max similarity − positive similarity)/τ if not;
 * as τ → ∞ it goes to log(number of candidates). A sweep that stays at log(2N − 1) everywhere
 * means the similarities do not depend on the pairing at all: collapse, or no learning yet.
 */
export function temperatureSweep(
  loss: ((temperature: number) => Tensor | number) | { z1: Tensor; z2: Tensor },
  temperatures: readonly number[] = DEFAULT_SWEEP_TEMPERATURES,
): TemperatureSweep {
  if (temperatures.length === 0) throw new Error("temperatureSweep: no temperatures given");
  temperatures.forEach((t) => checkTemperature("temperatureSweep", t));
  let evaluate: (temperature: number) => Tensor | number;
  let chanceLoss: number | undefined;
  if (typeof loss === "function") {
    evaluate = loss;
  } else if (loss && loss.z1 instanceof Tensor && loss.z2 instanceof Tensor) {
    const { z1, z2 } = loss;
    evaluate = (temperature) => ntXent(z1, z2, { temperature });
    chanceLoss = Math.log(2 * z1.shape[0] - 1);
  } else {
    throw new Error("temperatureSweep: pass a function (temperature) => loss, or { z1, z2 } embeddings");
  }
  const rows = noGrad(() =>
    temperatures.map((temperature) => {
      const value = evaluate(temperature);
      return { temperature, loss: typeof value === "number" ? value : value.item() };
    })
  );
  let table = formatRows(["τ", "loss"], rows.map((r) => [String(r.temperature), formatNumber(r.loss)]));
  if (chanceLoss !== undefined) table += `\nchance level log(2N − 1) = ${formatNumber(chanceLoss)}`;
  return { rows, chanceLoss, table };
}

// ---- collapseMonitor ----------------------------------------------------------------------------

/** Options of {@link collapseMonitor}. */
export interface CollapseOptions {
  /** Flag when stdRatio < this. Default 0.1. */
  minStdRatio?: number;
  /** Flag when effectiveRank < this (only if min(N − 1, D) ≥ 2). Default 1.5. */
  minEffectiveRank?: number;
}

/**
 * The result of {@link collapseMonitor}: per-dimension spread, spectrum and effective rank of a batch of embeddings, and whether it looks
 * collapsed.
 */
export interface CollapseReport {
  /** N, the number of embeddings. */
  count: number;
  /** D, the embedding dimension. */
  dimension: number;
  /** std over the batch of each coordinate of the L2-normalized embeddings (unbiased), (D). */
  perDimensionStd: Float64Array;
  /** The mean of `perDimensionStd`. */
  meanStd: number;
  /** 1/√D: the per-coordinate std of directions spread evenly over the sphere. */
  expectedStd: number;
  /** meanStd / expectedStd: ≈ 1 healthy; → 0 as every embedding points the same way. */
  stdRatio: number;
  /** Eigenvalues of the D×D covariance of the normalized embeddings, decreasing (Jacobi). */
  eigenvalues: Float64Array;
  /** exp(entropy of the normalized singular values of the centered normalized embeddings). */
  effectiveRank: number;
  /** min(N − 1, D): the largest effective rank a batch of N can have. */
  maxRank: number;
  /** The chapter's monitor: mean over dims of var(z) on the raw embeddings, and its flag (< 0.001). */
  chapterVariance: number;
  /** True when `chapterVariance` < 0.001 (the chapter's flag). */
  chapterWarning: boolean;
  /** True when any of the options' thresholds is crossed (see `reasons`). */
  collapsed: boolean;
  /** The thresholds crossed, e.g. "stdRatio 0.02 < 0.1" (empty when healthy). */
  reasons: string[];
  /** The numbers above as a printable table. */
  table: string;
}

/**
 * Is the representation collapsing? Two scale-free measures of the L2-normalized embeddings
 * ẑ_i = z_i / ‖z_i‖, with C = cov(ẑ) the D×D covariance over the batch (unbiased):
 *
 *   stdRatio      = mean_d √C_dd · √D      Source: Chen & He, "Exploring Simple Siamese
 *                                          Representation Learning" (SimSiam), 2021, §4.1
 *   effectiveRank = exp(−Σ_k p_k log p_k),  p_k = σ_k / Σ_j σ_j,  σ_k = √λ_k(C)
 *                                          Source: Roy & Vetterli, "The effective rank", 2007
 *                                          (RankMe, Garrido et al. 2023, uses it for SSL)
 *
 * Directions spread evenly over the sphere have per-coordinate std 1/√D, so stdRatio ≈ 1; if
 * every embedding lies within an angle α of one direction, stdRatio ≈ α. The flag:
 *
 *   collapsed = stdRatio < 0.1   (all within ≈ 0.1 rad ≈ 6° of one direction: cosines ≳ 0.99)
 *            or effectiveRank < 1.5 when min(N − 1, D) ≥ 2   (the batch varies along one axis)
 *
 * Both thresholds are options. Dimensional collapse (a few dimensions used out of D; Jing et
 * al. 2022) shows as an effectiveRank far below maxRank without tripping the flag: watch it.
 * The effective rank alone misses complete collapse (identical embeddings plus noise have an
 * isotropic, full-rank covariance), and stdRatio alone misses collapse onto a line (±u).
 *
 * The chapter's monitor, mean var(z) < 0.001 on the raw z, is reported as chapterVariance /
 * chapterWarning. It depends on the scale of z: multiply z by 100 and a collapsed batch passes,
 * divide by 100 and a healthy one fails. Losses on normalized embeddings cannot see the scale,
 * so nothing stops it drifting. (spec/losses/diagnostics.spec.ts shows both.)
 */
export function collapseMonitor(z: Tensor, options: CollapseOptions = {}): CollapseReport {
  checkOptions("collapseMonitor", options, { minStdRatio: true, minEffectiveRank: true });
  checkEmbeddings("collapseMonitor", "z", z);
  const [count, dimension] = z.shape;
  if (count < 2) throw new Error(`collapseMonitor: need at least 2 embeddings for a spread, got shape ${shapeToString(z.shape)}`);
  const minStdRatio = options.minStdRatio ?? 0.1;
  const minEffectiveRank = options.minEffectiveRank ?? 1.5;

  const { unit, raw } = noGrad(() => ({
    unit: normalize(z.to("float64")).toTypedArray(), // (N, D) row-major, unit rows
    raw: z.to("float64").toTypedArray(), // (N, D)
  }));
  const covariance = covarianceOf(unit, count, dimension); // (D, D)
  const perDimensionStd = new Float64Array(dimension);
  for (let d = 0; d < dimension; d++) perDimensionStd[d] = Math.sqrt(Math.max(0, covariance[d * dimension + d]));
  const meanStd = meanOf(perDimensionStd);
  const expectedStd = 1 / Math.sqrt(dimension);
  const stdRatio = meanStd / expectedStd;

  const eigenvalues = symmetricEigen(covariance, dimension, { vectors: false }).values; // decreasing
  const effectiveRank = effectiveRankOf(eigenvalues);
  const maxRank = Math.min(count - 1, dimension);

  const rawCovariance = covarianceOf(raw, count, dimension);
  let chapterVariance = 0;
  for (let d = 0; d < dimension; d++) chapterVariance += rawCovariance[d * dimension + d] / dimension;

  const reasons: string[] = [];
  if (stdRatio < minStdRatio) reasons.push(`stdRatio ${formatNumber(stdRatio)} < ${minStdRatio}`);
  if (maxRank >= 2 && effectiveRank < minEffectiveRank) reasons.push(`effectiveRank ${formatNumber(effectiveRank)} < ${minEffectiveRank}`);
  const report: CollapseReport = {
    count,
    dimension,
    perDimensionStd,
    meanStd,
    expectedStd,
    stdRatio,
    eigenvalues,
    effectiveRank,
    maxRank,
    chapterVariance,
    chapterWarning: chapterVariance < 0.001,
    collapsed: reasons.length > 0,
    reasons,
    table: "",
  };
  report.table = formatRows(
    ["measure", "value"],
    [
      ["mean std (normalized)", formatNumber(meanStd)],
      ["1/√D", formatNumber(expectedStd)],
      ["stdRatio", formatNumber(stdRatio)],
      ["effectiveRank", `${formatNumber(effectiveRank)} of ${maxRank}`],
      ["chapter: mean var(z)", formatNumber(chapterVariance)],
      ["collapsed", report.collapsed ? `yes (${reasons.join("; ")})` : "no"],
    ],
  );
  return report;
}

/** C = Xcᵀ Xc / (N − 1) for X (N, D) row-major, Xc = X minus its column means. */
function covarianceOf(x: ArrayLike<number>, count: number, dimension: number): Float64Array {
  const means = new Float64Array(dimension);
  for (let i = 0; i < count; i++) for (let d = 0; d < dimension; d++) means[d] += x[i * dimension + d] / count;
  const covariance = new Float64Array(dimension * dimension);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < dimension; p++) {
      const xp = x[i * dimension + p] - means[p];
      for (let q = p; q < dimension; q++) covariance[p * dimension + q] += xp * (x[i * dimension + q] - means[q]);
    }
  }
  for (let p = 0; p < dimension; p++) {
    for (let q = p; q < dimension; q++) {
      covariance[p * dimension + q] /= count - 1;
      covariance[q * dimension + p] = covariance[p * dimension + q];
    }
  }
  return covariance;
}

// ---- formatting ---------------------------------------------------------------------------------

function meanOf(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total / values.length;
}

/** Running count, min, max, mean and (unbiased) std, by Welford's update. */
class Summary {
  count = 0;
  min = Infinity;
  max = -Infinity;
  private runningMean = 0;
  private squares = 0;
  add(value: number): void {
    this.count++;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    const delta = value - this.runningMean;
    this.runningMean += delta / this.count;
    this.squares += delta * (value - this.runningMean);
  }
  mean(): number {
    return this.runningMean;
  }
  std(): number {
    return this.count < 2 ? 0 : Math.sqrt(this.squares / (this.count - 1));
  }
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(3);
  return value.toFixed(4);
}

/** A plain-text table with aligned columns. */
function formatRows(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
