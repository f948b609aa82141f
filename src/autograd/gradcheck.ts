/**
 * Gradient check by central differences in float64 (PyTorch: torch.autograd.gradcheck).
 *
 * For a function f of tensors, pick a fixed random weighting w of its output and look at the
 * scalar L(x) = Σ w ⊙ f(x). Its gradient from backward() must match, element by element,
 *
 *   ∂L/∂x_i ≈ (L(x + ε e_i) − L(x − ε e_i)) / 2ε,      error O(ε²)
 *
 * within atol + rtol·|numeric|. A random w (not all ones) makes the check see every output
 * element with a different weight, so a rule that mixes up elements cannot pass by symmetry.
 * Inputs must be float64: in float32 the rounding error of the difference swamps the signal.
 *
 * Any memory layout is checked as it is: an input may be a strided, transposed or sliced view (each
 * of its elements is perturbed where it lives in the buffer), and `outputGradLayout` makes the
 * gradient handed to the last op's rule a non-contiguous view, so a rule that reads its upstream
 * gradient as if it were contiguous fails. An input that aliases itself (a stride-0, expanded
 * view) cannot be perturbed one element at a time: check the tensor it was expanded from.
 *
 * @module
 */
import { stridedArray } from "../tensor/strided.js";
import { Tensor } from "../tensor/tensor.js";
import { Generator } from "../tensor/random.js";
import { noGrad } from "./tape.js";
import { contiguousStrides, shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link gradcheck}; the defaults are PyTorch's. */
export interface GradcheckOptions {
  /** The central-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance, times |numeric| (default 1e-3). */
  rtol?: number;
  /** Seed of the output weighting. */
  seed?: number;
  /**
   * Layout of the gradient fed to the output's rule (default "contiguous"): "strided" (every
   * other element of a larger buffer), "transposed" (axes stored in reverse order; strided for
   * fewer than 2 dims), or "broadcast" (an expanded view, stride 0 along the first axis).
   */
  outputGradLayout?: OutputGradLayout;
}

export type OutputGradLayout = "contiguous" | "strided" | "transposed" | "broadcast";

export interface GradcheckMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

/**
 * Compare the gradient backward computes for L = Σ w ⊙ fn(...inputs) (w a fixed random weighting)
 * with central differences (L(x + ε e_i) − L(x − ε e_i)) / 2ε, element by element, within
 * atol + rtol·|numeric|; the inputs must be float64. Inputs that should be
 * checked need `requiresGrad`; the others are held fixed. Returns true, or throws an error listing
 * the worst mismatches. PyTorch: `torch.autograd.gradcheck` (same defaults).
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): true {
  checkOptions("gradcheck", options, { eps: true, atol: true, rtol: true, seed: true, outputGradLayout: true });
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  inputs.forEach((t, k) => {
    if (!(t instanceof Tensor)) throw new Error(`gradcheck: input ${k} is not a Tensor`);
    if (t.requiresGrad && t.dtype !== "float64") {
      throw new Error(`gradcheck: input ${k} is ${t.dtype}; use float64 inputs (finite differences in float32 are too noisy)`);
    }
  });
  const positions = inputs.map((t, k) => (t.requiresGrad ? bufferPositions(t, k) : null));
  const probe = noGrad(() => fn(...inputs));
  const generator = new Generator(options.seed ?? 1234);
  const layout = options.outputGradLayout ?? "contiguous";
  const weightData = new Float64Array(probe.numel());
  for (let i = 0; i < weightData.length; i++) weightData[i] = generator.uniform(0.5, 1.5) * (generator.random() < 0.5 ? -1 : 1);
  if (layout === "broadcast" && probe.ndim > 0) {
    // equal weights along axis 0, so that the weighting is an expanded view of its first slice
    const sliceSize = probe.numel() / probe.shape[0] || 0;
    for (let i = sliceSize; i < weightData.length; i++) weightData[i] = weightData[i % sliceSize];
  }
  const weights = viewWithLayout(weightData, probe.shape, layout);
  if (probe.dtype !== "float64") throw new Error(`gradcheck: the function returned ${probe.dtype}; it must compute in float64`);

  const scalar = (): number => {
    const out = fn(...inputs);
    const values = out.toTypedArray();
    if (values.length !== weightData.length) throw new Error(`gradcheck: output shape changed to ${shapeToString(out.shape)}`);
    let total = 0;
    for (let i = 0; i < values.length; i++) total += values[i] * weightData[i];
    return total;
  };

  // Analytic: one backward of Σ w ⊙ f(x).
  for (const t of inputs) t.grad = null;
  const output = fn(...inputs);
  if (!output.requiresGrad) throw new Error("gradcheck: the output does not depend on any input with requiresGrad");
  output.backward(weights);
  const analytic = inputs.map((t) => (t.requiresGrad ? (t.grad ? t.grad.toTypedArray() : new Float64Array(t.numel())) : null));

  // Numeric: central differences, one element at a time.
  const mismatches: GradcheckMismatch[] = [];
  noGrad(() => {
    inputs.forEach((t, k) => {
      const expected = analytic[k];
      if (expected === null) return;
      const data = mutableStorage(t).data; // perturbed in place (and restored): a write, for the version count
      const where = positions[k]!;
      for (let i = 0; i < where.length; i++) {
        const position = where[i];
        const original = data[position];
        data[position] = original + eps;
        const plus = scalar();
        data[position] = original - eps;
        const minus = scalar();
        data[position] = original;
        const numeric = (plus - minus) / (2 * eps);
        if (!(Math.abs(expected[i] - numeric) <= atol + rtol * Math.abs(numeric))) {
          mismatches.push({ input: k, index: i, analytic: expected[i], numeric });
        }
      }
    });
  });
  for (const t of inputs) t.grad = null;
  if (mismatches.length > 0) {
    const worst = mismatches
      .sort((p, q) => Math.abs(q.analytic - q.numeric) - Math.abs(p.analytic - p.numeric))
      .slice(0, 5)
      .map((m) =>
        `input ${m.input}${shapeToString(inputs[m.input].shape)} element ${m.index}: analytic ${m.analytic}, numeric ${m.numeric}`
      )
      .join("; ");
    throw new Error(`gradcheck: ${mismatches.length} gradient element(s) differ (eps ${eps}, atol ${atol}, rtol ${rtol}): ${worst}`);
  }
  return true;
}

/** Where each element of a view (in row-major order) lives in its buffer: offset + Σ index·stride. */
function elementPositions(shape: readonly number[], stride: readonly number[], offset: number): Int32Array {
  const positions = new Int32Array(shape.reduce((p, d) => p * d, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < positions.length; i++) {
    let position = offset;
    for (let axis = 0; axis < shape.length; axis++) position += index[axis] * stride[axis];
    positions[i] = position;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return positions;
}

/** The buffer positions of input k's elements, one each: refuses a view whose elements share memory. */
function bufferPositions(t: Tensor, k: number): Int32Array {
  const { shape, stride, offset } = t.storage;
  const positions = elementPositions(shape, stride, offset);
  if (new Set(positions).size !== positions.length) {
    throw new Error(
      `gradcheck: input ${k} (shape ${shapeToString(shape)}, strides [${stride.join(", ")}]) has elements that share memory ` +
        "(an expanded view); check the tensor it was expanded from, with the expand inside the function",
    );
  }
  return positions;
}

/** A float64 tensor with these (row-major) values and shape, stored in the requested layout. */
function viewWithLayout(values: Float64Array, shape: number[], layout: OutputGradLayout): Tensor {
  const rank = shape.length;
  if (layout === "contiguous" || rank === 0 || values.length === 0) return Tensor.fromTypedArray(values, shape);
  let strides: number[];
  let offset = 0;
  let size: number;
  if (layout === "broadcast") {
    strides = contiguousStrides(shape.slice(1));
    strides.unshift(0);
    size = values.length / shape[0];
  } else if (layout === "transposed" && rank >= 2) {
    strides = contiguousStrides(shape.slice().reverse()).reverse(); // column-major: the first axis moves fastest
    size = values.length;
  } else {
    strides = contiguousStrides(shape).map((s) => 2 * s); // every other element, one element in
    offset = 1;
    size = 2 * values.length + 1;
  }
  const buffer = new Float64Array(size).fill(Number.NaN); // a rule that reads a gap sees NaN
  // (for "broadcast" several elements share a position; their weights are equal, so the writes agree)
  elementPositions(shape, strides, offset).forEach((position, i) => (buffer[position] = values[i]));
  return new Tensor(stridedArray(buffer, shape.slice(), strides, offset));
}
