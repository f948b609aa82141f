/**
 * Exercise 6 (⭐⭐): compare different similarity metrics (chapter 7.2, "sim = similarity function
 * (cosine, dot product)").
 *
 *   cosine      sim(q, k) = q·k / (‖q‖‖k‖)      ∈ [−1, 1], blind to the norms
 *   dot         sim(q, k) = q·k                   unbounded: grows with the norms
 *   euclidean   sim(q, k) = −‖q − k‖²             ≤ 0; on unit vectors = 2·cos − 2
 *
 * Three experiments with in-batch InfoNCE (`infoNCE(q, k, null, { metric, temperature })`):
 *   1. Scale the same embeddings by c ∈ {0.1, 1, 10}: cosine does not move; dot and euclidean do
 *      (×c on the vectors is ×c² on every dot logit: the same as dividing τ by c²).
 *   2. On unit vectors, euclidean at τ equals cosine at τ/2 exactly: the per-row constant −2/τ
 *      cancels in the softmax.
 *   3. Optimize free embeddings with each metric: with the dot product the loss can be driven
 *      down by inflating the norms, which says nothing about the directions. The top-1 retrieval
 *      accuracy (is each query's nearest key, by cosine, its positive?) tells the three apart.
 *
 * Run: npm run build:spec && node build/examples/exercise-06-similarity-metrics.js [--full]
 */
import { Generator, randn, normalize, infoNCE, similarity, Adam, type SimilarityMetric, type Tensor } from "../src/index.js";
import { printResult, type ExerciseOptions } from "./exercise-common.js";

const METRICS: readonly SimilarityMetric[] = ["cosine", "dot", "euclidean"];

/** Fraction of rows whose most cosine-similar key is their own positive. */
function topOneAccuracy(query: Tensor, key: Tensor): number {
  const scores = similarity(query, key).toArray() as number[][]; // (N, N) cosines
  return scores.filter((row, i) => row.indexOf(Math.max(...row)) === i).length / scores.length;
}

function meanNorm(x: Tensor): number {
  return x.norm(2, 1).mean().item();
}

export interface OptimizationRow {
  metric: SimilarityMetric;
  lossBefore: number;
  lossAfter: number;
  /** The learned directions judged the same way for every metric: the cosine loss (τ = 0.5) after. */
  cosineLossAfter: number;
  /** Mean ‖q‖ after / before. */
  normGrowth: number;
  accuracyBefore: number;
  accuracyAfter: number;
}

export interface Exercise06Result {
  /** Loss at τ = 0.5 for each metric with the embeddings scaled by 0.1, 1, 10. */
  scaled: Record<SimilarityMetric, number[]>;
  /** |euclidean(unit vectors, τ) − cosine(τ/2)|. */
  euclideanVsCosineAtHalfTemperature: number;
  optimization: OptimizationRow[];
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise06Result {
  const full = options.budget === "full";
  const [n, d, steps] = full ? [256, 32, 300] : [64, 16, 60];
  const generator = new Generator(6);
  const query = randn([n, d], generator, { dtype: "float64" }); // (N, D)
  const key = query.add(randn([n, d], generator, { dtype: "float64" }).mul(0.7)); // (N, D): positives, noisy copies

  // 1. The same directions at three scales.
  const scaled = Object.fromEntries(
    METRICS.map((
      metric,
    ) => [metric, [0.1, 1, 10].map((c) => infoNCE(query.mul(c), key.mul(c), null, { metric, temperature: 0.5 }).item())]),
  ) as Record<SimilarityMetric, number[]>;

  // 2. Euclidean on unit vectors = cosine at half the temperature.
  const [unitQuery, unitKey] = [normalize(query), normalize(key)];
  const euclideanVsCosineAtHalfTemperature = Math.abs(
    infoNCE(unitQuery, unitKey, null, { metric: "euclidean", temperature: 0.2 }).item() -
      infoNCE(unitQuery, unitKey, null, { metric: "cosine", temperature: 0.1 }).item(),
  );

  // 3. Optimize the embeddings themselves, from the same unit-norm start, with each metric (τ = 0.5, Adam).
  //    Cosine logits stay in [−1/τ, 1/τ], so its loss has a floor; dot and euclidean have none.
  const startQuery = normalize(randn([n, d], generator, { dtype: "float64" })); // (N, D) unit rows
  // many positives are not the nearest key
  const startKey = normalize(startQuery.add(randn([n, d], generator, { dtype: "float64" }).mul(0.8)));
  const optimization = METRICS.map((metric): OptimizationRow => {
    const q = startQuery.clone().requiresGrad_();
    const k = startKey.clone().requiresGrad_();
    const optimizer = new Adam([q, k], { lr: 0.05 });
    const lossOf = () => infoNCE(q, k, null, { metric, temperature: 0.5 });
    const lossBefore = lossOf().item();
    for (let step = 0; step < steps; step++) {
      optimizer.zeroGrad();
      lossOf().backward();
      optimizer.step();
    }
    return {
      metric,
      lossBefore,
      lossAfter: lossOf().item(),
      cosineLossAfter: infoNCE(q, k, null, { temperature: 0.5 }).item(),
      normGrowth: meanNorm(q) / meanNorm(startQuery),
      accuracyBefore: topOneAccuracy(startQuery, startKey),
      accuracyAfter: topOneAccuracy(q.detach(), k.detach()),
    };
  });
  return { scaled, euclideanVsCosineAtHalfTemperature, optimization };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = main({ budget: process.argv.includes("--full") ? "full" : "tiny" });
  printResult("Exercise 6: cosine vs dot vs euclidean in InfoNCE", {
    "loss at scale 0.1 / 1 / 10 (cosine)": result.scaled.cosine,
    "loss at scale 0.1 / 1 / 10 (dot)": result.scaled.dot,
    "loss at scale 0.1 / 1 / 10 (euclidean)": result.scaled.euclidean,
    euclideanVsCosineAtHalfTemperature: result.euclideanVsCosineAtHalfTemperature,
  });
  for (const row of result.optimization) printResult(`optimizing free embeddings with ${row.metric}:`, row);
}
