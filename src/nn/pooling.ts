/**
 * 2-D pooling (PyTorch: torch.nn.MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and their F.* forms).
 * Input (N, C, H, W) → (N, C, Hout, Wout), each channel pooled on its own over sliding windows
 * (Hout = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1, the same geometry as Conv2d; stride defaults to the kernel).
 *
 *   max:       y = max_{window} x             ∂L/∂x = ḡ at the window's argmax, 0 elsewhere
 *   average:   y = (1/|window|) Σ_{window} x  ∂L/∂x = ḡ/|window| on every element of the window
 *   adaptive:  window i covers rows ⌊i·H/Hout⌋ … ⌈(i+1)·H/Hout⌉ − 1 (and columns likewise),
 *              so any H×W becomes Hout×Wout; AdaptiveAvgPool2d(1) is the global average pool.
 *
 * Max pooling pads with −∞ (padding ≤ kernel/2, as torch). Its argmax is the first maximum in
 * row-major window order (a NaN wins, as torch); a tie sends the whole gradient to that first
 * element, as torch's max_pool2d backward does. With padding, AvgPool2d counts the zero padding
 * in |window| (countIncludePad = true, torch's default) unless told otherwise.
 *
 * Each op is one primitive: a typed-array loop forward, and a rule that scatters ḡ back.
 * No parameters, no state dict entries.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { contiguousData, emptyTensor } from "../ops/util.js";
import { Module } from "./module.js";
import { pair, slidingWindow, type Pair, type Window } from "./conv.js";
import { forwardAs } from "./util.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link maxPool2d}. */
export interface PoolOptions {
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Pair | null;
  /** Implicit padding on each side (default 0; −∞ for max pooling). */
  padding?: Pair;
  /** The spacing between window elements (default 1). */
  dilation?: Pair;
}

function poolWindow(op: string, x: Tensor, kernelSize: Pair, options: PoolOptions): Window {
  if (x.ndim !== 4) throw new Error(`${op}: input must be (N, C, H, W), got shape ${shapeToString(x.shape)}`);
  const window = slidingWindow(op, x.shape[2], x.shape[3], kernelSize, { ...options, stride: options.stride ?? kernelSize });
  const { kh, kw, ph, pw } = window;
  if (2 * ph > kh || 2 * pw > kw) {
    throw new Error(`${op}: padding ${ph}×${pw} should be at most half of the kernel size ${kh}×${kw}`);
  }
  return window;
}

/** F.max_pool2d. */
export const maxPool2d = defineOp("maxPool2d", (x: Tensor, kernelSize: Pair, options: PoolOptions = {}): Recordable | Unchanged => {
  checkOptions("maxPool2d", options, { padding: true, dilation: true, stride: "nullable" });
  const op = "maxPool2d";
  const w = poolWindow(op, x, kernelSize, options);
  const [N, C] = x.shape;
  const { kh, kw, sh, sw, ph, pw, dh, dw, H, W, Hout, Wout } = w;
  const planes = N * C;
  const { data: xs, offset: xo } = contiguousData(x);
  const out = emptyTensor(x.dtype, [N, C, Hout, Wout]);
  const ys = out.storage.data;
  const argmax = new Int32Array(planes * Hout * Wout); // flat input index of each output's maximum
  // The kernel taps that land inside the image, per output row / column: [first, last).
  const rowTaps = kernelTaps(Hout, sh, ph, kh, dh, H);
  const colTaps = kernelTaps(Wout, sw, pw, kw, dw, W);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const image = plane * H * W;
    for (let oh = 0; oh < Hout; oh++) {
      const h0 = oh * sh - ph;
      const iFirst = rowTaps.first[oh], iLast = rowTaps.last[oh];
      for (let ow = 0; ow < Wout; ow++, o++) {
        const w0 = ow * sw - pw;
        const jFirst = colTaps.first[ow], jLast = colTaps.last[ow];
        if (iFirst >= iLast || jFirst >= jLast) {
          ys[o] = -Infinity; // a window entirely in the padding (only with large dilations)
          argmax[o] = -1;
          continue;
        }
        let bestIndex = image + (h0 + iFirst * dh) * W + w0 + jFirst * dw;
        let best = xs[xo + bestIndex];
        for (let i = iFirst; i < iLast; i++) {
          const row = image + (h0 + i * dh) * W + w0;
          for (let j = jFirst; j < jLast; j++) {
            const index = row + j * dw;
            const v = xs[xo + index];
            // Strictly greater: a tie keeps the first maximum; a NaN wins (as torch).
            if (v > best || (v !== v && best === best)) {
              best = v;
              bestIndex = index;
            }
          }
        }
        ys[o] = best;
        argmax[o] = bestIndex;
      }
    }
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const grad = emptyTensor(x.dtype, x.shape);
      const gx = grad.storage.data;
      const upstream = contiguousData(g);
      for (let k = 0; k < argmax.length; k++) if (argmax[k] >= 0) gx[argmax[k]] += upstream.data[upstream.offset + k];
      return [grad];
    },
  };
});

/** Options of {@link avgPool2d}. */
export interface AvgPoolOptions extends Omit<PoolOptions, "dilation"> {
  /** Count the zero padding in the window size (default true, as torch). */
  countIncludePad?: boolean;
}

/** F.avg_pool2d (ceil_mode = false). */
export const avgPool2d = defineOp("avgPool2d", (x: Tensor, kernelSize: Pair, options: AvgPoolOptions = {}): Recordable | Unchanged => {
  checkOptions("avgPool2d", options, { padding: true, countIncludePad: true, stride: "nullable" });
  const op = "avgPool2d";
  const w = poolWindow(op, x, kernelSize, { stride: options.stride, padding: options.padding });
  const countIncludePad = options.countIncludePad ?? true;
  const [N, C] = x.shape;
  const { kh, kw, sh, sw, ph, pw, H, W, Hout, Wout } = w;
  // Window bounds per output row / column (clipped to the image) and the divisor of each output.
  const rows = windowBounds(Hout, sh, ph, kh, H);
  const cols = windowBounds(Wout, sw, pw, kw, W);
  const divisor = new Float64Array(Hout * Wout);
  for (let oh = 0; oh < Hout; oh++) {
    for (let ow = 0; ow < Wout; ow++) {
      divisor[oh * Wout + ow] = countIncludePad
        ? rows.paddedSize[oh] * cols.paddedSize[ow]
        : (rows.end[oh] - rows.start[oh]) * (cols.end[ow] - cols.start[ow]);
    }
  }
  const planes = N * C;
  const { data: xs, offset: xo } = contiguousData(x);
  const out = emptyTensor(x.dtype, [N, C, Hout, Wout]);
  const ys = out.storage.data;
  for (let plane = 0; plane < planes; plane++) {
    const image = xo + plane * H * W;
    const target = plane * Hout * Wout;
    for (let oh = 0; oh < Hout; oh++) {
      for (let ow = 0; ow < Wout; ow++) {
        let total = 0;
        for (let ih = rows.start[oh]; ih < rows.end[oh]; ih++) {
          for (let iw = cols.start[ow]; iw < cols.end[ow]; iw++) total += xs[image + ih * W + iw];
        }
        ys[target + oh * Wout + ow] = total / divisor[oh * Wout + ow];
      }
    }
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const grad = emptyTensor(x.dtype, x.shape);
      const gx = grad.storage.data;
      const upstream = contiguousData(g);
      for (let plane = 0; plane < planes; plane++) {
        const image = plane * H * W;
        const source = upstream.offset + plane * Hout * Wout;
        for (let oh = 0; oh < Hout; oh++) {
          for (let ow = 0; ow < Wout; ow++) {
            const share = upstream.data[source + oh * Wout + ow] / divisor[oh * Wout + ow];
            for (let ih = rows.start[oh]; ih < rows.end[oh]; ih++) {
              for (let iw = cols.start[ow]; iw < cols.end[ow]; iw++) gx[image + ih * W + iw] += share;
            }
          }
        }
      }
      return [grad];
    },
  };
});

/** For each output index, the kernel taps t (first ≤ t < last) with 0 ≤ o·stride − pad + t·dilation < size. */
function kernelTaps(outSize: number, stride: number, pad: number, kernel: number, dilation: number, size: number) {
  const first = new Int32Array(outSize);
  const last = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const start = o * stride - pad;
    first[o] = start >= 0 ? 0 : Math.ceil(-start / dilation);
    last[o] = Math.min(kernel, Math.floor((size - 1 - start) / dilation) + 1);
  }
  return { first, last };
}

/** Window [start, end) of each output index, clipped to [0, size); paddedSize = its size inside the padded input. */
function windowBounds(outSize: number, stride: number, pad: number, kernel: number, size: number) {
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  const paddedSize = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const first = o * stride - pad;
    const last = Math.min(first + kernel, size + pad);
    paddedSize[o] = last - first;
    start[o] = Math.max(first, 0);
    end[o] = Math.min(last, size);
  }
  return { start, end, paddedSize };
}

/** F.adaptive_avg_pool2d: (N, C, H, W) → (N, C, Hout, Wout) for any H, W. */
export const adaptiveAvgPool2d = defineOp("adaptiveAvgPool2d", (x: Tensor, outputSize: Pair): Recordable | Unchanged => {
  const op = "adaptiveAvgPool2d";
  if (x.ndim !== 4) throw new Error(`${op}: input must be (N, C, H, W), got shape ${shapeToString(x.shape)}`);
  const [Hout, Wout] = pair(op, "outputSize", outputSize, 1);
  const [N, C, H, W] = x.shape;
  if (H === 0 || W === 0) throw new Error(`${op}: input of shape ${shapeToString(x.shape)} has an empty spatial dim`);
  const adaptive = (outSize: number, size: number) => {
    const start = new Int32Array(outSize);
    const end = new Int32Array(outSize);
    for (let o = 0; o < outSize; o++) {
      start[o] = Math.floor((o * size) / outSize);
      end[o] = Math.ceil(((o + 1) * size) / outSize);
    }
    return { start, end };
  };
  const rows = adaptive(Hout, H);
  const cols = adaptive(Wout, W);
  const planes = N * C;
  const { data: xs, offset: xo } = contiguousData(x);
  const out = emptyTensor(x.dtype, [N, C, Hout, Wout]);
  const ys = out.storage.data;
  for (let plane = 0; plane < planes; plane++) {
    const image = xo + plane * H * W;
    for (let oh = 0; oh < Hout; oh++) {
      for (let ow = 0; ow < Wout; ow++) {
        let total = 0;
        for (let ih = rows.start[oh]; ih < rows.end[oh]; ih++) {
          for (let iw = cols.start[ow]; iw < cols.end[ow]; iw++) total += xs[image + ih * W + iw];
        }
        ys[(plane * Hout + oh) * Wout + ow] = total / ((rows.end[oh] - rows.start[oh]) * (cols.end[ow] - cols.start[ow]));
      }
    }
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const grad = emptyTensor(x.dtype, x.shape);
      const gx = grad.storage.data;
      const upstream = contiguousData(g);
      for (let plane = 0; plane < planes; plane++) {
        const image = plane * H * W;
        for (let oh = 0; oh < Hout; oh++) {
          for (let ow = 0; ow < Wout; ow++) {
            const count = (rows.end[oh] - rows.start[oh]) * (cols.end[ow] - cols.start[ow]);
            const share = upstream.data[upstream.offset + (plane * Hout + oh) * Wout + ow] / count;
            for (let ih = rows.start[oh]; ih < rows.end[oh]; ih++) {
              for (let iw = cols.start[ow]; iw < cols.end[ow]; iw++) gx[image + ih * W + iw] += share;
            }
          }
        }
      }
      return [grad];
    },
  };
});

/** Max pooling over k×k windows: (N, C, H, W) → (N, C, H′, W′) ({@link maxPool2d}). PyTorch: `torch.nn.MaxPool2d`. */
export class MaxPool2d extends Module {
  /** The stride (default: the kernel size). */
  readonly stride: Pair;
  /**
   * Max pooling with the given window.
   *
   * @param kernelSize the window size.
   * @param stride the step (default the kernel size).
   * @param padding implicit −∞ padding (default 0).
   * @param dilation the window's spacing (default 1).
   */
  constructor(readonly kernelSize: Pair, stride?: Pair | null, readonly padding: Pair = 0, readonly dilation: Pair = 1) {
    super();
    pair("MaxPool2d", "kernelSize", kernelSize, 1);
    this.stride = stride ?? kernelSize;
  }
  forward(x: Tensor): Tensor {
    return forwardAs(
      "MaxPool2d",
      () => maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation }),
    );
  }
}

/** Average pooling over k×k windows: (N, C, H, W) → (N, C, H′, W′) ({@link avgPool2d}). PyTorch: `torch.nn.AvgPool2d`. */
export class AvgPool2d extends Module {
  /** The stride (default: the kernel size). */
  readonly stride: Pair;
  /**
   * Average pooling with the given window.
   *
   * @param kernelSize the window size.
   * @param stride the step (default the kernel size).
   * @param padding zero padding (default 0).
   * @param countIncludePad count the padding in each window's size (default true).
   */
  constructor(readonly kernelSize: Pair, stride?: Pair | null, readonly padding: Pair = 0, readonly countIncludePad = true) {
    super();
    pair("AvgPool2d", "kernelSize", kernelSize, 1);
    this.stride = stride ?? kernelSize;
  }
  forward(x: Tensor): Tensor {
    return forwardAs(
      "AvgPool2d",
      () => avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad }),
    );
  }
}

/**
 * Average pooling to a fixed output size (windows chosen as PyTorch does): (N, C, H, W) → (N, C, oh, ow) ({@link adaptiveAvgPool2d}).
 * PyTorch: `torch.nn.AdaptiveAvgPool2d`.
 */
export class AdaptiveAvgPool2d extends Module {
  /**
   * Adaptive average pooling to `outputSize`.
   *
   * @param outputSize the output `[oh, ow]` (a number for square).
   */
  constructor(readonly outputSize: Pair) {
    super();
    pair("AdaptiveAvgPool2d", "outputSize", outputSize, 1);
  }
  forward(x: Tensor): Tensor {
    return forwardAs("AdaptiveAvgPool2d", () => adaptiveAvgPool2d(x, this.outputSize));
  }
}
