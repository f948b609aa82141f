/**
 * Elementwise ops. Binary ops broadcast by NumPy rules and accept a number for either operand.
 *
 * Each op is written as: the math, the forward, and the gradient rule (vector–Jacobian product)
 * right below it. Rules may return gradients in the broadcast output shape; the tape sums them
 * back to each input's shape (see src/autograd/tape.ts), so no rule deals with broadcasting.
 *
 * Forward kernels: the strided loops of src/tensor/strided.ts (add, sub, mul, div, exp, log, …, named
 * as in scijs `ndarray-ops`, which they replace) run over the broadcast views directly, with stride 0
 * along broadcast axes, so broadcasting never materializes a copy.
 *
 * @module
 */
import { loops } from "../tensor/strided.js";
import { Tensor, type DType, type TensorLike, type TypedArray } from "../tensor/tensor.js";
import { broadcastShapes, sameShape } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { asTensor, broadcastView, contiguousData, copyStorage, emptyTensor, requireTensor } from "./util.js";
import { checkDType } from "../tensor/tensor.js";

type Kernel = (out: Parameters<typeof loops.add>[0], a: Parameters<typeof loops.add>[1], b: Parameters<typeof loops.add>[2]) => unknown;

/**
 * The same arithmetic over flat buffers: o[i] = a[aStart + i·aStep] ∘ b[bStart + i·bStep] for every
 * i < o.length, with each step 1 (an operand laid out exactly like the output) or 0 (a one-element
 * operand broadcast to every position). A plain loop: no per-call code generation or per-element
 * dispatch as in the strided loops, whose `Kernel` stays the path for every other layout and the
 * reference that spec/ops/elementwise-fast-path.spec.ts compares this one against, bit for bit.
 */
type FlatKernel = (o: TypedArray, a: TypedArray, aStart: number, aStep: number, b: TypedArray, bStart: number, bStep: number) => void;

const addFlat: FlatKernel = (o, a, aStart, aStep, b, bStart, bStep) => {
  for (let i = 0, p = aStart, q = bStart; i < o.length; i++, p += aStep, q += bStep) o[i] = a[p] + b[q];
};
const subFlat: FlatKernel = (o, a, aStart, aStep, b, bStart, bStep) => {
  for (let i = 0, p = aStart, q = bStart; i < o.length; i++, p += aStep, q += bStep) o[i] = a[p] - b[q];
};
const mulFlat: FlatKernel = (o, a, aStart, aStep, b, bStart, bStep) => {
  for (let i = 0, p = aStart, q = bStart; i < o.length; i++, p += aStep, q += bStep) o[i] = a[p] * b[q];
};
const divFlat: FlatKernel = (o, a, aStart, aStep, b, bStart, bStep) => {
  for (let i = 0, p = aStart, q = bStart; i < o.length; i++, p += aStep, q += bStep) o[i] = a[p] / b[q];
};

/** Where an operand's values sit for a FlatKernel, or null when only the strided kernel can read it. */
function flatLayout(t: Tensor, outShape: number[]): { start: number; step: number } | null {
  if (t.numel() === 1) return { start: t.storage.offset, step: 0 };
  if (t.isContiguous() && sameShape(t.shape, outShape)) return { start: t.storage.offset, step: 1 };
  return null;
}

/** out = kernel(a, b) over the broadcast shape of a and b (flat is the kernel's plain-loop twin, if any). */
function broadcastBinary(
  op: string,
  a: TensorLike,
  b: TensorLike,
  kernel: Kernel,
  flat?: FlatKernel,
): { out: Tensor; a: Tensor; b: Tensor } {
  const like = a instanceof Tensor ? a : requireTensor(op, b, "operand");
  const left = asTensor(op, a, like);
  const right = asTensor(op, b, like);
  const shape = broadcastShapes(op, left.shape, right.shape);
  const out = emptyTensor(like.dtype, shape);
  if (out.numel() === 0) return { out, a: left, b: right };
  const l = flat === undefined ? null : flatLayout(left, shape);
  const r = l === null ? null : flatLayout(right, shape);
  if (flat !== undefined && l !== null && r !== null) {
    flat(out.storage.data, left.storage.data, l.start, l.step, right.storage.data, r.start, r.step);
  } else {
    kernel(out.storage, broadcastView(left, shape), broadcastView(right, shape));
  }
  return { out, a: left, b: right };
}

/** The strided kernels alone (src/tensor/strided.ts): the reference the flat loops are checked against. */
export const stridedBinaryKernels = { add: loops.add, sub: loops.sub, mul: loops.mul, div: loops.div } as const;

// a + b:  ∂/∂a = 1, ∂/∂b = 1
/** `a + b` elementwise, broadcasting (either side may be a number). PyTorch: `torch.add`. */
export const add = defineOp("add", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("add", a, b, loops.add, addFlat);
  return { output: out, inputs: [x, y], backward: (g) => [g, g] };
});

// a − b:  ∂/∂a = 1, ∂/∂b = −1
/** `a − b` elementwise, broadcasting (either side may be a number). PyTorch: `torch.sub`. */
export const sub = defineOp("sub", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("sub", a, b, loops.sub, subFlat);
  return { output: out, inputs: [x, y], backward: (g) => [g, y.requiresGrad ? neg(g) : null] };
});

// a · b:  ∂/∂a = b, ∂/∂b = a
/** `a · b` elementwise, broadcasting (either side may be a number). PyTorch: `torch.mul`. */
export const mul = defineOp("mul", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("mul", a, b, loops.mul, mulFlat);
  return { output: out, inputs: [x, y], backward: (g) => [x.requiresGrad ? mul(g, y) : null, y.requiresGrad ? mul(g, x) : null] };
});

// a / b:  ∂/∂a = 1/b, ∂/∂b = −a/b² = −out/b
/** `a / b` elementwise, broadcasting (either side may be a number). PyTorch: `torch.div`. */
export const div = defineOp("div", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("div", a, b, loops.div, divFlat);
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [
      x.requiresGrad ? div(g, y) : null,
      y.requiresGrad ? neg(mul(g, div(out, y))) : null,
    ],
  };
});

// a^b:  ∂/∂a = b·a^(b−1),  ∂/∂b = a^b · ln a  (defined for a > 0)
/** `a ** b` elementwise, broadcasting; the gradient in b needs a > 0. PyTorch: `torch.pow`. */
export const pow = defineOp("pow", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  if (typeof b === "number") {
    const x = requireTensor("pow", a);
    const out = emptyTensor(x.dtype, x.shape);
    if (out.numel() > 0) loops.pows(out.storage, x.storage, b);
    return { output: out, inputs: [x], backward: (g) => [mul(g, mul(pow(x, b - 1), b))] };
  }
  const { out, a: x, b: y } = broadcastBinary("pow", a, b, loops.pow);
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [
      x.requiresGrad ? mul(g, mul(y, pow(x, sub(y, 1)))) : null,
      y.requiresGrad ? mul(g, mul(out, log(x))) : null,
    ],
  };
});

// max(a, b):  ∂/∂a = 1 where a > b, ½ where a = b, 0 where a < b;  ∂/∂b the mirror image.
// At a tie max is not differentiable; half to each is torch.maximum's choice (checked against
// torch 1.13: docs/porting.md, "Ties and kinks"), the average of the two one-sided derivatives.
// With broadcasting, a scalar tied with k elements collects k halves (the tape sums them). A NaN
// on either side sends the whole gradient to both inputs, as torch does.
/** Elementwise maximum of a and b, broadcasting; at a tie each side gets half the gradient, as in PyTorch. PyTorch: `torch.maximum`. */
export const maximum = defineOp("maximum", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("maximum", a, b, loops.max);
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [
      x.requiresGrad ? mul(g, compareMask(x, y, out.shape, (p, q) => (p === q ? 0.5 : p < q ? 0 : 1))) : null,
      y.requiresGrad ? mul(g, compareMask(x, y, out.shape, (p, q) => (p === q ? 0.5 : p > q ? 0 : 1))) : null,
    ],
  };
});

// min(a, b):  ∂/∂a = 1 where a < b, ½ where a = b, 0 where a > b;  ∂/∂b the mirror image
// (ties split in half, NaN to both, as torch.minimum).
/** Elementwise minimum of a and b, broadcasting; at a tie each side gets half the gradient, as in PyTorch. PyTorch: `torch.minimum`. */
export const minimum = defineOp("minimum", (a: TensorLike, b: TensorLike): Recordable | Unchanged => {
  const { out, a: x, b: y } = broadcastBinary("minimum", a, b, loops.min);
  return {
    output: out,
    inputs: [x, y],
    backward: (g) => [
      x.requiresGrad ? mul(g, compareMask(x, y, out.shape, (p, q) => (p === q ? 0.5 : p > q ? 0 : 1))) : null,
      y.requiresGrad ? mul(g, compareMask(x, y, out.shape, (p, q) => (p === q ? 0.5 : p < q ? 0 : 1))) : null,
    ],
  };
});

/** weight(a, b) elementwise over the broadcast shape: the local derivative of maximum / minimum. */
function compareMask(a: Tensor, b: Tensor, shape: number[], weight: (p: number, q: number) => number): Tensor {
  const l = copyStorage(broadcastView(a, shape), a.dtype).data; // a broadcast to `shape`, contiguous
  const r = copyStorage(broadcastView(b, shape), b.dtype).data;
  const mask = emptyTensor(a.dtype, shape);
  const m = mask.storage.data;
  for (let i = 0; i < m.length; i++) m[i] = weight(l[i], r[i]);
  return mask;
}

/** Apply a strided unary kernel (src/tensor/strided.ts) into a fresh contiguous tensor. */
function unary(x: Tensor, kernel: (out: Tensor["storage"], a: Tensor["storage"]) => unknown): Tensor {
  const out = emptyTensor(x.dtype, x.shape);
  if (out.numel() > 0) kernel(out.storage, x.storage);
  return out;
}

// −a:  ∂/∂a = −1
/** `−a` elementwise. PyTorch: `torch.neg`. */
export const neg = defineOp("neg", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("neg", a);
  return { output: unary(x, loops.neg), inputs: [x], backward: (g) => [neg(g)] };
});

// e^a:  ∂/∂a = e^a (the output itself)
/** `eᵃ` elementwise. PyTorch: `torch.exp`. */
export const exp = defineOp("exp", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("exp", a);
  const out = unary(x, loops.exp);
  return { output: out, inputs: [x], backward: (g) => [mul(g, out)] };
});

// ln a:  ∂/∂a = 1/a
/** Natural logarithm `ln a` elementwise. PyTorch: `torch.log`. */
export const log = defineOp("log", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("log", a);
  return { output: unary(x, loops.log), inputs: [x], backward: (g) => [div(g, x)] };
});

// √a:  ∂/∂a = 1 / (2√a)
/** `√a` elementwise. PyTorch: `torch.sqrt`. */
export const sqrt = defineOp("sqrt", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("sqrt", a);
  const out = unary(x, loops.sqrt);
  return { output: out, inputs: [x], backward: (g) => [div(g, mul(out, 2))] };
});

// |a|:  ∂/∂a = sign(a)  (0 at a = 0, as torch.abs; docs/porting.md, "Ties and kinks")
/** `|a|` elementwise (gradient 0 at 0). PyTorch: `torch.abs`. */
export const abs = defineOp("abs", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("abs", a);
  return { output: unary(x, loops.abs), inputs: [x], backward: (g) => [mul(g, sign(x))] };
});

// a²:  ∂/∂a = 2a
/** `a²` elementwise. PyTorch: `torch.square`. */
export const square = defineOp("square", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("square", a);
  const out = emptyTensor(x.dtype, x.shape);
  if (out.numel() > 0) loops.mul(out.storage, x.storage, x.storage);
  return { output: out, inputs: [x], backward: (g) => [mul(g, mul(x, 2))] };
});

/**
 * sign(a) ∈ {−1, 0, 1}; not differentiable (no record).
 * PyTorch: `torch.sign`.
 */
export function sign(a: Tensor): Tensor {
  const { data, offset } = contiguousData(a);
  const out = emptyTensor(a.dtype, a.shape);
  const o = out.storage.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.sign(data[offset + i]);
  return out;
}

// clamp(a, lo, hi):  ∂/∂a = 1 where lo ≤ a ≤ hi, else 0. At a bound (a = lo or a = hi) the
// gradient passes, as torch.clamp's does; also when lo = hi (docs/porting.md, "Ties and kinks").
/**
 * Clip every element to [min, max]; an omitted (or null) bound is ±∞. The gradient passes inside and at the bounds. PyTorch:
 * `torch.clamp`.
 */
export const clamp = defineOp("clamp", (a: Tensor, min?: number | null, max?: number | null): Recordable | Unchanged => {
  const x = requireTensor("clamp", a);
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new Error(`clamp: need min ≤ max, got min=${min}, max=${max}`);
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, x.shape);
  const o = out.storage.data;
  for (let i = 0; i < o.length; i++) {
    const v = data[offset + i];
    o[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return {
    output: out,
    inputs: [x],
    backward: (g) => {
      const inside = emptyTensor(x.dtype, x.shape);
      const m = inside.storage.data;
      for (let i = 0; i < m.length; i++) {
        const v = data[offset + i];
        m[i] = v >= lo && v <= hi ? 1 : 0;
      }
      return [mul(g, inside)];
    },
  };
});

// cast:  the gradient is cast back to the input's dtype
export const to = defineOp("to", (a: Tensor, dtype: DType): Recordable | Unchanged => {
  const x = requireTensor("to", a);
  checkDType("to", dtype ?? null); // .to() needs a dtype: undefined is not a default here
  if (x.dtype === dtype) return { unchanged: x };
  const out = new Tensor(copyStorage(x.storage, dtype));
  return { output: out, inputs: [x], backward: (g) => [to(g, x.dtype)] };
});

// copy:  ∂/∂a = 1
export const clone = defineOp("clone", (a: Tensor): Recordable | Unchanged => {
  const x = requireTensor("clone", a);
  const out = new Tensor(copyStorage(x.storage, x.dtype));
  return { output: out, inputs: [x], backward: (g) => [g] };
});
