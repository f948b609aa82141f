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
export { SimCLR, type SimCLROptions, type SimCLRLossName } from "./simclr.js";
export { MoCo, type MoCoOptions } from "./moco.js";
export { BYOL, type BYOLOptions } from "./byol.js";
export { VICReg, type VICRegOptions } from "./vicreg.js";
export { SimSiam, type SimSiamOptions } from "./simsiam.js";
export { DINO, DINOHead, type DINOOptions } from "./dino.js";
export { SwAV, type SwAVOptions } from "./swav.js";
export { SupCon, type SupConOptions } from "./supcon.js";
export { BarlowTwins, type BarlowTwinsOptions } from "./barlow.js";
export { CLIP, BagOfWordsEncoder, TransformerTextEncoder, type CLIPOptions, type ClipImageTower, type ClipTextTower } from "./clip.js";
// A run in any runtime (from the digits, checkpoints as bytes); the trainer's files and loadMnist need Node: src/node.ts.
export {
  createRunFromData,
  trainRunSteps,
  serializeCheckpoint,
  resumeRunFromBytes,
  readCheckpointBytes,
  checkpointMetadata,
  limitSplit,
  nonFiniteHint,
  type Run,
  type AnyLoader,
  type Progress,
  type TrainEvent,
  type CreateRunOptions,
  type TrainStepsOptions,
} from "./run.js";
export { METHOD_NAMES, DEFAULT_TEMPERATURE, defaultConfig, validateConfig, type TrainConfig, type TrainState } from "./config.js";
export { LOSS_NAMES, type LossName } from "./config.js";
export { evaluateMethod, similaritySample, encoderFeatures, oneOfEachClass, type MethodEvaluation } from "./evaluate.js";
export { gradCache, splitInputs, type GradCacheTower, type GradCacheOptions, type GradCacheResult } from "./grad-cache.js";
