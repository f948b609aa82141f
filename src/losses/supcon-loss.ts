/**
 * SupCon, the supervised contrastive loss (the L_out form): every view of the same class is a
 * positive. Source: Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu & Krishnan,
 * "Supervised Contrastive Learning", NeurIPS 2020, eq. 2; HobbitLong/SupContrast, losses.py.
 *
 * N images, V views each, labels y (N). Stack the views (view-major, as SupContrast's
 * cat(unbind(features, 1))) and normalize:
 *
 *   z      = normalize(cat(features[:, 0], …, features[:, V−1]))   (VN, D); row a is image a mod N
 *   s_ak   = z_a · z_k / τ                                        (VN, VN) logits, k ≠ a only
 *   P(a)   = { p ≠ a : y_p = y_a }                                 the positives of anchor a
 *   lse_a  = log Σ_{k ≠ a} exp(s_ak)
 *   ℓ_a    = −(τ / τ_base) · (1 / |P(a)|) Σ_{p ∈ P(a)} (s_ap − lse_a)      (0 when P(a) is empty)
 *   L      = (1 / VN) Σ_a ℓ_a
 *
 * "out" means the 1/|P(a)| sits outside the log (the paper's L_out, which it finds better than
 * L_in). With unique labels and V = 2, P(a) is the other view alone and L is NT-Xent (nt-xent.ts)
 * exactly: the property spec/losses/family-a.spec.ts checks.
 *
 * Gradient: with w_ak = [k ∈ P(a)] / |P(a)| (so Σ_k w_ak is 1, or 0 for an anchor without a
 * positive) and p_ak = softmax over k ≠ a,
 *
 *   ∂ℓ_a/∂s_ak = (τ / τ_base) · (Σ_k' w_ak' · p_ak − w_ak)
 *
 * the softmax pulled toward the uniform distribution over the positives. Written as
 *   ℓ_a = (τ/τ_base) · [(Σ_k w_ak) lse_a − Σ_k w_ak s_ak]
 * the composed ops below give it: logsumexp's rule is p, the weighted sum's is w. (The masked
 * diagonal s_aa = −∞ enters only lse; w_aa = 0 multiplies the unmasked s, so no 0·∞.)
 *
 * Shapes: features (N, V, D) — V ≥ 1 views of N images, as SupContrast — labels (N) integers.
 * V = 1 is allowed: anchors whose label no other image has then contribute 0, as in SupContrast.
 *
 * Conventions: SupContrast multiplies by τ/τ_base (temperature 0.07, base_temperature 0.07 by
 * default, so the factor is 1 at its defaults and grows when τ is raised alone); here
 * baseTemperature defaults to the temperature (factor 1 at any τ), and SupContrast's rescaling is
 * `{ temperature: τ, baseTemperature: 0.07 }`. SupContrast expects normalized features; this loss
 * normalizes them itself (as ntXent), which changes nothing for unit rows. docs/porting.md.
 *
 * PyTorch (SupContrast's SupConLoss(temperature=tau, base_temperature=tau)(F.normalize(f, dim=2), y)):
 *   z = F.normalize(torch.cat(torch.unbind(f, dim=1)), dim=1)            # (V N, D)
 *   s = z @ z.T / tau                                                    # (V N, V N)
 *   lse = torch.logsumexp(s.masked_fill(torch.eye(V * N, dtype=torch.bool), float("-inf")), 1)
 *   w = (y.repeat(V)[:, None] == y.repeat(V)[None, :]).double().fill_diagonal_(0)
 *   w = w / w.sum(1, keepdim=True).clamp(min=1)                          # w_ak
 *   loss = (w.sum(1) * lse - (w * s).sum(1)).mean() * tau / base
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { shapeToString } from "../tensor/shape.js";
import { cat } from "../ops/indexing.js";
import { normalize } from "../ops/functional.js";
import { requireTensor } from "../ops/util.js";
import { checkFinite, checkTemperature } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `supConLoss`. */
export interface SupConLossOptions {
  /** τ, default 0.1 (the paper's ImageNet setting; SupContrast's scripts use 0.07 or 0.1). */
  temperature?: number;
  /** τ_base of the τ/τ_base factor, default = temperature (factor 1). SupContrast: 0.07. */
  baseTemperature?: number;
}

/**
 * SupCon's L_out over features (N, V, D) with labels (N): the mean over the VN anchors of the mean
 * log-probability of their positives (every other view of the same class), times −τ/τ_base.
 */
export function supConLoss(features: Tensor, labels: ArrayLike<number>, options: SupConLossOptions = {}): Tensor {
  checkOptions("supConLoss", options, { temperature: true, baseTemperature: true });
  const temperature = checkTemperature("supConLoss", options.temperature ?? 0.1);
  const baseTemperature = checkTemperature("supConLoss", options.baseTemperature ?? temperature);
  const f = requireTensor("supConLoss", features, "features");
  if (f.ndim !== 3 || f.shape[0] === 0 || f.shape[1] === 0 || f.shape[2] === 0) {
    throw new Error(`supConLoss: features must be (N, V, D) with N, V, D ≥ 1 (N images, V views), got shape ${shapeToString(f.shape)}`);
  }
  checkFinite("supConLoss", "features", f);
  const [batchSize, views] = f.shape;
  const classes = checkLabels("supConLoss", labels, batchSize);
  const anchors = views * batchSize;
  if (anchors < 2) {
    throw new Error(`supConLoss: one image with one view has no candidate to contrast with (features ${shapeToString(f.shape)})`);
  }

  const z = normalize(cat(Array.from({ length: views }, (_, v) => f.select(1, v)), 0)); // (VN, D), view-major
  const similarities = z.matmul(z.t()).div(temperature); // (VN, VN), s_ak = z_a·z_k / τ
  const selfMask = eye(anchors, anchors, { dtype: z.dtype }); // (VN, VN), 1 on the diagonal
  const logSumExp = similarities.maskedFill(selfMask, -Infinity).logsumexp(1); // (VN), lse_a over k ≠ a
  const { weights, hasPositive } = positiveWeights(classes, views, z.dtype); // (VN, VN), (VN)
  const positiveLogit = similarities.mul(weights).sum(1); // (VN), Σ_k w_ak s_ak
  const anchorLosses = logSumExp.mul(hasPositive).sub(positiveLogit); // (VN), ℓ_a · τ_base/τ
  return anchorLosses.mean().mul(temperature / baseTemperature);
}

/**
 * w_ak = [y_k = y_a, k ≠ a] / |P(a)| over the VN stacked views (row a is image a mod N), and
 * Σ_k w_ak (1, or 0 for an anchor without a positive). Constants: labels carry no gradient.
 */
export function positiveWeights(labels: Int32Array, views: number, dtype: Tensor["dtype"]): { weights: Tensor; hasPositive: Tensor } {
  const batchSize = labels.length;
  const anchors = views * batchSize;
  const weights = new Float64Array(anchors * anchors);
  const hasPositive = new Float64Array(anchors);
  for (let a = 0; a < anchors; a++) {
    let count = 0;
    for (let k = 0; k < anchors; k++) if (k !== a && labels[k % batchSize] === labels[a % batchSize]) count++;
    if (count === 0) continue;
    hasPositive[a] = 1;
    for (let k = 0; k < anchors; k++) {
      if (k !== a && labels[k % batchSize] === labels[a % batchSize]) weights[a * anchors + k] = 1 / count;
    }
  }
  return {
    weights: Tensor.fromTypedArray(weights, [anchors, anchors]).to(dtype),
    hasPositive: Tensor.fromTypedArray(hasPositive, [anchors]).to(dtype),
  };
}

/** Class labels: N integers (any values; only equality matters). */
function checkLabels(loss: string, labels: ArrayLike<number>, batchSize: number): Int32Array {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new Error(`${loss}: labels must be an array of ${batchSize} integers, got ${String(labels)}`);
  }
  if (labels.length !== batchSize) throw new Error(`${loss}: labels has ${labels.length} entries for a batch of ${batchSize} images`);
  const out = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || Math.abs(y) > 2 ** 31 - 1) throw new Error(`${loss}: labels[${i}] must be an integer, got ${y}`);
    out[i] = y;
  }
  return out;
}
