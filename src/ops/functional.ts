/**
 * Functional ops with a stable fused gradient: normalize, crossEntropy, mseLoss, and a few
 * compositions (linear, dropout, cosineSimilarity). PyTorch: `torch.nn.functional` (F.*).
 */
import { Tensor, type IndexLike } from "../tensor/tensor.js";
import { normalizeAxis, sameShape, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { aroundAxis, checkSameDtype, contiguousData, emptyTensor, requireTensor } from "./util.js";
import { add, mul, square, sub } from "./elementwise.js";
import { mean, sum } from "./reduce.js";
import { matmul } from "./matmul.js";
import { transpose } from "./views.js";
import { toIndexArray } from "./indexing.js";
import { logSumExpOf } from "./activations.js";
import type { Generator } from "../tensor/random.js";
import { checkOptions } from "../tensor/options.js";

export interface NormalizeOptions {
  dim?: number;
  p?: number;
  eps?: number;
}

/**
 * F.normalize: y = x / max(‖x‖_p, eps) along `dim` (default 1).
 *
 * Gradient, with n = ‖x‖_p and s = Σ_i g_i x_i along the dim:
 *   n > eps:  ∂L/∂x_j = g_j / n − s · sign(x_j)|x_j|^(p−1) / n^(p+1)      (p = 2: (g − y (y·g)) / n)
 *   n ≤ eps:  ∂L/∂x_j = g_j / eps   (the denominator is the constant eps)
 * The norm is computed with the row's largest magnitude factored out, so it neither overflows
 * nor underflows, and an all-zero row gives zeros, not NaN.
 */
export const normalize = defineOp("normalize", (a: Tensor, options: NormalizeOptions = {}): Recordable | Unchanged => {
  checkOptions("normalize", options, { dim: true, p: true, eps: true });
  const x = requireTensor("normalize", a);
  const p = options.p ?? 2;
  const eps = options.eps ?? 1e-12;
  if (!(p > 0) || !Number.isFinite(p)) throw new Error(`normalize: p must be a positive finite number, got ${p}`);
  if (!(eps >= 0)) throw new Error(`normalize: eps must be ≥ 0, got ${eps}`);
  if (x.ndim === 0) throw new Error("normalize: input must have at least one dimension");
  const axis = normalizeAxis("normalize", options.dim ?? 1, x.ndim);
  const shape = x.shape;
  const { outer, n, inner } = aroundAxis(shape, axis);
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, shape);
  const o = out.storage.data;
  const denominators = new Float64Array(outer * inner); // max(‖x‖, eps) per slice
  const norms = new Float64Array(outer * inner);
  for (let r = 0; r < outer; r++) {
    for (let c = 0; c < inner; c++) {
      const base = r * n * inner + c;
      let largest = 0;
      for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(data[offset + base + i * inner]));
      let total = 0;
      if (largest > 0 && Number.isFinite(largest)) {
        for (let i = 0; i < n; i++) total += Math.pow(Math.abs(data[offset + base + i * inner]) / largest, p);
      }
      const norm = largest > 0 && Number.isFinite(largest) ? largest * Math.pow(total, 1 / p) : largest;
      norms[r * inner + c] = norm;
      const denominator = Math.max(norm, eps);
      denominators[r * inner + c] = denominator;
      for (let i = 0; i < n; i++) o[base + i * inner] = data[offset + base + i * inner] / denominator;
    }
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const upstream = contiguousData(g);
      const grad = emptyTensor(x.dtype, shape);
      const gd = grad.storage.data;
      for (let r = 0; r < outer; r++) {
        for (let c = 0; c < inner; c++) {
          const base = r * n * inner + c;
          const norm = norms[r * inner + c];
          const denominator = denominators[r * inner + c];
          if (norm <= eps) {
            for (let i = 0; i < n; i++) gd[base + i * inner] = upstream.data[upstream.offset + base + i * inner] / denominator;
            continue;
          }
          // s = Σ g_i x_i, scaled by 1/n to stay in range: s/n = Σ g_i y_i
          let projection = 0;
          for (let i = 0; i < n; i++) projection += upstream.data[upstream.offset + base + i * inner] * o[base + i * inner];
          for (let i = 0; i < n; i++) {
            const y = o[base + i * inner];
            // sign(x)|x|^(p−1)/n^(p−1) = sign(y)|y|^(p−1)
            const dNorm = p === 2 ? y : Math.sign(y) * Math.pow(Math.abs(y), p - 1);
            gd[base + i * inner] = (upstream.data[upstream.offset + base + i * inner] - projection * dNorm) / norm;
          }
        }
      }
      return [grad];
    },
  };
});

/** How a loss combines its per-row values: their mean, their sum, or none (the (N) values). */
export type Reduction = "mean" | "sum" | "none";

/** `reduction` is one of the three (it may come from JavaScript or JSON, so any value is checked). */
export function checkReduction(op: string, reduction: unknown): Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new Error(`${op}: reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}`);
  }
  return reduction;
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** ε: the target becomes (1 − ε)·one-hot + ε/C, as in PyTorch. */
  labelSmoothing?: number;
}

/**
 * F.cross_entropy with integer class targets, logits (N, C), targets (N).
 *
 *   ℓ_i = −Σ_c q_ic log softmax(x_i)_c,   q_i = (1 − ε)·onehot(y_i) + ε/C
 *   ∂ℓ_i/∂x_i = softmax(x_i) − q_i
 *
 * log softmax is computed with the row max subtracted (logSumExpOf in ./activations.ts), so it is
 * finite for logits of any size.
 */
export function crossEntropy(logits: Tensor, targets: IndexLike, options: CrossEntropyOptions = {}): Tensor {
  checkOptions("crossEntropy", options, { reduction: true, labelSmoothing: true });
  const x = requireTensor("crossEntropy", logits, "logits");
  const reduction = checkReduction("crossEntropy", options.reduction ?? "mean");
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  if (x.ndim !== 2) throw new Error(`crossEntropy: logits must be (N, C), got shape ${shapeToString(x.shape)}`);
  const [N, C] = x.shape;
  if (C === 0) throw new Error("crossEntropy: logits have zero classes");
  const targetCount = targets instanceof Tensor ? targets.numel() : targets.length;
  if (targetCount !== N) throw new Error(`crossEntropy: ${targetCount} targets for ${N} rows of logits (shape ${shapeToString(x.shape)})`);
  const labels = toIndexArray("crossEntropy", targets, C, "the class dim", "target");
  return reduce(crossEntropyPerRow(x, labels, smoothing), reduction, "crossEntropy");
}

/** The primitive: the N per-row losses ℓ_i of logits x (N, C) against class labels (N). */
const crossEntropyPerRow = defineOp("crossEntropy", (x: Tensor, labels: Int32Array, smoothing: number): Recordable | Unchanged => {
  const [N, C] = x.shape;
  const { data, offset } = contiguousData(x);
  const probabilities = new Float64Array(N * C);
  const rowLoss = emptyTensor(x.dtype, [N]);
  const losses = rowLoss.storage.data;
  for (let i = 0; i < N; i++) {
    const row = offset + i * C;
    const logNormalizer = logSumExpOf(data, row, C, 1); // log Σ_c exp(x_ic)
    let loss = 0;
    for (let c = 0; c < C; c++) {
      const logP = data[row + c] - logNormalizer;
      probabilities[i * C + c] = Math.exp(logP);
      const q = (c === labels[i] ? 1 - smoothing : 0) + smoothing / C;
      if (q !== 0) loss -= q * logP;
    }
    losses[i] = loss;
  }
  return {
    output: rowLoss,
    inputs: [x],
    backward: (g) => {
      const upstream = contiguousData(g);
      const grad = emptyTensor(x.dtype, [N, C]);
      const gd = grad.storage.data;
      for (let i = 0; i < N; i++) {
        const weight = upstream.data[upstream.offset + i];
        for (let c = 0; c < C; c++) {
          const q = (c === labels[i] ? 1 - smoothing : 0) + smoothing / C;
          gd[i * C + c] = weight * (probabilities[i * C + c] - q);
        }
      }
      return [grad];
    },
  };
});

function reduce(perRow: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === "none") return perRow;
  if (perRow.numel() === 0) throw new Error(`${op}: empty batch`);
  return reduction === "sum" ? sum(perRow) : mean(perRow);
}

/** F.mse_loss: mean (or sum) of (input − target)². */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions("mseLoss", options, { reduction: true });
  const x = requireTensor("mseLoss", input, "input");
  const y = requireTensor("mseLoss", target, "target");
  checkSameDtype("mseLoss", "input", x, "target", y);
  if (!sameShape(x.shape, y.shape)) {
    throw new Error(`mseLoss: input ${shapeToString(x.shape)} and target ${shapeToString(y.shape)} differ in shape`);
  }
  const reduction = checkReduction("mseLoss", options.reduction ?? "mean");
  const squared = square(sub(x, y));
  if (reduction === "none") return squared;
  return reduction === "sum" ? sum(squared) : mean(squared);
}

/** F.linear: y = x Wᵀ + b, x (…, in), W (out, in), b (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const product = matmul(x, transpose(weight, 0, 1));
  return bias ? add(product, bias) : product;
}

/** F.cosine_similarity along `dim`: ⟨a, b⟩ / (‖a‖ ‖b‖), via normalize (eps 1e-8 on each norm). */
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return sum(mul(normalize(a, { dim, eps }), normalize(b, { dim, eps })), dim);
}

/**
 * F.dropout (inverted): zero each element with probability p and scale the rest by 1/(1 − p),
 * so the expectation is unchanged. The mask is drawn from the given seeded generator.
 */
export function dropout(x: Tensor, p: number, training: boolean, generator: Generator): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const mask = emptyTensor(x.dtype, x.shape);
  const m = mask.storage.data;
  const scale = 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = generator.random() < p ? 0 : scale;
  return mul(x, mask);
}
