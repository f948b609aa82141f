/**
 * VICReg's loss: variance, invariance, covariance. Source: Bardes, Ponce & LeCun,
 * "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning", ICLR 2022,
 * eqs. 1–6 (facebookresearch/vicreg, main_vicreg.py `VICReg.forward`).
 *
 *   s(Z, Z′) = (1/(N·D)) Σ_i ‖z_i − z′_i‖²                              invariance (MSE)
 *   v(Z)     = (1/D) Σ_j max(0, γ − √(Var(z^j) + ε)),  γ = 1, ε = 10⁻⁴    variance hinge per dimension
 *   c(Z)     = (1/D) Σ_{j≠k} C(Z)_jk²,  C(Z) = (1/(N − 1)) Σ_i (z_i − z̄)(z_i − z̄)ᵀ    off-diagonal covariance
 *   L = λ s(Z, Z′) + μ ½[v(Z) + v(Z′)] + ν [c(Z) + c(Z′)],   λ = 25, μ = 25, ν = 1
 *
 * Var is the unbiased variance over the batch (torch.var's default), so N ≥ 2. The ½ on the
 * variance term and its absence on the covariance term are the official code's (the paper's eq. 6
 * writes neither; lightly's VICRegLoss has the same ½ and no ½).
 *
 * What it prevents: no negatives, no predictor, no EMA. The variance hinge keeps every dimension's
 * std at ≥ 1 (no collapse to a point); the covariance term decorrelates the dimensions (no
 * collapse to a line); the invariance term pulls the two views together.
 *
 * Gradient (z̃ = z − z̄ the centered batch, σ_j = √(Var_j + ε)):
 *   ∂s/∂z_i   = 2(z_i − z′_i)/(N·D)
 *   ∂v/∂z_ij  = −[σ_j < 1] · z̃_ij / ((N − 1) σ_j D)           (zero once σ_j ≥ 1: the hinge is off)
 *   ∂c/∂z̃     = 4 z̃ (C − diag C) / ((N − 1) D)                (then centering's projection, which removes the mean)
 * Each is composed from the registered ops (mean, square, sqrt, relu, matmul), whose rules the tape chains.
 *
 * Shapes: z1, z2 (N, D) the expander's outputs (not normalized); the loss is a scalar.
 *
 * PyTorch (main_vicreg.py):
 *   repr_loss = F.mse_loss(x, y)
 *   x = x - x.mean(dim=0); y = y - y.mean(dim=0)
 *   std_x = torch.sqrt(x.var(dim=0) + 0.0001)
 *   std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
 *   cov_x = (x.T @ x) / (N - 1)
 *   cov_loss = off_diagonal(cov_x).pow_(2).sum().div(D) + off_diagonal(cov_y).pow_(2).sum().div(D)
 *   loss = 25 * repr_loss + 25 * std_loss + 1 * cov_loss
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { checkSameDtype } from "../ops/util.js";
import { checkOptions } from "../tensor/options.js";
import { checkEmbeddings, checkSameShape } from "./checks.js";

/** Options of {@link vicregLoss} and {@link vicregTerms}: the three weights (the official 25, 25, 1) and ε. */
export interface VICRegLossOptions {
  /** λ, the weight of the invariance (MSE) term (default 25). */
  invarianceWeight?: number;
  /** μ, the weight of the variance hinge (default 25). */
  varianceWeight?: number;
  /** ν, the weight of the covariance term (default 1). */
  covarianceWeight?: number;
  /** ε inside the square root of the variance (default 1e-4). */
  eps?: number;
}

/** The three terms of VICReg, unweighted, and the weighted total. */
export interface VICRegTerms {
  /** s(Z, Z′): the mean squared difference. */
  invariance: Tensor;
  /** ½[v(Z) + v(Z′)]: the mean hinge on the per-dimension std. */
  variance: Tensor;
  /** c(Z) + c(Z′): the sum of squared off-diagonal covariances over D. */
  covariance: Tensor;
  /** λ s + μ v + ν c. */
  loss: Tensor;
}

function checkWeight(op: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`${op}: ${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

/**
 * v(Z) = (1/D) Σ_j max(0, 1 − √(Var(z^j) + ε)): the variance hinge of one branch (N, D) → scalar.
 * It is 0 exactly when every dimension's std (with ε) is at least 1.
 */
export function vicregVariance(z: Tensor, eps = 1e-4): Tensor {
  checkEmbeddings("vicregVariance", "z", z);
  if (z.shape[0] < 2) throw new Error(`vicregVariance: needs a batch of at least 2 (the unbiased variance), got N = ${z.shape[0]}`);
  const std = z.var(0).add(eps).sqrt(); // (D): √(Var_j + ε)
  return std.neg().add(1).relu().mean(); // mean_j max(0, 1 − σ_j)
}

/**
 * c(Z) = (1/D) Σ_{j≠k} C_jk² with C = Z̃ᵀZ̃/(N − 1): the covariance term of one branch (N, D) → scalar.
 * Σ_{j≠k} C_jk² = ‖C‖²_F − Σ_j C_jj², and C_jj = Σ_i z̃_ij²/(N − 1) is the variance of dimension j.
 */
export function vicregCovariance(z: Tensor): Tensor {
  checkEmbeddings("vicregCovariance", "z", z);
  const [n, d] = z.shape;
  if (n < 2) throw new Error(`vicregCovariance: needs a batch of at least 2 (the unbiased covariance), got N = ${n}`);
  const centered = z.sub(z.mean(0, true)); // (N, D): z̃ = z − z̄
  const covariance = centered.t().matmul(centered).div(n - 1); // (D, D): C
  const diagonal = centered.square().sum(0).div(n - 1); // (D): C_jj
  return covariance.square().sum().sub(diagonal.square().sum()).div(d); // (‖C‖²_F − Σ C_jj²) / D
}

/** VICReg's loss and its three terms (see the file's header). */
export function vicregTerms(z1: Tensor, z2: Tensor, options: VICRegLossOptions = {}): VICRegTerms {
  return computeTerms("vicregTerms", z1, z2, options);
}

/** The terms, with `op` naming the caller in every error. */
function computeTerms(op: string, z1: Tensor, z2: Tensor, options: VICRegLossOptions): VICRegTerms {
  checkOptions(op, options, { invarianceWeight: true, varianceWeight: true, covarianceWeight: true, eps: true });
  checkEmbeddings(op, "z1", z1);
  checkEmbeddings(op, "z2", z2);
  checkSameShape(op, "z1", z1, "z2", z2);
  checkSameDtype(op, "z1", z1, "z2", z2);
  if (z1.shape[0] < 2) throw new Error(`${op}: needs a batch of at least 2 (the variance is over the batch), got N = ${z1.shape[0]}`);
  const lambda = checkWeight(op, "invarianceWeight", options.invarianceWeight, 25);
  const mu = checkWeight(op, "varianceWeight", options.varianceWeight, 25);
  const nu = checkWeight(op, "covarianceWeight", options.covarianceWeight, 1);
  const eps = options.eps ?? 1e-4;
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new Error(`${op}: eps must be a finite number ≥ 0, got ${String(eps)}`);
  }

  const invariance = z1.sub(z2).square().mean(); // (1/(N·D)) Σ ‖z_i − z′_i‖²
  const variance = vicregVariance(z1, eps).add(vicregVariance(z2, eps)).mul(0.5); // ½[v(Z) + v(Z′)]
  const covariance = vicregCovariance(z1).add(vicregCovariance(z2)); // c(Z) + c(Z′)
  const loss = invariance.mul(lambda).add(variance.mul(mu)).add(covariance.mul(nu));
  return { invariance, variance, covariance, loss };
}

/** L = λ s(Z, Z′) + μ ½[v(Z) + v(Z′)] + ν [c(Z) + c(Z′)], with the paper's λ = μ = 25, ν = 1 by default. */
export function vicregLoss(z1: Tensor, z2: Tensor, options: VICRegLossOptions = {}): Tensor {
  return computeTerms("vicregLoss", z1, z2, options).loss;
}
