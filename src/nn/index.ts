/**
 * Neural-network modules (PyTorch: torch.nn). One file per module or close family; each opens
 * with its equation, its PyTorch name and its state-dict keys. See docs/nn-and-optim.md.
 *
 * @module
 */
export * from "./module.js";
export {
  uniform_,
  normal_,
  constant_,
  zeros_,
  ones_,
  kaimingUniform_,
  xavierUniform_,
  calculateFanInAndFanOut,
  calculateGain,
  type KaimingOptions,
} from "./init.js";
export { Linear, type LinearOptions } from "./linear.js";
export { Sequential, ModuleList, type TensorModule } from "./container.js";
export { ReLU, GELU, Tanh, Sigmoid, type ActivationName } from "./activation.js";
export { Identity, Flatten } from "./flatten.js";
export { MLP, type MLPOptions } from "./mlp.js";
export { BatchNorm, BatchNorm1d, BatchNorm2d, batchNorm, type BatchNormOptions, type BatchNormFunctionalOptions } from "./batchnorm.js";
export { LayerNorm, layerNorm, type LayerNormOptions } from "./layernorm.js";
export { Embedding, embedding, type EmbeddingOptions } from "./embedding.js";
export { Dropout } from "./dropout.js";
export { MultiheadAttention, maskedSoftmax, type MultiheadAttentionOptions, type AttentionOptions } from "./attention.js";
export {
  TransformerEncoderLayer,
  TransformerEncoder,
  type TransformerEncoderLayerOptions,
  type TransformerEncoderLayerConfig,
  type TransformerEncoderOptions,
  type EncoderMasks,
} from "./transformer.js";
export { PatchEmbedding, VisionTransformer, type PatchEmbeddingOptions, type VisionTransformerOptions } from "./vit.js";
export { Conv2d, conv2d, unfold, fold, type Conv2dOptions, type WindowOptions, type Pair } from "./conv.js";
export {
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  type PoolOptions,
  type AvgPoolOptions,
} from "./pooling.js";
export { toTorchKey, fromTorchKey, toTorchStateDict, fromTorchStateDict } from "./torch-keys.js";
