/**
 * InfoNCE: classify the positive key among the candidates by softmax over similarities.
 * Chapter 7.2 ("InfoNCE Loss - The Foundation"). Source: van den Oord, Li & Vinyals,
 * "Representation Learning with Contrastive Predictive Coding", 2018, eq. 4.
 *
 * For query q_i, its positive key k⁺_i and M negative keys n_1 … n_M (shared by every query):
 *
 *   logits_i = [sim(q_i, k⁺_i), sim(q_i, n_1), …, sim(q_i, n_M)] / τ          (1 + M)
 *   ℓ_i      = −log softmax(logits_i)_0
 *            = −sim(q_i, k⁺_i)/τ + log Σ_c exp(logits_ic)
 *   L        = mean_i ℓ_i   (or sum, or the N values ℓ_i: `reduction`)
 *
 * Without explicit negatives ("in-batch"), the other rows' positive keys are the negatives:
 *
 *   logits = sim(Q, K) / τ    (N, N),    row i's positive is column i.
 *
 * Gradient (the cross entropy's, chained through sim): ∂ℓ_i/∂logits_ic = p_ic − [c = positive],
 * p_i = softmax(logits_i), so ∂ℓ_i/∂sim(q_i, k_c) = (p_ic − [c = positive]) / τ; the rest flows
 * through normalize and matmul. The gradient vanishes when p_i puts all mass on the positive.
 *
 * Shapes: query (N, D), positiveKey (N, D), negativeKeys (M, D) or omitted.
 *
 * Conventions (REFERENCE-CONVENTIONS.md): the positive is column 0 of every row (label 0), as in
 * MoCo, lightly's memory-bank branch and info-nce-pytorch; the cross entropy subtracts the row
 * max before any exp, so it is finite for every τ; reduction "mean" by default.
 *
 * Bounds (cosine): every logit lies in [−1/τ, 1/τ], so 0 < ℓ_i ≤ log(1 + M·e^{2/τ}), reached when
 * the positive is opposite the query and every negative equals it. log(1 + M) — which chapter 7.2
 * calls the upper bound — is the value when all similarities are equal. See docs/losses.md.
 *
 * PyTorch: with q, k, n normalized,
 *   logits = torch.cat([(q * k).sum(1, keepdim=True), q @ n.T], dim=1) / tau
 *   F.cross_entropy(logits, torch.zeros(N, dtype=torch.long))
 * or F.cross_entropy(q @ k.T / tau, torch.arange(N)) in-batch. The package info-nce-pytorch
 * (`info_nce(query, positive_key, negative_keys, temperature=0.1)`) is the same function.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { tensor } from "../tensor/creation.js";
import { shapeToString } from "../tensor/shape.js";
import { cat } from "../ops/indexing.js";
import { checkReduction, crossEntropy, type Reduction } from "../ops/functional.js";
import { checkSameDtype, requireTensor } from "../ops/util.js";
import { arangeLabels, checkEmbeddings, checkFinite, checkSameEmbeddingDim, checkSameShape, checkTemperature } from "./checks.js";
import { checkMetric, pairwiseScores, prepare, rowScores, type SimilarityMetric } from "./similarity.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link infoNCE}. */
export interface InfoNCEOptions {
  /** τ, default 0.1. */
  temperature?: number;
  /** "mean" (default), "sum", or "none" for the N per-row losses. */
  reduction?: Reduction;
  /** "cosine" (default: normalize, then dot), "dot" (raw), "euclidean" (−‖q − k‖², raw). */
  metric?: SimilarityMetric;
}

/**
 * InfoNCE: for each query, −log of the softmax probability of its positive key among the candidates (similarities / τ). Row i's positive
 * is `positiveKey[i]`; the negatives are `negativeKeys` (shared by every row) or, when omitted, the other rows' positive keys (in-batch).
 * PyTorch: `info_nce(query, positive_key, negative_keys, temperature=0.1)` of the info-nce-pytorch package.
 *
 * @param query (N, D).
 * @param positiveKey (N, D).
 * @param negativeKeys (M, D), or null/omitted for in-batch negatives.
 * @param options temperature τ (default 0.1), reduction (default "mean"), metric (default "cosine").
 * @returns a 0-d tensor, or (N) with reduction "none".
 */
export function infoNCE(query: Tensor, positiveKey: Tensor, negativeKeys?: Tensor | null, options: InfoNCEOptions = {}): Tensor {
  checkOptions("infoNCE", options, { temperature: true, reduction: true, metric: true });
  const temperature = checkTemperature("infoNCE", options.temperature ?? 0.1);
  const reduction = checkReduction("infoNCE", options.reduction ?? "mean");
  const metric = checkMetric("infoNCE", options.metric ?? "cosine");
  checkEmbeddings("infoNCE", "query", query);
  checkEmbeddings("infoNCE", "positiveKey", positiveKey);
  checkSameShape("infoNCE", "query", query, "positiveKey", positiveKey);
  checkSameDtype("infoNCE", "query", query, "positiveKey", positiveKey);
  if (negativeKeys !== undefined && negativeKeys !== null) {
    if (!(negativeKeys instanceof Tensor)) {
      throw new Error(
        "infoNCE: negativeKeys must be a Tensor, or null / undefined for in-batch negatives (options go in the 4th argument)",
      );
    }
    if (negativeKeys.ndim === 2 && negativeKeys.shape[0] === 0) {
      throw new Error(`infoNCE: negativeKeys is empty (shape ${shapeToString(negativeKeys.shape)}); omit it to use the in-batch negatives`);
    }
    checkEmbeddings("infoNCE", "negativeKeys", negativeKeys);
    checkSameEmbeddingDim("infoNCE", "negativeKeys", negativeKeys, "query", query);
    checkSameDtype("infoNCE", "query", query, "negativeKeys", negativeKeys);
  }
  const batchSize = query.shape[0];
  const queries = prepare(query, metric); // (N, D), unit rows for cosine
  const keys = prepare(positiveKey, metric); // (N, D)

  if (negativeKeys === undefined || negativeKeys === null) {
    // In-batch: row i's candidates are all N keys, its positive is column i.
    const logits = pairwiseScores(queries, keys, metric).div(temperature); // (N, N)
    return crossEntropy(logits, arangeLabels(batchSize), { reduction });
  }
  const negatives = prepare(negativeKeys, metric); // (M, D)
  const positiveLogit = rowScores(queries, keys, metric).unsqueeze(1); // (N) → (N, 1)
  const negativeLogits = pairwiseScores(queries, negatives, metric); // (N, M)
  const logits = cat([positiveLogit, negativeLogits], 1).div(temperature); // (N, 1 + M)
  return crossEntropy(logits, new Int32Array(batchSize), { reduction }); // label 0: the positive
}

/**
 * InfoNCE on logits you have already computed, positive in column 0 of each row:
 *
 *   ℓ_i = −log softmax(logits_i)_0 = −logits_i0 + log Σ_c exp(logits_ic)
 *
 * logits (N, 1 + M) → a 0-d tensor (or (N) with reduction "none"). No normalization, no τ:
 * divide by τ yourself. This is the form in which the invariances are plainest: adding a constant
 * to a row changes nothing; multiplying a row by K > 0 is the same as dividing τ by K, and does
 * change the loss (docs/losses.md, "Where chapter 7 is wrong").
 */
export function rawInfoNCE(logits: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions("rawInfoNCE", options, { reduction: true });
  const reduction = checkReduction("rawInfoNCE", options.reduction ?? "mean");
  requireTensor("rawInfoNCE", logits, "logits");
  if (logits.ndim !== 2 || logits.shape[0] === 0 || logits.shape[1] === 0) {
    throw new Error(
      `rawInfoNCE: logits must be (N, 1 + M) with N ≥ 1 and the positive in column 0, got shape ${shapeToString(logits.shape)}`,
    );
  }
  checkFinite("rawInfoNCE", "logits", logits);
  return crossEntropy(logits, new Int32Array(logits.shape[0]), { reduction });
}

/** The numbers {@link infoNCEFromSimilarities} returns for one query: its logits, the positive's probability and the loss. */
export interface InfoNCEWorkedExample {
  /** similarities / τ, positive first. */
  logits: number[];
  /** softmax(logits)[0]: the probability the model gives the positive. */
  probability: number;
  /** −log probability. */
  loss: number;
}

/**
 * Chapter 7.2's "Numerical Example" in one call: one query, similarities [positive, negatives…]
 * already computed (no normalization), divided by τ, softmax, −log. In float64.
 *
 *   infoNCEFromSimilarities([0.8, 0.2, 0.15, 0.1], 0.1)  →  probability 0.99513, loss 0.0048821
 */
export function infoNCEFromSimilarities(similarities: readonly number[], temperature: number): InfoNCEWorkedExample {
  checkTemperature("infoNCEFromSimilarities", temperature);
  if (similarities.length === 0) throw new Error("infoNCEFromSimilarities: need at least the positive similarity");
  const logits = tensor([similarities.map((s) => s / temperature)], { dtype: "float64" }); // (1, 1 + M)
  const loss = rawInfoNCE(logits).item();
  const probability = logits.softmax(1).select(1, 0).item();
  return { logits: Array.from(logits.toTypedArray()), probability, loss };
}
