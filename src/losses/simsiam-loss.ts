/**
 * SimSiam's loss: the symmetric negative cosine between each view's prediction and the other
 * view's projection, with a stop-gradient on the projection. Source: Chen & He, "Exploring Simple
 * Siamese Representation Learning", CVPR 2021, eqs. 1–3 and Algorithm 1
 * (facebookresearch/simsiam, main_simsiam.py and simsiam/builder.py).
 *
 *   D(p, z) = −(p / ‖p‖₂) · (z / ‖z‖₂)                             negative cosine
 *   L = ½ D(p₁, stopgrad(z₂)) + ½ D(p₂, stopgrad(z₁))               averaged over the batch   in [−1, 1]
 *
 * p_v = h(z_v) is the predictor's output for view v, z_v = g(f(x_v)) the projection.
 * stopgrad: z₁ and z₂ enter as constants, so the gradient reaches the encoder only through the
 * predictions. Without it the loss is minimized by a constant output (the paper's Fig. 2: the
 * std of the normalized output drops to 0). There is no momentum encoder: both branches share f, g.
 *
 * Gradient (p̂ = p/‖p‖, ẑ = z/‖z‖): ∂L/∂p₁_i = −(1/(2N)) (ẑ₂_i − (p̂₁_i · ẑ₂_i) p̂₁_i) / ‖p₁_i‖,
 * the component of ẑ₂ orthogonal to p̂₁ (normalize's rule); ∂L/∂z = 0 by the stop-gradient.
 *
 * Shapes: p1, p2, z1, z2 (N, D); the loss is a scalar.
 *
 * PyTorch (main_simsiam.py):
 *   criterion = nn.CosineSimilarity(dim=1)
 *   p1, p2, z1, z2 = model(x1=images[0], x2=images[1])   # builder.py returns z1.detach(), z2.detach()
 *   loss = -(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5
 * lightly: NegativeCosineSimilarity, called as 0.5 * (criterion(p0, z1) + criterion(p1, z0)) with z detached.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { normalize } from "../ops/functional.js";
import { checkSameDtype } from "../ops/util.js";
import { checkEmbeddings, checkSameShape } from "./checks.js";

/** D(p, sg(z)) averaged over the batch: −mean_i cos(p_i, z_i), no gradient into z. (N, D), (N, D) → scalar. */
export function negativeCosine(prediction: Tensor, target: Tensor): Tensor {
  checkEmbeddings("negativeCosine", "prediction", prediction);
  checkEmbeddings("negativeCosine", "target", target);
  checkSameShape("negativeCosine", "prediction", prediction, "target", target);
  checkSameDtype("negativeCosine", "prediction", prediction, "target", target);
  const p = normalize(prediction); // (N, D)
  const z = normalize(target.detach()); // (N, D), stop-gradient
  return p.mul(z).sum(1).mean().neg(); // −mean_i cos(p_i, z_i)
}

/** L = ½ D(p₁, sg(z₂)) + ½ D(p₂, sg(z₁)), the symmetrized SimSiam loss (see the file's header). */
export function simsiamLoss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor): Tensor {
  for (const [name, t] of [["p1", p1], ["p2", p2], ["z1", z1], ["z2", z2]] as const) checkEmbeddings("simsiamLoss", name, t);
  checkSameShape("simsiamLoss", "p1", p1, "p2", p2);
  checkSameShape("simsiamLoss", "p1", p1, "z1", z1);
  checkSameShape("simsiamLoss", "p1", p1, "z2", z2);
  checkSameDtype("simsiamLoss", "p1", p1, "z2", z2);
  checkSameDtype("simsiamLoss", "p2", p2, "z1", z1);
  return negativeCosine(p1, z2).add(negativeCosine(p2, z1)).mul(0.5);
}
