/**
 * Exercise 2 (⭐): compute temperature effects on the loss (chapter 7.2, "Temperature Parameter").
 *
 * The chapter's two worked examples, similarities [positive, negatives…]:
 *   good = [0.8, 0.2, 0.15, 0.1]      (the positive is the most similar candidate)
 *   bad  = [0.1, 0.5, 0.4, 0.3]       (the positive is the least similar)
 *
 *   L(τ) = log(1 + Σ_j exp((s⁻_j − s⁺)/τ))
 *
 * For `good` every s⁻_j − s⁺ < 0, so L grows with τ; for `bad` every difference is > 0, so L falls
 * with τ. Both tend to log(1 + M) = log 4 as τ → ∞ (uniform softmax) — the chance level, not a
 * bound. The gradient with respect to the positive similarity is ∂L/∂s⁺ = (p − 1)/τ, p the
 * probability of the positive: a cold temperature multiplies the push on hard rows.
 *
 * The chapter's own table of exp(score/τ) values is off by a factor of ten in τ: its "τ = 0.01"
 * row lists exp(5), exp(4), exp(3), which are scores 0.5, 0.4, 0.3 divided by τ = 0.1; its
 * "τ = 0.1" row (exp(0.5) …) is τ = 1, its "τ = 1.0" row (exp(0.05) …) is τ = 10. The ratio of the
 * two largest terms is exp(0.1/τ): 22026 at τ = 0.01, 2.72 at 0.1, 1.105 at 1 (docs/errata.md).
 *
 * Run: npm run build:spec && node build/examples/exercise-02-temperature-effects.js
 */
import { infoNCEFromSimilarities, temperatureSweep } from "../src/index.js";
import { printResult, type ExerciseOptions } from "./exercise-common.js";

export const GOOD_SIMILARITIES = [0.8, 0.2, 0.15, 0.1];
export const BAD_SIMILARITIES = [0.1, 0.5, 0.4, 0.3];

export interface TemperatureRow {
  temperature: number;
  goodLoss: number;
  badLoss: number;
  /** ∂L/∂s⁺ = (p − 1)/τ for the bad example: how hard the positive is pulled. */
  badPositiveGradient: number;
  /** exp(0.5/τ) / exp(0.4/τ) = exp(0.1/τ): the chapter's "ratio" at this τ. */
  ratioOfTopTwo: number;
}

export interface Exercise02Result {
  rows: TemperatureRow[];
  /** The chapter's worked numbers at τ = 0.1: probability and loss of each example. */
  goodProbability: number;
  goodLoss: number;
  badProbability: number;
  badLoss: number;
  /** log 4: where both curves go as τ → ∞. */
  chanceLoss: number;
  table: string;
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise02Result {
  const temperatures = options.budget === "full"
    ? [0.005, 0.01, 0.02, 0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 2, 5, 10, 100]
    : [0.01, 0.05, 0.07, 0.1, 0.2, 0.5, 1, 10];
  const rows = temperatures.map((temperature): TemperatureRow => {
    const bad = infoNCEFromSimilarities(BAD_SIMILARITIES, temperature);
    return {
      temperature,
      goodLoss: infoNCEFromSimilarities(GOOD_SIMILARITIES, temperature).loss,
      badLoss: bad.loss,
      badPositiveGradient: (bad.probability - 1) / temperature,
      ratioOfTopTwo: Math.exp(0.5 / temperature) / Math.exp(0.4 / temperature),
    };
  });
  const good = infoNCEFromSimilarities(GOOD_SIMILARITIES, 0.1);
  const bad = infoNCEFromSimilarities(BAD_SIMILARITIES, 0.1);
  // The library's sweep prints the same column as a table (chapter 7.6, debugging step 4).
  const sweep = temperatureSweep((temperature) => infoNCEFromSimilarities(BAD_SIMILARITIES, temperature).loss, temperatures);
  return {
    rows,
    goodProbability: good.probability,
    goodLoss: good.loss,
    badProbability: bad.probability,
    badLoss: bad.loss,
    chanceLoss: Math.log(GOOD_SIMILARITIES.length),
    table: sweep.table,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = main({ budget: process.argv.includes("--full") ? "full" : "tiny" });
  console.log("Exercise 2: the loss against the temperature (chapter 7.2's examples)");
  console.log("     τ   good loss   bad loss   ∂L/∂s⁺ (bad)   exp(0.1/τ)");
  for (const row of result.rows) {
    console.log(
      `${String(row.temperature).padStart(6)}  ${row.goodLoss.toExponential(3).padStart(10)}  ${row.badLoss.toFixed(4).padStart(9)}  ${
        row.badPositiveGradient.toFixed(3).padStart(13)
      }  ${row.ratioOfTopTwo.toPrecision(5).padStart(11)}`,
    );
  }
  const { rows, table, ...rest } = result;
  printResult("at τ = 0.1 (the chapter's worked example), and chance:", rest);
}
