/**
 * Baselines: what the evaluations give with no encoder at all, so that every method's numbers
 * can be read against them. A learned representation that does not beat its raw input has
 * learned nothing the linear probe or the kNN could not find by themselves.
 *
 *   raw pixels: f(x) = x, the 28×28 image flattened to 784 values in [0, 1]         (N, 784)
 *
 * Evaluated with the defaults: the linear probe (standardized, λ = 1e-4) and the kNN (k = 20,
 * cosine, exp(s/0.07) weights). Their accuracies on this split (train 7,996 / test 2,004), with
 * PyTorch's on the same objective beside them, are in docs/evaluation.md ("Measured on this split").
 *
 * PyTorch: `x.flatten(1)` before the probe.
 *
 * @module
 */
import type { MnistData, Split } from "../data/mnist.js";
import { featureMatrix, type FeatureMatrix } from "./features.js";
import { knnAccuracy, type KnnOptions, type KnnResult } from "./knn.js";
import { linearProbeValidated } from "./validated-probe.js";
import { linearProbe, type LinearProbeOptions, type LinearProbeResult } from "./linear-probe.js";
import type { EvaluationRow } from "./report.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgressFn } from "./progress.js";

/** The raw-pixel features of a split: (count, 784), a view over its images (no copy). */
export function rawPixelFeatures(split: Split): FeatureMatrix {
  if (!(split.count > 0) || split.images.length % split.count !== 0) {
    throw new Error(`rawPixelFeatures: split holds ${split.images.length} values for ${split.count} images`);
  }
  return featureMatrix(split.images, split.count, split.images.length / split.count);
}

/** The result of {@link rawPixelBaseline}: the linear probe and kNN on raw pixels. */
export interface RawPixelBaseline {
  /** The linear probe on standardized raw pixels. */
  linearProbe: LinearProbeResult;
  /** kNN on raw pixels. */
  knn: KnnResult;
  /** The report row ("raw pixels"): linear probe and kNN; the other columns do not apply. */
  row: EvaluationRow;
}

/** Linear probe and kNN accuracy of the raw pixels (the CPU time of each: docs/evaluation.md, "Measured on this split"). */
export function rawPixelBaseline(
  data: MnistData,
  options: { linearProbe?: LinearProbeOptions; knn?: KnnOptions; onProgress?: EvaluationProgressFn } = {},
): RawPixelBaseline {
  checkOptions("rawPixelBaseline", options, { linearProbe: true, knn: true, onProgress: true });
  const train = rawPixelFeatures(data.train);
  const test = rawPixelFeatures(data.test);
  const { onProgress } = options;
  const probeOptions = onProgress ? { ...options.linearProbe, onProgress } : options.linearProbe;
  // The same protocol as every method: λ chosen on held-out training data unless fixed.
  const probe = options.linearProbe?.weightDecay === undefined
    ? linearProbeValidated(train, data.train.labels, test, data.test.labels, probeOptions)
    : linearProbe(train, data.train.labels, test, data.test.labels, probeOptions);
  const knn = knnAccuracy(train, data.train.labels, test, data.test.labels, onProgress ? { ...options.knn, onProgress } : options.knn);
  return {
    linearProbe: probe,
    knn,
    row: { method: "raw pixels", dim: train.dim, linearProbe: probe.testAccuracy, knn: knn.accuracy },
  };
}
