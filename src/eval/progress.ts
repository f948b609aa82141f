/**
 * How far an evaluation is, for whoever asks: every long evaluation function takes an optional
 * `onProgress` callback and calls it as it goes. Without one the library stays silent (it never
 * prints); the CLI passes one that draws a progress line (src/cli/progress.ts).
 *
 *   stage     what runs: "features: train images", "kNN", "linear probe", …
 *   done      units of the stage done so far (images embedded, test rows classified, fits or
 *             L-BFGS iterations); `done === total` when the stage ends
 *   total     units of the stage; for a single L-BFGS fit its maxIterations (an upper bound: a fit
 *             that converges ends with `done === total` reported once, at its end)
 *   detail    what the number alone does not say, e.g. "λ 1e-4, L-BFGS iteration 37"
 *
 * @module
 */

/** One report of an evaluation's progress (see the file header). */
export interface EvaluationProgress {
  /** What runs: "features: train images", "kNN", "linear probe", …. */
  stage: string;
  /** Units of the stage done so far; equals `total` when the stage ends. */
  done: number;
  /** Units of the stage (for one L-BFGS fit, its maxIterations: an upper bound). */
  total: number;
  /** What the number alone does not say, e.g. "λ 1e-4, L-BFGS iteration 37". */
  detail?: string;
}

/** The callback the evaluation functions accept as `onProgress`. */
export type EvaluationProgressFn = (progress: EvaluationProgress) => void;

/** `onProgress` with the stage renamed (e.g. "features" → "features: test images"); undefined stays undefined. */
export function relabelProgress(onProgress: EvaluationProgressFn | undefined, stage: string): EvaluationProgressFn | undefined {
  return onProgress && ((p) => onProgress({ ...p, stage }));
}
