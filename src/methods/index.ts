// Barrel of src/methods: the four methods, the shared encoder, the training loop and evaluation.
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
export { VICReg, type VICRegOptions } from "./vicreg.js";
export { SimSiam, type SimSiamOptions } from "./simsiam.js";
export { DINO, DINOHead, type DINOOptions } from "./dino.js";
export { SwAV, type SwAVOptions } from "./swav.js";
export { CLIP, BagOfWordsEncoder, TransformerTextEncoder, type CLIPOptions, type ClipImageTower, type ClipTextTower } from "./clip.js";
export {
  METHOD_NAMES,
  DEFAULT_TEMPERATURE,
  CHECKPOINT_FILE,
  defaultConfig,
  createRun,
  trainRun,
  saveCheckpoint,
  resumeRun,
  readCheckpointMetadata,
  limitSplit,
  validateConfig,
  type TrainConfig,
  type TrainState,
  type Progress,
  type Run,
} from "./trainer.js";
export { evaluateMethod, similaritySample, type MethodEvaluation } from "./evaluate.js";
export { gradCache, splitInputs, type GradCacheTower, type GradCacheOptions, type GradCacheResult } from "./grad-cache.js";
