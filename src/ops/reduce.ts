/**
 * Reductions: sum, mean, max, min, argmax, var, std, norm — over everything or along dims.
 *
 * A reduction along axis `d` views the contiguous input as (outer, n, inner), where outer is the
 * product of the sizes before d and inner the product after it, and combines the n values of
 * each (outer, inner) pair. Its gradient is the output gradient broadcast back along d
 * (a stride-0 view, not a copy), times the local derivative.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { normalizeAxis, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { aroundAxis, contiguousData, emptyTensor, requireTensor } from "./util.js";
import { div, mul, sub, square, sqrt, abs, pow } from "./elementwise.js";
import { expand, reshape } from "./views.js";
import { checkOptions } from "../tensor/options.js";

type DimArg = number | readonly number[] | null | undefined;

/** The axes to reduce, sorted and de-duplicated; all axes when `dim` is omitted. */
function reductionAxes(op: string, x: Tensor, dim: DimArg): number[] {
  if (dim === null || dim === undefined) return x.shape.map((_, i) => i);
  const list = typeof dim === "number" ? [dim] : [...dim];
  const axes = [...new Set(list.map((d) => normalizeAxis(op, d, x.ndim)))];
  return axes.sort((p, q) => p - q);
}

function reducedShape(shape: number[], axes: number[], keepdim: boolean): { out: number[]; kept: number[] } {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = keepdim ? kept : shape.filter((_, i) => !axes.includes(i));
  return { out, kept };
}

/**
 * Combine the values along `axes` of contiguous x with an accumulator: `step(acc, value)` folds
 * one value. The accumulators are float64 whatever the dtype, and each result is rounded to the
 * dtype once at the end: a float32 sum of n elements then has one rounding instead of n (its
 * error no longer grows with n; PyTorch's CPU sum also accumulates float32 in wider precision
 * with pairwise blocks). Float64 results and max/min (which pick a value) are unchanged.
 */
function foldAxes(
  x: Tensor,
  axes: number[],
  keptShape: number[],
  initial: number,
  step: (acc: number, value: number) => number,
): Tensor {
  const { data, offset } = contiguousData(x);
  const shape = x.shape;
  const out = emptyTensor(x.dtype, keptShape);
  const o = new Float64Array(out.numel()); // the accumulators
  o.fill(initial);
  // Walk the input in row-major order; the output index drops the reduced axes.
  const rank = shape.length;
  const outStrides = new Array<number>(rank);
  let stride = 1;
  for (let axis = rank - 1; axis >= 0; axis--) {
    outStrides[axis] = axes.includes(axis) ? 0 : stride;
    stride *= keptShape[axis];
  }
  const index = new Array<number>(rank).fill(0);
  const n = x.numel();
  let outPos = 0;
  for (let i = 0; i < n; i++) {
    o[outPos] = step(o[outPos], data[offset + i]);
    // advance the multi-index (odometer) and the output position with it
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      outPos += outStrides[axis];
      if (index[axis] < shape[axis]) break;
      outPos -= outStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  out.storage.data.set(o); // one rounding per result (none for float64)
  return out;
}

/** The gradient of a reduction's output, broadcast back to the input's shape (a view). */
function spreadBack(g: Tensor, keptShape: number[], inputShape: number[]): Tensor {
  return expand(reshape(g, keptShape), inputShape);
}

// sum_d x:  ∂/∂x = 1 (the gradient is copied along d)
/**
 * Sum over all elements (`dim` omitted or null), or over one axis or a list of axes; `keepdim` keeps them with size 1 (default false).
 * PyTorch: `torch.sum`.
 */
export const sum = defineOp("sum", (a: Tensor, dim?: DimArg, keepdim: boolean = false): Recordable | Unchanged => {
  const x = requireTensor("sum", a);
  const axes = reductionAxes("sum", x, dim);
  const { out: outShape, kept } = reducedShape(x.shape, axes, keepdim);
  const folded = foldAxes(x, axes, kept, 0, (acc, v) => acc + v);
  const out = reshape(folded, outShape);
  return { output: out, inputs: [x], backward: (g) => [spreadBack(g, kept, x.shape)] };
});

// mean_d x = sum_d x / n:  ∂/∂x = 1/n
/** Mean over all elements or over `dim` (one axis or several); `keepdim` as in {@link sum}. PyTorch: `torch.mean`. */
export function mean(a: Tensor, dim?: DimArg, keepdim = false): Tensor {
  const x = requireTensor("mean", a);
  const axes = reductionAxes("mean", x, dim);
  const count = axes.reduce((n, axis) => n * x.shape[axis], 1);
  if (count === 0) throw new Error(`mean: cannot take the mean over an empty dimension (shape ${shapeToString(x.shape)})`);
  return div(sum(x, axes, keepdim), count);
}

/**
 * Shared by max and min: the extreme value, with the gradient split evenly among ties.
 *
 *   ∂ max_d x / ∂x_i = 1/t where x_i equals the maximum (t of them tie along d), else 0
 *
 * The even split is what torch does for the full reduction `x.max()` and for `x.amax(dim)`, and
 * it is the only choice that does not depend on an order. `torch.max(x, dim)` differs: it also
 * returns indices and sends the whole gradient to the index it returns (the first maximum). Our
 * `max(dim)` returns the values only, so it is torch's `amax(dim)`, gradient included
 * (docs/porting.md, "Ties and kinks"; checked against torch 1.13).
 */
function extreme(op: "max" | "min", a: Tensor, dim: number | null | undefined, keepdim: boolean): Recordable {
  const x = requireTensor(op, a);
  if (x.numel() === 0) throw new Error(`${op}: cannot reduce an empty tensor (shape ${shapeToString(x.shape)})`);
  const axes = reductionAxes(op, x, dim);
  for (const axis of axes) {
    if (x.shape[axis] === 0) throw new Error(`${op}: cannot reduce an empty dimension ${axis} of shape ${shapeToString(x.shape)}`);
  }
  const { out: outShape, kept } = reducedShape(x.shape, axes, keepdim);
  const better = op === "max"
    ? (acc: number, v: number) => (v > acc || Number.isNaN(v) ? v : acc)
    : (acc: number, v: number) => (v < acc || Number.isNaN(v) ? v : acc);
  const folded = foldAxes(x, axes, kept, op === "max" ? -Infinity : Infinity, better);
  const out = reshape(folded, outShape);
  // ∂/∂x = 1/(number of ties) where x equals the extreme, else 0 (as torch's amax / amin)
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const extremeAt = expand(folded, x.shape);
      const isExtreme = equalMask(x, extremeAt);
      const ties = foldAxes(isExtreme, axes, kept, 0, (acc, v) => acc + v);
      return [mul(spreadBack(div(reshape(g, kept), ties), kept, x.shape), isExtreme)];
    },
  };
}

/** 1 where x equals y, NaN counting as equal to NaN (a NaN extreme gets the gradient, as torch). */
function equalMask(x: Tensor, y: Tensor): Tensor {
  const left = contiguousData(x);
  const right = contiguousData(y);
  const mask = emptyTensor(x.dtype, x.shape);
  const m = mask.storage.data;
  for (let i = 0; i < m.length; i++) {
    const p = left.data[left.offset + i], q = right.data[right.offset + i];
    m[i] = p === q || (p !== p && q !== q) ? 1 : 0;
  }
  return mask;
}

/**
 * Maximum values over all elements or along `dim` (values only: use {@link argmax} for indices); at ties the gradient is shared equally.
 * PyTorch: `torch.amax`.
 */
export const max = defineOp("max", (
  a: Tensor,
  dim?: number | null,
  keepdim: boolean = false,
): Recordable => extreme("max", a, dim, keepdim));

/** Minimum values over all elements or along `dim` (values only); at ties the gradient is shared equally. PyTorch: `torch.amin`. */
export const min = defineOp("min", (
  a: Tensor,
  dim?: number | null,
  keepdim: boolean = false,
): Recordable => extreme("min", a, dim, keepdim));

/**
 * Index of the first maximum (over the flattened tensor, or along `dim`); not differentiable.
 * A NaN is the maximum, so the index of the first NaN is returned, as torch.argmax.
 */
export function argmax(a: Tensor, dim?: number | null, keepdim = false): Tensor {
  const x = requireTensor("argmax", a);
  if (x.numel() === 0) throw new Error(`argmax: cannot reduce an empty tensor (shape ${shapeToString(x.shape)})`);
  const { data, offset } = contiguousData(x);
  if (dim === null || dim === undefined) {
    let best = 0;
    for (let i = 1; i < x.numel(); i++) if (beats(data[offset + i], data[offset + best])) best = i;
    const out = emptyTensor(x.dtype, keepdim ? x.shape.map(() => 1) : []);
    out.storage.data[0] = best;
    return out;
  }
  const axis = normalizeAxis("argmax", dim, x.ndim);
  const shape = x.shape;
  const { outer, n, inner } = aroundAxis(shape, axis);
  const { out: outShape } = reducedShape(shape, [axis], keepdim);
  const out = emptyTensor(x.dtype, outShape);
  const o = out.storage.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const base = offset + p * n * inner + q;
      let best = 0;
      for (let i = 1; i < n; i++) if (beats(data[base + i * inner], data[base + best * inner])) best = i;
      o[p * inner + q] = best;
    }
  }
  return out;
}

/** v replaces the current best: strictly greater (ties keep the first), or the first NaN. */
function beats(v: number, best: number): boolean {
  return v > best || (v !== v && best === best);
}

/** var_d x = Σ (x − mean)² / (n − 1)  (unbiased, the default as in torch.var) or / n. */
export function variance(a: Tensor, dim?: DimArg, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  checkOptions("var", options, { unbiased: true, keepdim: true });
  const x = requireTensor("var", a);
  const axes = reductionAxes("var", x, dim);
  const count = axes.reduce((n, axis) => n * x.shape[axis], 1);
  const unbiased = options.unbiased ?? true;
  const divisor = unbiased ? count - 1 : count;
  if (divisor <= 0) {
    throw new Error(`var: need more than ${unbiased ? 1 : 0} value(s) along the reduced dims of shape ${shapeToString(x.shape)}`);
  }
  const centered = sub(x, mean(x, axes, true));
  return div(sum(square(centered), axes, options.keepdim ?? false), divisor);
}

/** Standard deviation √{@link var} over `dim`; `unbiased` (default true) divides by n − 1. PyTorch: `torch.std`. */
export function std(a: Tensor, dim?: DimArg, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  checkOptions("std", options, { unbiased: true, keepdim: true });
  return sqrt(variance(a, dim, options));
}

/**
 * ‖x‖_p = (Σ |x|^p)^(1/p) over everything or along `dim`.
 * PyTorch: `torch.linalg.vector_norm(x, ord=p, dim)`.
 */
export function norm(a: Tensor, p = 2, dim?: number | null, keepdim = false): Tensor {
  const x = requireTensor("norm", a);
  if (!(p > 0)) throw new Error(`norm: p must be positive, got ${p}`);
  if (p === 2) return sqrt(sum(square(x), dim, keepdim));
  if (p === 1) return sum(abs(x), dim, keepdim);
  return pow(sum(pow(abs(x), p), dim, keepdim), 1 / p);
}
