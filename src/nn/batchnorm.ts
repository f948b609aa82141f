/**
 * Batch normalization (Ioffe & Szegedy 2015, "Batch Normalization", Algorithm 1 and §3.1).
 * PyTorch: torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.functional.batch_norm.
 *
 * Channels are dim 1: BatchNorm1d takes (N, C) or (N, C, L), BatchNorm2d takes (N, C, H, W).
 * Each channel c is normalized over every other axis, M = N·L (or N·H·W) values:
 *
 *   training:  μ_c = (1/M) Σ x,    σ²_c = (1/M) Σ (x − μ_c)²            (biased: divide by M)
 *              y = (x − μ_c) / √(σ²_c + eps) · γ_c + β_c
 *              runningMean ← (1 − m)·runningMean + m·μ_c
 *              runningVar  ← (1 − m)·runningVar  + m·σ²_c·M/(M − 1)     (UNBIASED, as torch)
 *   eval:      y = (x − runningMean_c) / √(runningVar_c + eps) · γ_c + β_c
 *
 * m is `momentum` (0.1); with momentum = null the update is the cumulative average, m = 1/t after
 * t training batches (numBatchesTracked). Note PyTorch's momentum is 1 − (the momentum of
 * TensorFlow/Keras): m = 0.1 keeps 90% of the old running value.
 *
 * Gradient (training), per channel, with x̂ = (x − μ)/√(σ² + eps) and ḡ the output gradient:
 *   ∂L/∂β = Σ ḡ,     ∂L/∂γ = Σ ḡ·x̂
 *   ∂L/∂x = γ/√(σ² + eps) · (ḡ − (1/M) Σ ḡ − x̂ · (1/M) Σ ḡ·x̂)
 * The two subtracted terms are the paths through μ and σ²: that is what makes the batch one
 * computation, and why a batch of one (M = 1) is refused in training mode.
 * Gradient (eval): the statistics are constants, ∂L/∂x = γ/√(runningVar + eps) · ḡ.
 *
 * The forward and its rule are one primitive (`batchNorm`) written with typed-array loops: two
 * passes per channel (mean, then centred sum of squares), statistics accumulated in doubles.
 *
 * State dict (PyTorch key in parentheses): weight, bias (γ, β; absent when affine = false),
 * runningMean (running_mean), runningVar (running_var), numBatchesTracked (num_batches_tracked;
 * a 0-d tensor of the module's dtype here, int64 in torch) — buffers absent when
 * trackRunningStats = false.
 *
 * @module
 */
import { Tensor, checkDType, type DType } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { contiguousData, emptyTensor } from "../ops/util.js";
import { zeros, ones } from "../tensor/creation.js";
import { Module, type Parameter } from "./module.js";
import { emptyParameter, ones_, zeros_ } from "./init.js";
import { castTo, checkDtype, checkFeatures, renamedError } from "./util.js";
import { mutableStorage } from "../tensor/version.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link batchNorm}. */
export interface BatchNormFunctionalOptions {
  /** γ (C) and β (C); null for no affine transform. */
  weight?: Tensor | null;
  /** β (C); null or omitted for none. */
  bias?: Tensor | null;
  /** Running statistics (C), updated in place in training mode when given. */
  runningMean?: Tensor | null;
  /** The running variance (C), updated in place in training mode when given. */
  runningVar?: Tensor | null;
  /** Use (and update) the batch statistics; else normalize with the running ones. */
  training: boolean;
  /** Weight of the new batch in the running update (0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * F.batch_norm over channels (dim 1) of x: (N, C, …). See the file header for the formulas.
 */
export const batchNorm = defineOp("batchNorm", (x: Tensor, options: BatchNormFunctionalOptions): Recordable | Unchanged => {
  checkOptions("batchNorm", options, {
    training: true,
    momentum: true,
    eps: true,
    weight: "nullable",
    bias: "nullable",
    runningMean: "nullable",
    runningVar: "nullable",
  });
  const op = "batchNorm";
  if (x.ndim < 2) throw new Error(`${op}: input must be (N, C, …), got shape ${shapeToString(x.shape)}`);
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const weight = options.weight ?? null;
  const bias = options.bias ?? null;
  const runningMean = options.runningMean ?? null;
  const runningVar = options.runningVar ?? null;
  const [N, C] = x.shape;
  const spatial = x.shape.slice(2).reduce((p, d) => p * d, 1); // L, or H·W
  const M = N * spatial; // values per channel
  for (const [name, t] of [["weight", weight], ["bias", bias], ["runningMean", runningMean], ["runningVar", runningVar]] as const) {
    if (t !== null && (t.ndim !== 1 || t.shape[0] !== C)) {
      throw new Error(
        `${op}: ${name} has shape ${shapeToString(t.shape)} but the input ${shapeToString(x.shape)} has C = ${C} channels (dim 1)`,
      );
    }
    if (t !== null && t.dtype !== x.dtype) throw new Error(`${op}: ${name} is ${t.dtype} but the input is ${x.dtype}`);
  }
  const useBatchStats = options.training;
  if (!useBatchStats && (runningMean === null || runningVar === null)) {
    throw new Error(`${op}: evaluation mode (training = false) needs runningMean and runningVar`);
  }
  if (useBatchStats && M <= 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got input of shape ${shapeToString(x.shape)}`);
  }

  const { data: xs, offset: xo } = contiguousData(x);
  const mean = new Float64Array(C);
  const invStd = new Float64Array(C);
  if (useBatchStats) {
    const variance = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let total = 0;
      for (let n = 0; n < N; n++) {
        const base = xo + (n * C + c) * spatial;
        for (let s = 0; s < spatial; s++) total += xs[base + s];
      }
      const mu = total / M;
      let squares = 0;
      for (let n = 0; n < N; n++) {
        const base = xo + (n * C + c) * spatial;
        for (let s = 0; s < spatial; s++) {
          const d = xs[base + s] - mu;
          squares += d * d;
        }
      }
      mean[c] = mu;
      variance[c] = squares / M; // biased: the normalization uses it
      invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    }
    if (runningMean !== null && runningVar !== null) {
      const rm = writableData(op, runningMean);
      const rv = writableData(op, runningVar);
      for (let c = 0; c < C; c++) {
        rm.data[rm.offset + c] = (1 - momentum) * rm.data[rm.offset + c] + momentum * mean[c];
        // The running variance estimates the population variance: unbiased, × M/(M − 1).
        rv.data[rv.offset + c] = (1 - momentum) * rv.data[rv.offset + c] + momentum * variance[c] * (M / (M - 1));
      }
    }
  } else {
    const rm = contiguousData(runningMean!);
    const rv = contiguousData(runningVar!);
    for (let c = 0; c < C; c++) {
      mean[c] = rm.data[rm.offset + c];
      invStd[c] = 1 / Math.sqrt(rv.data[rv.offset + c] + eps);
    }
  }
  const gamma = weight ? contiguousData(weight) : null;
  const beta = bias ? contiguousData(bias) : null;

  // y = x̂·γ + β,  x̂ = (x − μ)·invStd   (N, C, spatial)
  const out = emptyTensor(x.dtype, x.shape);
  const ys = out.storage.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const scale = invStd[c] * (gamma ? gamma.data[gamma.offset + c] : 1);
      const shift = (beta ? beta.data[beta.offset + c] : 0) - mean[c] * scale;
      const base = (n * C + c) * spatial;
      for (let s = 0; s < spatial; s++) ys[base + s] = xs[xo + base + s] * scale + shift;
    }
  }

  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return {
    output: out,
    inputs: inputs,
    backward: (g) => {
      const { data: gs, offset: go } = contiguousData(g);
      // Per channel: Σ ḡ and Σ ḡ·x̂.
      const sumG = new Float64Array(C);
      const sumGX = new Float64Array(C);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * spatial;
          const mu = mean[c], inv = invStd[c];
          let a = 0, b = 0;
          for (let s = 0; s < spatial; s++) {
            const gv = gs[go + base + s];
            a += gv;
            b += gv * (xs[xo + base + s] - mu) * inv;
          }
          sumG[c] += a;
          sumGX[c] += b;
        }
      }
      let gradX: Tensor | null = null;
      if (x.requiresGrad) {
        gradX = emptyTensor(x.dtype, x.shape);
        const dx = gradX.storage.data;
        for (let n = 0; n < N; n++) {
          for (let c = 0; c < C; c++) {
            const base = (n * C + c) * spatial;
            const mu = mean[c], inv = invStd[c];
            const scale = inv * (gamma ? gamma.data[gamma.offset + c] : 1); // γ/√(σ² + eps)
            if (useBatchStats) {
              // γ·invStd·(ḡ − Σḡ/M − x̂·Σḡx̂/M)
              const meanG = sumG[c] / M, meanGX = sumGX[c] / M;
              for (let s = 0; s < spatial; s++) {
                const xhat = (xs[xo + base + s] - mu) * inv;
                dx[base + s] = scale * (gs[go + base + s] - meanG - xhat * meanGX);
              }
            } else {
              for (let s = 0; s < spatial; s++) dx[base + s] = scale * gs[go + base + s];
            }
          }
        }
      }
      const grads: (Tensor | null)[] = [gradX];
      if (weight) grads.push(Tensor.fromTypedArray(castTo(x.dtype, sumGX), [C])); // ∂L/∂γ = Σ ḡ·x̂
      if (bias) grads.push(Tensor.fromTypedArray(castTo(x.dtype, sumG), [C])); // ∂L/∂β = Σ ḡ
      return grads;
    },
  };
});

/** Buffers updated in place must be contiguous views; the write bumps their version. */
function writableData(op: string, t: Tensor): { data: Float32Array | Float64Array; offset: number } {
  if (!t.isContiguous()) throw new Error(`${op}: running statistics must be contiguous to be updated in place`);
  return mutableStorage(t);
}

/** Options of {@link BatchNorm1d} and {@link BatchNorm2d}; the defaults are PyTorch's. */
export interface BatchNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running update (default 0.1); null = cumulative average. */
  momentum?: number | null;
  /** Learn γ and β (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); else batch statistics always. */
  trackRunningStats?: boolean;
  /** Dtype of the parameters and buffers (default `"float32"`). */
  dtype?: DType;
}

/** The shared implementation of BatchNorm1d and BatchNorm2d (PyTorch: _BatchNorm). */
export abstract class BatchNorm extends Module {
  /** The number of channels C. */
  readonly numFeatures: number;
  /** Added to the variance before the square root (default 1e-5). */
  readonly eps: number;
  /** Weight of the new batch in the running update (default 0.1); null for a cumulative average. */
  readonly momentum: number | null;
  /** Whether γ and β are learned (default true). */
  readonly affine: boolean;
  /** Whether running statistics are kept for eval mode (default true). */
  readonly trackRunningStats: boolean;
  /** γ, (C), initialized to 1; null without `affine`. */
  readonly weight: Parameter | null;
  /** β, (C), initialized to 0; null without `affine`. */
  readonly bias: Parameter | null;

  /** The accepted input ranks, e.g. [2, 3] for BatchNorm1d. */
  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layout: string;

  /**
   * BatchNorm over `numFeatures` channels: γ = 1, β = 0, running mean 0 and variance 1.
   *
   * @param numFeatures the number of channels C.
   * @param options eps, momentum, affine, trackRunningStats, dtype (PyTorch's defaults).
   */
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    checkOptions(new.target.name, options, { eps: true, affine: true, trackRunningStats: true, dtype: true, momentum: "nullable" });
    checkFeatures(new.target.name, { numFeatures });
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const dtype = checkDType(new.target.name, options.dtype);
    this.weight = this.affine ? ones_(emptyParameter([numFeatures], dtype)) as Parameter : null; // γ (C)
    this.bias = this.affine ? zeros_(emptyParameter([numFeatures], dtype)) as Parameter : null; // β (C)
    this.registerParameter("weight", this.weight);
    this.registerParameter("bias", this.bias);
    if (this.trackRunningStats) {
      this.registerBuffer("runningMean", zeros([numFeatures], { dtype })); // (C)
      this.registerBuffer("runningVar", ones([numFeatures], { dtype })); // (C)
      this.registerBuffer("numBatchesTracked", zeros([], { dtype })); // ()
    }
  }

  /** The running mean (C), a buffer; null without `trackRunningStats`. */
  get runningMean(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer("runningMean") : null;
  }
  /** The running (unbiased) variance (C), a buffer; null without `trackRunningStats`. */
  get runningVar(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer("runningVar") : null;
  }
  /** How many training batches updated the running statistics (a scalar buffer); null without `trackRunningStats`. */
  get numBatchesTracked(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer("numBatchesTracked") : null;
  }

  /** runningMean ← 0, runningVar ← 1, numBatchesTracked ← 0. */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    zeros_(this.getBuffer("runningMean"));
    ones_(this.getBuffer("runningVar"));
    zeros_(this.getBuffer("numBatchesTracked"));
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.ndim)) {
      throw new Error(`${name}: expected ${this.layout} input, got shape ${shapeToString(x.shape)}`);
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(
        `${name}: input of shape ${shapeToString(x.shape)} has ${x.shape[1]} channels (dim 1), expected numFeatures = ${this.numFeatures}`,
      );
    }
    if (this.weight) checkDtype(name, x, this.weight);
    else if (this.trackRunningStats) checkDtype(name, x, this.getBuffer("runningMean"));
    // As torch: batch statistics in training, or always when no running statistics are kept.
    const useBatchStats = this.training || !this.trackRunningStats;
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      const counter = this.getBuffer("numBatchesTracked");
      const { data, offset } = mutableStorage(counter);
      data[offset] += 1;
      if (this.momentum === null) factor = 1 / counter.item(); // cumulative moving average
    }
    try {
      return batchNorm(x, {
        weight: this.weight,
        bias: this.bias,
        runningMean: this.trackRunningStats ? this.getBuffer("runningMean") : null,
        runningVar: this.trackRunningStats ? this.getBuffer("runningVar") : null,
        training: useBatchStats,
        momentum: factor,
        eps: this.eps,
      });
    } catch (error) {
      if (this.training && this.trackRunningStats) {
        const counter = this.getBuffer("numBatchesTracked");
        const { data, offset } = mutableStorage(counter);
        data[offset] -= 1; // the batch was refused: the count is as before (the version is not)
      }
      throw renamedError(name, error); // "BatchNorm1d: …", not "BatchNorm1d: batchNorm: …"
    }
  }
}

/** BatchNorm over (N, C) or (N, C, L) input (PyTorch: torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNorm {
  protected readonly ranks = [2, 3];
  protected readonly layout = "2D (N, C) or 3D (N, C, L)";
}

/** BatchNorm over (N, C, H, W) input (PyTorch: torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
  protected readonly layout = "4D (N, C, H, W)";
}
