/**
 * Functional ops with a stable fused gradient: normalize, crossEntropy, mseLoss, and a few
 * compositions (linear, dropout, cosineSimilarity). PyTorch: `torch.nn.functional` (F.*).
 *
 * @module
 */
import { Tensor, type DType, type IndexLike, type TypedArray } from "../tensor/tensor.js";
import { normalizeAxis, sameShape, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { aroundAxis, checkSameDtype, contiguousData, emptyTensor, requireTensor } from "./util.js";
import { mul, square, sub } from "./elementwise.js";
import { mean, sum } from "./reduce.js";
import { gemm, type MatrixView } from "./gemm.js";
import { reshape } from "./views.js";
import { toIndexArray } from "./indexing.js";
import { logSumExpOf } from "./activations.js";
import type { Generator } from "../tensor/random.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** The axis to normalize along (default 1). */
  dim?: number;
  /** The norm's exponent p (default 2). */
  p?: number;
  /** The floor of the denominator, `max(‖x‖_p, eps)` (default 1e-12). */
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
        // p = 2 (every loss here) squares and takes a square root: the same bits as Math.pow(r, 2) and
        // Math.pow(total, 0.5) (fdlibm's pow returns x·x for y = 2 and sqrt(x) for y = ½), at a fraction of the cost
        if (p === 2) {
          for (let i = 0; i < n; i++) {
            const r = Math.abs(data[offset + base + i * inner]) / largest;
            total += r * r;
          }
        } else {
          for (let i = 0; i < n; i++) total += Math.pow(Math.abs(data[offset + base + i * inner]) / largest, p);
        }
      }
      const root = p === 2 ? Math.sqrt(total) : Math.pow(total, 1 / p);
      const norm = largest > 0 && Number.isFinite(largest) ? largest * root : largest;
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

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** `"mean"` (default) over the batch, `"sum"`, or `"none"` for the per-sample losses. */
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

/** What follows the affine map inside the fused linear op: nothing, or a ReLU. */
export type LinearActivation = "none" | "relu";

/**
 * F.linear: y = x Wᵀ + b, x (…, in), W (out, in), b (out) or none. The leading dims are folded
 * into rows (a view when x is contiguous), so one GEMM covers the whole batch.
 *
 * It computes what `add(matmul(x, transpose(weight, 0, 1)), bias)` computes (the composed
 * reference, which spec/ops/fused.spec.ts compares it against), in one op: see `linearRows`.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearWithActivation("linear", x, weight, bias ?? null, "none");
}

/** relu(F.linear(x, W, b)) in one op: the ReLU is applied to the GEMM's output in place, and its mask in the same backward. */
export function linearRelu(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearWithActivation("linearRelu", x, weight, bias ?? null, "relu");
}

/** The argument checks and the folding of leading dims shared by linear and linearRelu (errors name `op`). */
function linearWithActivation(op: string, input: Tensor, weight: Tensor, bias: Tensor | null, activation: LinearActivation): Tensor {
  const x = requireTensor(op, input, "input");
  const w = requireTensor(op, weight, "weight");
  if (w.ndim !== 2) throw new Error(`${op}: weight must be (out, in), got shape ${shapeToString(w.shape)}`);
  const [outFeatures, inFeatures] = w.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new Error(
      `${op}: input of shape ${shapeToString(x.shape)} does not end in in = ${inFeatures} (weight ${shapeToString(w.shape)})`,
    );
  }
  checkSameDtype(op, "input", x, "weight", w);
  if (bias !== null) {
    requireTensor(op, bias, "bias");
    if (bias.ndim !== 1 || bias.shape[0] !== outFeatures) {
      throw new Error(`${op}: bias must be (out) = (${outFeatures}), got shape ${shapeToString(bias.shape)}`);
    }
    checkSameDtype(op, "input", x, "bias", bias);
  }
  if (x.ndim === 2) return linearRows(x, w, bias, activation);
  const rows = reshape(x, [-1, inFeatures]); // (rows, in)
  const y = linearRows(rows, w, bias, activation); // (rows, out)
  return reshape(y, [...x.shape.slice(0, -1), outFeatures]); // (…, out)
}

/** An (M, K) tensor as the strided matrix gemm reads; `transposed` reads it as its (K, M) transpose. */
function matrixView(t: Tensor, transposed = false): MatrixView {
  const { data, offset, stride } = t.storage;
  return transposed
    ? { data, offset, rowStride: stride[1], colStride: stride[0] }
    : { data, offset, rowStride: stride[0], colStride: stride[1] };
}

/**
 * A branch-free `v <= 0 ? 0 : v` for the ReLU loops: keepOrZero[0] is always 0, [1] is set to v,
 * and the comparison picks the index. With half the signs negative the CPU cannot predict the
 * branch of the `?:` form: over a 256×512 float32 array the select runs in ~1/3 of its time
 * (measured here, docs/performance.md). The result is bit for bit the same (−0 → 0, NaN kept).
 */
const keepOrZero = new Float64Array(2);

/**
 * ĝ's buffer in linearRows' backward. ĝ lives only inside one backward call (two gemms and the
 * column sums read it; none of the three gradients is a view of it), so one growing buffer per
 * dtype serves every call: no fresh M×N array per layer and step (writing into a just-allocated
 * one costs page faults, docs/performance.md).
 */
let maskedGradient32 = new Float32Array(0);
let maskedGradient64 = new Float64Array(0);

function maskedGradientScratch(dtype: DType, size: number): TypedArray {
  if (dtype === "float32") {
    if (maskedGradient32.length < size) maskedGradient32 = new Float32Array(size);
    return maskedGradient32;
  }
  if (maskedGradient64.length < size) maskedGradient64 = new Float64Array(size);
  return maskedGradient64;
}

/**
 * The fused primitive behind linear, linearRelu, nn.Linear and MLP (Linear + ReLU):
 *
 *   y = act(x Wᵀ + b)        x (M, K) rows, W (N, K), b (N) or null, y (M, N); act = identity or relu
 *
 * Forward in one pass over y: every row of y starts as b, then gemm *accumulates* x Wᵀ into it
 * (its `accumulate` flag), so the bias costs no pass of its own; ReLU (y ≤ 0 → 0, NaN stays) is
 * then applied to y in place. The composed form made three outputs (product, sum, relu).
 *
 * Backward, for ḡ = ∂L/∂y (M, N). With ReLU, first the mask, as relu's rule in ./activations.ts:
 *   ĝ = ḡ where y > 0 or y is NaN, else 0                 (ĝ = ḡ without ReLU)
 *   ∂L/∂x = ĝ W          (M, K)   one gemm
 *   ∂L/∂W = ĝᵀ x         (N, K)   one gemm, written in W's own (out, in) layout (no transposed copy)
 *   ∂L/∂b = Σ_rows ĝ     (N)      column sums, accumulated in float64 and rounded once
 *
 * Bits: ∂x and ∂W are exactly the composed ones (the same gemm on the same numbers). y differs
 * from add(matmul(x, Wᵀ), b) by rounding only: b is added first instead of last (in float32 that
 * is one rounding fewer). ∂b sums in float64 where the tape's un-broadcast summed in the dtype.
 */
const linearRows = defineOp(
  "linear",
  (x: Tensor, weight: Tensor, bias: Tensor | null, activation: LinearActivation): Recordable | Unchanged => {
    const [M, K] = x.shape;
    const N = weight.shape[0];
    const out = emptyTensor(x.dtype, [M, N]); // (M, N)
    const y = out.storage.data;
    if (bias !== null && M > 0 && N > 0) {
      const { data: b, offset: bOffset, stride: bStride } = bias.storage;
      for (let j = 0; j < N; j++) y[j] = b[bOffset + j * bStride[0]]; // row 0 = b
      for (let i = 1; i < M; i++) y.copyWithin(i * N, 0, N); // every row = b
    }
    gemm(M, N, K, matrixView(x), matrixView(weight, true), y, 0, true); // y += x Wᵀ
    const relu = activation === "relu";
    if (relu) {
      for (let i = 0; i < y.length; i++) {
        const v = y[i];
        keepOrZero[1] = v;
        y[i] = keepOrZero[+!(v <= 0)]; // v <= 0 ? 0 : v; NaN stays NaN (`NaN <= 0` is false), as torch.relu
      }
    }
    return {
      output: out,
      inputs: bias === null ? [x, weight] : [x, weight, bias],
      backward: (g) => {
        const upstream = contiguousData(g);
        let gHat = upstream.data; // ĝ (M, N), contiguous from gOffset
        let gOffset = upstream.offset;
        if (relu) {
          gHat = maskedGradientScratch(x.dtype, M * N);
          gOffset = 0;
          const u = upstream.data;
          const uOffset = upstream.offset;
          for (let i = 0; i < M * N; i++) {
            keepOrZero[1] = u[uOffset + i];
            gHat[i] = keepOrZero[+!(y[i] <= 0)]; // y[i] <= 0 ? 0 : ḡ[i]
          }
        }
        const gView: MatrixView = { data: gHat, offset: gOffset, rowStride: N, colStride: 1 }; // ĝ (M, N)
        let dx: Tensor | null = null;
        if (x.requiresGrad) {
          dx = emptyTensor(x.dtype, [M, K]);
          gemm(M, K, N, gView, matrixView(weight), dx.storage.data, 0, false); // ĝ W   (M, K)
        }
        let dW: Tensor | null = null;
        if (weight.requiresGrad) {
          dW = emptyTensor(x.dtype, [N, K]);
          const gTransposed: MatrixView = { data: gHat, offset: gOffset, rowStride: 1, colStride: N }; // ĝᵀ (N, M)
          gemm(N, K, M, gTransposed, matrixView(x), dW.storage.data, 0, false); // ĝᵀ x   (N, K)
        }
        if (bias === null) return [dx, dW];
        let db: Tensor | null = null;
        if (bias.requiresGrad) {
          const sums = new Float64Array(N); // Σ_rows ĝ, in float64 whatever the dtype
          for (let i = 0; i < M; i++) {
            const row = gOffset + i * N;
            for (let j = 0; j < N; j++) sums[j] += gHat[row + j];
          }
          db = emptyTensor(x.dtype, [N]);
          db.storage.data.set(sums); // one rounding per entry (none for float64)
        }
        return [dx, dW, db];
      },
    };
  },
);

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
