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
 */
import { Tensor } from "../tensor/tensor.js";
import { Generator } from "../tensor/random.js";
import { noGrad } from "./tape.js";
import { shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the output weighting. */
  seed?: number;
}

export interface GradcheckMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

/**
 * Returns true, or throws an error listing the worst mismatches. Inputs that should be checked
 * need `requiresGrad`; the others are held fixed.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): true {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  inputs.forEach((t, k) => {
    if (!(t instanceof Tensor)) throw new Error(`gradcheck: input ${k} is not a Tensor`);
    if (t.requiresGrad && t.dtype !== "float64") {
      throw new Error(`gradcheck: input ${k} is ${t.dtype}; use float64 inputs (finite differences in float32 are too noisy)`);
    }
    if (t.requiresGrad && !t.isContiguous()) throw new Error(`gradcheck: input ${k} must be contiguous`);
  });
  const probe = noGrad(() => fn(...inputs));
  const generator = new Generator(options.seed ?? 1234);
  const weightData = new Float64Array(probe.numel());
  for (let i = 0; i < weightData.length; i++) weightData[i] = generator.uniform(0.5, 1.5) * (generator.random() < 0.5 ? -1 : 1);
  const weights = Tensor.fromTypedArray(weightData, probe.shape);
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
      const { data, offset } = mutableStorage(t); // perturbed in place (and restored): a write, for the version count
      for (let i = 0; i < t.numel(); i++) {
        const original = data[offset + i];
        data[offset + i] = original + eps;
        const plus = scalar();
        data[offset + i] = original - eps;
        const minus = scalar();
        data[offset + i] = original;
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
      .map((m) => `input ${m.input}${shapeToString(inputs[m.input].shape)} element ${m.index}: analytic ${m.analytic}, numeric ${m.numeric}`)
      .join("; ");
    throw new Error(`gradcheck: ${mismatches.length} gradient element(s) differ (eps ${eps}, atol ${atol}, rtol ${rtol}): ${worst}`);
  }
  return true;
}
