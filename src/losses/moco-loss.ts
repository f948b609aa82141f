/**
 * MoCo's loss: InfoNCE whose negatives come from a queue of past keys.
 * Chapter 7.4 ("Method 2: MoCo - Momentum Contrast"). Sources: He, Fan, Wu, Xie & Girshick,
 * "Momentum Contrast for Unsupervised Visual Representation Learning" (MoCo), 2020, eq. 1 and
 * Algorithm 1; Chen, Fan, Girshick & He, "Improved Baselines with Momentum Contrastive
 * Learning" (MoCo v2), 2020 (τ = 0.2, MLP head, stronger augmentation; same loss).
 *
 *   q = normalize(query), k = normalize(key), n_j = normalize(queue_j)
 *   logits_i = [q_i · k_i, q_i · n_1, …, q_i · n_K] / τ              (1 + K)
 *   L = mean_i −log softmax(logits_i)_0                                label 0: the positive
 *
 * No gradient flows into key or queue: the keys come from the momentum encoder, which is
 * updated by θ_k ← m θ_k + (1 − m) θ_q, not by backprop. Both are detached here, so
 * `key.grad` and `queue.grad` stay null even if they have requiresGrad.
 * ∂L/∂(q_i · k_c) = (p_ic − [c = 0]) / (N τ), chained into the query through normalize.
 *
 * Shapes: query (N, D), key (N, D), queue (K, D), one key per row. The queue is read *before*
 * this batch's keys are enqueued (REFERENCE-CONVENTIONS.md): keeping it is the method's job.
 *
 * This is infoNCE(query, key, queue, { temperature }) with key and queue detached; it is
 * written out here so that the file reads on its own.
 *
 * PyTorch (facebookresearch/moco, moco/builder.py), on q, k already normalized:
 *   l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)                   # (N, 1)
 *   l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])      # (N, K)
 *   logits = torch.cat([l_pos, l_neg], dim=1) / self.T;  labels = zeros(N)
 * Note the official queue is stored transposed, (D, K), one key per column; here it is (K, D),
 * one key per row, like every other batch of embeddings.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { cat } from "../ops/indexing.js";
import { crossEntropy, normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameEmbeddingDim, checkSameShape, checkTemperature } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link mocoLoss}. */
export interface MocoLossOptions {
  /** τ, default 0.07 (MoCo v1; v2 uses 0.2). */
  temperature?: number;
}

/**
 * MoCo's loss: InfoNCE of each query against its key (the positive, column 0) and the K queued keys (the negatives), cosine similarities
 * / τ; no gradient reaches key or queue.
 * PyTorch: facebookresearch/moco's `MoCo.forward` logits with `F.cross_entropy(logits, zeros(N))` (its queue is stored (D, K)).
 *
 * @param query (N, D), from the query encoder.
 * @param key (N, D), from the momentum encoder.
 * @param queue (K, D), past keys, one per row, read before this batch is enqueued.
 * @param options `temperature` τ (default 0.07).
 * @returns the mean loss, a 0-d tensor.
 */
export function mocoLoss(query: Tensor, key: Tensor, queue: Tensor, options: MocoLossOptions = {}): Tensor {
  checkOptions("mocoLoss", options, { temperature: true });
  const temperature = checkTemperature("mocoLoss", options.temperature ?? 0.07);
  checkEmbeddings("mocoLoss", "query", query);
  checkEmbeddings("mocoLoss", "key", key);
  checkEmbeddings("mocoLoss", "queue", queue);
  checkSameShape("mocoLoss", "query", query, "key", key);
  checkSameEmbeddingDim("mocoLoss", "queue", queue, "query", query);
  checkSameDtype("mocoLoss", "query", query, "key", key);
  checkSameDtype("mocoLoss", "query", query, "queue", queue);

  const q = normalize(query); // (N, D)
  const k = normalize(key.detach()); // (N, D), stop-gradient: the momentum encoder's keys
  const negatives = normalize(queue.detach()); // (K, D), stop-gradient
  const positiveLogit = q.mul(k).sum(1, true); // (N, 1): q_i · k_i
  const negativeLogits = q.matmul(negatives.t()); // (N, D) @ (D, K) → (N, K)
  const logits = cat([positiveLogit, negativeLogits], 1).div(temperature); // (N, 1 + K)
  return crossEntropy(logits, new Int32Array(query.shape[0])); // label 0 for every row
}
