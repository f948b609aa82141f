/**
 * View ops: new shapes and strides over the same buffer, no copy (reshape copies only when the
 * input is not contiguous, as PyTorch's `reshape`).
 *
 *   transpose(0, 1) of a (2, 3) tensor with strides (3, 1) is a (3, 2) view with strides (1, 3);
 *   expand((4, 3)) of a (1, 3) tensor is a (4, 3) view with strides (0, 1);
 *   narrow(0, 1, 2) moves the offset by one row and keeps the strides.
 *
 * Gradients: a view's rule undoes the view on the gradient (transpose back, reshape back, pad the
 * slice with zeros). `expand`'s rule is the identity: the tape sums the gradient over the expanded
 * axes, which is exactly un-broadcasting.
 *
 * @module
 */
import { loops, stridedArray } from "../tensor/strided.js";
import { Tensor } from "../tensor/tensor.js";
import { contiguousStrides, normalizeAxis, numel, shapeToString, checkShape } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { copyStorage, emptyTensor, requireTensor } from "./util.js";

function view(x: Tensor, shape: number[], stride: number[], offset: number): Tensor {
  return new Tensor(stridedArray(x.storage.data, shape, stride, offset));
}

// swap two axes:  the gradient is transposed back
/** Swap axes `dim0` and `dim1` (negative axes count from the end): a view over the same buffer. PyTorch: `torch.transpose`. */
export function transpose(a: Tensor, dim0: number, dim1: number): Tensor {
  const x = requireTensor("transpose", a);
  const p = normalizeAxis("transpose", dim0, x.ndim);
  const q = normalizeAxis("transpose", dim1, x.ndim);
  const order = x.shape.map((_, i) => i);
  order[p] = q;
  order[q] = p;
  return permute(x, order);
}

// reorder axes: out axis i is input axis dims[i];  the gradient is permuted by the inverse
/** Reorder the axes: output axis i is input axis `dims[i]` (a view). PyTorch: `torch.permute`. */
export const permute = defineOp("permute", (a: Tensor, dims: number[]): Recordable | Unchanged => {
  const x = requireTensor("permute", a);
  if (dims.length !== x.ndim) {
    throw new Error(`permute: got ${dims.length} dims [${dims.join(", ")}] for a tensor of shape ${shapeToString(x.shape)}`);
  }
  const order = dims.map((d) => normalizeAxis("permute", d, x.ndim));
  if (new Set(order).size !== order.length) throw new Error(`permute: repeated dim in [${dims.join(", ")}]`);
  const { shape, stride, offset } = x.storage;
  const out = view(x, order.map((d) => shape[d]), order.map((d) => stride[d]), offset);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return { output: out, inputs: [x], backward: (g) => [permute(g, inverse)] };
});

/** Resolve one −1 in a requested shape. */
function resolveShape(op: string, x: Tensor, requested: number[]): number[] {
  const total = x.numel();
  const unknown = requested.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`${op}: only one dimension can be -1, got ${shapeToString(requested)}`);
  const known = requested.filter((d) => d !== -1);
  checkShape(op, known);
  const knownCount = numel(known);
  let shape = requested.slice();
  if (unknown === 1) {
    if (knownCount === 0 || total % knownCount !== 0) {
      throw new Error(
        `${op}: cannot reshape a tensor of shape ${shapeToString(x.shape)} (${total} elements) to ${shapeToString(requested)}`,
      );
    }
    shape = requested.map((d) => (d === -1 ? total / knownCount : d));
  }
  if (numel(shape) !== total) {
    throw new Error(
      `${op}: cannot reshape a tensor of shape ${shapeToString(x.shape)} (${total} elements) to ${shapeToString(requested)} (${
        numel(shape)
      } elements)`,
    );
  }
  return shape;
}

// same values, new shape:  the gradient is reshaped back
/**
 * The same values in a new shape (one entry may be −1, inferred); a view if the input is contiguous, else a copy. PyTorch:
 * `torch.reshape`.
 */
export const reshape = defineOp("reshape", (a: Tensor, requested: number[]): Recordable | Unchanged => {
  const x = requireTensor("reshape", a);
  const shape = resolveShape("reshape", x, requested);
  const source = x.isContiguous() ? x.storage : copyStorage(x.storage, x.dtype);
  const out = new Tensor(stridedArray(source.data, shape, contiguousStrides(shape), source.offset));
  return { output: out, inputs: [x], backward: (g) => [reshape(g, x.shape)] };
});

/** Merge axes `startDim…endDim` (inclusive; default all) into one; a 0-d tensor becomes shape [1]. PyTorch: `torch.flatten`. */
export function flatten(a: Tensor, startDim = 0, endDim = -1): Tensor {
  const x = requireTensor("flatten", a);
  if (x.ndim === 0) return reshape(x, [1]);
  const start = normalizeAxis("flatten", startDim, x.ndim);
  const end = normalizeAxis("flatten", endDim, x.ndim);
  if (start > end) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = x.shape;
  const merged = shape.slice(start, end + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...shape.slice(0, start), merged, ...shape.slice(end + 1)]);
}

/** Insert an axis of size 1 at `dim` (a view). PyTorch: `torch.unsqueeze`. */
export function unsqueeze(a: Tensor, dim: number): Tensor {
  const x = requireTensor("unsqueeze", a);
  const axis = normalizeAxis("unsqueeze", dim, x.ndim + 1);
  const shape = x.shape;
  shape.splice(axis, 0, 1);
  return reshape(x, shape);
}

/** Remove axis `dim` if its size is 1 (else return the input), or every size-1 axis when `dim` is omitted. PyTorch: `torch.squeeze`. */
export function squeeze(a: Tensor, dim?: number): Tensor {
  const x = requireTensor("squeeze", a);
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const axis = normalizeAxis("squeeze", dim, x.ndim);
  if (x.shape[axis] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== axis));
}

// broadcast to a larger shape (stride 0 along new or size-1 axes):  the tape sums the gradient back
/** Broadcast size-1 (or new leading) axes to `requested` without copying (stride 0). PyTorch: `Tensor.expand`. */
export const expand = defineOp("expand", (a: Tensor, requested: number[]): Recordable | Unchanged => {
  const x = requireTensor("expand", a);
  const lead = requested.length - x.ndim;
  if (lead < 0) throw new Error(`expand: target ${shapeToString(requested)} has fewer dims than the input ${shapeToString(x.shape)}`);
  const { shape, stride, offset } = x.storage;
  const outShape: number[] = [];
  const outStride: number[] = [];
  for (let axis = 0; axis < requested.length; axis++) {
    const size = requested[axis];
    if (axis < lead) {
      if (size < 0) throw new Error(`expand: -1 is not allowed for the new leading dim ${axis} in ${shapeToString(requested)}`);
      outShape.push(size);
      outStride.push(0);
      continue;
    }
    const own = shape[axis - lead];
    if (size === -1 || size === own) {
      outShape.push(own);
      outStride.push(stride[axis - lead]);
    } else if (own === 1) {
      outShape.push(size);
      outStride.push(0);
    } else {
      throw new Error(
        `expand: cannot expand shape ${shapeToString(x.shape)} to ${shapeToString(requested)} (axis ${axis}: ${own} → ${size})`,
      );
    }
  }
  checkShape("expand", outShape);
  const out = view(x, outShape, outStride, offset);
  return { output: out, inputs: [x], backward: (g) => [g] };
});

// x[start : start + length] along dim:  the gradient is zero outside the slice
/** The `length` entries starting at `start` along `dim` (a view). PyTorch: `torch.narrow`. */
export function narrow(a: Tensor, dim: number, start: number, length: number): Tensor {
  const x = requireTensor("narrow", a);
  const axis = normalizeAxis("narrow", dim, x.ndim);
  const size = x.shape[axis];
  const begin = start < 0 ? start + size : start;
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > size) {
    throw new Error(
      `narrow: range start=${start}, length=${length} is out of bounds for dim ${dim} of size ${size} (shape ${shapeToString(x.shape)})`,
    );
  }
  return slice(x, axis, begin, begin + length, 1);
}

/**
 * Python's x[start:end:step] along one dim (negative start/end count from the end; clipped like Python).
 * PyTorch: `x[start:end:step]` on one dim.
 */
export const slice = defineOp("slice", (a: Tensor, dim: number, start?: number, end?: number, step: number = 1): Recordable | Unchanged => {
  const x = requireTensor("slice", a);
  const axis = normalizeAxis("slice", dim, x.ndim);
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[axis];
  const clip = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const begin = clip(start ?? 0);
  const stop = Math.max(begin, clip(end ?? size));
  const count = Math.ceil((stop - begin) / step);
  const { shape, stride, offset } = x.storage;
  const outShape = shape.slice();
  outShape[axis] = count;
  const outStride = stride.slice();
  outStride[axis] = stride[axis] * step;
  const out = view(x, outShape, outStride, offset + begin * stride[axis]);
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const full = emptyTensor(g.dtype, x.shape);
      const region = full.storage.lo(...x.shape.map((_, i) => (i === axis ? begin : 0)));
      const target = stridedArray(
        region.data,
        outShape.slice(),
        outStride.map((s, i) => (i === axis ? full.storage.stride[i] * step : full.storage.stride[i])),
        region.offset,
      );
      if (numel(outShape) > 0) loops.assign(target, g.storage);
      return [full];
    },
  };
});

// x[index] along dim, dropping the axis:  the gradient is zero except at that index
/** `x[index]` along `dim`, dropping that axis (a view; negative index counts from the end). PyTorch: `torch.select`. */
export function select(a: Tensor, dim: number, index: number): Tensor {
  const x = requireTensor("select", a);
  const axis = normalizeAxis("select", dim, x.ndim);
  const size = x.shape[axis];
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size) {
    throw new Error(`select: index ${index} is out of range for dim ${dim} of size ${size} (shape ${shapeToString(x.shape)})`);
  }
  return squeeze(narrow(x, axis, i, 1), axis);
}
