/**
 * Tensor's method forms of the ops: `x.add(y)` is `add(x, y)`, `x.sum(1, true)` is
 * `sum(x, 1, true)`, `x.t()` is `transpose(x, 0, 1)`. Each method only forwards to the function in
 * src/ops, where the op's forward, its gradient rule and its checks live.
 *
 * Why here and not in src/tensor/tensor.ts: the tensor layer imports nothing above it, and the ops
 * need Tensor. So the class is defined below the ops, and this module, in the ops layer, adds the
 * methods to its prototype (TypeScript's declaration merging gives them their types). tfjs does the
 * same (`tfjs-core/src/public/chained_ops`). The package entry (src/index.ts) and the CLI load it;
 * the table of method ↔ function is in docs/tensor-and-autograd.md.
 *
 * PyTorch: the methods of `torch.Tensor`, in camelCase.
 */
import { Tensor, type DType, type IndexLike, type TensorLike } from "../tensor/tensor.js";
import * as elementwise from "./elementwise.js";
import * as reduce from "./reduce.js";
import * as views from "./views.js";
import * as linalg from "./matmul.js";
import * as indexing from "./indexing.js";
import * as activations from "./activations.js";

/** Type the methods' `this` as a Tensor (they run with a Tensor receiver once attached). */
function withTensorReceiver<Methods>(methods: Methods & ThisType<Tensor>): Methods {
  return methods;
}

/**
 * The method forms by name, attached to `Tensor.prototype` below. Exported (not re-exported by the
 * package entry) because TypeScript keeps the `import { Tensor, … }` in the emitted .d.ts only for
 * an exported const: without it dist/ops/tensor-methods.d.ts names `Tensor` unresolved (TS2304 for
 * users with `skipLibCheck: false`); spec/package/package.spec.ts checks this.
 */
export const tensorMethods = withTensorReceiver({
  // ---- elementwise ----------------------------------------------------------------------
  add(other: TensorLike): Tensor {
    return elementwise.add(this, other);
  },
  sub(other: TensorLike): Tensor {
    return elementwise.sub(this, other);
  },
  mul(other: TensorLike): Tensor {
    return elementwise.mul(this, other);
  },
  div(other: TensorLike): Tensor {
    return elementwise.div(this, other);
  },
  pow(exponent: TensorLike): Tensor {
    return elementwise.pow(this, exponent);
  },
  maximum(other: TensorLike): Tensor {
    return elementwise.maximum(this, other);
  },
  minimum(other: TensorLike): Tensor {
    return elementwise.minimum(this, other);
  },
  neg(): Tensor {
    return elementwise.neg(this);
  },
  exp(): Tensor {
    return elementwise.exp(this);
  },
  log(): Tensor {
    return elementwise.log(this);
  },
  sqrt(): Tensor {
    return elementwise.sqrt(this);
  },
  abs(): Tensor {
    return elementwise.abs(this);
  },
  square(): Tensor {
    return elementwise.square(this);
  },
  tanh(): Tensor {
    return activations.tanh(this);
  },
  sigmoid(): Tensor {
    return activations.sigmoid(this);
  },
  relu(): Tensor {
    return activations.relu(this);
  },
  gelu(): Tensor {
    return activations.gelu(this);
  },
  clamp(min?: number | null, max?: number | null): Tensor {
    return elementwise.clamp(this, min, max);
  },
  /** Cast to another dtype (differentiable: the gradient is cast back). */
  to(dtype: DType): Tensor {
    return elementwise.to(this, dtype);
  },
  double(): Tensor {
    return this.to("float64");
  },
  float(): Tensor {
    return this.to("float32");
  },
  /** A contiguous copy that stays in the graph. */
  clone(): Tensor {
    return elementwise.clone(this);
  },
  /** This tensor if already contiguous, else a contiguous copy (in the graph). */
  contiguous(): Tensor {
    return this.isContiguous() ? this : elementwise.clone(this);
  },

  // ---- reductions -----------------------------------------------------------------------
  sum(dim?: number | number[] | null, keepdim = false): Tensor {
    return reduce.sum(this, dim, keepdim);
  },
  mean(dim?: number | number[] | null, keepdim = false): Tensor {
    return reduce.mean(this, dim, keepdim);
  },
  /** Maximum values (over everything, or along `dim`). PyTorch's `max(dim)` also returns indices: use `argmax`. */
  max(dim?: number | null, keepdim = false): Tensor {
    return reduce.max(this, dim, keepdim);
  },
  min(dim?: number | null, keepdim = false): Tensor {
    return reduce.min(this, dim, keepdim);
  },
  argmax(dim?: number | null, keepdim = false): Tensor {
    return reduce.argmax(this, dim, keepdim);
  },
  /** Variance (unbiased by default, as torch.var). */
  var(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.variance(this, dim, options);
  },
  std(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.std(this, dim, options);
  },
  /** p-norm over everything or along `dim`. */
  norm(p = 2, dim?: number | null, keepdim = false): Tensor {
    return reduce.norm(this, p, dim, keepdim);
  },
  logsumexp(dim: number, keepdim = false): Tensor {
    return activations.logsumexp(this, dim, keepdim);
  },
  softmax(dim: number): Tensor {
    return activations.softmax(this, dim);
  },
  logSoftmax(dim: number): Tensor {
    return activations.logSoftmax(this, dim);
  },

  // ---- linear algebra -------------------------------------------------------------------
  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  },
  mm(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  },

  // ---- views and shapes -----------------------------------------------------------------
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  },
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    return views.transpose(this, 0, 1);
  },
  get T(): Tensor {
    return views.permute(this, this.shape.map((_, i) => this.ndim - 1 - i));
  },
  permute(...dims: number[] | [number[]]): Tensor {
    return views.permute(this, flattenArgs(dims));
  },
  reshape(...shape: number[] | [number[]]): Tensor {
    return views.reshape(this, flattenArgs(shape));
  },
  view(...shape: number[] | [number[]]): Tensor {
    return views.reshape(this, flattenArgs(shape));
  },
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  },
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  },
  squeeze(dim?: number): Tensor {
    return views.squeeze(this, dim);
  },
  expand(...shape: number[] | [number[]]): Tensor {
    return views.expand(this, flattenArgs(shape));
  },
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  },
  narrow(dim: number, start: number, length: number): Tensor {
    return views.narrow(this, dim, start, length);
  },
  /** Python's `x[start:end]` along `dim` (end exclusive, negative indices allowed, step ≥ 1). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return views.slice(this, dim, start, end, step);
  },
  /** `x[index]` along `dim`, dropping that axis (PyTorch `select`). */
  select(dim: number, index: number): Tensor {
    return views.select(this, dim, index);
  },

  // ---- indexing -------------------------------------------------------------------------
  indexSelect(dim: number, index: IndexLike): Tensor {
    return indexing.indexSelect(this, dim, index);
  },
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  },
  maskedFill(mask: Tensor, value: number): Tensor {
    return indexing.maskedFill(this, mask, value);
  },
});

type TensorMethods = typeof tensorMethods;

declare module "../tensor/tensor.js" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Tensor extends TensorMethods {}
}

// Non-enumerable, as methods defined in a class body are.
for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(tensorMethods))) {
  Object.defineProperty(Tensor.prototype, name, { ...descriptor, enumerable: false });
}

/** `reshape(2, 3)` and `reshape([2, 3])` both mean the shape [2, 3]. */
function flattenArgs(args: number[] | [number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]).slice() : (args as number[]);
}
