/**
 * The contrastive losses (chapter 7) and the troubleshooting helpers of chapter 7.6.
 * Each loss lives in its own file, which opens with its equation, source and shapes;
 * docs/losses.md puts them side by side with worked examples and the PyTorch equivalents.
 *
 * @module
 */
export { infoNCE, rawInfoNCE, infoNCEFromSimilarities, type InfoNCEOptions, type InfoNCEWorkedExample } from "./info-nce.js";
export { ntXent, positiveIndices, type NTXentOptions } from "./nt-xent.js";
export { clipLoss, clampLogitScale_, type ClipLossOptions } from "./clip-loss.js";
export { mocoLoss, type MocoLossOptions } from "./moco-loss.js";
export { byolLoss } from "./byol-loss.js";
export { similarity, pairedSimilarity, type SimilarityMetric, type SimilarityOptions } from "./similarity.js";
export {
  similarityStats,
  gradientNorms,
  temperatureSweep,
  collapseMonitor,
  DEFAULT_SWEEP_TEMPERATURES,
  type SimilarityStats,
  type GradientNormEntry,
  type GradientNormReport,
  type GradientStatus,
  type TemperatureSweep,
  type TemperatureSweepRow,
  type CollapseOptions,
  type CollapseReport,
} from "./diagnostics.js";
export { tiledInfoNCE, tiledClipLoss, type TiledInfoNCEOptions, type TiledClipLossOptions } from "./tiled-info-nce.js";
export {
  allGather,
  distributedClipLoss,
  dataParallelClipLoss,
  type AllGatherOptions,
  type DistributedClipLossOptions,
  type DataParallelClipLoss,
} from "./distributed.js";
