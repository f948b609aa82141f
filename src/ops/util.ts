/**
 * Small helpers shared by the ops: argument checks, output allocation, broadcast views.
 *
 * @module
 */
import { loops, stridedArray } from "../tensor/strided.js";
import { Tensor, allocate, type DType, type Storage, type TensorLike, type TypedArray } from "../tensor/tensor.js";
import { contiguousStrides, numel, shapeToString, type Shape } from "../tensor/shape.js";

/** A fresh contiguous tensor (zero-filled) of this dtype and shape. */
export function emptyTensor(dtype: DType, shape: Shape): Tensor {
  return Tensor.fromTypedArray(allocate(dtype, numel(shape)), shape);
}

export function requireTensor(op: string, value: unknown, argName = "input"): Tensor {
  if (!(value instanceof Tensor)) {
    throw new Error(`${op}: ${argName} must be a Tensor, got ${value === null ? "null" : typeof value}`);
  }
  return value;
}

/** A number becomes a 0-d tensor of the other operand's dtype; two tensors must share a dtype. */
export function asTensor(op: string, value: TensorLike, like: Tensor): Tensor {
  if (typeof value === "number") {
    const data = allocate(like.dtype, 1);
    data[0] = value;
    return Tensor.fromTypedArray(data, []);
  }
  requireTensor(op, value, "operand");
  checkSameDtype(op, "input", like, "other", value); // torch's names for the two operands
  return value;
}

/**
 * Two tensors that meet in one op must share a dtype: there is no silent promotion (PyTorch
 * promotes float32 with float64 to float64; here the caller converts, so the cost is visible).
 */
export function checkSameDtype(op: string, nameA: string, a: Tensor, nameB: string, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(
      `${op}: ${nameA} is ${a.dtype} ${shapeToString(a.shape)} but ${nameB} is ${b.dtype} ${shapeToString(b.shape)}; ` +
        `convert one with .to("${a.dtype}") or .to("${b.dtype}")`,
    );
  }
}

/**
 * A contiguous row-major shape seen as (outer, n, inner) around `axis`:
 *   outer = Π_{k < axis} shape[k],   n = shape[axis],   inner = Π_{k > axis} shape[k]
 * Element (p, i, q) sits at flat position p·n·inner + i·inner + q, so the n values along `axis`
 * of slice (p, q) start at p·n·inner + q and are `inner` apart.
 */
export function aroundAxis(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return { outer, n: shape[axis], inner };
}

/** A read-only view of `t` broadcast to `shape` (stride 0 on the broadcast axes); no copy. */
export function broadcastView(t: Tensor, shape: Shape): Storage {
  const { data, stride, offset } = t.storage;
  const source = t.shape;
  const lead = shape.length - source.length;
  const strides = shape.map((d, axis) => {
    if (axis < lead) return 0;
    const sourceSize = source[axis - lead];
    return sourceSize === 1 && d !== 1 ? 0 : stride[axis - lead];
  });
  return stridedArray(data, shape.slice(), strides, offset);
}

/** The values of `t` as a contiguous buffer and offset: the tensor's own when contiguous, else a copy. */
export function contiguousData(t: Tensor): { data: TypedArray; offset: number } {
  if (t.isContiguous()) return { data: t.storage.data, offset: t.storage.offset };
  return { data: t.toTypedArray(), offset: 0 };
}

/** Copy any view into a new contiguous strided array of the same shape. */
export function copyStorage(source: Storage, dtype: DType): Storage {
  const out = stridedArray(allocate(dtype, numel(source.shape)), source.shape.slice(), contiguousStrides(source.shape), 0);
  if (out.size > 0) loops.assign(out, source);
  return out;
}

/**
 * A NaN or infinity refused before it spreads (a loss's input, an overflowing temperature): its own
 * class, so that the trainer can tell it from a bug and name the likely cause (src/methods/trainer.ts).
 */
export class NonFiniteError extends Error {}

/** Throw if any value is NaN: losses call it on their inputs so that a NaN never passes silently. */
export function assertNoNaN(op: string, t: Tensor, argName: string): void {
  const { data, offset } = contiguousData(t);
  const n = t.numel();
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(data[offset + i])) {
      throw new NonFiniteError(`${op}: ${argName} (shape ${shapeToString(t.shape)}) contains NaN at flat index ${i}`);
    }
  }
}
