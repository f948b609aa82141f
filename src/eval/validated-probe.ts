/**
 * The linear probe with its regularization chosen on held-out training data, as the protocols
 * people port to do it (SimCLR, Chen et al. 2020, appendix B.5; CLIP, Radford et al. 2021,
 * appendix A.3: "we determine the L2 regularization strength λ using a hyperparameter sweep on
 * the validation sets"):
 *
 *   1. split the training features: the last ⌈f·n_c⌉ images of every class c are validation
 *      (deterministic and stratified; f = 0.1), the rest fit;
 *   2. for every λ in the grid, fit the probe (src/eval/linear-probe.ts) on the fit part and
 *      measure its accuracy on the validation part;
 *   3. take the λ with the best validation accuracy (ties: the larger λ, the simpler model), refit
 *      on the whole training split with it, and report the test accuracy.
 *
 * Warm starts (default; `warmStart: false` is the plain path, every fit from θ = 0): the grid is
 * fitted from the largest λ to the smallest, each fit starting at the previous optimum and with
 * the previous fit's L-BFGS memory moved exactly to the new λ (a continuation path: the optimum
 * moves little from one λ to the next, the strongly regularized fits converge fastest, and the
 * curvature of the cross entropy carries over); the refit starts at the fit-part optimum of the
 * chosen λ. Half the L-BFGS iterations of the plain path (docs/performance.md, "The linear
 * probe"). L is strictly convex, so every fit still stops at a point where max |∂L/∂θ| ≤ tolerance,
 * near the same unique optimum; only where inside that tolerance differs.
 * spec/eval/validated-probe.spec.ts compares both paths.
 *
 * The test split is used once, at the end. Why this matters: with a fixed weak λ, standardized
 * raw pixels overfit (a stronger λ raises their test accuracy) and so do 256-d features; one
 * fixed λ favours some representations over others. docs/evaluation.md ("Measured on this
 * split") has the numbers.
 *
 * @module
 */
import { linearProbe, type LinearProbeOptions, type LinearProbeResult } from "./linear-probe.js";
import { asFeatureMatrix, asLabels, countClasses, type FeatureMatrix, type FeaturesLike, type LabelsLike } from "./features.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgress, EvaluationProgressFn } from "./progress.js";

/** The λ values {@link linearProbeValidated} tries by default: 1e-5 … 1e-1. */
export const WEIGHT_DECAY_GRID: readonly number[] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/** Options of {@link linearProbeValidated}: the probe's, with λ chosen from a grid. */
export interface ValidatedProbeOptions extends Omit<LinearProbeOptions, "weightDecay" | "initialClassifier"> {
  /** Candidate λ values (default WEIGHT_DECAY_GRID). */
  grid?: readonly number[];
  /** Fraction of each class held out for validation (default 0.1). */
  validationFraction?: number;
  /** Warm-start each fit from the previous optimum (default true; false: every fit from θ = 0). */
  warmStart?: boolean;
  /**
   * Called as the fits go: stage "linear probe", done = fits finished (the grid's, then the refit),
   * total = grid length + 1, detail "λ …, L-BFGS iteration …" of the fit under way.
   */
  onProgress?: EvaluationProgressFn;
}

/** The result of {@link linearProbeValidated}: the final probe's, plus every candidate's validation accuracy. */
export interface ValidatedProbeResult extends LinearProbeResult {
  /** Validation accuracy of every candidate λ, in grid order. */
  validation: {
    /** The candidate λ. */
    weightDecay: number;
    /** The probe's accuracy on the validation rows with it. */
    accuracy: number;
  }[];
}

/** Rows of each class: all but the last ⌈f·n_c⌉ go to `fit`, those to `validation`. */
export function stratifiedHoldout(labels: Int32Array, fraction: number): {
  /** The rows to fit on, ascending. */
  fit: Int32Array;
  /** The held-out rows, ascending. */
  validation: Int32Array;
} {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`stratifiedHoldout: fraction must be in (0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, row) => {
    const rows = byClass.get(label) ?? [];
    rows.push(row);
    byClass.set(label, rows);
  });
  const fit: number[] = [];
  const validation: number[] = [];
  for (const rows of byClass.values()) {
    const held = Math.ceil(fraction * rows.length);
    if (held >= rows.length) {
      throw new Error(`stratifiedHoldout: a class with ${rows.length} row(s) cannot give ${held} to validation and keep one to fit`);
    }
    fit.push(...rows.slice(0, rows.length - held));
    validation.push(...rows.slice(rows.length - held));
  }
  return { fit: Int32Array.from(fit.sort((a, b) => a - b)), validation: Int32Array.from(validation.sort((a, b) => a - b)) };
}

function takeRows(features: FeatureMatrix, rows: Int32Array): FeatureMatrix {
  const data = new Float32Array(rows.length * features.dim);
  rows.forEach((row, k) => {
    for (let j = 0; j < features.dim; j++) data[k * features.dim + j] = features.data[row * features.dim + j];
  });
  return { data, rows: rows.length, dim: features.dim };
}

/**
 * The linear probe with λ chosen on a stratified held-out part of the training split (the last 10% of each class by default), then refit
 * on the whole training split and scored once on test.
 * The protocol of SimCLR (appendix B.5) and CLIP (appendix A.3).
 *
 * @returns the refit probe's result with the validation accuracy of every λ.
 */
export function linearProbeValidated(
  trainFeatures: FeaturesLike,
  trainLabels: LabelsLike,
  testFeatures: FeaturesLike,
  testLabels: LabelsLike,
  options: ValidatedProbeOptions = {},
): ValidatedProbeResult {
  checkOptions("linearProbeValidated", options, {
    tolerance: true,
    maxIterations: true,
    memory: true,
    standardize: true,
    numClasses: true,
    grid: true,
    validationFraction: true,
    warmStart: true,
    onProgress: true,
  });
  const fn = "linearProbeValidated";
  const grid = options.grid ?? WEIGHT_DECAY_GRID;
  if (grid.length === 0 || grid.some((v) => !(v >= 0) || !Number.isFinite(v))) {
    throw new Error(`${fn}: grid must hold finite numbers ≥ 0, got [${grid.join(", ")}]`);
  }
  const train = asFeatureMatrix(fn, "trainFeatures", trainFeatures);
  const trainY = asLabels(fn, "trainLabels", trainLabels, train.rows, options.numClasses);
  const testY = asLabels(fn, "testLabels", testLabels, asFeatureMatrix(fn, "testFeatures", testFeatures).rows, options.numClasses);
  const numClasses = options.numClasses ?? countClasses(trainY, testY);
  const { fit, validation } = stratifiedHoldout(trainY, options.validationFraction ?? 0.1);
  const fitFeatures = takeRows(train, fit);
  const validationFeatures = takeRows(train, validation);
  const fitLabels = Int32Array.from(fit, (row) => trainY[row]);
  const validationLabels = Int32Array.from(validation, (row) => trainY[row]);
  const { grid: _grid, validationFraction: _fraction, warmStart: _warm, onProgress, ...probeOptions } = options;
  const fits = grid.length + 1;
  // Each fit's iterations, reported as part of the whole: fit `index` of `fits`, its λ, its iteration.
  const fitProgress = (index: number, weightDecay: number, label: string) =>
    onProgress &&
    ((p: EvaluationProgress) => {
      const finished = p.done === p.total;
      onProgress({
        stage: "linear probe",
        done: finished ? index + 1 : index,
        total: fits,
        detail: finished ? `${label} λ ${weightDecay} done` : `${label} λ ${weightDecay}, L-BFGS iteration ${p.done}`,
      });
    });
  const warmStart = options.warmStart ?? true;
  // Fit order: λ from largest to smallest when warm-starting (each from the previous optimum).
  const order = grid.map((_, k) => k);
  if (warmStart) order.sort((a, b) => grid[b] - grid[a]);
  const gridFits: LinearProbeResult[] = new Array(grid.length);
  let previous: LinearProbeResult | undefined;
  for (const [index, k] of order.entries()) {
    const initialClassifier = warmStart ? previous : undefined;
    const onFit = fitProgress(index, grid[k], "validation fit");
    const options = { ...probeOptions, numClasses, weightDecay: grid[k], initialClassifier, onProgress: onFit };
    gridFits[k] = previous = linearProbe(fitFeatures, fitLabels, validationFeatures, validationLabels, options);
  }
  const scores = grid.map((weightDecay, k) => ({ weightDecay, accuracy: gridFits[k].testAccuracy }));
  // The best validation accuracy; among equals the largest λ.
  const bestIndex = scores.reduce(
    (a, _, b) => (scores[b].accuracy > scores[a].accuracy || (scores[b].accuracy === scores[a].accuracy && grid[b] > grid[a]) ? b : a),
    0,
  );
  const final = linearProbe(train, trainY, testFeatures, testY, {
    ...probeOptions,
    numClasses,
    weightDecay: grid[bestIndex],
    initialClassifier: warmStart ? gridFits[bestIndex] : undefined,
    onProgress: fitProgress(grid.length, grid[bestIndex], "refit"),
  });
  return { ...final, validation: scores };
}
