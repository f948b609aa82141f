/**
 * The code examples of docs/methods.md. Each region between `// #region name` and `// #endregion`
 * is copied verbatim into the doc after `<!-- example: name -->`; spec/methods/docs.spec.ts checks
 * that the doc still shows this code and runs it. Budgets are tiny: 256 images, batch 64.
 */
import { Generator } from "../../src/tensor/random.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { defaultAugmentation } from "../../src/data/augment.js";
import { TwoViewLoader } from "../../src/data/loader.js";
import { SimCLR } from "../../src/methods/simclr.js";
import { MoCo } from "../../src/methods/moco.js";
import { createRun, defaultConfig, limitSplit, resumeRun, trainRun, type Run } from "../../src/methods/trainer.js";
import { evaluateMethod } from "../../src/methods/evaluate.js";

// #region oneLoss
export function oneLoss(): number {
  const train = limitSplit(loadMnist().train, 256); // 256 digits, every class
  const loader = new TwoViewLoader(train, defaultAugmentation(), { batchSize: 64, seed: 1 });
  const simclr = new SimCLR({ generator: new Generator(0) }); // f: MLP encoder, g: projector, τ = 0.5
  const loss = simclr.trainingLoss(loader.next()); // NT-Xent over the 2N = 128 views
  loss.backward(); // gradients of f and g
  return loss.item(); // a little below log(2N − 1) = 4.84 at initialization
}
// #endregion

// #region mocoQueue
export function mocoQueue(): { pointer: number; keysInQueue: number } {
  const train = limitSplit(loadMnist().train, 256);
  const loader = new TwoViewLoader(train, defaultAugmentation(), { batchSize: 64, seed: 1 });
  const moco = new MoCo({ generator: new Generator(0), queueSize: 256 }); // K = 256 keys
  for (let step = 1; step <= 3; step++) {
    moco.trainingLoss(loader.next()); // negatives = the queue as it is; then k₁ and k₂ (2 × 64 keys) go in
    moco.afterOptimizerStep(); // θ_k ← 0.99 θ_k + 0.01 θ_q
  }
  return { pointer: moco.queuePointer, keysInQueue: moco.queue.shape[0] }; // (3 · 128) mod 256 = 128
}
// #endregion

// #region trainAndResume
export function trainAndResume(directory: string): Run {
  const config = defaultConfig("simclr", { epochs: 2, batchSize: 64, trainLimit: 256, seed: 1 });
  const run = createRun(config);
  trainRun(run, { checkpointDirectory: directory, stopAfterEpochs: 1 }); // as if interrupted
  const resumed = resumeRun(directory); // weights, optimizer, loader, RNG states, history
  trainRun(resumed, { checkpointDirectory: directory }); // epoch 2
  return resumed; // tensors and state (wall time aside) bit-identical to an uninterrupted 2-epoch run
}
// #endregion

// #region quickEvaluation
export function quickEvaluation(run: Run): { linearProbe: number; knn: number } {
  const data = loadMnist();
  const subset = { train: limitSplit(data.train, 400), test: limitSplit(data.test, 200) };
  const evaluation = evaluateMethod(run.method, subset, { seed: run.config.seed });
  return { linearProbe: evaluation.linearProbe.testAccuracy, knn: evaluation.knn.accuracy };
}
// #endregion
