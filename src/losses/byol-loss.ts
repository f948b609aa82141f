/**
 * BYOL's regression loss: the online prediction should point where the target projection does.
 * Chapter 7.4 ("Method 3: BYOL - Contrastive Without Negatives"). Source: Grill et al.,
 * "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning" (BYOL), 2020, eq. 2.
 *
 *   p̂_i = normalize(prediction_i), ẑ_i = normalize(target_i)
 *   L = mean_i ‖p̂_i − ẑ_i‖² = mean_i (2 − 2 cos(p_i, z_i))            in [0, 4]
 *
 * The chapter writes ‖h(online(aug1)) − target(aug2)‖² without the normalization; the paper
 * normalizes both, which is what makes the loss 2 − 2cos and bounds it.
 *
 * No gradient flows into the target (stop-gradient): the target network is an EMA of the
 * online one, never trained by backprop. `target.grad` stays null.
 * Gradient: ∂L/∂p̂_i = −(2/N) ẑ_i, chained through normalize (which removes the component along
 * p̂_i, so the gradient only rotates the prediction).
 *
 * One direction only. BYOL symmetrizes: with views v, v′,
 *   L_BYOL = byolLoss(q(online(v)), target(v′)) + byolLoss(q(online(v′)), target(v))
 * and that sum is the method's job (src/methods), not this function's.
 *
 * Shapes: prediction (N, D), target (N, D).
 *
 * PyTorch (lightly.loss.NegativeCosineSimilarity is −cos, the same up to 2 − 2·):
 *   p = F.normalize(prediction, dim=1); z = F.normalize(target.detach(), dim=1)
 *   (2 - 2 * (p * z).sum(dim=1)).mean()
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameShape } from "./checks.js";

/**
 * BYOL's loss, one direction: `mean_i ‖normalize(p_i) − normalize(z_i)‖² = mean_i (2 − 2 cos(p_i, z_i))`, in [0, 4]; no gradient reaches
 * the target.
 * PyTorch: `(2 - 2 * (F.normalize(p, dim=1) * F.normalize(z.detach(), dim=1)).sum(1)).mean()`.
 *
 * @param prediction (N, D), the online network's prediction.
 * @param target (N, D), the target network's projection of the other view.
 * @returns the loss, a 0-d tensor.
 */
export function byolLoss(prediction: Tensor, target: Tensor): Tensor {
  checkEmbeddings("byolLoss", "prediction", prediction);
  checkEmbeddings("byolLoss", "target", target);
  checkSameShape("byolLoss", "prediction", prediction, "target", target);
  checkSameDtype("byolLoss", "prediction", prediction, "target", target);

  const p = normalize(prediction); // (N, D)
  const z = normalize(target.detach()); // (N, D), stop-gradient
  const cosine = p.mul(z).sum(1); // (N): cos(p_i, z_i)
  return cosine.mul(-2).add(2).mean(); // mean_i (2 − 2 cos)
}
