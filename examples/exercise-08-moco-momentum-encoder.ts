/**
 * Exercise 8 (⭐⭐⭐): build MoCo with a momentum encoder (chapter 7.4, "Method 2").
 *
 *   q = normalize(g_q(f_q(aug₁(x))))                      (N, 128), receives the gradient
 *   k = normalize(g_k(f_k(aug₂(x))))                      (N, 128), no gradient
 *   logits_i = [q_i·k_i, q_i·queue_1 … q_i·queue_K] / τ   label 0: the positive is column 0
 *   after the loss: queue[ptr … ptr + N) ← k,  ptr ← (ptr + N) mod K
 *   after the optimizer step: θ_k ← m θ_k + (1 − m) θ_q
 *
 * `MoCo` (src/methods/moco.ts) does all of this; the script trains it briefly and checks each
 * mechanism from the outside:
 *   - the queue pointer after s steps is (s·N) mod K, and every queue row is a unit vector;
 *   - the rows written by the last step are exactly that step's keys (recomputed with the key
 *     encoder as it was during that step);
 *   - one EMA step moves the key encoder to m θ_k + (1 − m) θ_q, to float32 rounding;
 *   - the key encoder never receives a gradient.
 * The loss starts low and *rises* while the random initial queue is replaced by real keys (real
 * negatives are harder than random directions); log(1 + K) is the loss of a model that cannot tell
 * its positive from K negatives.
 *
 * Run: npm run build:spec && node build/examples/exercise-08-moco-momentum-encoder.js [--full]
 */
import { MoCo, SGD, Generator, limitSplit, noGrad, normalize, imageTensor, type Tensor } from "../src/index.js";
import { TwoViewLoader, defaultAugmentation, type TwoViewBatch } from "../src/data/index.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { printResult, trainLoop, type ExerciseOptions } from "./exercise-common.js";

function largestDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Flat copies of a module's parameters, by name. */
function snapshot(parameters: Iterable<[string, Tensor]>): Map<string, Float32Array | Float64Array> {
  return new Map([...parameters].map(([name, p]) => [name, p.toTypedArray().slice()]));
}

export interface Exercise08Result {
  batchSize: number;
  queueSize: number;
  momentum: number;
  steps: number;
  losses: number[];
  /** log(1 + K): chance. */
  chanceLoss: number;
  queuePointer: number;
  expectedQueuePointer: number;
  /** The largest |‖queue row‖ − 1|. */
  queueNormError: number;
  /** The largest |queue row − key| over the rows the last step wrote. */
  lastKeysInQueueError: number;
  /** The largest |θ_k(after) − (m θ_k(before) + (1 − m) θ_q)| over every key-encoder parameter. */
  emaRuleError: number;
  /** How far the key encoder is from the query encoder after training (max |θ_k − θ_q|). */
  keyQueryDistance: number;
  keyEncoderGradients: number;
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise08Result {
  const full = options.budget === "full";
  const data = loadMnist();
  const train = limitSplit(data.train, full ? 0 : 512);
  const [batchSize, queueSize, steps] = full ? [256, 4096, 300] : [64, 384, 10];
  const momentum = 0.99;
  // The chapter's one-sided loss: view 1 is the query, view 2 the key, N keys enqueued a step
  // (the project's default symmetrizes it; docs/methods.md says why).
  const moco = new MoCo({ temperature: 0.2, queueSize, momentum, symmetric: false, generator: new Generator(0) });
  const loader = new TwoViewLoader(train, defaultAugmentation(), { batchSize, seed: 1 });

  // Train all but the last step with the ordinary loop.
  const losses = trainLoop({
    parameters: moco.trainableParameters(),
    nextBatch: () => loader.next(),
    lossOf: (batch) => moco.trainingLoss(batch),
    afterStep: () => moco.afterOptimizerStep(), // θ_k ← m θ_k + (1 − m) θ_q
    steps: steps - 1,
    lr: 2e-3,
  });

  // The last step by hand, looking at each mechanism.
  const batch: TwoViewBatch = loader.next();
  const keyParameters = () => [...moco.keyEncoder.namedParameters(), ...moco.keyProjector.namedParameters()];
  const queryParameters = () => [...moco.encoder.namedParameters(), ...moco.projector.namedParameters()];
  const pointerBefore = moco.queuePointer;
  // (N, 128)
  const expectedKeys = noGrad(() => normalize(moco.keyProjector.forward(moco.keyEncoder.forward(imageTensor(batch.view2, batchSize)))));
  const loss = moco.trainingLoss(batch); // reads the queue, then enqueues this batch's keys
  moco.zeroGrad();
  loss.backward();
  const keyEncoderGradients = keyParameters().filter(([, p]) => p.grad !== null).length;
  new SGD(moco.trainableParameters(), { lr: 0.01 }).step(); // θ_q moves; θ_k has not yet
  const keyBefore = snapshot(keyParameters());
  const queryNow = snapshot(queryParameters());
  moco.afterOptimizerStep();
  const keyAfter = snapshot(keyParameters());
  let emaRuleError = 0;
  let keyQueryDistance = 0;
  for (const [name, after] of keyAfter) {
    const [before, query] = [keyBefore.get(name)!, queryNow.get(name)!];
    const expected = before.map((value, i) => momentum * value + (1 - momentum) * query[i]);
    emaRuleError = Math.max(emaRuleError, largestDifference(after, expected));
    keyQueryDistance = Math.max(keyQueryDistance, largestDifference(after, query));
  }
  losses.push(loss.item());

  const queue = moco.queue.toTypedArray(); // (K, 128)
  const dim = moco.projectionDim;
  let queueNormError = 0;
  for (let row = 0; row < queueSize; row++) {
    let squared = 0;
    for (let c = 0; c < dim; c++) squared += queue[row * dim + c] ** 2;
    queueNormError = Math.max(queueNormError, Math.abs(Math.sqrt(squared) - 1));
  }
  const written = queue.subarray(pointerBefore * dim, (pointerBefore + batchSize) * dim);

  return {
    batchSize,
    queueSize,
    momentum,
    steps,
    losses,
    chanceLoss: Math.log(1 + queueSize),
    queuePointer: moco.queuePointer,
    expectedQueuePointer: (steps * batchSize) % queueSize,
    queueNormError,
    lastKeysInQueueError: largestDifference(written, expectedKeys.toTypedArray()),
    emaRuleError,
    keyQueryDistance,
    keyEncoderGradients,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { losses, ...rest } = main({ budget: process.argv.includes("--full") ? "full" : "tiny" });
  printResult("Exercise 8: MoCo, its queue and its momentum encoder", {
    lossFirstPeakLast: [losses[0], Math.max(...losses), losses[losses.length - 1]],
    ...rest,
  });
}
