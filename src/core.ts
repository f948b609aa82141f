/**
 * contrastive-ts, the core: everything that runs in any JavaScript runtime — tensors, autograd,
 * ops, nn, optim, losses, methods, evaluation, safetensors and the digits on bytes. Nothing reachable
 * from here imports a `node:` module or builds code at run time (no `eval`, no `new Function`), so a
 * bundler can ship it to a browser page with a strict Content-Security-Policy.
 *
 * The entries (package.json `exports`; README.md, "Install as a dependency"):
 *   contrastive-ts          in Node: ./index.ts (this core + ./node.ts); elsewhere (browsers, bundlers): this file
 *   contrastive-ts/node     ./node.ts: files, the MNIST package loader, the trainer, worker threads
 *   contrastive-ts/browser  this file bundled into one ES module (dist/browser/contrastive-ts.js)
 *
 * @module
 */
import "./ops/tensor-methods.js"; // Tensor's methods (x.add(y), x.sum(1), …): see that file
export { Tensor, type DType, type TensorLike, type TypedArray, type NestedArray, type IndexLike } from "./tensor/tensor.js";
export { Generator, manualSeed } from "./tensor/random.js";
export {
  tensor,
  zeros,
  ones,
  full,
  eye,
  arange,
  rand,
  randn,
  zerosLike,
  onesLike,
  fullLike,
  type TensorOptions,
  type TensorFromValuesOptions,
} from "./tensor/creation.js";
export { broadcastShapes, type Shape } from "./tensor/shape.js";
export { versionOf, mutableStorage } from "./tensor/version.js";
export { noGrad, enableGrad, isGradEnabled, type BackwardOptions } from "./autograd/tape.js";
export { gradcheck, type GradcheckOptions } from "./autograd/gradcheck.js";
export {
  setNumThreads,
  getNumThreads,
  setThreadPlatform,
  threadPlatform,
  oneThreadPlatform,
  type ThreadPlatform,
  webThreadsAvailable,
  createWebThreadPlatform,
  installWebThreads,
  type WebThreadOptions,
  type InstallWebThreadsOptions,
  type WebThreadPlatform,
  type WebThreadStatus,
} from "./parallel/index.js";
export { setGemmKernel, getGemmKernel, type GemmKernelName } from "./ops/gemm.js";
export { add, sub, mul, div, pow, maximum, minimum, neg, exp, log, sqrt, abs, square, clamp, sign } from "./ops/elementwise.js";
export { sum, mean, max, min, argmax, variance as var, std, norm } from "./ops/reduce.js";
export { tanh, sigmoid, relu, gelu, logsumexp, softmax, logSoftmax } from "./ops/activations.js";
export { logSigmoid } from "./ops/activations.js";
export { matmul } from "./ops/matmul.js";
export { transpose, permute, reshape, flatten, unsqueeze, squeeze, expand, narrow, slice, select } from "./ops/views.js";
export { cat, stack, indexSelect, gather, where, maskedFill } from "./ops/indexing.js";
export {
  normalize,
  crossEntropy,
  mseLoss,
  linear,
  cosineSimilarity,
  dropout,
  type NormalizeOptions,
  type CrossEntropyOptions,
  type Reduction,
} from "./ops/functional.js";
export { erf, erfc } from "./ops/erf.js";
export {
  symmetricEigen,
  effectiveRankOfSpectrum,
  effectiveRankOf,
  singularValuesFromEigenvalues,
  type SymmetricEigen,
  type SymmetricEigenOptions,
} from "./linalg/symmetric-eigen.js";
export * from "./nn/index.js";
export * from "./optim/index.js";
export * from "./losses/index.js";
export * from "./io/index.js";
export * as data from "./data/index.js";
export * from "./eval/index.js";
export * from "./methods/index.js";
export * from "./report/index.js";
