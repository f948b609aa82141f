/**
 * Linear evaluation protocol (chapter 7.5, "Method 1"): freeze the encoder, fit a linear
 * classifier on its features of the labelled training images, report its test accuracy.
 *
 * Sources: Zhang, Isola & Efros 2016 (linear classifiers on frozen features); Kornblith, Shlens &
 * Le 2019 and SimCLR's transfer evaluation (Chen et al. 2020, appendix): an ℓ2-regularized
 * multinomial logistic regression on frozen features, optimized with L-BFGS; CLIP (Radford et al.
 * 2021, appendix A.3) does the same with scikit-learn's L-BFGS logistic regression. This file
 * reproduces `make_pipeline(StandardScaler(), LogisticRegression(C=1/(λ·n), solver="lbfgs"))`
 * (multinomial is lbfgs's default for more than two classes; before sklearn 1.5 write
 * `multi_class="multinomial"`).
 *
 * 1. Standardize with the statistics of the TRAINING features only (test images must not leak in):
 *      μ_j = (1/n) Σ_i X[i, j],   σ_j = sqrt((1/n) Σ_i (X[i, j] − μ_j)²)     (population std)
 *      s_j = σ_j, or 1 when σ_j < 10·ε₆₄ (a constant feature, e.g. an always-black border pixel:
 *            sklearn's StandardScaler does the same instead of dividing by zero)
 *      Z[i, j] = (X[i, j] − μ_j) / s_j                   the same μ, s applied to the test features
 *
 * 2. Multinomial logistic regression, C classes, weights W (D, C), bias b (C):
 *      logits   z_i = Z_i W + b                                                  (n, C)
 *      loss     L(W, b) = (1/n) Σ_i [ logsumexp(z_i) − z_{i, y_i} ] + (λ/2) ‖W‖²_F
 *      gradient ∂L/∂W = (1/n) Zᵀ (P − Y) + λ W,   ∂L/∂b = (1/n) Σ_i (P_i − Y_i)
 *               with P = softmax(z) row-wise and Y the one-hot labels.
 *    The bias is not decayed. λ = 1e-4 by default: with n = 7,996 training images that is
 *    sklearn's `C = 1/(λ n) ≈ 1.25` (sklearn minimizes C·Σ_i CE_i + ½‖W‖², the same objective
 *    times C·n), close to sklearn's default C = 1. L is strictly convex in W, so the optimal W is
 *    unique and any converged solver lands on the same classifier (b is unique up to a constant
 *    added to every class, which softmax ignores; from b = 0 the iterates keep Σ_c b_c = 0).
 *    How λ moves the raw-pixel number, and why: docs/evaluation.md.
 *
 * 3. Minimize L with full-batch L-BFGS (Nocedal & Wright 2006, Algorithm 7.4 two-loop recursion,
 *    memory m = 100 as torch.optim.LBFGS) and a backtracking line search on the Armijo condition
 *      L(θ + α d) ≤ L(θ) + c₁ α ∇L·d,   c₁ = 1e-4,  α = 1, ½, ¼, …
 *    from θ = 0 (all logits equal, loss = log C; or from `initialClassifier`, a warm start), until
 *    max_k |∂L/∂θ_k| ≤ tolerance (scipy's
 *    `pgtol`, the criterion sklearn's lbfgs uses) or maxIterations. θ, the gradient and every
 *    sum are float64 on typed arrays (the standardized features are stored in float32, see
 *    designMatrix); the two products per evaluation, Z θ and Zᵀ (P − Y), go through `gemm`.
 *    Nothing is random, so the same features give the same accuracy bit for bit.
 *
 * Shapes: train features (n, D), test features (m, D), labels (n,), (m,) in 0 … C−1.
 *
 * @module
 */
import { gemm } from "../ops/gemm.js";
import {
  accuracy,
  asFeatureMatrix,
  asLabels,
  checkSameFeatureDim,
  countClasses,
  type FeatureMatrix,
  type FeaturesLike,
  type LabelsLike,
} from "./features.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgressFn } from "./progress.js";

/** Options of {@link linearProbe}. */
export interface LinearProbeOptions {
  /** λ, the L2 penalty (λ/2)‖W‖² on the weights (not the bias). Default 1e-4. */
  weightDecay?: number;
  /** Stop when max_k |∂L/∂θ_k| ≤ tolerance. Default 1e-5. */
  tolerance?: number;
  /** Upper bound on L-BFGS iterations. Default 1000. */
  maxIterations?: number;
  /** L-BFGS memory: pairs (s, y) kept. Default 100, as torch.optim.LBFGS (scipy: 10). */
  memory?: number;
  /** Standardize with the train mean/std (default true). */
  standardize?: boolean;
  /** Number of classes C; default 1 + the largest label in train or test. */
  numClasses?: number;
  /**
   * Warm start: begin L-BFGS at this classifier (e.g. the result of a fit with another λ or on
   * part of the rows) instead of θ = 0. It is moved into this fit's standardized coordinates
   * first, as the same function of the raw features (see `transferClassifier`). L is strictly
   * convex, so the optimum does not change; only where L-BFGS stops inside the tolerance does.
   */
  initialClassifier?: Pick<LinearProbeResult, "weights" | "bias" | "mean" | "scale">;
  /**
   * Called after every L-BFGS iteration: stage "linear probe", done = iterations so far,
   * total = maxIterations, detail "λ …, max |∂L/∂θ| …"; once more at the end with done = total.
   */
  onProgress?: EvaluationProgressFn;
}

/** The result of {@link linearProbe}: accuracies, the optimizer's report and the fitted classifier. */
export interface LinearProbeResult {
  /** Accuracy on the test features, in [0, 1]. */
  testAccuracy: number;
  /** Accuracy on the training features, in [0, 1]. */
  trainAccuracy: number;
  /** Mean cross entropy on train at the solution (without the penalty). */
  trainLoss: number;
  /** The minimized objective: trainLoss + (λ/2)‖W‖². */
  objective: number;
  /** max_k |∂L/∂θ_k| at the solution. */
  gradientMaxAbs: number;
  /** L-BFGS iterations taken, and objective/gradient evaluations (line search included). */
  iterations: number;
  /** Objective and gradient evaluations (line search included). */
  evaluations: number;
  /** True when the gradient tolerance was reached (false: maxIterations or a failed line search). */
  converged: boolean;
  /** The λ used. */
  weightDecay: number;
  /** C, the number of classes. */
  numClasses: number;
  /** Predicted class of each test row (m,). */
  testPredictions: Int32Array;
  /** The fitted classifier, in the standardized coordinates: weights (D, C) row-major, bias (C). */
  weights: Float64Array;
  /** The fitted bias (C). */
  bias: Float64Array;
  /** The standardization fitted on train: Z = (X − mean) / scale (mean 0, scale 1 if disabled). */
  mean: Float64Array;
  /** The per-feature scale of the standardization (D). */
  scale: Float64Array;
}

/**
 * Linear probe accuracy of frozen features: standardize (train statistics), fit multinomial
 * logistic regression on train with L-BFGS, predict test.
 */
export function linearProbe(
  trainFeatures: FeaturesLike,
  trainLabels: LabelsLike,
  testFeatures: FeaturesLike,
  testLabels: LabelsLike,
  options: LinearProbeOptions = {},
): LinearProbeResult {
  checkOptions("linearProbe", options, {
    weightDecay: true,
    tolerance: true,
    maxIterations: true,
    memory: true,
    standardize: true,
    numClasses: true,
    initialClassifier: true,
    onProgress: true,
  });
  const fn = "linearProbe";
  const train = asFeatureMatrix(fn, "trainFeatures", trainFeatures);
  const test = asFeatureMatrix(fn, "testFeatures", testFeatures);
  checkSameFeatureDim(fn, "trainFeatures", train, "testFeatures", test);
  const weightDecay = options.weightDecay ?? 1e-4;
  const tolerance = options.tolerance ?? 1e-5;
  const maxIterations = options.maxIterations ?? 1000;
  const memory = options.memory ?? 100;
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
    throw new Error(`${fn}: weightDecay must be a finite number ≥ 0, got ${weightDecay}`);
  }
  if (!(tolerance > 0)) throw new Error(`${fn}: tolerance must be > 0, got ${tolerance}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new Error(`${fn}: maxIterations must be a whole number ≥ 0, got ${maxIterations}`);
  }
  if (!Number.isInteger(memory) || memory < 1) throw new Error(`${fn}: memory must be a whole number ≥ 1, got ${memory}`);
  const trainY = asLabels(fn, "trainLabels", trainLabels, train.rows, options.numClasses);
  const testY = asLabels(fn, "testLabels", testLabels, test.rows, options.numClasses);
  const numClasses = options.numClasses ?? countClasses(trainY, testY);
  if (numClasses < 2) throw new Error(`${fn}: need at least 2 classes, got ${numClasses}`);

  const { mean, scale } = options.standardize === false ? identityStandardizer(train.dim) : fitStandardizer(train);
  const trainDesign = designMatrix(train, mean, scale); // (n, D + 1), last column = 1 (the bias)
  const problem = new SoftmaxRegression(trainDesign, train.rows, train.dim + 1, trainY, numClasses, weightDecay);
  const initial = options.initialClassifier && transferClassifier(fn, options.initialClassifier, mean, scale, numClasses);
  // A warm start from the previous fit on these very rows also takes over its L-BFGS memory.
  const previous = lastFit;
  lastFit = undefined;
  const sameRows = previous !== undefined && previous.result === options.initialClassifier && previous.train.data === train.data &&
    previous.train.rows === train.rows && previous.train.dim === train.dim && options.standardize !== false &&
    previous.standardize;
  const initialPairs = sameRows ? pairsForWeightDecay(previous.pairs, weightDecay) : undefined;
  const onProgress = options.onProgress;
  const onIteration = onProgress &&
    ((iteration: number, gradientMaxAbs: number) =>
      onProgress({
        stage: "linear probe",
        done: iteration,
        total: maxIterations,
        detail: `λ ${weightDecay}, max |∂L/∂θ| ${gradientMaxAbs.toExponential(1)}`,
      }));
  const fit = minimizeLbfgs(problem, { tolerance, maxIterations, memory, onIteration }, initial, initialPairs);
  onProgress?.({
    stage: "linear probe",
    done: maxIterations,
    total: maxIterations,
    detail: `λ ${weightDecay}, ${fit.iterations} iterations`,
  });

  const theta = fit.theta; // (D + 1, C): weights, then the bias row
  const testDesign = designMatrix(test, mean, scale); // (m, D + 1)
  const testPredictions = predict(testDesign, test.rows, train.dim + 1, theta, numClasses);
  const trainPredictions = predict(trainDesign, train.rows, train.dim + 1, theta, numClasses);
  const lossParts = problem.evaluate(theta, new Float64Array(theta.length));
  const result: LinearProbeResult = {
    testAccuracy: accuracy(testPredictions, testY),
    trainAccuracy: accuracy(trainPredictions, trainY),
    trainLoss: lossParts.crossEntropy,
    objective: fit.value,
    gradientMaxAbs: fit.gradientMaxAbs,
    iterations: fit.iterations,
    evaluations: fit.evaluations,
    converged: fit.converged,
    weightDecay,
    numClasses,
    testPredictions,
    weights: theta.slice(0, train.dim * numClasses),
    bias: theta.slice(train.dim * numClasses),
    mean,
    scale,
  };
  lastFit = { result, train, standardize: options.standardize !== false, pairs: fit.pairs };
  return result;
}

/**
 * The most recent fit and its final L-BFGS memory (one slot, so at most one memory is kept):
 * the λ sweep of src/eval/validated-probe.ts passes each fit as the next one's initialClassifier
 * on the same rows, and then the curvature pairs carry over too (moved to the new λ exactly,
 * `pairsForWeightDecay`), not only θ.
 */
let lastFit: { result: LinearProbeResult; train: FeatureMatrix; standardize: boolean; pairs: CurvaturePairs } | undefined;

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Standardization
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** Below this a feature's train std counts as zero (sklearn: 10 × float64 machine epsilon). */
const ZERO_SCALE = 10 * Number.EPSILON;

/**
 * Per-feature mean and scale of the training features (two passes in float64: mean, then the
 * population variance around it). scale_j = std_j, or 1 for a constant feature.
 */
export function fitStandardizer(train: FeatureMatrix): {
  /** The per-feature mean (D). */
  mean: Float64Array;
  /** The per-feature scale (D): the std, or 1 where it is 0. */
  scale: Float64Array;
} {
  const { data, rows, dim } = train;
  const mean = new Float64Array(dim);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= rows;
  const variance = new Float64Array(dim);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) {
      const centered = data[i * dim + j] - mean[j];
      variance[j] += centered * centered;
    }
  }
  const scale = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const std = Math.sqrt(variance[j] / rows);
    scale[j] = std < ZERO_SCALE ? 1 : std;
  }
  return { mean, scale };
}

function identityStandardizer(dim: number): { mean: Float64Array; scale: Float64Array } {
  return { mean: new Float64Array(dim), scale: new Float64Array(dim).fill(1) };
}

/**
 * The design matrix [ (X − mean) / scale , 1 ]: (rows, D) → (rows, D + 1); the ones column carries
 * the bias. Computed in float64, stored in float32: the features came from a float32 encoder, the
 * rounding (relative 6e-8) is below their own precision, and the two products per evaluation run
 * about twice as fast on half the bytes. Every sum over it is accumulated in float64 by gemm.
 */
function designMatrix(features: FeatureMatrix, mean: Float64Array, scale: Float64Array): Float32Array {
  const { data, rows, dim } = features;
  const width = dim + 1;
  const out = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) out[i * width + j] = (data[i * dim + j] - mean[j]) / scale[j];
    out[i * width + dim] = 1;
  }
  return out;
}

/**
 * (rows, width) row-major → (width, rows) row-major: kept next to the design matrix so that the
 * gradient product [Z, 1]ᵀ (P − Y) reads contiguous rows (a strided view is slower; docs/evaluation.md,
 * "Measured on this split", has the timing).
 */
function transposeMatrix(matrix: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) out[j * rows + i] = matrix[i * width + j];
  return out;
}

/**
 * θ (D + 1, C) for the standardizer (mean', scale') that computes the same logits as a classifier
 * fitted with another standardizer (mean, scale):
 *   z_c = Σ_j (x_j − μ_j)/s_j · w_jc + b_c = Σ_j (x_j − μ'_j)/s'_j · w'_jc + b'_c   for every x
 *   ⇔  w'_jc = w_jc · s'_j / s_j,   b'_c = b_c + Σ_j (μ'_j − μ_j) · w_jc / s_j
 */
function transferClassifier(
  fn: string,
  from: Pick<LinearProbeResult, "weights" | "bias" | "mean" | "scale">,
  mean: Float64Array,
  scale: Float64Array,
  numClasses: number,
): Float64Array {
  const dim = mean.length;
  if (
    from.mean.length !== dim || from.scale.length !== dim || from.weights.length !== dim * numClasses || from.bias.length !== numClasses
  ) {
    throw new Error(
      `${fn}: initialClassifier has ${from.mean.length} features and ${from.bias.length} classes, this fit ${dim} and ${numClasses}`,
    );
  }
  const theta = new Float64Array((dim + 1) * numClasses);
  for (let c = 0; c < numClasses; c++) theta[dim * numClasses + c] = from.bias[c];
  for (let j = 0; j < dim; j++) {
    for (let c = 0; c < numClasses; c++) {
      const raw = from.weights[j * numClasses + c] / from.scale[j]; // the weight on the raw feature x_j
      theta[j * numClasses + c] = raw * scale[j];
      theta[dim * numClasses + c] += (mean[j] - from.mean[j]) * raw;
    }
  }
  return theta;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// The objective: softmax regression with an L2 penalty
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** L(θ) and ∂L/∂θ for θ = [W; b] of shape (D + 1, C) row-major (see the file header). */
class SoftmaxRegression {
  private readonly logits: Float64Array; // (n, C), reused
  private readonly designTransposed: Float32Array; // (D + 1, n)
  constructor(
    readonly design: Float32Array, //   (n, D + 1)
    readonly rows: number, //           n
    readonly width: number, //          D + 1
    readonly labels: Int32Array, //     (n,)
    readonly numClasses: number, //     C
    readonly weightDecay: number, //    λ
  ) {
    this.logits = new Float64Array(rows * numClasses);
    this.designTransposed = transposeMatrix(design, rows, width);
  }

  get size(): number {
    return this.width * this.numClasses;
  }

  /** The coordinates λ decays: the weight rows, all but the last (bias) row of θ. */
  get weightCount(): number {
    return (this.width - 1) * this.numClasses;
  }

  /** Writes ∂L/∂θ into `gradient` and returns L(θ) (and its cross-entropy part). */
  evaluate(theta: Float64Array, gradient: Float64Array): { value: number; crossEntropy: number } {
    const { design, rows, width, labels, numClasses: C, weightDecay } = this;
    const logits = this.logits;
    // z = [Z, 1] θ                                                                           (n, C)
    gemm(
      rows,
      C,
      width,
      { data: design, offset: 0, rowStride: width, colStride: 1 },
      { data: theta, offset: 0, rowStride: C, colStride: 1 },
      logits,
      0,
      false,
    );
    // Row by row: CE_i = logsumexp(z_i) − z_{i, y_i}; then z_i ← (softmax(z_i) − onehot(y_i)) / n.
    let crossEntropySum = 0;
    for (let i = 0; i < rows; i++) {
      const base = i * C;
      let largest = -Infinity;
      for (let c = 0; c < C; c++) largest = Math.max(largest, logits[base + c]);
      let expSum = 0;
      for (let c = 0; c < C; c++) {
        const shifted = Math.exp(logits[base + c] - largest);
        logits[base + c] = shifted;
        expSum += shifted;
      }
      // logsumexp − z_y = log(expSum) + largest − z_y = log(expSum) − log(shifted_y)
      crossEntropySum += Math.log(expSum) - Math.log(logits[base + labels[i]]);
      for (let c = 0; c < C; c++) logits[base + c] = logits[base + c] / expSum / rows;
      logits[base + labels[i]] -= 1 / rows;
    }
    // ∂L/∂θ = [Z, 1]ᵀ (P − Y) / n                                                          (D + 1, C)
    gemm(
      width,
      C,
      rows,
      { data: this.designTransposed, offset: 0, rowStride: rows, colStride: 1 },
      { data: logits, offset: 0, rowStride: C, colStride: 1 },
      gradient,
      0,
      false,
    );
    // + λ W on the weight rows (not the bias row, the last one)
    let penalty = 0;
    const weightCount = (width - 1) * C;
    for (let k = 0; k < weightCount; k++) {
      penalty += theta[k] * theta[k];
      gradient[k] += weightDecay * theta[k];
    }
    const crossEntropy = crossEntropySum / rows;
    return { value: crossEntropy + 0.5 * weightDecay * penalty, crossEntropy };
  }
}

/** argmax_c ([Z, 1] θ)_{i,c}, ties to the smaller class. (rows, D + 1) · (D + 1, C) → (rows,) */
function predict(design: Float32Array, rows: number, width: number, theta: Float64Array, numClasses: number): Int32Array {
  const logits = new Float64Array(rows * numClasses);
  gemm(
    rows,
    numClasses,
    width,
    { data: design, offset: 0, rowStride: width, colStride: 1 },
    { data: theta, offset: 0, rowStride: numClasses, colStride: 1 },
    logits,
    0,
    false,
  );
  const predictions = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (logits[i * numClasses + c] > logits[i * numClasses + best]) best = c;
    predictions[i] = best;
  }
  return predictions;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// L-BFGS
// ────────────────────────────────────────────────────────────────────────────────────────────────

interface Objective {
  readonly size: number;
  evaluate(theta: Float64Array, gradient: Float64Array): { value: number };
}

/**
 * L-BFGS's memory: the curvature pairs (s_k, y_k) and ρ_k, oldest first, of the objective with
 * weight decay λ on its first `weightCount` coordinates.
 */
interface CurvaturePairs {
  s: Float64Array[];
  y: Float64Array[];
  rho: number[];
  weightDecay: number;
  weightCount: number;
}

/**
 * The same pairs for weight decay λ′ on the same data. The penalty's gradient is λ W, so
 * y_k = Δg_CE + λ s_W and exactly y′_k = y_k + (λ′ − λ) s_W (s_W: the weight coordinates of s_k);
 * s′ᵀy′ = s_kᵀΔg_CE + λ′‖s_W‖² stays positive (the cross entropy is convex); a pair that rounding
 * pushes under the storing threshold is dropped.
 */
function pairsForWeightDecay(pairs: CurvaturePairs, weightDecay: number): CurvaturePairs {
  const delta = weightDecay - pairs.weightDecay;
  const out: CurvaturePairs = { s: [], y: [], rho: [], weightDecay, weightCount: pairs.weightCount };
  pairs.s.forEach((s, h) => {
    const y = Float64Array.from(pairs.y[h]);
    for (let k = 0; k < pairs.weightCount; k++) y[k] += delta * s[k];
    const curvature = dot(s, y);
    if (curvature > 1e-10 * dot(y, y)) {
      out.s.push(s);
      out.y.push(y);
      out.rho.push(1 / curvature);
    }
  });
  return out;
}

interface LbfgsResult {
  theta: Float64Array;
  value: number;
  pairs: CurvaturePairs;
  gradientMaxAbs: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

/**
 * Limited-memory BFGS from θ = 0, or from `initial` when given (a warm start; not modified), with
 * an empty memory or `initialPairs` (a warm start's curvature, for this objective).
 *
 * Direction d = −H g, with H the inverse-Hessian approximation built from the last m pairs
 *   s_k = θ_{k+1} − θ_k,  y_k = g_{k+1} − g_k,  ρ_k = 1 / (y_kᵀ s_k)
 * by the two-loop recursion (Nocedal & Wright, Algorithm 7.4), initial scaling
 * H⁰ = (s_kᵀ y_k / y_kᵀ y_k) I. A pair with y_kᵀ s_k ≤ 1e-10·‖y_k‖² is not stored (it would break
 * positive definiteness; cannot happen for a strictly convex L, but rounding can make it so).
 * With an empty memory the first step is −g scaled to unit max-norm, so the step size does not
 * depend on the scale of the features.
 */
function minimizeLbfgs(
  problem: Objective & { readonly weightDecay: number; readonly weightCount: number },
  options: { tolerance: number; maxIterations: number; memory: number; onIteration?: (iteration: number, gradientMaxAbs: number) => void },
  initial?: Float64Array,
  initialPairs?: CurvaturePairs,
): LbfgsResult {
  const size = problem.size;
  const { tolerance, maxIterations, memory } = options;
  let theta = initial ? Float64Array.from(initial) : new Float64Array(size);
  let gradient = new Float64Array(size);
  let value = problem.evaluate(theta, gradient).value;
  let evaluations = 1;
  // History ring: pair h (0 = oldest) lives in slot (first + h) mod memory.
  const sHistory = Array.from({ length: memory }, () => new Float64Array(size));
  const yHistory = Array.from({ length: memory }, () => new Float64Array(size));
  const rho = new Float64Array(memory);
  const alpha = new Float64Array(memory);
  let first = 0;
  let stored = 0;
  if (initialPairs) {
    const keep = Math.min(memory, initialPairs.s.length); // the newest ones
    for (let h = 0; h < keep; h++) {
      const from = initialPairs.s.length - keep + h;
      sHistory[h].set(initialPairs.s[from]);
      yHistory[h].set(initialPairs.y[from]);
      rho[h] = initialPairs.rho[from];
    }
    stored = keep;
  }
  const direction = new Float64Array(size);
  let candidate = new Float64Array(size);
  let candidateGradient = new Float64Array(size);
  let sNew = new Float64Array(size);
  let yNew = new Float64Array(size);
  let iterations = 0;
  let converged = maxAbs(gradient) <= tolerance;

  while (!converged && iterations < maxIterations) {
    // Two-loop recursion: direction = −H g.
    for (let k = 0; k < size; k++) direction[k] = -gradient[k];
    for (let h = stored - 1; h >= 0; h--) {
      const slot = (first + h) % memory;
      alpha[slot] = rho[slot] * dot(sHistory[slot], direction);
      axpy(-alpha[slot], yHistory[slot], direction);
    }
    if (stored > 0) {
      const newest = (first + stored - 1) % memory;
      const gamma = 1 / (rho[newest] * dot(yHistory[newest], yHistory[newest])); // sᵀy / yᵀy
      for (let k = 0; k < size; k++) direction[k] *= gamma;
    } else {
      const norm = maxAbs(direction);
      for (let k = 0; k < size; k++) direction[k] /= norm;
    }
    for (let h = 0; h < stored; h++) {
      const slot = (first + h) % memory;
      const beta = rho[slot] * dot(yHistory[slot], direction);
      axpy(alpha[slot] - beta, sHistory[slot], direction);
    }
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding): forget the history, take steepest descent.
      stored = 0;
      const norm = maxAbs(gradient);
      for (let k = 0; k < size; k++) direction[k] = -gradient[k] / norm;
      slope = dot(gradient, direction);
    }

    // Backtracking line search on the Armijo condition: α = 1, ½, ¼, …
    let step = 1;
    let accepted = false;
    let candidateValue = value;
    for (let attempt = 0; attempt < 50; attempt++) {
      for (let k = 0; k < size; k++) candidate[k] = theta[k] + step * direction[k];
      candidateValue = problem.evaluate(candidate, candidateGradient).value;
      evaluations++;
      if (candidateValue <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break; // no decrease left at float64 precision: stop where we are
    iterations++;

    // The curvature pair s = θ_new − θ, y = g_new − g; kept (in the next ring slot, replacing the
    // oldest pair when full) only when sᵀy is safely positive.
    for (let k = 0; k < size; k++) {
      sNew[k] = candidate[k] - theta[k];
      yNew[k] = candidateGradient[k] - gradient[k];
    }
    const curvature = dot(sNew, yNew);
    if (curvature > 1e-10 * dot(yNew, yNew)) {
      const slot = (first + stored) % memory;
      [sHistory[slot], sNew] = [sNew, sHistory[slot]];
      [yHistory[slot], yNew] = [yNew, yHistory[slot]];
      rho[slot] = 1 / curvature;
      if (stored < memory) stored++;
      else first = (first + 1) % memory;
    }
    [theta, candidate] = [candidate, theta];
    [gradient, candidateGradient] = [candidateGradient, gradient];
    value = candidateValue;
    const gradientMaxAbs = maxAbs(gradient);
    converged = gradientMaxAbs <= tolerance;
    options.onIteration?.(iterations, gradientMaxAbs);
  }
  const order = Array.from({ length: stored }, (_, h) => (first + h) % memory);
  const pairs: CurvaturePairs = {
    s: order.map((slot) => sHistory[slot]),
    y: order.map((slot) => yHistory[slot]),
    rho: order.map((slot) => rho[slot]),
    weightDecay: problem.weightDecay,
    weightCount: problem.weightCount,
  };
  return { theta, value, pairs, gradientMaxAbs: maxAbs(gradient), iterations, evaluations, converged };
}

function dot(a: Float64Array, b: Float64Array): number {
  let total = 0;
  for (let k = 0; k < a.length; k++) total += a[k] * b[k];
  return total;
}

/** y ← y + a·x */
function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let k = 0; k < x.length; k++) y[k] += a * x[k];
}

function maxAbs(a: Float64Array): number {
  let largest = 0;
  for (let k = 0; k < a.length; k++) largest = Math.max(largest, Math.abs(a[k]));
  return largest;
}
