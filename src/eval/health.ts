/**
 * Representation health: four numbers that say whether an embedding is spread out or collapsing,
 * without labels (chapter 7.6, "Problem 2: Representation collapse").
 *
 * All but the effective rank work on L2-normalized features u = f / ‖f‖₂ (D dimensions).
 *
 * 1. Alignment (Wang & Isola 2020, "Understanding Contrastive Representation Learning through
 *    Alignment and Uniformity on the Hypersphere", eq. 4): positive pairs should map close.
 *      ℓ_align = E_(x, x⁺) ‖u(x) − u(x⁺)‖₂^α,  α = 2;   0 = identical,  4 = antipodal
 *    PyTorch (their code): `(x - y).norm(p=2, dim=1).pow(alpha).mean()`.
 *
 * 2. Uniformity (same paper, eq. 5): all features should spread over the sphere.
 *      ℓ_uniform = log E_{i<j} exp(−t ‖u_i − u_j‖₂²),  t = 2,   over the N(N−1)/2 distinct pairs
 *    0 (its maximum) when every feature is the same point; lower = more uniform (a uniform
 *    distribution on S^{D−1} gives log E exp(−2‖u−v‖²) → −4 as D grows). Computed as a running
 *    log-sum-exp over blocks of the (N, N) Gram matrix: never exp of a large number, and
 *    ‖u_i − u_j‖² = ‖u_i‖² + ‖u_j‖² − 2 u_i·u_j (clamped at 0).
 *    PyTorch: `torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()`.
 *
 * 3. Per-dimension std of the normalized features (SimSiam, Chen & He 2021, §4.1):
 *      σ̄ = (1/D) Σ_d std_i(u_{i,d})    (unbiased std over the N rows, as torch.std)
 *    A collapsed representation gives σ̄ = 0. If u were uniform on the unit sphere, each
 *    coordinate would have variance 1/D (the D coordinates' squares sum to 1), so σ̄ ≈ 1/√D.
 *    We report σ̄, 1/√D and their ratio (≈ 1 healthy, → 0 collapsed).
 *
 * 4. Effective rank (Roy & Vetterli 2007, "The effective rank: a measure of effective
 *    dimensionality"), of the centered, unnormalized feature matrix X̃ = X − 1 μᵀ (N, D):
 *      σ_1 … σ_D = singular values of X̃,   p_k = σ_k / Σ_j σ_j,
 *      erank = exp( −Σ_k p_k log p_k )          (0·log 0 = 0)
 *    1 ≤ erank ≤ rank(X̃): 1 for rank-1 data, k for data spread equally over k directions, D for
 *    isotropic data. The σ_k² are the eigenvalues of the D×D matrix X̃ᵀX̃ (N times the
 *    covariance), computed in float64 by the cyclic Jacobi method (src/linalg/symmetric-eigen.ts),
 *    so σ_k = sqrt(λ_k) (eigenvalues within rounding of 0, below D·ε·λ_max, count as 0). A matrix
 *    with no spread at all (every row the same) has no singular value > 0: we return 0 (its rank).
 *    (RankMe, Garrido et al. 2023, is the same quantity without centering.)
 *
 * Shapes: features (N, D); the positive-pair features for alignment are two (N, D) matrices whose
 * row i is a pair (e.g. two augmented views of image i).
 *
 * @module
 */
import {
  asFeatureMatrix,
  checkSameFeatureDim,
  checkSameRows,
  normalizeRows,
  queryBlockRows,
  similarityBlock,
  type FeatureMatrix,
  type FeaturesLike,
} from "./features.js";
import { gemm } from "../ops/gemm.js";
import { effectiveRankOfSpectrum, singularValuesFromEigenvalues, symmetricEigen } from "../linalg/symmetric-eigen.js";
import { checkOptions } from "../tensor/options.js";

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Alignment and uniformity
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** ℓ_align = mean_i ‖u_i − v_i‖₂^α over the rows of two (N, D) feature matrices (normalized first). */
export function alignment(features: FeaturesLike, positiveFeatures: FeaturesLike, options: { alpha?: number } = {}): number {
  checkOptions("alignment", options, { alpha: true });
  const fn = "alignment";
  const a = asFeatureMatrix(fn, "features", features);
  const b = asFeatureMatrix(fn, "positiveFeatures", positiveFeatures);
  checkSameRows(fn, "features", a, "positiveFeatures", b);
  checkSameFeatureDim(fn, "features", a, "positiveFeatures", b);
  const alpha = options.alpha ?? 2;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`${fn}: alpha must be a finite number > 0, got ${alpha}`);
  const u = normalizeRows(a); // (N, D)
  const v = normalizeRows(b); // (N, D)
  const { rows, dim } = a;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    let squaredDistance = 0;
    for (let d = 0; d < dim; d++) {
      const difference = u[i * dim + d] - v[i * dim + d];
      squaredDistance += difference * difference;
    }
    total += alpha === 2 ? squaredDistance : Math.pow(squaredDistance, alpha / 2);
  }
  return total / rows;
}

/** ℓ_uniform = log mean_{i<j} exp(−t ‖u_i − u_j‖₂²) over the rows of (N, D) features, N ≥ 2. */
export function uniformity(features: FeaturesLike, options: { t?: number } = {}): number {
  checkOptions("uniformity", options, { t: true });
  const fn = "uniformity";
  const x = asFeatureMatrix(fn, "features", features);
  const t = options.t ?? 2;
  if (!(t > 0) || !Number.isFinite(t)) throw new Error(`${fn}: t must be a finite number > 0, got ${t}`);
  if (x.rows < 2) throw new Error(`${fn}: need at least 2 rows to form a pair, got features [${x.rows}, ${x.dim}]`);
  const { rows, dim } = x;
  const u = normalizeRows(x); // (N, D)
  const squaredNorms = new Float64Array(rows); // 1, or 0 for an all-zero row
  for (let i = 0; i < rows; i++) {
    let total = 0;
    for (let d = 0; d < dim; d++) total += u[i * dim + d] * u[i * dim + d];
    squaredNorms[i] = total;
  }
  const blockRows = queryBlockRows(rows);
  const gram = new Float64Array(blockRows * rows); // (block, N)
  // Running log-sum-exp of e_ij = −t‖u_i − u_j‖²: sum = Σ exp(e_ij − largest).
  let largest = -Infinity;
  let sum = 0;
  for (let start = 0; start < rows - 1; start += blockRows) {
    const blockSize = Math.min(blockRows, rows - 1 - start);
    similarityBlock(u, start, blockSize, u, rows, dim, gram); // (block, N) = U[block] Uᵀ
    for (let r = 0; r < blockSize; r++) {
      const i = start + r;
      for (let j = i + 1; j < rows; j++) {
        const squaredDistance = Math.max(0, squaredNorms[i] + squaredNorms[j] - 2 * gram[r * rows + j]);
        const exponent = -t * squaredDistance;
        if (exponent > largest) {
          sum = sum * Math.exp(largest - exponent) + 1;
          largest = exponent;
        } else {
          sum += Math.exp(exponent - largest);
        }
      }
    }
  }
  const pairs = (rows * (rows - 1)) / 2;
  return largest + Math.log(sum) - Math.log(pairs);
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Per-dimension std of normalized features
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** The result of {@link normalizedStd}: the spread of the L2-normalized features and its uniform-sphere reference. */
export interface NormalizedStd {
  /** σ̄ = mean over dimensions of the std over rows of the normalized features. */
  std: number;
  /** 1/√D: σ̄ of features spread uniformly over the sphere. */
  expected: number;
  /** std / expected. */
  ratio: number;
}

/** σ̄ of the L2-normalized (N, D) features against 1/√D (SimSiam's collapse monitor), N ≥ 2. */
export function normalizedStd(features: FeaturesLike): NormalizedStd {
  const fn = "normalizedStd";
  const x = asFeatureMatrix(fn, "features", features);
  if (x.rows < 2) throw new Error(`${fn}: the unbiased std needs at least 2 rows, got features [${x.rows}, ${x.dim}]`);
  const { rows, dim } = x;
  const u = normalizeRows(x); // (N, D)
  const mean = new Float64Array(dim);
  for (let i = 0; i < rows; i++) for (let d = 0; d < dim; d++) mean[d] += u[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  const variance = new Float64Array(dim);
  for (let i = 0; i < rows; i++) {
    for (let d = 0; d < dim; d++) {
      const centered = u[i * dim + d] - mean[d];
      variance[d] += centered * centered;
    }
  }
  let stdSum = 0;
  for (let d = 0; d < dim; d++) stdSum += Math.sqrt(variance[d] / (rows - 1));
  const std = stdSum / dim;
  const expected = 1 / Math.sqrt(dim);
  return { std, expected, ratio: std / expected };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Effective rank
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** The result of {@link effectiveRank}. */
export interface EffectiveRank {
  /** exp of the entropy of the normalized singular values; 0 when there is no spread. */
  effectiveRank: number;
  /** Singular values of the centered feature matrix, descending (D,). */
  singularValues: Float64Array;
  /** Jacobi sweeps used. */
  sweeps: number;
}

/** Effective rank (Roy & Vetterli 2007) of the centered (N, D) features. */
export function effectiveRank(features: FeaturesLike): EffectiveRank {
  const fn = "effectiveRank";
  const x = asFeatureMatrix(fn, "features", features);
  const { data, rows, dim } = x;
  // Center in float64.                                                                       (N, D)
  const mean = new Float64Array(dim);
  for (let i = 0; i < rows; i++) for (let d = 0; d < dim; d++) mean[d] += data[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  const centered = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) for (let d = 0; d < dim; d++) centered[i * dim + d] = data[i * dim + d] - mean[d];
  // Scatter matrix X̃ᵀX̃ = Σ_i x̃_i x̃_iᵀ.                                                         (D, D)
  const scatter = new Float64Array(dim * dim);
  gemm(
    dim,
    dim,
    rows,
    { data: centered, offset: 0, rowStride: 1, colStride: dim },
    { data: centered, offset: 0, rowStride: dim, colStride: 1 },
    scatter,
    0,
    false,
  );
  // σ_k = √λ_k(X̃ᵀX̃); eigenvalues within rounding of 0 count as 0 (src/linalg/symmetric-eigen.ts).
  const { values: eigenvalues, sweeps } = symmetricEigen(scatter, dim, { vectors: false }); // decreasing
  const singularValues = singularValuesFromEigenvalues(eigenvalues); // (D,), descending
  return { effectiveRank: effectiveRankOfSpectrum(singularValues), singularValues, sweeps };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// All together
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** The result of {@link representationHealth}. */
export interface RepresentationHealth {
  /** N, the number of feature rows. */
  rows: number;
  /** D, the feature dimension. */
  dim: number;
  /** ℓ_align, when positive-pair features were given. */
  alignment?: number;
  /** ℓ_uniform = log E exp(−t‖u_i − u_j‖²) over distinct pairs ({@link uniformity}); lower is more uniform. */
  uniformity: number;
  /** The normalized features' std and its reference ({@link normalizedStd}). */
  normalizedStd: NormalizedStd;
  /** exp(entropy of the normalized singular values) ({@link effectiveRank}). */
  effectiveRank: number;
}

/** Options of {@link representationHealth}. */
export interface RepresentationHealthOptions {
  /** (N, D) features whose row i is the positive of row i of `features` (for ℓ_align). */
  positiveFeatures?: FeaturesLike;
  /** Alignment's exponent α (default 2). */
  alpha?: number;
  /** Uniformity's t (default 2). */
  t?: number;
}

/** Alignment (with positives), uniformity, normalized std and effective rank of (N, D) features. */
export function representationHealth(features: FeaturesLike, options: RepresentationHealthOptions = {}): RepresentationHealth {
  checkOptions("representationHealth", options, { positiveFeatures: true, alpha: true, t: true });
  const x: FeatureMatrix = asFeatureMatrix("representationHealth", "features", features);
  const health: RepresentationHealth = {
    rows: x.rows,
    dim: x.dim,
    uniformity: uniformity(x, { t: options.t }),
    normalizedStd: normalizedStd(x),
    effectiveRank: effectiveRank(x).effectiveRank,
  };
  if (options.positiveFeatures !== undefined) health.alignment = alignment(x, options.positiveFeatures, { alpha: options.alpha });
  return health;
}
