/**
 * Exercise 4 (⭐⭐): build an image–text contrastive model on a small dataset (chapter 7.3).
 *
 * A miniature CLIP on MNIST digits and generated captions ("a thick, right-slanted handwritten
 * seven", docs/data.md §3):
 *
 *   image x ─ MLP encoder → (B, 256) ─ W_i → u (B, 128) ┐
 *   caption ─ bag of words → (B, 128) ─ W_t → v (B, 128) ┴─ L = ½[CE(s·ûv̂ᵀ, arange) + CE(s·v̂ûᵀ, arange)]
 *   s = exp(logitScale), learned from log(1/0.07), clamped to [0, log 100] after every step
 *
 * then zero-shot classification of held-out test digits (chapter 7.3, "Zero-Shot Transfer"):
 * embed the prompts of each class ("the digit seven", "a handwritten 7", …), average them per
 * class, and pick the class whose prompt embedding is closest to the image. No label is used in
 * training; chance is 10%.
 *
 * Run: npm run build:spec && node build/examples/exercise-04-image-text-model.js [--full]
 */
import { CLIP, Generator, limitSplit, zeroShotAccuracy } from "../src/index.js";
import {
  ImageCaptionLoader,
  buildCaptionTable,
  captionTokens,
  captionTokenizer,
  fitCaptionThresholds,
  zeroShotPrompts,
  CAPTION_MAX_LENGTH,
} from "../src/data/index.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { mean, printResult, trainLoop, type ExerciseOptions } from "./exercise-common.js";

export interface Exercise04Result {
  trainImages: number;
  testImages: number;
  steps: number;
  /** Mean loss of the first and of the last epoch; log(batch size) is the loss of a random model. */
  firstEpochLoss: number;
  lastEpochLoss: number;
  chanceLoss: number;
  /** Zero-shot accuracy on the test images, one prompt per class and the prompt ensemble. */
  zeroShotBefore: number;
  zeroShotAfter: number;
  zeroShotEnsembleAfter: number;
  chanceAccuracy: number;
  /** 1/τ = exp(logitScale) at the end (starts at 1/0.07 = 14.3). */
  logitScale: number;
  exampleCaption: string;
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise04Result {
  const full = options.budget === "full";
  const data = loadMnist();
  const train = limitSplit(data.train, full ? 0 : 512); // spread evenly over the classes
  const test = limitSplit(data.test, full ? 0 : 500);
  const [batchSize, epochs] = full ? [256, 10] : [64, 3];

  const tokenizer = captionTokenizer();
  const captions = buildCaptionTable(train, fitCaptionThresholds(data.train), { tokenizer, maxLength: CAPTION_MAX_LENGTH });
  const loader = new ImageCaptionLoader(train, captions, { batchSize, seed: 1 });
  const clip = new CLIP({
    vocabSize: tokenizer.vocabSize,
    maxLength: CAPTION_MAX_LENGTH,
    imageTower: "mlp",
    textTower: "bow",
    generator: new Generator(0),
  });

  const prompts = zeroShotPrompts(); // 10 classes × 6 prompts
  const promptTokens = tokenizer.encodeBatch(prompts.flat(), CAPTION_MAX_LENGTH);
  const zeroShot = () => {
    const text = clip.embedTexts(promptTokens, prompts.length * prompts[0].length); // (60, 128), normalized
    const images = clip.embedImagesJoint(test.images, test.count); // (M, 128), normalized
    return zeroShotAccuracy(
      { data: images.features, rows: test.count, dim: images.dim },
      test.labels,
      { data: text.features, classes: prompts.length, prompts: prompts[0].length, dim: text.dim },
    );
  };

  const before = zeroShot();
  const steps = loader.batchesPerEpoch * epochs;
  const losses = trainLoop({
    parameters: clip.trainableParameters(),
    nextBatch: () => loader.next(),
    lossOf: (batch) => clip.trainingLoss(batch),
    afterStep: () => clip.afterOptimizerStep(), // logit_scale.clamp_(0, log 100)
    steps,
    lr: 2e-3,
    weightDecay: 0.1,
  });
  const after = zeroShot();
  const perEpoch = loader.batchesPerEpoch;
  return {
    trainImages: train.count,
    testImages: test.count,
    steps,
    firstEpochLoss: mean(losses.slice(0, perEpoch)),
    lastEpochLoss: mean(losses.slice(-perEpoch)),
    chanceLoss: Math.log(batchSize),
    zeroShotBefore: before.singlePromptAccuracy,
    zeroShotAfter: after.singlePromptAccuracy,
    zeroShotEnsembleAfter: after.ensembleAccuracy,
    chanceAccuracy: 0.1,
    logitScale: Math.exp(clip.logitScale.item()),
    exampleCaption: tokenizer.decode(captionTokens(captions, 0, 3)), // image 0, template 3
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResult("Exercise 4: a tiny CLIP on digits and captions", main({ budget: process.argv.includes("--full") ? "full" : "tiny" }));
}
