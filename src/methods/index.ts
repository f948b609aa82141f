/**
 * Barrel of src/methods: the four methods, the shared encoder, the training loop and evaluation.
 *
 * @module
 */
export {
  imageEncoder,
  imageTensor,
  trainableOf,
  copyWeights,
  FEATURE_DIM,
  type ContrastiveMethod,
  type MethodName,
  type EncoderKind,
  type ImageEncoder,
} from "./common.js";
export { SimCLR, type SimCLROptions } from "./simclr.js";
export { MoCo, type MoCoOptions } from "./moco.js";
export { BYOL, type BYOLOptions } from "./byol.js";
export { CLIP, BagOfWordsEncoder, TransformerTextEncoder, type CLIPOptions, type ClipImageTower, type ClipTextTower } from "./clip.js";
// The trainer (run directories, checkpoint files, MNIST from the package) needs Node: src/node.ts exports it.
export { METHOD_NAMES, DEFAULT_TEMPERATURE, defaultConfig, validateConfig, type TrainConfig, type TrainState } from "./config.js";
export { evaluateMethod, similaritySample, type MethodEvaluation } from "./evaluate.js";
export { gradCache, splitInputs, type GradCacheTower, type GradCacheOptions, type GradCacheResult } from "./grad-cache.js";
