/**
 * Exercise 1 (⭐): implement InfoNCE from scratch (chapter 7.2).
 *
 *   L = mean_i −log [ exp(s⁺_i/τ) / (exp(s⁺_i/τ) + Σ_j exp(s⁻_ij/τ)) ]
 *     = mean_i [ m_i + log Σ_c exp(ℓ_ic − m_i) − ℓ_i0 ],    ℓ_i = [s⁺_i, s⁻_i1 … s⁻_iM]/τ,  m_i = max_c ℓ_ic
 *
 * Composed here from primitive tensor ops only (square, sum, sqrt, div, matmul, cat, max, exp,
 * log), with the max shift, and checked against the library's `infoNCE`: loss and every input
 * gradient, with explicit negatives and in-batch. Then the same loss *without* the shift, in
 * float32 at τ = 0.01, where exp(100) overflows: the reason the shift is not optional.
 *
 * Run: npm run build:spec && node build/examples/exercise-01-infonce-from-scratch.js
 */
import { Generator, randn, cat, infoNCE, type Tensor } from "../src/index.js";
import { printResult, type ExerciseOptions } from "./exercise-common.js";

/** x / ‖x‖₂ row by row, by hand (F.normalize without the eps: the inputs here are never zero). */
function unitRows(x: Tensor): Tensor {
  return x.div(x.square().sum(1, true).sqrt()); // (N, D) / (N, 1)
}

/**
 * InfoNCE from primitives. With `negativeKeys` (M, D) the positive is column 0 of every row;
 * with `null` the other rows' keys are the negatives and row i's positive is column i.
 */
export function infoNCEFromScratch(
  query: Tensor,
  positiveKey: Tensor,
  negativeKeys: Tensor | null,
  temperature: number,
  options: { shift?: boolean } = {},
): Tensor {
  const q = unitRows(query); // (N, D)
  const k = unitRows(positiveKey); // (N, D)
  const positiveLogit = q.mul(k).sum(1, true).div(temperature); // (N, 1)  cos(q_i, k⁺_i)/τ
  const logits = negativeKeys === null
    ? q.matmul(k.t()).div(temperature) // (N, N): row i's candidates are all N keys, positive on the diagonal
    : cat([positiveLogit, q.matmul(unitRows(negativeKeys).t()).div(temperature)], 1); // (N, 1 + M), positive first
  // log Σ_c exp(ℓ_c) = m + log Σ_c exp(ℓ_c − m): every exponent is ≤ 0, so exp never overflows.
  // The shift is a constant for the gradient (d/dm of the right side is 0), hence detach().
  const rowMax = options.shift === false ? null : logits.max(1, true).detach(); // (N, 1)
  const logSumExp = rowMax === null ? logits.exp().sum(1, true).log() : logits.sub(rowMax).exp().sum(1, true).log().add(rowMax); // (N, 1)
  return logSumExp.sub(positiveLogit).mean(); // mean_i −log softmax(ℓ_i)[positive]
}

export interface Exercise01Result {
  /** |ours − library| for the loss, with explicit negatives and in-batch (float64). */
  lossDifferenceWithNegatives: number;
  lossDifferenceInBatch: number;
  /** The largest |ours − library| over every element of every input gradient. */
  gradientDifference: number;
  /** The loss with explicit negatives (N = 8 queries, M = 16 negatives, τ = 0.1). */
  loss: number;
  /** float32, τ = 0.01, a query aligned with its key: the library, ours with the shift, ours without. */
  float32Library: number;
  float32Shifted: number;
  float32Unshifted: number;
}

function largestDifference(a: Tensor, b: Tensor): number {
  const [x, y] = [Array.from(a.toTypedArray()), Array.from(b.toTypedArray())];
  return x.reduce((worst, value, i) => Math.max(worst, Math.abs(value - y[i])), 0);
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise01Result {
  const generator = new Generator(1);
  const [n, m, d] = options.budget === "full" ? [256, 4096, 128] : [8, 16, 32];
  const temperature = 0.1;
  const leaves = () => [
    randn([n, d], generator, { dtype: "float64" }),
    randn([n, d], generator, { dtype: "float64" }),
    randn([m, d], generator, { dtype: "float64" }),
  ];
  const [query, positiveKey, negativeKeys] = leaves();

  // The same inputs through both implementations, each with its own leaves so the gradients do not mix.
  const run = (loss: (q: Tensor, k: Tensor, n: Tensor | null) => Tensor, withNegatives: boolean) => {
    const inputs = [query, positiveKey, negativeKeys].map((t) => t.detach().requiresGrad_());
    const value = loss(inputs[0], inputs[1], withNegatives ? inputs[2] : null);
    value.backward();
    return { value: value.item(), grads: inputs.slice(0, withNegatives ? 3 : 2).map((t) => t.grad!) };
  };
  const ours = run((q, k, neg) => infoNCEFromScratch(q, k, neg, temperature), true);
  const library = run((q, k, neg) => infoNCE(q, k, neg, { temperature }), true);
  const oursInBatch = run((q, k) => infoNCEFromScratch(q, k, null, temperature), false);
  const libraryInBatch = run((q, k) => infoNCE(q, k, null, { temperature }), false);
  const gradientDifference = Math.max(
    ...ours.grads.map((g, i) => largestDifference(g, library.grads[i])),
    ...oursInBatch.grads.map((g, i) => largestDifference(g, libraryInBatch.grads[i])),
  );

  // float32 at τ = 0.01, one query whose positive and 8 negatives are all noisy copies of it:
  // every logit is cos/τ ≈ 100, exp(100) ≈ 2.7e43 > float32's largest 3.4e38, yet the loss is a
  // plain number (≈ log 9 give or take), because only the differences between logits matter.
  const anchor = randn([1, d], generator); // (1, D) float32
  const noisyCopies = (count: number) => anchor.expand(count, d).add(randn([count, d], generator).mul(0.03)); // cos ≈ 0.99
  const [aligned, nearby, others] = [anchor, noisyCopies(1), noisyCopies(8)];
  return {
    lossDifferenceWithNegatives: Math.abs(ours.value - library.value),
    lossDifferenceInBatch: Math.abs(oursInBatch.value - libraryInBatch.value),
    gradientDifference,
    loss: library.value,
    float32Library: infoNCE(aligned, nearby, others, { temperature: 0.01 }).item(),
    float32Shifted: infoNCEFromScratch(aligned, nearby, others, 0.01).item(),
    float32Unshifted: infoNCEFromScratch(aligned, nearby, others, 0.01, { shift: false }).item(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResult("Exercise 1: InfoNCE from scratch vs the library", main({ budget: process.argv.includes("--full") ? "full" : "tiny" }));
}
