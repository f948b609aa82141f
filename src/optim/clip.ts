/**
 * Gradient clipping by global norm (PyTorch: torch.nn.utils.clip_grad_norm_).
 *
 *   total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, …)‖ₚ       the p-norm of all gradients taken as one vector
 *                                      (p = ∞: the largest |gᵢ|)
 *   coef  = maxNorm / (total + 1e-6)
 *   every gᵢ ← gᵢ · min(coef, 1)        (so a no-op unless total > maxNorm)
 *
 * Returns `total`, the norm *before* clipping (PyTorch returns it as a 0-d tensor; here a number).
 * Parameters without a gradient are ignored. The gradients are scaled in place; nothing is recorded
 * on the autograd tape.
 *
 * Source: Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks",
 * Algorithm 1; exact form: torch/nn/utils/clip_grad.py.
 *
 * @module
 */
import { loops } from "../tensor/strided.js";
import { Tensor } from "../tensor/tensor.js";
import { contiguousData } from "../ops/util.js";
import { mutableStorage } from "../tensor/version.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (PyTorch's `error_if_nonfinite`; default false). */
  errorIfNonfinite?: boolean;
}

/**
 * Scale all gradients in place so that their global p-norm is at most `maxNorm`; parameters without a gradient are ignored.
 * PyTorch: `torch.nn.utils.clip_grad_norm_`.
 *
 * @param normType p (default 2; Infinity for the largest |g|).
 * @returns the total norm before clipping, a number.
 */
export function clipGradNorm(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  options: ClipGradNormOptions = {},
): number {
  checkOptions("clipGradNorm", options, { errorIfNonfinite: true });
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) {
    throw new Error(`clipGradNorm: maxNorm must be a number, got ${String(maxNorm)}`);
  }
  if (typeof normType !== "number" || !(normType > 0)) {
    throw new Error(`clipGradNorm: normType must be a positive number or Infinity, got ${String(normType)}`);
  }
  const params = parameters instanceof Tensor ? [parameters] : [...parameters];
  const grads: Tensor[] = [];
  for (const p of params) {
    if (!(p instanceof Tensor)) throw new Error(`clipGradNorm: expected tensors, got ${p === null ? "null" : typeof p}`);
    if (p.grad !== null) grads.push(p.grad);
  }
  if (grads.length === 0) return 0;

  // total = the p-norm of the per-tensor p-norms, as PyTorch computes it.
  const tensorNorms = grads.map((grad) => pNorm(grad, normType));
  const total = normType === Infinity ? Math.max(...tensorNorms) : pNormOfValues(tensorNorms, normType);

  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(
      `clipGradNorm: the total norm of order ${normType} of the gradients is ${total}; set errorIfNonfinite: false to clip anyway`,
    );
  }
  const clipCoef = maxNorm / (total + 1e-6);
  // PyTorch multiplies by clamp(coef, max=1): a NaN coefficient propagates, 1 leaves the gradients as they are.
  const clamped = clipCoef < 1 || Number.isNaN(clipCoef) ? clipCoef : 1;
  if (clamped !== 1) {
    for (const grad of grads) loops.mulseq(mutableStorage(grad), clamped);
  }
  return total;
}

/** ‖g‖ₚ over every element of one tensor. */
function pNorm(grad: Tensor, normType: number): number {
  const { data, offset } = contiguousData(grad);
  const values = data.subarray(offset, offset + grad.numel());
  if (normType === Infinity) {
    let largest = 0;
    for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]));
    return largest;
  }
  return pNormOfValues(values, normType);
}

/** (Σ |xᵢ|ᵖ)^(1/p); for p = 2 the square root of the sum of squares. */
function pNormOfValues(values: ArrayLike<number>, normType: number): number {
  let sum = 0;
  if (normType === 2) {
    for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
    return Math.sqrt(sum);
  }
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]) ** normType;
  return sum ** (1 / normType);
}
