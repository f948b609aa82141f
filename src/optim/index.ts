/**
 * Barrel of src/optim: optimizers, gradient clipping, schedules and the EMA of weights.
 *
 * @module
 */
export {
  Optimizer,
  type NamedTensor,
  type ParamList,
  type ParamGroupSpec,
  type OptimizerParams,
  type ParamGroup,
  type ParamGroupFields,
  type ParamState,
  type StateValue,
  type StateSchema,
  type OptimizerStateDict,
  type GradientView,
} from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export { LARS, excludeBiasAndNorm, type LARSOptions, type LARSConstructorOptions, type ParameterFilter } from "./lars.js";
export { clipGradNorm, type ClipGradNormOptions } from "./clip.js";
export {
  cosineWithWarmup,
  cosineMomentum,
  constantMomentum,
  LambdaLR,
  type Schedule,
  type CosineWithWarmupOptions,
  type CosineMomentumOptions,
} from "./schedules.js";
export { emaUpdate, type EmaOptions } from "./ema.js";
