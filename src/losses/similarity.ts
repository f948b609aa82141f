/**
 * Similarity functions: the "sim" of InfoNCE (chapter 7.2, "sim = similarity function (cosine,
 * dot product)"), and the answer to the chapter's exercise 6, "compare different similarity
 * metrics".
 *
 *   cosine     sim(a, b) = âᵀ b̂,   â = a / max(‖a‖₂, 1e-12)       in [−1, 1]; ignores the norms
 *   dot        sim(a, b) = aᵀ b                                  unbounded; the norms count
 *   euclidean  sim(a, b) = −‖a − b‖₂²                             ≤ 0; on the raw inputs
 *
 *   similarity(A, B)        A (N, D), B (M, D)  →  (N, M),  entry (i, j) = sim(a_i, b_j)
 *   pairedSimilarity(A, B)  A (N, D), B (N, D)  →  (N),     entry i      = sim(a_i, b_i)
 *
 * How they relate: on unit vectors ‖a − b‖² = 2 − 2 aᵀb, so "euclidean" on normalized inputs is
 * cosine with the temperature halved, plus a constant per row that the softmax ignores. The dot
 * product on raw embeddings lets the network lower the loss by growing the norms (the logits
 * grow with them, exactly like lowering τ), which is why every method here normalizes first.
 *
 * Memory: "euclidean" is computed exactly, as the broadcast difference (N, 1, D) − (1, M, D),
 * which holds N·M·D numbers. torch.cdist (and most code) uses the expansion
 * ‖a‖² + ‖b‖² − 2aᵀb, which holds only N·M but loses digits to cancellation when a ≈ b.
 *
 * PyTorch: F.normalize(a) @ F.normalize(b).T, a @ b.T, and -torch.cdist(a, b) ** 2.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameEmbeddingDim, checkSameShape } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** How two embeddings are compared: `"cosine"` (normalize, then dot), `"dot"` (raw inner product) or `"euclidean"` (−‖a − b‖²). */
export type SimilarityMetric = "cosine" | "dot" | "euclidean";

/** Options of {@link similarity} and {@link pairedSimilarity}. */
export interface SimilarityOptions {
  /** Default "cosine". */
  metric?: SimilarityMetric;
}

/**
 * The (N, M) matrix of sim(a_i, b_j).
 * PyTorch (cosine): `F.normalize(a) @ F.normalize(b).T`.
 */
export function similarity(a: Tensor, b: Tensor, options: SimilarityOptions = {}): Tensor {
  checkOptions("similarity", options, { metric: true });
  const metric = checkMetric("similarity", options.metric ?? "cosine");
  checkEmbeddings("similarity", "a", a);
  checkEmbeddings("similarity", "b", b);
  checkSameEmbeddingDim("similarity", "a", a, "b", b);
  checkSameDtype("similarity", "a", a, "b", b);
  return pairwiseScores(prepare(a, metric), prepare(b, metric), metric);
}

/**
 * The (N) vector of sim(a_i, b_i): one score per row pair.
 * PyTorch (cosine): `F.cosine_similarity(a, b, dim=1)`.
 */
export function pairedSimilarity(a: Tensor, b: Tensor, options: SimilarityOptions = {}): Tensor {
  checkOptions("pairedSimilarity", options, { metric: true });
  const metric = checkMetric("pairedSimilarity", options.metric ?? "cosine");
  checkEmbeddings("pairedSimilarity", "a", a);
  checkEmbeddings("pairedSimilarity", "b", b);
  checkSameShape("pairedSimilarity", "a", a, "b", b);
  checkSameDtype("pairedSimilarity", "a", a, "b", b);
  return rowScores(prepare(a, metric), prepare(b, metric), metric);
}

// ---- the building blocks the losses share (inputs already checked) -----------------------------

export function checkMetric(loss: string, metric: unknown): SimilarityMetric {
  if (metric !== "cosine" && metric !== "dot" && metric !== "euclidean") {
    throw new Error(`${loss}: metric must be "cosine", "dot" or "euclidean", got ${JSON.stringify(metric)}`);
  }
  return metric;
}

/** Cosine works on unit rows; the other two on the raw embeddings. */
export function prepare(x: Tensor, metric: SimilarityMetric): Tensor {
  return metric === "cosine" ? normalize(x) : x; // (N, D)
}

/** sim(a_i, b_j) for prepared a (N, D), b (M, D) → (N, M). */
export function pairwiseScores(a: Tensor, b: Tensor, metric: SimilarityMetric): Tensor {
  if (metric !== "euclidean") return a.matmul(b.t()); // (N, D) @ (D, M) → (N, M)
  const difference = a.unsqueeze(1).sub(b.unsqueeze(0)); // (N, 1, D) − (1, M, D) → (N, M, D)
  return difference.square().sum(2).neg(); // (N, M)
}

/** sim(a_i, b_i) for prepared a, b (N, D) → (N). */
export function rowScores(a: Tensor, b: Tensor, metric: SimilarityMetric): Tensor {
  if (metric !== "euclidean") return a.mul(b).sum(1); // (N, D) → (N)
  return a.sub(b).square().sum(1).neg(); // (N, D) → (N)
}
