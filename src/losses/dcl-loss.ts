/**
 * DCL and DCLW, decoupled contrastive learning: NT-Xent with the positive taken out of the
 * denominator. Source: Yeh, Hong, Hsu, Liu, Chen & LeCun, "Decoupled Contrastive Learning",
 * ECCV 2022 (arXiv:2110.06848), eq. 6 and §3.2 (the weighting); official code
 * raminnakhli/Decoupled-Contrastive-Learning, loss/dcl.py.
 *
 * Two views of N images, u = normalize(z1), v = normalize(z2) (N, D). One direction, anchor u_i:
 *
 *   ℓ_i(u, v) = −w_i · u_i·v_i / τ + log Σ_{k ≠ i} [ exp(u_i·u_k / τ) + exp(u_i·v_k / τ) ]
 *   L         = ½ [ (1/N) Σ_i ℓ_i(u, v) + (1/N) Σ_i ℓ_i(v, u) ]
 *
 *   DCL:   w_i = 1
 *   DCLW:  w_i = 2 − N · exp(u_i·v_i / σ) / Σ_j exp(u_j·v_j / σ)    (von Mises–Fisher weighting, σ = 0.5)
 *
 * The denominator holds the 2N − 2 negatives only. NT-Xent's is the same plus the positive,
 * log(e^{pos} + Σ neg), which makes each of its terms ≥ 0; DCL's log Σ neg can be smaller than
 * pos, so the loss goes below 0 once positives are closer than the negatives' soft maximum
 * (spec/losses/family-a.spec.ts). The paper's point: NT-Xent's gradient on a pair is scaled by
 * 1 − p_pos (the "negative–positive coupling"), which vanishes for easy positives and small
 * batches; DCL's is not. DCLW's weights (mean 1 over the batch) give more weight to the pairs
 * whose views are far apart (hard positives).
 *
 * Gradient (DCL, one direction): with p_ik the softmax over the 2N − 2 negatives of anchor i,
 *   ∂ℓ_i/∂(u_i·v_i) = −w_i / τ,    ∂ℓ_i/∂(u_i·x_k) = p_ik / τ   (x_k a negative)
 * — no (1 − p_pos) factor. For DCLW the weights depend on the features too (the official code
 * does not detach them), adding −(u_i·v_i/τ) ∂w_i/∂(u_j·v_j) with ∂w_i/∂c_j = −(N/σ) q_i([i = j] − q_j),
 * q = softmax(c/σ). The composed ops (normalize, matmul, maskedFill, logsumexp, softmax) carry all of it.
 *
 * Shapes: z1 (N, D), z2 (N, D), N ≥ 2 (with N = 1 there are no negatives: log Σ ∅ = −∞).
 *
 * Conventions: τ default 0.1 (the paper's and lightly's). lightly's DCLLoss adds two separate
 * log-sum-exps, log Σ_{k≠i} exp(u_i·u_k/τ) + log Σ_{k≠i} exp(u_i·v_k/τ), where the paper and its
 * code take the log of one sum over both views' negatives (here): log A + log B against
 * log(A + B), a different function (not a constant shift), so values and gradients differ
 * (docs/porting.md). lightly also averages the two directions, as here; the official code is one way.
 *
 * PyTorch (the official code's DCL.__call__, averaged over both directions, on u, v normalized):
 *   def one_way(u, v, w):
 *       neg = torch.cat([u @ u.T, u @ v.T], 1) / tau                          # (N, 2N)
 *       neg = neg.masked_fill(torch.eye(N, dtype=torch.bool).repeat(1, 2), float("-inf"))
 *       return (-w * (u * v).sum(1) / tau + torch.logsumexp(neg, 1)).mean()
 *   w = 2 - N * F.softmax((u * v).sum(1) / sigma, dim=0)                       # DCLW; DCL: w = 1
 *   loss = 0.5 * (one_way(u, v, w) + one_way(v, u, w))
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { shapeToString } from "../tensor/shape.js";
import { cat } from "../ops/indexing.js";
import { normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `dclLoss`. */
export interface DCLLossOptions {
  /** τ, default 0.1 (the paper's and lightly's). */
  temperature?: number;
}

/** Options of `dclwLoss`. */
export interface DCLWLossOptions extends DCLLossOptions {
  /** σ of the von Mises–Fisher weighting, default 0.5 (the paper's). */
  sigma?: number;
}

/** DCL: NT-Xent without the positive in the denominator, averaged over both directions. */
export function dclLoss(z1: Tensor, z2: Tensor, options: DCLLossOptions = {}): Tensor {
  checkOptions("dclLoss", options, { temperature: true });
  const temperature = checkTemperature("dclLoss", options.temperature ?? 0.1);
  checkDclInputs("dclLoss", z1, z2);
  return decoupledLoss(normalize(z1), normalize(z2), temperature, null);
}

/** DCLW: DCL with the positive term of pair i weighted by w_i = 2 − N·softmax_i(u_i·v_i / σ). */
export function dclwLoss(z1: Tensor, z2: Tensor, options: DCLWLossOptions = {}): Tensor {
  checkOptions("dclwLoss", options, { temperature: true, sigma: true });
  const temperature = checkTemperature("dclwLoss", options.temperature ?? 0.1);
  const sigma = options.sigma ?? 0.5;
  if (typeof sigma !== "number" || !(sigma > 0) || !Number.isFinite(sigma)) {
    throw new Error(`dclwLoss: sigma must be a finite number > 0, got ${String(sigma)}`);
  }
  checkDclInputs("dclwLoss", z1, z2);
  const u = normalize(z1); // (N, D)
  const v = normalize(z2); // (N, D)
  const batchSize = u.shape[0];
  const weights = u.mul(v).sum(1).div(sigma).softmax(0).mul(-batchSize).add(2); // (N), w_i, mean 1
  return decoupledLoss(u, v, temperature, weights);
}

/** ½ [one way (u → v) + one way (v → u)] on unit rows; weights (N) or null for 1. */
function decoupledLoss(u: Tensor, v: Tensor, temperature: number, weights: Tensor | null): Tensor {
  const batchSize = u.shape[0];
  const sameImage = eye(batchSize, batchSize, { dtype: u.dtype }); // (N, N)
  const negativeMask = cat([sameImage, sameImage], 1); // (N, 2N): the anchor itself and its positive
  const positive = u.mul(v).sum(1).div(temperature); // (N), u_i·v_i / τ (the same both ways)
  const weighted = weights === null ? positive : positive.mul(weights); // (N), w_i u_i·v_i / τ
  const oneWay = (anchor: Tensor, other: Tensor): Tensor => {
    const negatives = cat([anchor.matmul(anchor.t()), anchor.matmul(other.t())], 1).div(temperature); // (N, 2N)
    const logSumExp = negatives.maskedFill(negativeMask, -Infinity).logsumexp(1); // (N), over the 2N − 2 negatives
    return logSumExp.sub(weighted).mean();
  };
  return oneWay(u, v).add(oneWay(v, u)).mul(0.5);
}

function checkDclInputs(loss: string, z1: Tensor, z2: Tensor): void {
  checkEmbeddings(loss, "z1", z1);
  checkEmbeddings(loss, "z2", z2);
  checkSameShape(loss, "z1", z1, "z2", z2);
  checkSameDtype(loss, "z1", z1, "z2", z2);
  if (z1.shape[0] < 2) {
    throw new Error(`${loss}: needs N ≥ 2 images (with one there are no negatives), got z1 of shape ${shapeToString(z1.shape)}`);
  }
}
