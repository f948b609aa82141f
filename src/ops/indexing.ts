/**
 * Joining and indexing: cat, stack, indexSelect, gather, where, maskedFill.
 *
 * Index arguments are integer-valued: an Int32Array, a list of numbers, or a tensor holding
 * whole numbers (PyTorch uses int64 tensors; this project's tensors are floating point, and
 * integer indices up to 2^24 are exact even in float32). Every index is range-checked, and a
 * negative index is refused (no Python-style wrap), as in PyTorch.
 *
 * @module
 */
import { loops } from "../tensor/strided.js";
import { Tensor, type IndexLike, type TensorLike } from "../tensor/tensor.js";
import { broadcastShapes, contiguousStrides, normalizeAxis, sameShape, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { aroundAxis, asTensor, broadcastView, checkSameDtype, contiguousData, copyStorage, emptyTensor, requireTensor } from "./util.js";
import { mul, sub } from "./elementwise.js";
import { narrow, unsqueeze } from "./views.js";

/**
 * Read an index argument into an Int32Array, checking every entry against `size`: each must be an
 * integer in [0, size). Negative indices are refused, not wrapped Python-style, as
 * torch.index_select, gather, F.embedding and F.cross_entropy refuse them.
 * `noun` names one entry in the message ("index", or "target" for crossEntropy).
 */
export function toIndexArray(op: string, index: IndexLike, size: number, what: string, noun = "index"): Int32Array {
  let values: ArrayLike<number>;
  if (index instanceof Tensor) {
    const { data, offset } = contiguousData(index);
    values = data.subarray(offset, offset + index.numel());
  } else {
    values = index;
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new Error(`${op}: ${noun} ${v} at position ${i} is not an integer`);
    if (v < 0 || v >= size) {
      throw new Error(`${op}: ${noun} ${v} at position ${i} is out of range for ${what} of size ${size} (valid: 0 to ${size - 1})`);
    }
    out[i] = v;
  }
  return out;
}

// concatenate along dim:  the gradient of each input is its slice of the output gradient
/** Concatenate tensors of the same shape except along `dim` (default 0). PyTorch: `torch.cat`. */
export const cat = defineOp("cat", (tensors: readonly Tensor[], dim: number = 0): Recordable | Unchanged => {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error("cat: expected a non-empty list of tensors");
  const first = requireTensor("cat", tensors[0], "tensors[0]");
  const axis = normalizeAxis("cat", dim, first.ndim);
  let total = 0;
  tensors.forEach((t, k) => {
    requireTensor("cat", t, `tensors[${k}]`);
    checkSameDtype("cat", "tensors[0]", first, `tensors[${k}]`, t);
    const compatible = t.ndim === first.ndim && t.shape.every((d: number, i: number) => i === axis || d === first.shape[i]);
    if (!compatible) {
      throw new Error(
        `cat: tensors[${k}] has shape ${shapeToString(t.shape)}, incompatible with ${shapeToString(first.shape)} along dim ${dim}`,
      );
    }
    total += t.shape[axis];
  });
  const outShape = first.shape;
  outShape[axis] = total;
  const out = emptyTensor(first.dtype, outShape);
  let start = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(start);
    const length = t.shape[axis];
    if (t.numel() > 0) {
      const begin = out.shape.map((_, i) => (i === axis ? start : 0));
      const region = out.storage.lo(...begin).hi(...t.shape);
      loops.assign(region, t.storage);
    }
    start += length;
  }
  return {
    output: out,
    inputs: [...tensors],
    backward: (g) => tensors.map((t, k) => (t.requiresGrad ? narrow(g, axis, starts[k], t.shape[axis]) : null)),
  };
});

// stack along a new dim:  cat of unsqueezed inputs
/** Stack tensors of the same shape along a new axis `dim` (default 0). PyTorch: `torch.stack`. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error("stack: expected a non-empty list of tensors");
  const shape = tensors[0].shape;
  tensors.forEach((t, k) => {
    if (!sameShape(t.shape, shape)) {
      throw new Error(`stack: tensors[${k}] has shape ${shapeToString(t.shape)}, expected ${shapeToString(shape)}`);
    }
  });
  const axis = normalizeAxis("stack", dim, shape.length + 1);
  return cat(tensors.map((t) => unsqueeze(t, axis)), axis);
}

/** Scatter-add `source` (viewed as (outer, k, inner)) into rows `index` of a zero (outer, n, inner) tensor. */
function scatterAddAlong(source: Tensor, index: Int32Array, axis: number, targetShape: number[]): Tensor {
  const out = emptyTensor(source.dtype, targetShape);
  const o = out.storage.data;
  const { data, offset } = contiguousData(source);
  const { outer, n, inner } = aroundAxis(targetShape, axis);
  const k = index.length;
  for (let p = 0; p < outer; p++) {
    for (let j = 0; j < k; j++) {
      const from = offset + (p * k + j) * inner;
      const to = (p * n + index[j]) * inner;
      for (let q = 0; q < inner; q++) o[to + q] += data[from + q];
    }
  }
  return out;
}

// out = x[…, index[j], …] along dim:  ∂/∂x scatters the gradient back, adding at repeated indices
/** The slices at `index` along `dim`, in that order (repeats allowed; their gradients add). PyTorch: `torch.index_select`. */
export const indexSelect = defineOp("indexSelect", (a: Tensor, dim: number, index: IndexLike): Recordable | Unchanged => {
  const x = requireTensor("indexSelect", a);
  const axis = normalizeAxis("indexSelect", dim, x.ndim);
  const positions = toIndexArray("indexSelect", index, x.shape[axis], `dim ${dim}`);
  const outShape = x.shape;
  outShape[axis] = positions.length;
  const out = emptyTensor(x.dtype, outShape);
  const o = out.storage.data;
  const { data, offset } = contiguousData(x);
  const { outer, n, inner } = aroundAxis(x.shape, axis); // outer and inner are the output's too
  for (let p = 0; p < outer; p++) {
    for (let j = 0; j < positions.length; j++) {
      const from = offset + (p * n + positions[j]) * inner;
      o.set(data.subarray(from, from + inner), (p * positions.length + j) * inner);
    }
  }
  return { output: out, inputs: [x], backward: (g) => [scatterAddAlong(g, positions, axis, x.shape)] };
});

// out[i][j] = x[i][index[i][j]] (dim = 1):  ∂/∂x adds g[i][j] at x[i][index[i][j]]
/** Pick along `dim` by an index tensor: for dim 1, `out[i][j] = x[i][index[i][j]]`; out has index's shape. PyTorch: `torch.gather`. */
export const gather = defineOp("gather", (a: Tensor, dim: number, index: Tensor): Recordable | Unchanged => {
  const x = requireTensor("gather", a);
  const idx = requireTensor("gather", index, "index");
  const axis = normalizeAxis("gather", dim, x.ndim);
  if (idx.ndim !== x.ndim || idx.shape.some((d, i) => i !== axis && d > x.shape[i])) {
    throw new Error(
      `gather: index of shape ${shapeToString(idx.shape)} does not fit input of shape ${shapeToString(x.shape)} along dim ${dim}`,
    );
  }
  const positions = toIndexArray("gather", idx, x.shape[axis], `dim ${dim}`);
  const outShape = idx.shape;
  const inputStrides = contiguousStrides(x.shape);
  // For each output element, its row-major position in x: the output's own coordinates,
  // except along `axis`, where the coordinate is the index value.
  const sourcePositions = new Int32Array(positions.length);
  const coordinate = new Array<number>(outShape.length).fill(0);
  for (let flat = 0; flat < positions.length; flat++) {
    let position = 0;
    for (let i = 0; i < outShape.length; i++) position += (i === axis ? positions[flat] : coordinate[i]) * inputStrides[i];
    sourcePositions[flat] = position;
    for (let i = outShape.length - 1; i >= 0; i--) {
      if (++coordinate[i] < outShape[i]) break;
      coordinate[i] = 0;
    }
  }
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, outShape);
  const o = out.storage.data;
  for (let flat = 0; flat < o.length; flat++) o[flat] = data[offset + sourcePositions[flat]];
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const grad = emptyTensor(x.dtype, x.shape);
      const gd = grad.storage.data;
      const upstream = contiguousData(g);
      for (let flat = 0; flat < o.length; flat++) gd[sourcePositions[flat]] += upstream.data[upstream.offset + flat];
      return [grad];
    },
  };
});

// where(cond, a, b) = a where cond ≠ 0 else b:  ∂/∂a = cond, ∂/∂b = 1 − cond
/** `a` where `condition` is nonzero, else `b`, broadcasting all three (a or b may be a number). PyTorch: `torch.where`. */
export const where = defineOp("where", (condition: Tensor, a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const cond = requireTensor("where", condition, "condition");
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const x = asTensor("where", a, like);
  const y = asTensor("where", b, like);
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, x.shape), y.shape);
  const mask = booleanMask("where", cond, shape, x.dtype);
  const out = emptyTensor(x.dtype, shape);
  if (out.numel() > 0) {
    const xd = copyStorage(broadcastView(x, shape), x.dtype).data; // x broadcast to `shape`, contiguous
    const yd = copyStorage(broadcastView(y, shape), y.dtype).data;
    const m = mask.storage.data, o = out.storage.data;
    for (let i = 0; i < o.length; i++) o[i] = m[i] !== 0 ? xd[i] : yd[i];
  }
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [
      x.requiresGrad ? mul(g, mask) : null,
      y.requiresGrad ? mul(g, sub(1, mask)) : null,
    ],
  };
});

/**
 * 1/0 mask of `cond ≠ 0`, broadcast to `shape`, contiguous. A NaN condition is refused: torch
 * takes only bool conditions, and `NaN ≠ 0` would silently pick a side.
 */
function booleanMask(op: string, cond: Tensor, shape: number[], dtype: Tensor["dtype"]): Tensor {
  const mask = emptyTensor(dtype, shape);
  if (mask.numel() === 0) return mask;
  // cond broadcast to `shape`, contiguous: read in place when it already is (NT-Xent's eye), else copied
  const inPlace = cond.isContiguous() && sameShape(cond.shape, shape);
  const c = inPlace ? cond.storage.data : copyStorage(broadcastView(cond, shape), cond.dtype).data;
  const start = inPlace ? cond.storage.offset : 0;
  const m = mask.storage.data;
  for (let i = 0; i < m.length; i++) {
    if (Number.isNaN(c[start + i])) {
      throw new Error(
        `${op}: the ${op === "where" ? "condition" : "mask"} contains NaN at flat index ${i} (of the broadcast shape ${
          shapeToString(shape)
        })`,
      );
    }
    m[i] = c[start + i] !== 0 ? 1 : 0;
  }
  return mask;
}

// maskedFill(x, mask, v) = v where mask ≠ 0 else x:  ∂/∂x = 1 − mask
/** A copy of x with `value` wherever `mask` (broadcast to x) is nonzero. PyTorch: `Tensor.masked_fill`. */
export const maskedFill = defineOp("maskedFill", (a: Tensor, maskTensor: Tensor, value: number): Recordable | Unchanged => {
  const x = requireTensor("maskedFill", a);
  const m = requireTensor("maskedFill", maskTensor, "mask");
  const shape = broadcastShapes("maskedFill", x.shape, m.shape);
  if (!sameShape(shape, x.shape)) {
    throw new Error(`maskedFill: mask of shape ${shapeToString(m.shape)} must broadcast to the input shape ${shapeToString(x.shape)}`);
  }
  const mask = booleanMask("maskedFill", m, shape, x.dtype);
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, shape);
  const o = out.storage.data, md = mask.storage.data;
  for (let i = 0; i < o.length; i++) o[i] = md[i] !== 0 ? value : data[offset + i];
  return { output: out, inputs: [x], backward: (g) => [maskedFillGrad(g, mask)] };
});

/**
 * ∂L/∂x = g · (1 − mask) in one pass and one buffer (the composed `mul(g, sub(1, mask))` made two
 * (2N, 2N) temporaries per NT-Xent step). Bit for bit the same: mask is 0 or 1, g · 1 = g exactly,
 * and g · 0 is kept as a product (−0 for negative g, NaN for ±∞ or NaN g), as the composed form
 * gives; spec/ops/indexing-fast-path.spec.ts checks the two against each other.
 */
export function maskedFillGrad(g: Tensor, mask: Tensor): Tensor {
  const upstream = contiguousData(g); // g may be any view (a transpose, a broadcast)
  const grad = emptyTensor(g.dtype, mask.shape);
  const gd = grad.storage.data, md = mask.storage.data, u = upstream.data;
  for (let i = 0, p = upstream.offset; i < gd.length; i++, p++) gd[i] = md[i] !== 0 ? u[p] * 0 : u[p];
  return grad;
}
