/**
 * Layer normalization (Ba, Kiros & Hinton 2016, "Layer Normalization", eq. 4).
 * PyTorch: torch.nn.LayerNorm, torch.nn.functional.layer_norm.
 *
 * Each row — the last k dims given by `normalizedShape`, D values — is normalized on its own,
 * in training and evaluation alike (no running statistics):
 *
 *   μ = (1/D) Σ x,   σ² = (1/D) Σ (x − μ)²        (biased)
 *   y = (x − μ) / √(σ² + eps) · γ + β             γ, β: normalizedShape (elementwise affine)
 *
 * Gradient, per row, with x̂ = (x − μ)/√(σ² + eps) and ĝ = ḡ·γ:
 *   ∂L/∂x = 1/√(σ² + eps) · (ĝ − (1/D) Σ ĝ − x̂ · (1/D) Σ ĝ·x̂)
 *   ∂L/∂γ = Σ_rows ḡ·x̂,   ∂L/∂β = Σ_rows ḡ
 * (the same algebra as BatchNorm, with the roles of rows and features swapped).
 *
 * State dict: weight, bias (shape normalizedShape) — the same keys as PyTorch; absent when
 * elementwiseAffine = false.
 *
 * @module
 */
import { Tensor, checkDType, type DType } from "../tensor/tensor.js";
import { sameShape, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { contiguousData, emptyTensor } from "../ops/util.js";
import { Module, type Parameter } from "./module.js";
import { emptyParameter, ones_, zeros_ } from "./init.js";
import { castTo, checkDtype, forwardAs } from "./util.js";
import { checkOptions } from "../tensor/options.js";

/** F.layer_norm(x, normalizedShape, weight, bias, eps). */
export const layerNorm = defineOp("layerNorm", (
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps: number = 1e-5,
): Recordable | Unchanged => {
  const op = "layerNorm";
  const k = normalizedShape.length;
  if (k === 0 || x.ndim < k || !sameShape(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new Error(`${op}: input of shape ${shapeToString(x.shape)} does not end in normalizedShape ${shapeToString(normalizedShape)}`);
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t !== null && !sameShape(t.shape, normalizedShape)) {
      throw new Error(`${op}: ${name} has shape ${shapeToString(t.shape)}, expected normalizedShape ${shapeToString(normalizedShape)}`);
    }
    if (t !== null && t.dtype !== x.dtype) throw new Error(`${op}: ${name} is ${t.dtype} but the input is ${x.dtype}`);
  }
  const D = normalizedShape.reduce((p, d) => p * d, 1);
  const rows = D === 0 ? 0 : x.numel() / D;
  const { data: xs, offset: xo } = contiguousData(x);
  const gamma = weight ? contiguousData(weight) : null;
  const beta = bias ? contiguousData(bias) : null;
  const mean = new Float64Array(rows);
  const invStd = new Float64Array(rows);
  const out = emptyTensor(x.dtype, x.shape);
  const ys = out.storage.data;
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    let total = 0;
    for (let d = 0; d < D; d++) total += xs[xo + base + d];
    const mu = total / D;
    let squares = 0;
    for (let d = 0; d < D; d++) {
      const centred = xs[xo + base + d] - mu;
      squares += centred * centred;
    }
    const inv = 1 / Math.sqrt(squares / D + eps);
    mean[r] = mu;
    invStd[r] = inv;
    for (let d = 0; d < D; d++) {
      const xhat = (xs[xo + base + d] - mu) * inv;
      ys[base + d] = xhat * (gamma ? gamma.data[gamma.offset + d] : 1) + (beta ? beta.data[beta.offset + d] : 0);
    }
  }

  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return {
    output: out,
    inputs: inputs,
    backward: (g) => {
      const { data: gs, offset: go } = contiguousData(g);
      const gradX = x.requiresGrad ? emptyTensor(x.dtype, x.shape) : null;
      const dx = gradX ? gradX.storage.data : null;
      const dGamma = new Float64Array(D);
      const dBeta = new Float64Array(D);
      for (let r = 0; r < rows; r++) {
        const base = r * D;
        const mu = mean[r], inv = invStd[r];
        let sumG = 0, sumGX = 0; // Σ ĝ and Σ ĝ·x̂ with ĝ = ḡ·γ
        for (let d = 0; d < D; d++) {
          const gv = gs[go + base + d];
          const xhat = (xs[xo + base + d] - mu) * inv;
          const ghat = gv * (gamma ? gamma.data[gamma.offset + d] : 1);
          sumG += ghat;
          sumGX += ghat * xhat;
          dGamma[d] += gv * xhat;
          dBeta[d] += gv;
        }
        if (dx) {
          const meanG = sumG / D, meanGX = sumGX / D;
          for (let d = 0; d < D; d++) {
            const xhat = (xs[xo + base + d] - mu) * inv;
            const ghat = gs[go + base + d] * (gamma ? gamma.data[gamma.offset + d] : 1);
            dx[base + d] = inv * (ghat - meanG - xhat * meanGX);
          }
        }
      }
      const grads: (Tensor | null)[] = [gradX];
      if (weight) grads.push(Tensor.fromTypedArray(castTo(x.dtype, dGamma), normalizedShape.slice()));
      if (bias) grads.push(Tensor.fromTypedArray(castTo(x.dtype, dBeta), normalizedShape.slice()));
      return grads;
    },
  };
});

/** Options of {@link LayerNorm}; the defaults are PyTorch's. */
export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn γ (init 1) and β (init 0) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
}

/**
 * Layer normalization over the last axes (`normalizedShape`): `y = (x − mean) / √(var + eps) · γ + β`, statistics per sample. PyTorch:
 * `torch.nn.LayerNorm`.
 */
export class LayerNorm extends Module {
  /** The trailing shape normalized over, e.g. `[D]`. */
  readonly normalizedShape: readonly number[];
  /** Added to the (biased) variance before the square root (default 1e-5). */
  readonly eps: number;
  /** Whether γ and β are learned (default true). */
  readonly elementwiseAffine: boolean;
  /** γ, shape `normalizedShape`, initialized to 1; null without `elementwiseAffine`. */
  readonly weight: Parameter | null;
  /** β, shape `normalizedShape`, initialized to 0; null without `elementwiseAffine`. */
  readonly bias: Parameter | null;

  /**
   * A LayerNorm over the trailing `normalizedShape` axes, γ = 1 and β = 0 at init.
   *
   * @param normalizedShape the trailing axes to normalize over (a number is one axis).
   * @param options eps, elementwiseAffine, dtype.
   */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    checkOptions("LayerNorm", options, { eps: true, elementwiseAffine: true, dtype: true });
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape.slice();
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new Error(`LayerNorm: normalizedShape must be positive integers, got ${shapeToString(shape)}`);
    }
    this.normalizedShape = shape;
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const dtype = checkDType("LayerNorm", options.dtype);
    this.weight = this.elementwiseAffine ? (ones_(emptyParameter(shape, dtype)) as Parameter) : null; // γ
    this.bias = this.elementwiseAffine ? (zeros_(emptyParameter(shape, dtype)) as Parameter) : null; // β
    this.registerParameter("weight", this.weight);
    this.registerParameter("bias", this.bias);
  }

  forward(x: Tensor): Tensor {
    if (this.weight) checkDtype("LayerNorm", x, this.weight);
    return forwardAs("LayerNorm", () => layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps));
  }
}
