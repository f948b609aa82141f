/**
 * 2-D convolution by im2col (PyTorch: torch.nn.Conv2d, F.conv2d, F.unfold, F.fold).
 *
 * unfold ("im2col") copies every receptive field of x into a column:
 *
 *   cols[n, (c·kh + i)·kw + j, oh·Wout + ow] = x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]   (0 outside x)
 *   x: (N, C, H, W)  →  cols: (N, C·kh·kw, L),   L = Hout·Wout,
 *   Hout = ⌊(H + 2ph − dh·(kh − 1) − 1)/sh⌋ + 1   (Wout likewise)
 *
 * and a convolution is then one matrix product per image (Chellapilla et al. 2006, "High
 * Performance Convolutional Neural Networks for Document Processing", §3):
 *
 *   y[n] = W · cols[n] + b        W viewed as (Cout, C·kh·kw),  y[n]: (Cout, L) → (Cout, Hout, Wout)
 *
 * (strictly a cross-correlation, as in every deep-learning library). Its gradients are those of
 * a matrix product, with ∂L/∂x the column gradient pushed back through unfold:
 *   ∂L/∂W = Σ_n ḡ[n] · cols[n]ᵀ,   ∂L/∂cols[n] = Wᵀ · ḡ[n],   ∂L/∂x[n] = fold(∂L/∂cols[n]),   ∂L/∂b = Σ_{n,l} ḡ
 * conv2d below runs exactly this, image by image, on the blocked GEMM of src/ops/gemm.ts.
 *
 * unfold's gradient is fold ("col2im"): each column entry is added back onto the pixel it was
 * read from; a pixel inside several receptive fields receives the sum. fold's gradient is, in
 * turn, unfold — the two are adjoint linear maps, ⟨unfold(x), c⟩ = ⟨x, fold(c)⟩. Both are
 * primitives here: typed-array loops over (n, c, i, j, oh) rows, with the valid ow range worked
 * out once per row so the inner loop has no bounds test (a plain copy when the stride is 1).
 *
 * Conv2d init (PyTorch's default): W ~ kaiming_uniform(a = √5) = U(±1/√fan_in) and
 * b ~ U(±1/√fan_in), fan_in = C·kh·kw. State dict: "weight" (Cout, C, kh, kw), "bias" (Cout).
 *
 * @module
 */
import { Tensor, allocate, checkDType, type DType } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { contiguousData, emptyTensor } from "../ops/util.js";
import { gemm } from "../ops/gemm.js";
import { Module, type Parameter } from "./module.js";
import { emptyParameter, kaimingUniform_, requireGenerator, uniform_ } from "./init.js";
import { castTo, checkDtype, checkFeatures, forwardAs } from "./util.js";
import { checkOptions } from "../tensor/options.js";

/** A 2-D size: one number for both axes, or `[h, w]`. PyTorch: an int or a tuple. */
export type Pair = number | readonly [number, number];

/** A size given as n or [h, w], checked (min 1 for kernels and strides, 0 for padding). */
export function pair(owner: string, name: string, value: Pair, min: number): [number, number] {
  const [a, b] = typeof value === "number" ? [value, value] : value;
  for (const v of [a, b]) {
    if (!Number.isInteger(v) || v < min) {
      throw new Error(`${owner}: ${name} must be an integer ≥ ${min} (or a pair of them), got ${String(value)}`);
    }
  }
  return [a, b];
}

/** The geometry of a sliding window ({@link Conv2d}, {@link unfold}); PyTorch's defaults. */
export interface WindowOptions {
  /** The step between windows (default 1). */
  stride?: Pair;
  /** Zero padding on each side (default 0). */
  padding?: Pair;
  /** The spacing between kernel elements (default 1). */
  dilation?: Pair;
}

/** The geometry of a sliding window over an (H, W) image. */
export interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  H: number;
  W: number;
  Hout: number;
  Wout: number;
}

export function slidingWindow(owner: string, H: number, W: number, kernelSize: Pair, options: WindowOptions): Window {
  const [kh, kw] = pair(owner, "kernelSize", kernelSize, 1);
  const [sh, sw] = pair(owner, "stride", options.stride ?? 1, 1);
  const [ph, pw] = pair(owner, "padding", options.padding ?? 0, 0);
  const [dh, dw] = pair(owner, "dilation", options.dilation ?? 1, 1);
  const Hout = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const Wout = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (Hout < 1 || Wout < 1) {
    throw new Error(
      `${owner}: a ${kh}×${kw} kernel (dilation ${dh}×${dw}, padding ${ph}×${pw}) does not fit a ${H}×${W} input: ` +
        `output would be ${Hout}×${Wout}`,
    );
  }
  return { kh, kw, sh, sw, ph, pw, dh, dw, H, W, Hout, Wout };
}

/**
 * For kernel tap j, the output positions o in [first, last) whose input coordinate
 * o·stride − pad + j·dilation lies inside [0, inSize) (used for rows and for columns).
 */
function validRange(j: number, outSize: number, inSize: number, stride: number, pad: number, dil: number): [number, number] {
  const shift = j * dil - pad; // input coordinate = o·stride + shift
  const first = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  const last = Math.min(outSize, Math.floor((inSize - 1 - shift) / stride) + 1);
  return [Math.min(first, outSize), Math.max(last, Math.min(first, outSize))];
}

/**
 * The im2col gather, shared by unfold's forward, fold's backward and conv2d: copy the receptive
 * fields of N images of C×H×W (at xs[xo…]) into cols, (N, C·kh·kw, L) at cs[co…]. Entries that
 * fall in the padding are not written: cs must hold zeros there.
 */
function im2col(
  xs: Float32Array | Float64Array,
  xo: number,
  cs: Float32Array | Float64Array,
  co: number,
  N: number,
  C: number,
  w: Window,
): void {
  const { kh, kw, sh, sw, ph, pw, dh, dw, H, W, Hout, Wout } = w;
  const L = Hout * Wout;
  const rowsPerImage = C * kh * kw;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const image = xo + (n * C + c) * H * W;
      for (let i = 0; i < kh; i++) {
        const [ohFirst, ohLast] = validRange(i, Hout, H, sh, ph, dh);
        for (let j = 0; j < kw; j++) {
          const [owFirst, owLast] = validRange(j, Wout, W, sw, pw, dw);
          const row = co + (n * rowsPerImage + (c * kh + i) * kw + j) * L;
          for (let oh = ohFirst; oh < ohLast; oh++) {
            const source = image + (oh * sh - ph + i * dh) * W - pw + j * dw; // + ow·sw
            const target = row + oh * Wout;
            if (sw === 1) {
              for (let ow = owFirst; ow < owLast; ow++) cs[target + ow] = xs[source + ow];
            } else {
              for (let ow = owFirst; ow < owLast; ow++) cs[target + ow] = xs[source + ow * sw];
            }
          }
        }
      }
    }
  }
}

/**
 * The col2im scatter-add, shared by fold's forward, unfold's backward and conv2d's backward (the
 * adjoint of im2col): add each entry of cols (at cs[co…]) onto its pixel of xs (at xs[xo…]).
 */
function col2im(
  cs: Float32Array | Float64Array,
  co: number,
  xs: Float32Array | Float64Array,
  xo: number,
  N: number,
  C: number,
  w: Window,
): void {
  const { kh, kw, sh, sw, ph, pw, dh, dw, H, W, Hout, Wout } = w;
  const L = Hout * Wout;
  const rowsPerImage = C * kh * kw;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const image = xo + (n * C + c) * H * W;
      for (let i = 0; i < kh; i++) {
        const [ohFirst, ohLast] = validRange(i, Hout, H, sh, ph, dh);
        for (let j = 0; j < kw; j++) {
          const [owFirst, owLast] = validRange(j, Wout, W, sw, pw, dw);
          const row = co + (n * rowsPerImage + (c * kh + i) * kw + j) * L;
          for (let oh = ohFirst; oh < ohLast; oh++) {
            const target = image + (oh * sh - ph + i * dh) * W - pw + j * dw;
            const source = row + oh * Wout;
            for (let ow = owFirst; ow < owLast; ow++) xs[target + ow * sw] += cs[source + ow];
          }
        }
      }
    }
  }
}

/** F.unfold: (N, C, H, W) → (N, C·kh·kw, L). Gradient: fold. */
export const unfold = defineOp("unfold", (x: Tensor, kernelSize: Pair, options: WindowOptions = {}): Recordable | Unchanged => {
  checkOptions("unfold", options, { stride: true, padding: true, dilation: true });
  if (x.ndim !== 4) throw new Error(`unfold: input must be (N, C, H, W), got shape ${shapeToString(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const w = slidingWindow("unfold", H, W, kernelSize, options);
  const K = C * w.kh * w.kw;
  const L = w.Hout * w.Wout;
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, [N, K, L]); // zeros: the padding stays 0
  im2col(data, offset, out.storage.data, 0, N, C, w);
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const grad = emptyTensor(x.dtype, x.shape);
      const upstream = contiguousData(g);
      col2im(upstream.data, upstream.offset, grad.storage.data, 0, N, C, w);
      return [grad];
    },
  };
});

/** F.fold: (N, C·kh·kw, L) → (N, C, H, W) with outputSize (H, W), summing overlaps. Gradient: unfold. */
export const fold = defineOp("fold", (
  cols: Tensor,
  outputSize: Pair,
  kernelSize: Pair,
  options: WindowOptions = {},
): Recordable | Unchanged => {
  checkOptions("fold", options, { stride: true, padding: true, dilation: true });
  if (cols.ndim !== 3) throw new Error(`fold: input must be (N, C·kh·kw, L), got shape ${shapeToString(cols.shape)}`);
  const [H, W] = pair("fold", "outputSize", outputSize, 1);
  const w = slidingWindow("fold", H, W, kernelSize, options);
  const [N, K, L] = cols.shape;
  if (K % (w.kh * w.kw) !== 0 || L !== w.Hout * w.Wout) {
    throw new Error(
      `fold: input of shape ${shapeToString(cols.shape)} does not match a ${w.kh}×${w.kw} kernel over ${H}×${W} ` +
        `(expected dim 1 a multiple of ${w.kh * w.kw} and L = ${w.Hout}×${w.Wout} = ${w.Hout * w.Wout})`,
    );
  }
  const C = K / (w.kh * w.kw);
  const { data, offset } = contiguousData(cols);
  const out = emptyTensor(cols.dtype, [N, C, H, W]);
  col2im(data, offset, out.storage.data, 0, N, C, w);
  return {
    output: out,
    inputs: [cols],
    backward: (g) => {
      const grad = emptyTensor(cols.dtype, cols.shape);
      const upstream = contiguousData(g);
      im2col(upstream.data, upstream.offset, grad.storage.data, 0, N, C, w);
      return [grad];
    },
  };
});

/**
 * F.conv2d(x, weight, bias, { stride, padding, dilation }):
 * x (N, C, H, W), weight (Cout, C, kh, kw), bias (Cout) → (N, Cout, Hout, Wout).
 *
 * One primitive, one image at a time, so that the (C·kh·kw, L) column matrix lives in a scratch
 * buffer reused for every image instead of an (N, C·kh·kw, L) tensor (58 MB for a batch of 256
 * through a 32→64 conv on 14×14): the same arithmetic as `matmul(W, unfold(x)) + b`, without
 * the allocation (spec/nn/layers.spec.ts checks the two agree, forward and gradients).
 *
 *   forward, per image n:   cols = im2col(x[n]);          y[n] = W · cols + b           (Cout, L)
 *   backward, per image n:  cols = im2col(x[n]) again;    ∂L/∂W += ḡ[n] · colsᵀ        (Cout, C·kh·kw)
 *                           ∂cols = Wᵀ · ḡ[n];            ∂L/∂x[n] = col2im(∂cols)     (C, H, W)
 *                           ∂L/∂b = Σ_{n, l} ḡ[n, :, l]
 * The gradient sums over images are accumulated in float64.
 */
export const conv2d = defineOp("conv2d", (
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: WindowOptions = {},
): Recordable | Unchanged => {
  checkOptions("conv2d", options, { stride: true, padding: true, dilation: true });
  if (x.ndim !== 4) throw new Error(`conv2d: input must be (N, C, H, W), got shape ${shapeToString(x.shape)}`);
  if (weight.ndim !== 4) throw new Error(`conv2d: weight must be (Cout, C, kh, kw), got shape ${shapeToString(weight.shape)}`);
  const [N, C, H, W] = x.shape;
  const [Cout, Cin, kh, kw] = weight.shape;
  if (Cin !== C) {
    throw new Error(
      `conv2d: input of shape ${shapeToString(x.shape)} has ${C} channels but weight ${shapeToString(weight.shape)} expects ${Cin}`,
    );
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== Cout)) {
    throw new Error(`conv2d: bias of shape ${shapeToString(bias.shape)} does not match ${Cout} output channels`);
  }
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t !== null && t.dtype !== x.dtype) throw new Error(`conv2d: ${name} is ${t.dtype} but the input is ${x.dtype}`);
  }
  const w = slidingWindow("conv2d", H, W, [kh, kw], options);
  const K = C * kh * kw; // rows of a column matrix
  const L = w.Hout * w.Wout; // output pixels per image
  const imageSize = C * H * W;
  const { data: xs, offset: xo } = contiguousData(x);
  const { data: ws, offset: wo } = contiguousData(weight);
  const biasData = bias ? contiguousData(bias) : null;
  const weightMatrix = { data: ws, offset: wo, rowStride: K, colStride: 1 }; // W as (Cout, K)
  const cols = allocate(x.dtype, K * L); // scratch, reused for every image; padding entries stay 0
  const colsMatrix = { data: cols, offset: 0, rowStride: L, colStride: 1 }; // (K, L)

  const out = emptyTensor(x.dtype, [N, Cout, w.Hout, w.Wout]);
  const ys = out.storage.data;
  for (let n = 0; n < N; n++) {
    im2col(xs, xo + n * imageSize, cols, 0, 1, C, w);
    gemm(Cout, L, K, weightMatrix, colsMatrix, ys, n * Cout * L, false); // y[n] = W · cols
    if (biasData) {
      for (let o = 0; o < Cout; o++) {
        const b = biasData.data[biasData.offset + o];
        const row = (n * Cout + o) * L;
        for (let l = 0; l < L; l++) ys[row + l] += b;
      }
    }
  }

  const inputs = [x, weight, ...(bias ? [bias] : [])];
  return {
    output: out,
    inputs: inputs,
    backward: (g) => {
      const { data: gs, offset: go } = contiguousData(g);
      const gradX = x.requiresGrad ? emptyTensor(x.dtype, x.shape) : null;
      const gradW = weight.requiresGrad ? new Float64Array(Cout * K) : null; // Σ_n ḡ[n] · colsᵀ
      const gradCols = x.requiresGrad ? new Float64Array(K * L) : null;
      const transposedW = { data: ws, offset: wo, rowStride: 1, colStride: K }; // Wᵀ as (K, Cout)
      const transposedCols = { data: cols, offset: 0, rowStride: 1, colStride: L }; // colsᵀ as (L, K)
      for (let n = 0; n < N; n++) {
        const upstream = { data: gs, offset: go + n * Cout * L, rowStride: L, colStride: 1 }; // ḡ[n] as (Cout, L)
        if (gradW) {
          im2col(xs, xo + n * imageSize, cols, 0, 1, C, w);
          gemm(Cout, K, L, upstream, transposedCols, gradW, 0, true);
        }
        if (gradX && gradCols) {
          gemm(K, L, Cout, transposedW, upstream, gradCols, 0, false);
          col2im(gradCols, 0, gradX.storage.data, n * imageSize, 1, C, w);
        }
      }
      const grads: (Tensor | null)[] = [gradX, gradW ? Tensor.fromTypedArray(castTo(x.dtype, gradW), weight.shape) : null];
      if (bias) {
        const gradB = new Float64Array(Cout);
        for (let n = 0; n < N; n++) {
          for (let o = 0; o < Cout; o++) {
            const row = go + (n * Cout + o) * L;
            let total = 0;
            for (let l = 0; l < L; l++) total += gs[row + l];
            gradB[o] += total;
          }
        }
        grads.push(Tensor.fromTypedArray(castTo(x.dtype, gradB), [Cout]));
      }
      return grads;
    },
  };
});

/** Options of {@link Conv2d}: the window plus the parameters'. */
export interface Conv2dOptions extends WindowOptions {
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * A 2-D convolution (cross-correlation, as PyTorch): (N, Cin, H, W) → (N, Cout, H′, W′), as unfold + matmul. Init as PyTorch:
 * U(±1/√fan_in). PyTorch: `torch.nn.Conv2d`.
 */
export class Conv2d extends Module {
  /** Input channels Cin. */
  readonly inChannels: number;
  /** Output channels Cout. */
  readonly outChannels: number;
  /** The kernel size `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** The stride `[sh, sw]` (default 1). */
  readonly stride: [number, number];
  /** The zero padding `[ph, pw]` (default 0). */
  readonly padding: [number, number];
  /** The dilation `[dh, dw]` (default 1). */
  readonly dilation: [number, number];
  /** The kernel, (Cout, Cin, kh, kw). */
  readonly weight: Parameter;
  /** The bias, (Cout), or null when `bias: false`. */
  readonly bias: Parameter | null;

  /**
   * A convolution from `inChannels` to `outChannels` with a kh×kw kernel, initialized as PyTorch.
   *
   * @param inChannels Cin.
   * @param outChannels Cout.
   * @param kernelSize kh×kw (a number for square).
   * @param options stride, padding, dilation, bias, dtype, generator.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions) {
    super();
    checkOptions("Conv2d", options, { stride: true, padding: true, dilation: true, bias: true, dtype: true, generator: true });
    checkFeatures("Conv2d", { inChannels, outChannels });
    const generator = requireGenerator("Conv2d", options?.generator);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair("Conv2d", "kernelSize", kernelSize, 1);
    this.stride = pair("Conv2d", "stride", options.stride ?? 1, 1);
    this.padding = pair("Conv2d", "padding", options.padding ?? 0, 0);
    this.dilation = pair("Conv2d", "dilation", options.dilation ?? 1, 1);
    const dtype = checkDType("Conv2d", options?.dtype);
    const [kh, kw] = this.kernelSize;
    this.weight = emptyParameter([outChannels, inChannels, kh, kw], dtype); // (Cout, Cin, kh, kw)
    kaimingUniform_(this.weight, { a: Math.sqrt(5) }, generator);
    this.registerParameter("weight", this.weight);
    if (options.bias ?? true) {
      const fanIn = inChannels * kh * kw;
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      this.bias = uniform_(emptyParameter([outChannels], dtype), -bound, bound, generator) as Parameter; // (Cout)
    } else {
      this.bias = null;
    }
    this.registerParameter("bias", this.bias);
  }

  forward(x: Tensor): Tensor {
    checkDtype("Conv2d", x, this.weight);
    return forwardAs(
      "Conv2d",
      () => conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation }),
    );
  }
}
