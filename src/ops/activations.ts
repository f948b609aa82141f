/**
 * Activations and the softmax family.
 *
 * The softmax family is computed with the max subtracted first (the log-sum-exp trick):
 *   logsumexp(x) = m + log Σ_j exp(x_j − m),  m = max_j x_j
 * so no exp ever sees a large positive argument: finite for inputs of any magnitude.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { normalizeAxis } from "../tensor/shape.js";
import { noGrad } from "../autograd/tape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { aroundAxis, contiguousData, emptyTensor, requireTensor } from "./util.js";
import { mul, sub } from "./elementwise.js";
import { sum } from "./reduce.js";
import { expand, reshape } from "./views.js";
import { normalCdf } from "./erf.js";

/** Apply f elementwise into a fresh tensor (the input may have any layout). */
function mapValues(x: Tensor, f: (v: number) => number): Tensor {
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, x.shape);
  const o = out.storage.data;
  for (let i = 0; i < o.length; i++) o[i] = f(data[offset + i]);
  return out;
}

// tanh:  ∂/∂x = 1 − tanh²(x)
/** Hyperbolic tangent elementwise. PyTorch: `torch.tanh`. */
export const tanh = defineOp("tanh", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("tanh", a);
  const out = mapValues(x, Math.tanh);
  return { output: out, inputs: [x], backward: (g) => [mul(g, mapValues(out, (t) => 1 - t * t))] };
});

// σ(x) = 1 / (1 + e^−x), computed without overflow on either side:  ∂/∂x = σ(x)(1 − σ(x))
/** The logistic sigmoid `σ(x) = 1 / (1 + e⁻ˣ)` elementwise, without overflow for large |x|. PyTorch: `torch.sigmoid`. */
export const sigmoid = defineOp("sigmoid", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("sigmoid", a);
  const out = mapValues(x, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))));
  return { output: out, inputs: [x], backward: (g) => [mul(g, mapValues(out, (s) => s * (1 - s)))] };
});

// relu(x) = max(x, 0):  ∂/∂x = 1 where x > 0, else 0 (0 at x = 0, as torch.relu; not
// maximum(x, 0)'s ½ at the tie: docs/porting.md, "Ties and kinks")
// NaN stays NaN and passes its gradient, as torch.relu (`v <= 0` is false for NaN).
/** `max(x, 0)` elementwise (gradient 0 at 0; NaN passes through). PyTorch: `torch.relu`. */
export const relu = defineOp("relu", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("relu", a);
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, x.shape);
  const o = out.storage.data;
  for (let i = 0; i < o.length; i++) {
    const v = data[offset + i];
    o[i] = v <= 0 ? 0 : v;
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      // One pass: ∂L/∂x_i = g_i where out_i > 0 or NaN (the hot path of every MLP and conv encoder).
      const upstream = contiguousData(g);
      const grad = emptyTensor(x.dtype, x.shape);
      const gd = grad.storage.data;
      for (let i = 0; i < gd.length; i++) gd[i] = o[i] <= 0 ? 0 : upstream.data[upstream.offset + i];
      return [grad];
    },
  };
});

// gelu(x) = x·Φ(x) (exact, erf form, as F.gelu's default):  ∂/∂x = Φ(x) + x·φ(x)
/**
 * GELU, exact form `x·Φ(x)` with Φ the standard normal CDF (via {@link erfc}). PyTorch: `torch.nn.functional.gelu` (approximate="none").
 */
export const gelu = defineOp("gelu", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("gelu", a);
  const out = mapValues(x, (v) => v * normalCdf(v));
  const inverseSqrt2Pi = 1 / Math.sqrt(2 * Math.PI);
  return {
    output: out,
    inputs: [x],
    backward: (g) => [mul(g, mapValues(x, (v) => normalCdf(v) + v * inverseSqrt2Pi * Math.exp(-0.5 * v * v)))],
  };
});

/**
 * The stable log-sum-exp of n numbers, data[start], data[start + stride], …, data[start + (n − 1)·stride]:
 *
 *   logsumexp(x) = m + log Σ_i exp(x_i − m),   m = max_i x_i
 *
 * All −∞ (or n = 0) gives −∞; any +∞ gives +∞; a NaN gives NaN. The one loop every softmax-like
 * computation here uses: logsumexp and softmax below, crossEntropy, the tiled losses' blocks.
 */
export function logSumExpOf(data: ArrayLike<number>, start: number, n: number, stride: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[start + i * stride];
    if (v > m || Number.isNaN(v)) m = v;
  }
  if (m === -Infinity || m === Infinity || Number.isNaN(m)) return m;
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.exp(data[start + i * stride] - m);
  return m + Math.log(total);
}

/** The log-sum-exp along `axis`, with the kept dim (size 1). */
function logSumExpKeep(x: Tensor, axis: number): Tensor {
  const { data, offset } = contiguousData(x);
  const { outer, n, inner } = aroundAxis(x.shape, axis);
  const keptShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const out = emptyTensor(x.dtype, keptShape);
  const o = out.storage.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) o[p * inner + q] = logSumExpOf(data, offset + p * n * inner + q, n, inner);
  }
  return out;
}

// logsumexp_d(x):  ∂/∂x_j = softmax(x)_j
/** `log Σ_d exp(x)` along `dim`, shifted by the maximum so it does not overflow. PyTorch: `torch.logsumexp`. */
export const logsumexp = defineOp("logsumexp", (a: Tensor, dim: number, keepdim: boolean = false): Recordable | Unchanged => {
  const x = requireTensor("logsumexp", a);
  const axis = normalizeAxis("logsumexp", dim, x.ndim);
  const kept = logSumExpKeep(x, axis);
  const out = keepdim ? kept : reshape(kept, x.shape.filter((_, i) => i !== axis));
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const probabilities = expShifted(x, kept);
      return [mul(expand(reshape(g, kept.shape), x.shape), probabilities)];
    },
  };
});

/** exp(x − shift) with shift broadcast along the reduced axis. */
function expShifted(x: Tensor, shift: Tensor): Tensor {
  return noGrad(() => mapValues(sub(x, shift), Math.exp));
}

// softmax_d(x)_j = exp(x_j − logsumexp(x)):  ∂L/∂x = s ⊙ (g − Σ_j g_j s_j)
/** `exp(x_j) / Σ_k exp(x_k)` along `dim`, computed stably. PyTorch: `torch.softmax`. */
export const softmax = defineOp("softmax", (a: Tensor, dim: number): Recordable | Unchanged => {
  const x = requireTensor("softmax", a);
  const axis = normalizeAxis("softmax", dim, x.ndim);
  const out = expShifted(x, logSumExpKeep(x, axis));
  return { output: out, inputs: [x], backward: (g) => [softmaxBackward(out, g, axis)] };
});

/**
 * The softmax rule, from the output s = softmax(x) along `axis` and the upstream gradient g:
 *   ∂L/∂x_j = Σ_k g_k ∂s_k/∂x_j = s_j (g_j − Σ_k g_k s_k)
 * (∂s_k/∂x_j = s_k([k = j] − s_j)). Also the rule of nn/attention.ts's maskedSoftmax, whose
 * masked entries have s_j = 0 and so get no gradient.
 */
export function softmaxBackward(s: Tensor, g: Tensor, axis: number): Tensor {
  return mul(s, sub(g, sum(mul(g, s), axis, true)));
}

// logSoftmax_d(x)_j = x_j − logsumexp(x):  ∂L/∂x = g − softmax(x) · Σ_j g_j
/** `x_j − logsumexp(x)` along `dim`: the log of {@link softmax}, without its underflow. PyTorch: `torch.nn.functional.log_softmax`. */
export const logSoftmax = defineOp("logSoftmax", (a: Tensor, dim: number): Recordable | Unchanged => {
  const x = requireTensor("logSoftmax", a);
  const axis = normalizeAxis("logSoftmax", dim, x.ndim);
  const out = noGrad(() => sub(x, logSumExpKeep(x, axis)));
  return { output: out, inputs: [x], backward: (g) => [sub(g, mul(mapValues(out, Math.exp), sum(g, axis, true)))] };
});
