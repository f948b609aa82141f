/**
 * The strided array every tensor is stored as, and the elementwise loops over it.
 *
 *   element (i₀, …, iₙ₋₁) of a view sits at   data[offset + i₀·stride₀ + … + iₙ₋₁·strideₙ₋₁]
 *
 * A transpose swaps two strides, a slice moves the offset, a broadcast sets a stride to 0: new views
 * over one buffer, nothing copied. This is scijs `ndarray`'s layout and its API (`get`, `set`, `lo`,
 * `hi`, `step`, `transpose`, `pick`, `size`, `order`), so `tensor.storage` can still be handed to
 * scijs code. What it does not share is how it is built: `ndarray` compiles one class per dtype and
 * rank with `new Function`, and `ndarray-ops` one loop per op and layout (cwise). Code built at run
 * time is refused by a page whose Content-Security-Policy lacks `'unsafe-eval'` (an EvalError on the
 * first tensor), so both are replaced by the plain class and the plain loops below, written once for
 * any rank. spec/tensor/strided.spec.ts checks every loop against the ndarray-ops kernel it replaces
 * (random shapes, strides, offsets, both dtypes, ±0, ±∞, NaN), bit for bit. docs/performance.md,
 * "Plain loops instead of generated code", has what it cost.
 *
 * @module
 */
/** The element buffers tensors use (the same union as `TypedArray` in ./tensor.ts, restated here to avoid an import cycle). */
type TypedArray = Float32Array | Float64Array;

/** What a strided view is made of; anything with these four fields (a scijs ndarray too) can become a tensor's storage. */
export interface StridedLike<D extends TypedArray = TypedArray> {
  data: D;
  shape: number[];
  stride: number[];
  offset: number;
}

/** Row-major strides of a shape: the last axis moves fastest. (Same as contiguousStrides in ./shape.ts, kept local: no import cycle.) */
function rowMajor(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    stride[axis] = step;
    step *= shape[axis];
  }
  return stride;
}

/**
 * A strided view over a typed array, with scijs ndarray's API. PyTorch: the `(storage, size,
 * stride, storage_offset)` quadruple behind every `torch.Tensor`.
 */
export class StridedArray<D extends TypedArray = TypedArray> implements StridedLike<D> {
  constructor(
    public data: D,
    public shape: number[],
    public stride: number[],
    public offset: number,
  ) {}

  /** Number of elements: the product of the shape. */
  get size(): number {
    let size = 1;
    for (const d of this.shape) size *= d;
    return size;
  }
  /** Number of axes. */
  get dimension(): number {
    return this.shape.length;
  }
  /** The element type's name, as scijs ndarray reports it. */
  get dtype(): "float32" | "float64" {
    return this.data instanceof Float64Array ? "float64" : "float32";
  }
  /** The axes from fastest-moving to slowest (sorted by |stride|), as scijs ndarray's `order`. */
  get order(): number[] {
    return this.shape.map((_, axis) => axis).sort((p, q) => Math.abs(this.stride[p]) - Math.abs(this.stride[q]));
  }

  /** The position in `data` of element (i₀, i₁, …). */
  index(...indices: number[]): number {
    let position = this.offset;
    for (let axis = 0; axis < this.shape.length; axis++) position += this.stride[axis] * indices[axis];
    return position;
  }
  /** Element (i₀, i₁, …). */
  get(...indices: number[]): number {
    return this.data[this.index(...indices)];
  }
  /** Set element (i₀, i₁, …) to the last argument; returns it. */
  set(...indicesThenValue: number[]): number {
    const value = indicesThenValue[this.shape.length];
    this.data[this.index(...indicesThenValue)] = value;
    return value;
  }
  /** The view starting at (i₀, i₁, …) (an axis whose argument is not a number ≥ 0 is kept whole). */
  lo(...begin: (number | null | undefined)[]): StridedArray<D> {
    const shape = this.shape.slice();
    let offset = this.offset;
    shape.forEach((d, axis) => {
      const b = begin[axis];
      if (typeof b === "number" && b >= 0) {
        offset += this.stride[axis] * b;
        shape[axis] = d - b;
      }
    });
    return new StridedArray(this.data, shape, this.stride.slice(), offset);
  }
  /** The view of the first (n₀, n₁, …) elements along each axis (same rule for skipped axes as `lo`). */
  hi(...end: (number | null | undefined)[]): StridedArray<D> {
    const shape = this.shape.map((d, axis) => {
      const e = end[axis];
      return typeof e === "number" && e >= 0 ? e : d;
    });
    return new StridedArray(this.data, shape, this.stride.slice(), this.offset);
  }
  /** Every s-th element along each axis; a negative step walks the axis backwards from its end (0 or a non-number keeps the axis). */
  step(...steps: (number | null | undefined)[]): StridedArray<D> {
    const shape = this.shape.slice();
    const stride = this.stride.slice();
    let offset = this.offset;
    shape.forEach((d, axis) => {
      const s = steps[axis];
      if (typeof s !== "number" || s === 0) return;
      const by = Math.trunc(s);
      if (by < 0) {
        offset += stride[axis] * (d - 1);
        shape[axis] = Math.ceil(-d / by);
      } else {
        shape[axis] = Math.ceil(d / by);
      }
      stride[axis] *= by;
    });
    return new StridedArray(this.data, shape, stride, offset);
  }
  /** The axes in the given order (the identity for omitted ones). */
  transpose(...axes: number[]): StridedArray<D> {
    const order = this.shape.map((_, axis) => (axes[axis] === undefined ? axis : axes[axis]));
    return new StridedArray(this.data, order.map((a) => this.shape[a]), order.map((a) => this.stride[a]), this.offset);
  }
  /** Fix the axes given a number ≥ 0 at that index, dropping them; other axes are kept. */
  pick(...indices: (number | null | undefined)[]): StridedArray<D> {
    const shape: number[] = [];
    const stride: number[] = [];
    let offset = this.offset;
    this.shape.forEach((d, axis) => {
      const i = indices[axis];
      if (typeof i === "number" && i >= 0) offset += this.stride[axis] * i;
      else {
        shape.push(d);
        stride.push(this.stride[axis]);
      }
    });
    return new StridedArray(this.data, shape, stride, offset);
  }
  /** The axes reversed. */
  get T(): StridedArray<D> {
    return this.transpose(...this.shape.map((_, axis) => this.shape.length - 1 - axis));
  }
}

/** A strided view over `data` (row-major strides and offset 0 unless given); scijs: `ndarray(data, shape, stride, offset)`. */
export function stridedArray<D extends TypedArray>(data: D, shape: number[], stride?: number[], offset = 0): StridedArray<D> {
  return new StridedArray(data, shape, stride ?? rowMajor(shape), offset);
}

// ---- the loops ----------------------------------------------------------------------------------
//
// Every loop below walks all elements of `out` (row-major) together with the same element of each
// operand. The walk is split into innermost rows: the axes are first simplified (axes of length 1
// dropped, neighbouring axes merged where every operand steps through them as through one), so a
// contiguous or broadcast operand usually becomes one long row with a constant step, and the op
// itself is one `for` over that row. Each op has its own row function (not one generic loop with a
// callback per element), so that each stays a small monomorphic loop the JIT compiles well.

/** One innermost row: n elements, out at o[oi + k·os], the operand at x[xi + k·xs], and a scalar s. */
type Row2 = (n: number, o: TypedArray, oi: number, os: number, x: TypedArray, xi: number, xs: number, s: number) => void;
/** One innermost row of a binary op: out, a and b each with a start and a step. */
type Row3 = (
  n: number,
  o: TypedArray,
  oi: number,
  os: number,
  x: TypedArray,
  xi: number,
  xs: number,
  y: TypedArray,
  yi: number,
  ys: number,
) => void;

/**
 * The walk's axes: `shape` with its length-1 axes dropped and mergeable neighbours merged. Axis k and
 * k+1 merge when every operand has stride_k = stride_{k+1}·shape_{k+1} (walking k+1 to its end lands
 * on the next k). Returns the simplified shape (at least one axis) and each operand's strides.
 */
function simplify(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const d = shape[axis];
    if (d === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[axis] * d)) {
      outShape[last] *= d;
      strides.forEach((s, k) => (outStrides[k][last] = s[axis]));
    } else {
      outShape.push(d);
      strides.forEach((s, k) => outStrides[k].push(s[axis]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

function anyEmpty(shape: readonly number[]): boolean {
  for (const d of shape) if (d === 0) return true;
  return false;
}

/** Walk out and one operand row by row, calling `row` (with the scalar s) on each innermost row. */
function walk2(out: StridedLike, a: StridedLike, s: number, row: Row2): void {
  if (anyEmpty(out.shape)) return;
  const { shape, strides } = simplify(out.shape, [out.stride, a.stride]);
  const [os, as] = strides;
  const inner = shape.length - 1;
  const n = shape[inner];
  const index = new Array<number>(inner).fill(0);
  let oi = out.offset;
  let ai = a.offset;
  for (;;) {
    row(n, out.data, oi, os[inner], a.data, ai, as[inner], s);
    let axis = inner - 1; // the odometer: advance the last outer axis, carrying into earlier ones
    for (; axis >= 0; axis--) {
      oi += os[axis];
      ai += as[axis];
      if (++index[axis] < shape[axis]) break;
      oi -= os[axis] * shape[axis];
      ai -= as[axis] * shape[axis];
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

/** Walk out and two operands row by row, calling `row` on each innermost row. */
function walk3(out: StridedLike, a: StridedLike, b: StridedLike, row: Row3): void {
  if (anyEmpty(out.shape)) return;
  const { shape, strides } = simplify(out.shape, [out.stride, a.stride, b.stride]);
  const [os, as, bs] = strides;
  const inner = shape.length - 1;
  const n = shape[inner];
  const index = new Array<number>(inner).fill(0);
  let oi = out.offset;
  let ai = a.offset;
  let bi = b.offset;
  for (;;) {
    row(n, out.data, oi, os[inner], a.data, ai, as[inner], b.data, bi, bs[inner]);
    let axis = inner - 1;
    for (; axis >= 0; axis--) {
      oi += os[axis];
      ai += as[axis];
      bi += bs[axis];
      if (++index[axis] < shape[axis]) break;
      oi -= os[axis] * shape[axis];
      ai -= as[axis] * shape[axis];
      bi -= bs[axis] * shape[axis];
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

/** A binary op's row function over o = a ∘ b. */
function binary(row: Row3): (out: StridedLike, a: StridedLike, b: StridedLike) => void {
  return (out, a, b) => walk3(out, a, b, row);
}
/** A unary op's row function over o = f(a) (s: the op's scalar, if any). */
function unary(row: Row2): (out: StridedLike, a: StridedLike) => void {
  return (out, a) => walk2(out, a, 0, row);
}

/**
 * The elementwise kernels, named as in scijs ndarray-ops (each writes into its first argument; the
 * operands have out's shape and any strides, 0 for a broadcast axis):
 *   assign(o, a): o = a          add/sub/mul/div(o, a, b): o = a ∘ b     max/min/pow(o, a, b): Math.f(a, b)
 *   addeq(o, a): o += a          mulseq(o, s): o ·= s                     pows(o, a, s): o = a^s
 *   neg/exp/log/sqrt/abs(o, a): o = f(a)
 * The arithmetic is the same JavaScript expression ndarray-ops generates (`a=b+c`, `a=Math.exp(b)`),
 * so every result is the same double rounded once into the output's dtype: the same bits.
 */
export const loops = {
  assign: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = x[xi];
  }),
  addeq: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] += x[xi];
  }),
  mulseq: (out: StridedLike, s: number): void =>
    walk2(out, out, s, (n, o, oi, os, _x, _xi, _xs, scalar) => {
      for (let k = 0; k < n; k++, oi += os) o[oi] *= scalar;
    }),
  pows: (out: StridedLike, a: StridedLike, s: number): void =>
    walk2(out, a, s, (n, o, oi, os, x, xi, xs, scalar) => {
      for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = Math.pow(x[xi], scalar);
    }),
  add: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = x[xi] + y[yi];
  }),
  sub: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = x[xi] - y[yi];
  }),
  mul: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = x[xi] * y[yi];
  }),
  div: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = x[xi] / y[yi];
  }),
  max: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = Math.max(x[xi], y[yi]);
  }),
  min: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = Math.min(x[xi], y[yi]);
  }),
  pow: binary((n, o, oi, os, x, xi, xs, y, yi, ys) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs, yi += ys) o[oi] = Math.pow(x[xi], y[yi]);
  }),
  neg: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = -x[xi];
  }),
  exp: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = Math.exp(x[xi]);
  }),
  log: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = Math.log(x[xi]);
  }),
  sqrt: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = Math.sqrt(x[xi]);
  }),
  abs: unary((n, o, oi, os, x, xi, xs) => {
    for (let k = 0; k < n; k++, oi += os, xi += xs) o[oi] = Math.abs(x[xi]);
  }),
} as const;
