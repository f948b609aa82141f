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
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { cat } from "../ops/indexing.js";
import { crossEntropy, normalize } from "../ops/functional.js";
import { checkSameDtype, contiguousData, emptyTensor, requireTensor } from "../ops/util.js";
import { defineOp, type Recordable } from "../autograd/registry.js";
import { shapeToString } from "../tensor/shape.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { checkOptions } from "../tensor/options.js";
import { ntXentBackward, ntXentForward } from "./nt-xent-rows.js";

/** Options of {@link ntXent}. */
export interface NTXentOptions {
  /** τ, default 0.5 (SimCLR's CIFAR-10 setting and lightly's default). */
  temperature?: number;
}

/**
 * NT-Xent, SimCLR's loss: each of the 2N views must pick its other view among the 2N − 1 others
 * by softmax over cosine similarities / τ; the mean over the 2N rows (a 0-d tensor).
 *
 * PyTorch: `lightly.loss.NTXentLoss(temperature=0.5)(z1, z2)` (the same value).
 *
 * Implementation: the checks, z = normalize(cat(z1, z2)), S = z zᵀ, then the rest of the
 * formula in one fused op, `ntXentFromSimilarities`. `ntXentReference` below is the same loss
 * written with the plain ops; spec/losses/fused.spec.ts compares the two.
 *
 * @param z1 the first views' embeddings (N, D), not necessarily normalized.
 * @param z2 the second views' embeddings (N, D); row i is the same image as z1's row i.
 * @param options `temperature` τ (default 0.5).
 * @returns the loss, a 0-d tensor.
 */
export function ntXent(z1: Tensor, z2: Tensor, options: NTXentOptions = {}): Tensor {
  const temperature = checkNtXentArguments(z1, z2, options);
  const z = normalize(cat([z1, z2], 0)); // (2N, D), unit rows
  const similarities = z.matmul(z.t()); // (2N, 2N), S_ik = cos(z_i, z_k)
  return ntXentFromSimilarities(similarities, temperature); // mean over the 2N rows
}

/**
 * The reference: NT-Xent composed from the plain ops, line by line the PyTorch code at the top of
 * this file (S/τ, maskedFill of the diagonal with −∞, crossEntropy at pos(i)). Slower (five
 * (2N, 2N) intermediates on the tape) but the formula is visible; the fused op must match it.
 */
export function ntXentReference(z1: Tensor, z2: Tensor, options: NTXentOptions = {}): Tensor {
  const temperature = checkNtXentArguments(z1, z2, options);
  const batchSize = z1.shape[0]; // N images, 2N views
  const views = 2 * batchSize;
  const z = normalize(cat([z1, z2], 0)); // (2N, D), unit rows
  const similarities = z.matmul(z.t()); // (2N, 2N), S_ik = cos(z_i, z_k)
  const selfMask = eye(views, views, { dtype: z.dtype }); // (2N, 2N), 1 on the diagonal
  const logits = similarities.div(temperature).maskedFill(selfMask, -Infinity); // (2N, 2N)
  return crossEntropy(logits, positiveIndices(batchSize)); // mean over the 2N rows
}

/** ntXent's argument checks (errors name ntXent); returns τ. */
function checkNtXentArguments(z1: Tensor, z2: Tensor, options: NTXentOptions): number {
  checkOptions("ntXent", options, { temperature: true });
  const temperature = checkTemperature("ntXent", options.temperature ?? 0.5);
  checkEmbeddings("ntXent", "z1", z1);
  checkEmbeddings("ntXent", "z2", z2);
  checkSameShape("ntXent", "z1", z1, "z2", z2);
  checkSameDtype("ntXent", "z1", z1, "z2", z2);
  return temperature;
}

/**
 * NT-Xent from the similarity matrix S (2N, 2N), in one op: the loss in one pass over the rows,
 * its gradient in one more.
 *
 *   x_ik = S_ik / τ  (k ≠ i)                 the logits; x_ii = −∞ is never formed, just skipped
 *   lse_i = m_i + log Σ_{k ≠ i} exp(x_ik − m_i),   m_i = max_{k ≠ i} x_ik
 *   ℓ_i  = lse_i − x_{i,pos(i)}               L = (1 / 2N) Σ_i ℓ_i
 *
 *   ∂L/∂S_ik = ḡ · (1 / 2N) · (p_ik − [k = pos(i)]) / τ,   p_ik = exp(x_ik − lse_i),   ∂L/∂S_ii = 0
 *
 * The composed form (ntXentReference) builds S/τ, the 0/1 mask, the masked logits, the (2N, 2N)
 * softmax and three (2N, 2N) gradients; here only lse_i (2N numbers) is saved, and the backward
 * recomputes p_ik from S in the same loop that writes ∂S, as FlashAttention recomputes its softmax.
 *
 * Bits: in float64 every number is computed as the composed ops compute it (S/τ, logSumExpOf's
 * order, (ḡ/2N)·(p − q) then /τ), so loss and gradient are identical. In float32 the logits are
 * rounded to float32 as there (and as PyTorch's S / tau), but the 2N row losses are summed in
 * float64 and the mean rounded once (the composed `mean` summed in float32), and each ∂S_ik is
 * rounded once (the composed chain rounded ḡ/2N, the product and the quotient by τ): closer to
 * the float64 value, not further.
 *
 * Shapes: similarities (2N, 2N), any layout, N ≥ 1; the output is a 0-d tensor. τ > 0.
 */
export const ntXentFromSimilarities = defineOp("ntXentFromSimilarities", (similarities: Tensor, temperature: number): Recordable => {
  const S = requireTensor("ntXentFromSimilarities", similarities, "similarities");
  const views = S.shape[0]; // 2N
  if (S.ndim !== 2 || S.shape[1] !== views || views < 2 || views % 2 !== 0) {
    throw new Error(`ntXentFromSimilarities: similarities must be (2N, 2N) with N ≥ 1, got shape ${shapeToString(S.shape)}`);
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`ntXentFromSimilarities: temperature must be a positive finite number, got ${temperature}`);
  }
  const float32 = S.dtype === "float32";
  // τ as the dtype holds it: S.div(τ) turns τ into a 0-d tensor of S's dtype first.
  const tau = float32 ? Math.fround(temperature) : temperature;
  const { data, offset } = contiguousData(S); // S_ik at offset + i·2N + k
  const logSumExps = new Float64Array(views); // lse_i, saved for the backward
  const rowLosses = new Float64Array(views); // ℓ_i
  ntXentForward(data, offset, views, tau, float32, logSumExps, rowLosses); // the row loops, on the pool (./nt-xent-rows.ts)
  let total = 0; // Σ_i ℓ_i in float64, in row order whatever the thread count
  for (let i = 0; i < views; i++) total += rowLosses[i];
  const out = emptyTensor(S.dtype, []);
  out.storage.data[0] = total / views; // one rounding
  return {
    output: out,
    inputs: [S],
    backward: (g) => {
      const gd = contiguousData(g);
      const upstream = gd.data[gd.offset];
      const rowWeight = upstream / views; // ḡ / 2N, as mean's rule gives it (in double)
      const grad = emptyTensor(S.dtype, [views, views]);
      ntXentBackward(data, offset, views, tau, float32, logSumExps, rowWeight, grad.storage.data); // ∂S, row by row
      return [grad];
    },
  };
});

/** pos(i) = (i + N) mod 2N: the first N rows point to the second view and back. */
export function positiveIndices(batchSize: number): Int32Array {
  const views = 2 * batchSize;
  const labels = new Int32Array(views);
  for (let i = 0; i < views; i++) labels[i] = (i + batchSize) % views;
  return labels;
}
