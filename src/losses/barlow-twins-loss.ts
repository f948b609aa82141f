/**
 * Barlow Twins: make the cross-correlation matrix of the two views' embeddings the identity.
 * Source: Zbontar, Jing, Misra, LeCun & Deny, "Barlow Twins: Self-Supervised Learning via
 * Redundancy Reduction", ICML 2021, eq. 1–2 and Algorithm 1; facebookresearch/barlowtwins, main.py.
 *
 * Two views of N images, z1, z2 (N, D). Standardize each dimension over the batch (batch norm
 * without affine parameters: mean 0, biased variance 1), then correlate:
 *
 *   ẑ_b,i = (z_b,i − μ_i) / √(σ²_i + ε)              (N, D) each view; μ, σ² over the batch, ε = 1e-5
 *   C_ij  = (1/N) Σ_b ẑ1_b,i ẑ2_b,j                  (D, D) cross-correlation
 *   L     = Σ_i (1 − C_ii)²  +  λ Σ_i Σ_{j≠i} C_ij²     λ = 5·10⁻³
 *
 * The on-diagonal term makes the two views agree dimension by dimension (invariance); the
 * off-diagonal term makes different dimensions uncorrelated (redundancy reduction), which is what
 * keeps the embedding from collapsing to a constant without negatives, a momentum encoder or a
 * stop-gradient. L = 0 exactly when C = I; and L is invariant to a per-dimension affine rescaling
 * z_·,i ↦ a_i z_·,i + c_i (a_i > 0) of either view, since the standardization removes it (with
 * ε = 0; ε = 1e-5 makes it approximate). spec/losses/family-a.spec.ts checks both.
 *
 * Gradient: ∂L/∂C_ii = −2(1 − C_ii), ∂L/∂C_ij = 2λ C_ij (j ≠ i); ∂L/∂ẑ1 = (1/N) ẑ2 (∂L/∂C)ᵀ,
 * ∂L/∂ẑ2 = (1/N) ẑ1 ∂L/∂C; then back through the standardization (batchNorm's rule: subtract the
 * gradient's batch mean and its projection on ẑ, divide by √(σ² + ε)). The composed ops carry it.
 *
 * Shapes: z1 (N, D), z2 (N, D), N ≥ 2 (one sample has no variance).
 *
 * Conventions: the paper writes λ = 5·10⁻³; the official main.py defaults to --lambd 0.0051 (pass
 * { lambda: 0.0051 } to match it). Its BN is nn.BatchNorm1d(D, affine=False) in training mode —
 * biased variance, ε = 1e-5 — as here. It divides C by the global batch size and sums C over GPUs
 * (an all-reduce); on one device that is the (1/N) above. docs/porting.md.
 *
 * PyTorch (facebookresearch/barlowtwins, BarlowTwins.forward, one device):
 *   bn = torch.nn.BatchNorm1d(D, affine=False)
 *   c = bn(z1).T @ bn(z2) / N                                              # (D, D)
 *   on_diag = (torch.diagonal(c) - 1).pow(2).sum()
 *   off_diag = (c - torch.diag(torch.diagonal(c))).pow(2).sum()
 *   loss = on_diag + lambd * off_diag
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { shapeToString } from "../tensor/shape.js";
import { batchNorm } from "../nn/batchnorm.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameShape } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `barlowTwinsLoss`. */
export interface BarlowTwinsLossOptions {
  /** λ, the weight of the off-diagonal (redundancy) term, default 5·10⁻³ (the paper's). */
  lambda?: number;
  /** ε of the batch standardization, default 1e-5 (nn.BatchNorm1d's). */
  eps?: number;
}

/** Barlow Twins' loss Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij² on the batch-standardized views. */
export function barlowTwinsLoss(z1: Tensor, z2: Tensor, options: BarlowTwinsLossOptions = {}): Tensor {
  checkOptions("barlowTwinsLoss", options, { lambda: true, eps: true });
  const lambda = options.lambda ?? 5e-3;
  const eps = options.eps ?? 1e-5;
  if (typeof lambda !== "number" || !(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new Error(`barlowTwinsLoss: lambda must be a finite number ≥ 0, got ${String(lambda)}`);
  }
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new Error(`barlowTwinsLoss: eps must be a finite number ≥ 0, got ${String(eps)}`);
  }
  checkEmbeddings("barlowTwinsLoss", "z1", z1);
  checkEmbeddings("barlowTwinsLoss", "z2", z2);
  checkSameShape("barlowTwinsLoss", "z1", z1, "z2", z2);
  checkSameDtype("barlowTwinsLoss", "z1", z1, "z2", z2);
  const [batchSize, dim] = z1.shape;
  if (batchSize < 2) {
    throw new Error(`barlowTwinsLoss: needs N ≥ 2 samples to standardize over the batch, got z1 of shape ${shapeToString(z1.shape)}`);
  }
  const standardized1 = batchNorm(z1, { training: true, eps }); // (N, D), ẑ1
  const standardized2 = batchNorm(z2, { training: true, eps }); // (N, D), ẑ2
  const correlation = standardized1.t().matmul(standardized2).div(batchSize); // (D, D), C
  const identity = eye(dim, dim, { dtype: z1.dtype }); // (D, D)
  const onDiagonal = correlation.sub(identity).mul(identity).square().sum(); // Σ_i (C_ii − 1)²
  const offDiagonal = correlation.mul(identity.neg().add(1)).square().sum(); // Σ_{i≠j} C_ij²
  return onDiagonal.add(offDiagonal.mul(lambda));
}
