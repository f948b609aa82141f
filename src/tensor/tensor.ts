/**
 * The Tensor: an n-dimensional view over a typed array, plus what autograd needs.
 *
 * Storage is a strided view (data, shape, stride, offset; ./strided.ts, scijs ndarray's layout and
 * API) over a Float32Array (the default) or a Float64Array. Transposes, slices and broadcasts are
 * new views over the same buffer; nothing is copied until an op needs contiguous data.
 *
 * This layer imports nothing above it. The ops are functions in src/ops; their method forms
 * (`x.add(y)` for `add(x, y)`, `x.sum(1)` for `sum(x, 1)`, …) are attached to this class by
 * src/ops/tensor-methods.ts, and `backward()` by src/autograd/tape.ts, so that an op's forward,
 * its gradient rule and its checks live in one place (see docs/tensor-and-autograd.md).
 *
 * PyTorch: `torch.Tensor`. Differences a port should know: `max(dim)` returns the values only
 * (use `argmax(dim)` for the indices), and the dtype set is float32/float64.
 *
 * @module
 */
import { loops, StridedArray, stridedArray, type StridedLike } from "./strided.js";
import { contiguousStrides, numel, shapeToString, type Shape } from "./shape.js";

/** The element type of a tensor: `"float32"` (default) or `"float64"` (gradient checks). PyTorch: `torch.float32`, `torch.float64`. */
export type DType = "float32" | "float64";
/** The typed arrays a tensor's storage can be: Float32Array or Float64Array. */
export type TypedArray = Float32Array | Float64Array;
/** A tensor's storage: a strided view over its buffer (./strided.ts). */
export type Storage = StridedArray<TypedArray>;
/** A number or a tensor: binary ops accept either, as in PyTorch. */
export type TensorLike = Tensor | number;

/** Every dtype a tensor can have; anything else is refused by name (see checkDType). */
export const DTYPES: readonly DType[] = ["float32", "float64"];

/**
 * The one dtype check: `dtype` if it is one of DTYPES, `fallback` when it is undefined (the
 * option was omitted), else an error naming the function, e.g.
 *   zeros: unknown dtype "flaot64" (supported: float32, float64)
 * PyTorch has float16, int32, …; this project computes in float32/float64 only, so those are
 * refused rather than silently stored as float32.
 */
export function checkDType(fn: string, dtype: unknown, fallback: DType = "float32"): DType {
  if (dtype === undefined) return fallback;
  if (typeof dtype === "string" && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new Error(checkDTypeMessage(fn, dtype));
}

/** A fresh zero-filled typed array of `size` elements; every op output is allocated here. */
export function allocate(dtype: DType, size: number): TypedArray {
  let out: TypedArray;
  if (dtype === "float32") out = new Float32Array(size);
  else if (dtype === "float64") out = new Float64Array(size);
  else throw new Error(checkDTypeMessage("allocate", dtype)); // a safety net: public entry points check first, by their own name
  if (allocationLog !== null) allocationLog.add(out.buffer);
  return out;
}

/**
 * While set, every buffer `allocate` makes is added to it. The tape sets it during a backward pass
 * to know which gradient buffers are its own, freshly computed ones (nobody else can hold them),
 * so that it may keep them as a leaf's `.grad` instead of copying (src/autograd/tape.ts).
 */
let allocationLog: Set<ArrayBufferLike> | null = null;

/** Start (a Set) or stop (null) logging the buffers `allocate` makes; returns the previous log. */
export function logAllocations(log: Set<ArrayBufferLike> | null): Set<ArrayBufferLike> | null {
  const previous = allocationLog;
  allocationLog = log;
  return previous;
}

function checkDTypeMessage(fn: string, dtype: unknown): string {
  const shown = typeof dtype === "string" ? `"${dtype}"` : String(dtype);
  return `${fn}: unknown dtype ${shown} (supported: ${DTYPES.join(", ")})`;
}

export function dtypeOf(array: TypedArray): DType {
  return array instanceof Float64Array ? "float64" : "float32";
}

/**
 * What the tape hangs on a tensor it produced (the full record is `TapeRecord` in
 * src/autograd/tape.ts): the tensor layer needs only to know that there is one, and its name.
 */
export interface GradFn {
  /** The op's public name, used in every error message. */
  readonly op: string;
}

/**
 * An n-dimensional array over a Float32Array or Float64Array (a strided ndarray view) that records the ops applied to it for reverse-mode
 * autograd. Create one with {@link tensor}, {@link zeros}, {@link randn}, …; the ops are functions ({@link add}, {@link matmul}, …) and
 * methods (`x.add(y)`).
 * PyTorch: `torch.Tensor`.
 */
export class Tensor {
  /** The strided view: `storage.data` is the buffer, with `shape`, `stride` and `offset`. */
  readonly storage: Storage;
  /** The element type, `"float32"` (the default) or `"float64"`. PyTorch: `Tensor.dtype`. */
  readonly dtype: DType;
  /** Whether gradients flow to (leaf) or through (non-leaf) this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`; same shape and dtype as the tensor. */
  grad: Tensor | null = null;
  /**
   * The tape record of the op that produced this tensor; null for leaves and untracked results.
   * The autograd layer (src/autograd/tape.ts) defines and fills it; this layer only holds it.
   */
  gradFn: GradFn | null = null;

  /** A tensor over a strided view; any `{ data, shape, stride, offset }` (a scijs ndarray too) is taken as that view. */
  constructor(storage: StridedLike<TypedArray>, requiresGrad = false) {
    this.storage = storage instanceof StridedArray
      ? storage
      : new StridedArray(storage.data, storage.shape, storage.stride, storage.offset);
    this.dtype = dtypeOf(storage.data);
    this.requiresGrad = requiresGrad;
  }

  /** A fresh contiguous tensor over `data` (row-major), with the given shape. */
  static fromTypedArray(data: TypedArray, shape: Shape, requiresGrad = false): Tensor {
    if (numel(shape) !== data.length) {
      throw new Error(`tensor: ${data.length} values cannot fill shape ${shapeToString(shape)} (needs ${numel(shape)})`);
    }
    return new Tensor(stridedArray(data, shape.slice(), contiguousStrides(shape), 0), requiresGrad);
  }

  /** The shape, a fresh copy (e.g. `[N, D]`). PyTorch: `Tensor.shape`. */
  get shape(): number[] {
    return this.storage.shape.slice();
  }
  /** The number of axes (0 for a scalar). PyTorch: `Tensor.ndim`. */
  get ndim(): number {
    return this.storage.shape.length;
  }
  /** Number of elements (PyTorch: `numel()`). */
  numel(): number {
    return numel(this.storage.shape);
  }
  /** The number of axes, as a method. PyTorch: `Tensor.dim()`. */
  dim(): number {
    return this.ndim;
  }
  /** `size()` is the shape; `size(d)` is the length of axis d. */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape;
    const axis = dim < 0 ? dim + this.ndim : dim;
    if (axis < 0 || axis >= this.ndim) throw new Error(`size: dim ${dim} out of range for shape ${shapeToString(this.shape)}`);
    return this.storage.shape[axis];
  }
  /** True for a tensor created by the user (not the output of a recorded op). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** True when the view is row-major and dense, so `storage.data` can be walked linearly from `offset`. */
  isContiguous(): boolean {
    const { shape, stride } = this.storage;
    let expected = 1;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (shape[axis] !== 1 && stride[axis] !== expected) return false;
      expected *= shape[axis];
    }
    return true;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(`item: only a one-element tensor can be converted to a number, got shape ${shapeToString(this.shape)}`);
    }
    const { data, offset } = this.storage;
    return data[offset];
  }

  /** A contiguous copy of the values as a typed array of the tensor's dtype (row-major). */
  toTypedArray(): TypedArray {
    const out = allocate(this.dtype, this.numel());
    if (this.isContiguous()) {
      const { data, offset } = this.storage;
      out.set(data.subarray(offset, offset + out.length));
    } else if (out.length > 0) {
      loops.assign(stridedArray(out, this.shape, contiguousStrides(this.shape), 0), this.storage);
    }
    return out;
  }

  /** The values as nested JavaScript arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    let position = 0;
    const build = (axis: number): NestedArray => {
      const items: NestedArray[] = [];
      for (let i = 0; i < shape[axis]; i++) items.push(axis === shape.length - 1 ? flat[position++] : build(axis + 1));
      return items;
    };
    return build(0);
  }

  /** A one-line summary: shape, dtype and whether it requires grad (not the values). */
  toString(): string {
    return `Tensor(shape=${shapeToString(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  // ---- autograd (backward() itself is attached by src/autograd/tape.ts) -----------------

  /** A tensor sharing this one's data, cut from the graph (no gradient flows through it). */
  detach(): Tensor {
    return new Tensor(this.storage, false);
  }

  /** Set `requiresGrad` in place (for leaves), returning this tensor. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new Error("requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor; use detach()");
    this.requiresGrad = flag;
    return this;
  }
}

/** A number or a (nested) array of numbers: the values {@link tensor} accepts, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | NestedArray[];
/** Integer indices for {@link indexSelect}, {@link gather}, …: a tensor of whole numbers, an Int32Array or a number array. */
export type IndexLike = Tensor | Int32Array | readonly number[];
