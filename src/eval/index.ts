/**
 * Evaluation of learned representations (chapter 7.5 "Evaluating Contrastive Models", 7.6):
 * linear probe, kNN, representation health (alignment, uniformity, std, effective rank), CLIP
 * zero-shot classification and retrieval, raw-pixel baselines, and the markdown report.
 * Every function takes features — typed arrays with their shape, or Tensors (N, D) — so any
 * encoder can be evaluated; see docs/evaluation.md.
 *
 * @module
 */
export {
  asFeatureMatrix,
  asLabels,
  featureMatrix,
  normalizeRows,
  accuracy,
  embedImages,
  type FeatureArray,
  type FeatureMatrix,
  type FeaturesLike,
  type LabelsLike,
  type EmbedFn,
  type EmbedOptions,
} from "./features.js";
export * from "./linear-probe.js";
export * from "./knn.js";
export * from "./health.js";
export * from "./zero-shot.js";
export * from "./retrieval.js";
export * from "./baselines.js";
export * from "./report.js";
export * from "./evaluate.js";
export * from "./validated-probe.js";
export * from "./progress.js";
