/**
 * Weighted k-nearest-neighbour accuracy of frozen features: the "kNN monitor" of contrastive
 * learning, which needs no training at all.
 *
 * Source: Wu, Xiong, Yu & Lin 2018, "Unsupervised Feature Learning via Non-Parametric Instance
 * Discrimination" (InstDisc), §3.4 "weighted k-nearest neighbor classifier"; the same code is the
 * kNN monitor in MoCo's and DINO's repositories (k = 20 or 200, τ = 0.07 or 0.1).
 *
 *   u_i = f(x_i) / ‖f(x_i)‖₂                     every train and test feature, L2-normalized
 *   s_ij = u_testᵢ · u_trainⱼ                    cosine similarity                      (m, n)
 *   N_k(i) = the k train rows with the largest s_ij (ties: the smaller train index first)
 *   vote_c(i) = Σ_{j ∈ N_k(i), y_j = c} w_ij     with weights
 *       "exponential" (default): w_ij = exp(s_ij / τ), τ = 0.07  (InstDisc; computed as
 *                                exp((s_ij − max_j s_ij) / τ), the same ratios without overflow)
 *       "similarity":            w_ij = s_ij       (plain cosine weights)
 *       "uniform":               w_ij = 1          (majority vote)
 *   ŷ_i = argmax_c vote_c(i) over the classes present in N_k(i); ties to the smaller class.
 *   accuracy = (1/m) Σ_i [ŷ_i = y_i]
 *
 * Why exponential: a small τ lets the nearest few neighbours dominate the vote while the others
 * still break ties; with τ → ∞ it becomes the majority vote. Plain similarity weights are nearly
 * uniform among 20 neighbours that all have s ≈ 0.9. The argmax is restricted to the classes
 * present among the neighbours so that negative similarity weights can never elect a class with
 * no neighbour at all (with positive weights this changes nothing).
 *
 * Cost: the similarities are computed one block of test rows at a time (a gemm of the block
 * against all train features), and each row's k best are found with a bounded heap in
 * O(n log k), not a full sort. Memory: one (block, n) buffer.
 *
 * @module
 */
import {
  accuracy,
  asFeatureMatrix,
  asLabels,
  checkSameFeatureDim,
  countClasses,
  normalizeRows,
  queryBlockRows,
  similarityBlock,
  type FeaturesLike,
  type LabelsLike,
} from "./features.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgressFn } from "./progress.js";

/** How the k neighbours' votes are weighted: `"exponential"` exp(s/τ) (default), `"similarity"` s, or `"uniform"` 1. */
export type KnnWeighting = "exponential" | "similarity" | "uniform";

/** Options of {@link knnPredict} and {@link knnAccuracy}. */
export interface KnnOptions {
  /** Neighbours per test row. Default 20. */
  k?: number;
  /** τ of the exponential weights. Default 0.07 (InstDisc). */
  temperature?: number;
  /** How neighbours vote. Default "exponential". */
  weighting?: KnnWeighting;
  /** Number of classes C; default 1 + the largest label. */
  numClasses?: number;
  /** Called after every block of test rows: stage "kNN", done = rows classified, total = test rows. */
  onProgress?: EvaluationProgressFn;
}

/** The result of {@link knnAccuracy}. */
export interface KnnResult {
  /** Test accuracy, in [0, 1]. */
  accuracy: number;
  /** ŷ for each test row (m,). */
  predictions: Int32Array;
  /** The number of neighbours used. */
  k: number;
  /** The τ of the exponential weights used. */
  temperature: number;
  /** The weighting used. */
  weighting: KnnWeighting;
  /** C, the number of classes. */
  numClasses: number;
}

/** kNN predictions for the test rows (m,), from labelled train features (see the file header). */
export function knnPredict(
  trainFeatures: FeaturesLike,
  trainLabels: LabelsLike,
  testFeatures: FeaturesLike,
  options: KnnOptions = {},
): Int32Array {
  checkOptions("knnPredict", options, { k: true, temperature: true, weighting: true, numClasses: true, onProgress: true });
  return runKnn("knnPredict", trainFeatures, trainLabels, testFeatures, options).predictions;
}

/** kNN accuracy of the test rows: knnPredict, compared with testLabels. */
export function knnAccuracy(
  trainFeatures: FeaturesLike,
  trainLabels: LabelsLike,
  testFeatures: FeaturesLike,
  testLabels: LabelsLike,
  options: KnnOptions = {},
): KnnResult {
  checkOptions("knnAccuracy", options, { k: true, temperature: true, weighting: true, numClasses: true, onProgress: true });
  const run = runKnn("knnAccuracy", trainFeatures, trainLabels, testFeatures, options);
  const testY = asLabels("knnAccuracy", "testLabels", testLabels, run.testRows, options.numClasses);
  return {
    accuracy: accuracy(run.predictions, testY),
    predictions: run.predictions,
    k: run.k,
    temperature: run.temperature,
    weighting: run.weighting,
    numClasses: Math.max(run.numClasses, countClasses(testY)),
  };
}

function runKnn(fn: string, trainFeatures: FeaturesLike, trainLabels: LabelsLike, testFeatures: FeaturesLike, options: KnnOptions) {
  const train = asFeatureMatrix(fn, "trainFeatures", trainFeatures);
  const test = asFeatureMatrix(fn, "testFeatures", testFeatures);
  checkSameFeatureDim(fn, "trainFeatures", train, "testFeatures", test);
  const k = options.k ?? 20;
  const temperature = options.temperature ?? 0.07;
  const weighting = options.weighting ?? "exponential";
  if (!Number.isInteger(k) || k <= 0) throw new Error(`${fn}: k must be a positive whole number, got ${k}`);
  if (k > train.rows) {
    throw new Error(`${fn}: k = ${k} is larger than the number of train rows (trainFeatures [${train.rows}, ${train.dim}])`);
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`${fn}: temperature must be a finite number > 0, got ${temperature}`);
  }
  if (weighting !== "exponential" && weighting !== "similarity" && weighting !== "uniform") {
    throw new Error(`${fn}: weighting must be "exponential", "similarity" or "uniform", got ${String(weighting)}`);
  }
  const trainY = asLabels(fn, "trainLabels", trainLabels, train.rows, options.numClasses);
  const numClasses = options.numClasses ?? countClasses(trainY);

  const trainUnit = normalizeRows(train); // (n, D)
  const testUnit = normalizeRows(test); //   (m, D)
  const n = train.rows;
  const blockRows = queryBlockRows(n);
  const similarities = new Float64Array(blockRows * n); // (block, n)
  const heap = new NeighbourHeap(k);
  const votes = new Float64Array(numClasses);
  const present = new Uint8Array(numClasses);
  const predictions = new Int32Array(test.rows);

  for (let start = 0; start < test.rows; start += blockRows) {
    const rows = Math.min(blockRows, test.rows - start);
    similarityBlock(testUnit, start, rows, trainUnit, n, train.dim, similarities); // (rows, n) = U_test[block] U_trainᵀ
    for (let r = 0; r < rows; r++) {
      const rowOffset = r * n;
      heap.clear();
      for (let j = 0; j < n; j++) heap.offer(similarities[rowOffset + j], j);
      // Vote. The heap holds the k best (similarity, index) pairs in no particular order; sums
      // are taken in ascending train index so the result does not depend on heap layout.
      const neighbours = heap.sortedByIndex();
      let best = -Infinity;
      for (const j of neighbours) best = Math.max(best, similarities[rowOffset + j]);
      votes.fill(0);
      present.fill(0);
      for (const j of neighbours) {
        const s = similarities[rowOffset + j];
        const weight = weighting === "exponential" ? Math.exp((s - best) / temperature) : weighting === "similarity" ? s : 1;
        votes[trainY[j]] += weight;
        present[trainY[j]] = 1;
      }
      let predicted = -1;
      for (let c = 0; c < numClasses; c++) {
        if (present[c] && (predicted < 0 || votes[c] > votes[predicted])) predicted = c;
      }
      predictions[start + r] = predicted;
    }
    options.onProgress?.({ stage: "kNN", done: start + rows, total: test.rows });
  }
  return { predictions, testRows: test.rows, k, temperature, weighting, numClasses };
}

/**
 * The k best (similarity, index) pairs seen so far: a binary min-heap whose root is the worst
 * kept pair, so a new pair only has to beat the root. "Better" = larger similarity, or equal
 * similarity and smaller index (deterministic ties). offer() is O(log k).
 */
class NeighbourHeap {
  private readonly scores: Float64Array;
  private readonly indices: Int32Array;
  private size = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.indices = new Int32Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  /** True when (scoreA, indexA) ranks below (scoreB, indexB). */
  private static worse(scoreA: number, indexA: number, scoreB: number, indexB: number): boolean {
    return scoreA < scoreB || (scoreA === scoreB && indexA > indexB);
  }

  offer(score: number, index: number): void {
    const { scores, indices } = this;
    if (this.size < this.capacity) {
      // Append and sift up: a parent must be worse than (or equal to) its children.
      let child = this.size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!NeighbourHeap.worse(score, index, scores[parent], indices[parent])) break;
        scores[child] = scores[parent];
        indices[child] = indices[parent];
        child = parent;
      }
      scores[child] = score;
      indices[child] = index;
      return;
    }
    if (!NeighbourHeap.worse(scores[0], indices[0], score, index)) return; // not better than the worst kept
    // Replace the root and sift down.
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= this.size) break;
      const right = left + 1;
      let worstChild = left;
      if (right < this.size && NeighbourHeap.worse(scores[right], indices[right], scores[left], indices[left])) worstChild = right;
      if (!NeighbourHeap.worse(scores[worstChild], indices[worstChild], score, index)) break;
      scores[parent] = scores[worstChild];
      indices[parent] = indices[worstChild];
      parent = worstChild;
    }
    scores[parent] = score;
    indices[parent] = index;
  }

  /** The kept indices in ascending order (k log k; k is small). */
  sortedByIndex(): Int32Array {
    return this.indices.slice(0, this.size).sort();
  }
}
