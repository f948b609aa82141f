/**
 * The Tensor: an n-dimensional view over a typed array, plus what autograd needs.
 *
 * Storage is a scijs `ndarray` (data, shape, stride, offset) over a Float32Array (the default) or a
 * Float64Array. Transposes, slices and broadcasts are new views over the same buffer; nothing is
 * copied until an op needs contiguous data. Every op is a method here and a function in `src/ops`;
 * the method only forwards, so that the op's forward, its gradient rule and its checks live in one
 * place (see docs/tensor-and-autograd.md).
 *
 * PyTorch: `torch.Tensor`. Differences a port should know: `max(dim)` returns the values only
 * (use `argmax(dim)` for the indices), and the dtype set is float32/float64.
 */
import ndarray, { type NdArray } from "ndarray";
import ops from "ndarray-ops";
import { contiguousStrides, numel, shapeToString, type Shape } from "./shape.js";
import type { TapeRecord } from "../autograd/tape.js";
import { runBackward, type BackwardOptions } from "../autograd/tape.js";
import { versionOf } from "./version.js";
import * as elementwise from "../ops/elementwise.js";
import * as reduce from "../ops/reduce.js";
import * as views from "../ops/views.js";
import * as linalg from "../ops/matmul.js";
import * as indexing from "../ops/indexing.js";
import * as activations from "../ops/activations.js";

export type DType = "float32" | "float64";
export type TypedArray = Float32Array | Float64Array;
export type Storage = NdArray<TypedArray>;
/** A number or a tensor: binary ops accept either, as in PyTorch. */
export type TensorLike = Tensor | number;

export function allocate(dtype: DType, size: number): TypedArray {
  return dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
}

export function dtypeOf(array: TypedArray): DType {
  return array instanceof Float64Array ? "float64" : "float32";
}

export class Tensor {
  /** The ndarray view: `storage.data` is the buffer, with `shape`, `stride` and `offset`. */
  readonly storage: Storage;
  readonly dtype: DType;
  /** Whether gradients flow to (leaf) or through (non-leaf) this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`; same shape and dtype as the tensor. */
  grad: Tensor | null = null;
  /** The tape record of the op that produced this tensor; null for leaves and untracked results. */
  gradFn: TapeRecord | null = null;

  constructor(storage: Storage, requiresGrad = false) {
    this.storage = storage;
    this.dtype = dtypeOf(storage.data);
    this.requiresGrad = requiresGrad;
  }

  /** A fresh contiguous tensor over `data` (row-major), with the given shape. */
  static fromTypedArray(data: TypedArray, shape: Shape, requiresGrad = false): Tensor {
    if (numel(shape) !== data.length) {
      throw new Error(`tensor: ${data.length} values cannot fill shape ${shapeToString(shape)} (needs ${numel(shape)})`);
    }
    return new Tensor(ndarray(data, shape.slice(), contiguousStrides(shape), 0), requiresGrad);
  }

  get shape(): number[] {
    return this.storage.shape.slice();
  }
  get ndim(): number {
    return this.storage.shape.length;
  }
  /** Number of elements (PyTorch: `numel()`). */
  numel(): number {
    return numel(this.storage.shape);
  }
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
  /**
   * How many times this tensor's buffer has been written in place (PyTorch: `_version`). Shared by
   * every view of the buffer; backward checks it (src/tensor/version.ts).
   */
  get version(): number {
    return versionOf(this);
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
      ops.assign(ndarray(out, this.shape, contiguousStrides(this.shape), 0), this.storage);
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

  toString(): string {
    return `Tensor(shape=${shapeToString(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  // ---- autograd -------------------------------------------------------------------------

  /**
   * Reverse-mode differentiation from this tensor: replays the tape backwards and accumulates
   * into `.grad` of every leaf with `requiresGrad`. A non-scalar needs an explicit `gradient`.
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward(this, gradient, options);
  }

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

  // ---- elementwise ----------------------------------------------------------------------
  add(other: TensorLike): Tensor { return elementwise.add(this, other); }
  sub(other: TensorLike): Tensor { return elementwise.sub(this, other); }
  mul(other: TensorLike): Tensor { return elementwise.mul(this, other); }
  div(other: TensorLike): Tensor { return elementwise.div(this, other); }
  pow(exponent: TensorLike): Tensor { return elementwise.pow(this, exponent); }
  maximum(other: TensorLike): Tensor { return elementwise.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return elementwise.minimum(this, other); }
  neg(): Tensor { return elementwise.neg(this); }
  exp(): Tensor { return elementwise.exp(this); }
  log(): Tensor { return elementwise.log(this); }
  sqrt(): Tensor { return elementwise.sqrt(this); }
  abs(): Tensor { return elementwise.abs(this); }
  square(): Tensor { return elementwise.square(this); }
  tanh(): Tensor { return activations.tanh(this); }
  sigmoid(): Tensor { return activations.sigmoid(this); }
  relu(): Tensor { return activations.relu(this); }
  gelu(): Tensor { return activations.gelu(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return elementwise.clamp(this, min, max); }
  /** Cast to another dtype (differentiable: the gradient is cast back). */
  to(dtype: DType): Tensor { return elementwise.to(this, dtype); }
  double(): Tensor { return this.to("float64"); }
  float(): Tensor { return this.to("float32"); }
  /** A contiguous copy that stays in the graph. */
  clone(): Tensor { return elementwise.clone(this); }
  /** This tensor if already contiguous, else a contiguous copy (in the graph). */
  contiguous(): Tensor { return this.isContiguous() ? this : elementwise.clone(this); }

  // ---- reductions -----------------------------------------------------------------------
  sum(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.sum(this, dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.mean(this, dim, keepdim); }
  /** Maximum values (over everything, or along `dim`). PyTorch's `max(dim)` also returns indices: use `argmax`. */
  max(dim?: number | null, keepdim = false): Tensor { return reduce.max(this, dim, keepdim); }
  min(dim?: number | null, keepdim = false): Tensor { return reduce.min(this, dim, keepdim); }
  argmax(dim?: number | null, keepdim = false): Tensor { return reduce.argmax(this, dim, keepdim); }
  /** Variance (unbiased by default, as torch.var). */
  var(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.variance(this, dim, options);
  }
  std(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.std(this, dim, options);
  }
  /** p-norm over everything or along `dim`. */
  norm(p = 2, dim?: number | null, keepdim = false): Tensor { return reduce.norm(this, p, dim, keepdim); }
  logsumexp(dim: number, keepdim = false): Tensor { return activations.logsumexp(this, dim, keepdim); }
  softmax(dim: number): Tensor { return activations.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return activations.logSoftmax(this, dim); }

  // ---- linear algebra -------------------------------------------------------------------
  matmul(other: Tensor): Tensor { return linalg.matmul(this, other); }
  mm(other: Tensor): Tensor { return linalg.matmul(this, other); }

  // ---- views and shapes -----------------------------------------------------------------
  transpose(dim0: number, dim1: number): Tensor { return views.transpose(this, dim0, dim1); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return views.transpose(this, 0, 1); }
  get T(): Tensor { return views.permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); }
  permute(...dims: number[] | [number[]]): Tensor { return views.permute(this, flattenArgs(dims)); }
  reshape(...shape: number[] | [number[]]): Tensor { return views.reshape(this, flattenArgs(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return views.reshape(this, flattenArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return views.flatten(this, startDim, endDim); }
  unsqueeze(dim: number): Tensor { return views.unsqueeze(this, dim); }
  squeeze(dim?: number): Tensor { return views.squeeze(this, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return views.expand(this, flattenArgs(shape)); }
  expandAs(other: Tensor): Tensor { return views.expand(this, other.shape); }
  narrow(dim: number, start: number, length: number): Tensor { return views.narrow(this, dim, start, length); }
  /** Python's `x[start:end]` along `dim` (end exclusive, negative indices allowed, step ≥ 1). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return views.slice(this, dim, start, end, step); }
  /** `x[index]` along `dim`, dropping that axis (PyTorch `select`). */
  select(dim: number, index: number): Tensor { return views.select(this, dim, index); }

  // ---- indexing -------------------------------------------------------------------------
  indexSelect(dim: number, index: IndexLike): Tensor { return indexing.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return indexing.gather(this, dim, index); }
  maskedFill(mask: Tensor, value: number): Tensor { return indexing.maskedFill(this, mask, value); }
}

export type NestedArray = number | NestedArray[];
export type IndexLike = Tensor | Int32Array | readonly number[];

function flattenArgs(args: number[] | [number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]).slice() : (args as number[]);
}
