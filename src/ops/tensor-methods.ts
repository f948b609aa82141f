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
 *
 * @module
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
  /** `x + other`, broadcasting: `add(x, other)`. PyTorch: `Tensor.add`. */
  add(other: TensorLike): Tensor {
    return elementwise.add(this, other);
  },
  /** `x − other`, broadcasting: `sub(x, other)`. PyTorch: `Tensor.sub`. */
  sub(other: TensorLike): Tensor {
    return elementwise.sub(this, other);
  },
  /** `x · other` elementwise, broadcasting: `mul(x, other)`. PyTorch: `Tensor.mul`. */
  mul(other: TensorLike): Tensor {
    return elementwise.mul(this, other);
  },
  /** `x / other` elementwise, broadcasting: `div(x, other)`. PyTorch: `Tensor.div`. */
  div(other: TensorLike): Tensor {
    return elementwise.div(this, other);
  },
  /** `x ** exponent` elementwise: `pow(x, exponent)`. PyTorch: `Tensor.pow`. */
  pow(exponent: TensorLike): Tensor {
    return elementwise.pow(this, exponent);
  },
  /** Elementwise maximum of x and other: `maximum(x, other)`. PyTorch: `Tensor.maximum`. */
  maximum(other: TensorLike): Tensor {
    return elementwise.maximum(this, other);
  },
  /** Elementwise minimum of x and other: `minimum(x, other)`. PyTorch: `Tensor.minimum`. */
  minimum(other: TensorLike): Tensor {
    return elementwise.minimum(this, other);
  },
  /** `−x`: `neg(x)`. PyTorch: `Tensor.neg`. */
  neg(): Tensor {
    return elementwise.neg(this);
  },
  /** `eˣ` elementwise: `exp(x)`. PyTorch: `Tensor.exp`. */
  exp(): Tensor {
    return elementwise.exp(this);
  },
  /** Natural logarithm elementwise: `log(x)`. PyTorch: `Tensor.log`. */
  log(): Tensor {
    return elementwise.log(this);
  },
  /** `√x` elementwise: `sqrt(x)`. PyTorch: `Tensor.sqrt`. */
  sqrt(): Tensor {
    return elementwise.sqrt(this);
  },
  /** `|x|` elementwise: `abs(x)`. PyTorch: `Tensor.abs`. */
  abs(): Tensor {
    return elementwise.abs(this);
  },
  /** `x²` elementwise: `square(x)`. PyTorch: `Tensor.square`. */
  square(): Tensor {
    return elementwise.square(this);
  },
  /** Hyperbolic tangent elementwise: `tanh(x)`. PyTorch: `Tensor.tanh`. */
  tanh(): Tensor {
    return activations.tanh(this);
  },
  /** `1 / (1 + e⁻ˣ)` elementwise: `sigmoid(x)`. PyTorch: `Tensor.sigmoid`. */
  sigmoid(): Tensor {
    return activations.sigmoid(this);
  },
  /** `max(x, 0)` elementwise: `relu(x)`. PyTorch: `Tensor.relu`. */
  relu(): Tensor {
    return activations.relu(this);
  },
  /** GELU (the exact erf form) elementwise: `gelu(x)`. PyTorch: `torch.nn.functional.gelu`. */
  gelu(): Tensor {
    return activations.gelu(this);
  },
  /** Clip to [min, max] (either bound may be omitted or null): `clamp(x, min, max)`. PyTorch: `Tensor.clamp`. */
  clamp(min?: number | null, max?: number | null): Tensor {
    return elementwise.clamp(this, min, max);
  },
  /** Cast to another dtype (differentiable: the gradient is cast back). */
  to(dtype: DType): Tensor {
    return elementwise.to(this, dtype);
  },
  /** Cast to float64 (in the graph). PyTorch: `Tensor.double`. */
  double(): Tensor {
    return this.to("float64");
  },
  /** Cast to float32 (in the graph). PyTorch: `Tensor.float`. */
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
  /**
   * Sum over everything, or over `dim` (one axis or several), keeping them as size 1 if `keepdim`: `sum(x, dim, keepdim)`. PyTorch:
   * `Tensor.sum`.
   */
  sum(dim?: number | number[] | null, keepdim = false): Tensor {
    return reduce.sum(this, dim, keepdim);
  },
  /** Mean over everything or over `dim`: `mean(x, dim, keepdim)`. PyTorch: `Tensor.mean`. */
  mean(dim?: number | number[] | null, keepdim = false): Tensor {
    return reduce.mean(this, dim, keepdim);
  },
  /** Maximum values (over everything, or along `dim`). PyTorch's `max(dim)` also returns indices: use `argmax`. */
  max(dim?: number | null, keepdim = false): Tensor {
    return reduce.max(this, dim, keepdim);
  },
  /** Minimum values (over everything, or along `dim`); the indices are not returned. PyTorch: `Tensor.amin`. */
  min(dim?: number | null, keepdim = false): Tensor {
    return reduce.min(this, dim, keepdim);
  },
  /** Index of the maximum (over the flattened tensor, or along `dim`), as a tensor of indices. PyTorch: `Tensor.argmax`. */
  argmax(dim?: number | null, keepdim = false): Tensor {
    return reduce.argmax(this, dim, keepdim);
  },
  /** Variance (unbiased by default, as torch.var). */
  var(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.variance(this, dim, options);
  },
  /** Standard deviation, the square root of {@link Tensor.var} (unbiased by default). PyTorch: `Tensor.std`. */
  std(dim?: number | number[] | null, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return reduce.std(this, dim, options);
  },
  /** p-norm over everything or along `dim`. */
  norm(p = 2, dim?: number | null, keepdim = false): Tensor {
    return reduce.norm(this, p, dim, keepdim);
  },
  /** `log Σ exp(x)` along `dim`, computed stably: `logsumexp(x, dim, keepdim)`. PyTorch: `Tensor.logsumexp`. */
  logsumexp(dim: number, keepdim = false): Tensor {
    return activations.logsumexp(this, dim, keepdim);
  },
  /** Softmax along `dim`: `softmax(x, dim)`. PyTorch: `Tensor.softmax`. */
  softmax(dim: number): Tensor {
    return activations.softmax(this, dim);
  },
  /** Log-softmax along `dim`, computed stably: `logSoftmax(x, dim)`. PyTorch: `Tensor.log_softmax`. */
  logSoftmax(dim: number): Tensor {
    return activations.logSoftmax(this, dim);
  },

  // ---- linear algebra -------------------------------------------------------------------
  /** Matrix product, `(…, N, K) @ (…, K, M) → (…, N, M)`: `matmul(x, other)`. PyTorch: `Tensor.matmul`. */
  matmul(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  },
  /** Matrix product, the same as {@link Tensor.matmul}. PyTorch: `Tensor.mm`. */
  mm(other: Tensor): Tensor {
    return linalg.matmul(this, other);
  },

  // ---- views and shapes -----------------------------------------------------------------
  /** Swap axes `dim0` and `dim1` (a view, no copy): `transpose(x, dim0, dim1)`. PyTorch: `Tensor.transpose`. */
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  },
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    return views.transpose(this, 0, 1);
  },
  /** All axes reversed (a view). PyTorch: `Tensor.T`. */
  get T(): Tensor {
    return views.permute(this, this.shape.map((_, i) => this.ndim - 1 - i));
  },
  /** Reorder the axes (a view): `x.permute(1, 0)` or `x.permute([1, 0])`. PyTorch: `Tensor.permute`. */
  permute(...dims: number[] | [number[]]): Tensor {
    return views.permute(this, flattenArgs(dims));
  },
  /**
   * The same values in a new shape (a view when possible, one axis may be −1): `x.reshape(2, 3)` or `x.reshape([2, 3])`. PyTorch:
   * `Tensor.reshape`.
   */
  reshape(...shape: number[] | [number[]]): Tensor {
    return views.reshape(this, flattenArgs(shape));
  },
  /** The same as {@link Tensor.reshape}. PyTorch: `Tensor.view`. */
  view(...shape: number[] | [number[]]): Tensor {
    return views.reshape(this, flattenArgs(shape));
  },
  /** Merge axes `startDim…endDim` (inclusive) into one: `flatten(x, startDim, endDim)`. PyTorch: `Tensor.flatten`. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  },
  /** Insert an axis of size 1 at `dim` (a view). PyTorch: `Tensor.unsqueeze`. */
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  },
  /** Drop the axis `dim` if it has size 1, or every size-1 axis when `dim` is omitted (a view). PyTorch: `Tensor.squeeze`. */
  squeeze(dim?: number): Tensor {
    return views.squeeze(this, dim);
  },
  /** Broadcast size-1 axes to a larger shape without copying (stride 0). PyTorch: `Tensor.expand`. */
  expand(...shape: number[] | [number[]]): Tensor {
    return views.expand(this, flattenArgs(shape));
  },
  /** Broadcast to `other`'s shape (a view). PyTorch: `Tensor.expand_as`. */
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  },
  /** The `length` entries from `start` along `dim` (a view). PyTorch: `Tensor.narrow`. */
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
  /** The entries at `index` along `dim` (a copy): `indexSelect(x, dim, index)`. PyTorch: `Tensor.index_select`. */
  indexSelect(dim: number, index: IndexLike): Tensor {
    return indexing.indexSelect(this, dim, index);
  },
  /** `out[i][j] = x[i][index[i][j]]` for dim 1 (and so on for other dims): `gather(x, dim, index)`. PyTorch: `Tensor.gather`. */
  gather(dim: number, index: Tensor): Tensor {
    return indexing.gather(this, dim, index);
  },
  /** A copy with `value` where `mask` is nonzero (mask broadcast to x): `maskedFill(x, mask, value)`. PyTorch: `Tensor.masked_fill`. */
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
