/**
 * NT-Xent (normalized temperature-scaled cross entropy), SimCLR's loss over 2N views.
 * Chapter 7.4 (SimCLR) and 7.5 (whose code template gets it wrong, see below). Source: Chen,
 * Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
 * Representations" (SimCLR), 2020, eq. 1 and Algorithm 1.
 *
 * Two views of each of N images give z1, z2 (N, D). Stack and normalize:
 *
 *   z      = normalize(cat(z1, z2))                    (2N, D); rows i and i + N are one image
 *   S      = z zᵀ / τ                                  (2N, 2N) cosine similarities / τ
 *   S_ii   = −∞                                        a view is not its own candidate
 *   pos(i) = (i + N) mod 2N                            the other view of the same image
 *   ℓ_i    = −S_{i,pos(i)} + log Σ_{k ≠ i} exp(S_ik)
 *   L      = (1 / 2N) Σ_i ℓ_i
 *
 * Each row is a (2N − 1)-way classification: its other view against the 2N − 2 other images'
 * views. With every embedding identical each row has 2N − 1 equal candidates and L = log(2N − 1)
 * (5.5413 at N = 128: a run stuck there has learned nothing).
 *
 * Gradient: ∂ℓ_i/∂S_ik = p_ik − [k = pos(i)] with p_i = softmax over k ≠ i; the masked diagonal
 * gets p_ii = exp(−∞) = 0, so no gradient flows through a self-similarity. S is symmetric and
 * each z_j appears in row j and column j, so z_j collects gradient from both.
 *
 * The diagonal is masked with −∞ (maskedFill): exp(−∞) = 0 exactly, the cross entropy subtracts
 * the row max (a finite off-diagonal entry), and the label never points at the diagonal, so the
 * loss and its gradient are finite. google-research/simclr subtracts 1e9 instead: the same
 * numbers, since exp(−1e9) is also 0 in floating point.
 *
 * Shapes: z1 (N, D), z2 (N, D); N ≥ 1 (N = 1 gives 0: each view's only candidate is its positive).
 *
 * Conventions: mean over the 2N rows, as lightly's NTXentLoss. google-research/simclr adds the
 * two directions' means, which is 2× this value. The paper interleaves the views (2k − 1, 2k);
 * stacking them (i, i + N) is a permutation of the same 2N rows, so L is the same.
 *
 * Chapter 7.5's template uses labels cat(arange(N), arange(N)) and no mask: the first N rows
 * then target their own self-similarity (always the row maximum 1/τ), and no row can get below
 * log 2 because S_ii = 1/τ stays in every denominator. spec/losses/chapter.spec.ts runs it.
 *
 * PyTorch (lightly.loss.NTXentLoss(temperature=0.5) gives the same value):
 *   z = F.normalize(torch.cat([z1, z2]), dim=1)
 *   logits = (z @ z.T / tau).masked_fill(torch.eye(2 * N, dtype=torch.bool), float("-inf"))
 *   F.cross_entropy(logits, (torch.arange(2 * N) + N) % (2 * N))
 */
import type { Tensor } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { cat } from "../ops/indexing.js";
import { crossEntropy, normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";

export interface NTXentOptions {
  /** τ, default 0.5 (SimCLR's CIFAR-10 setting and lightly's default). */
  temperature?: number;
}

export function ntXent(z1: Tensor, z2: Tensor, options: NTXentOptions = {}): Tensor {
  const temperature = checkTemperature("ntXent", options.temperature ?? 0.5);
  checkEmbeddings("ntXent", "z1", z1);
  checkEmbeddings("ntXent", "z2", z2);
  checkSameShape("ntXent", "z1", z1, "z2", z2);
  checkSameDtype("ntXent", "z1", z1, "z2", z2);
  const batchSize = z1.shape[0]; // N images, 2N views
  const views = 2 * batchSize;

  const z = normalize(cat([z1, z2], 0)); // (2N, D), unit rows
  const similarities = z.matmul(z.t()); // (2N, 2N), S_ik = cos(z_i, z_k)
  const selfMask = eye(views, views, { dtype: z.dtype }); // (2N, 2N), 1 on the diagonal
  const logits = similarities.div(temperature).maskedFill(selfMask, -Infinity); // (2N, 2N)
  return crossEntropy(logits, positiveIndices(batchSize)); // mean over the 2N rows
}

/** pos(i) = (i + N) mod 2N: the first N rows point to the second view and back. */
export function positiveIndices(batchSize: number): Int32Array {
  const views = 2 * batchSize;
  const labels = new Int32Array(views);
  for (let i = 0; i < views; i++) labels[i] = (i + batchSize) % views;
  return labels;
}
