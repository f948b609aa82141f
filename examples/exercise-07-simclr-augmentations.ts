/**
 * Exercise 7 (⭐⭐⭐): implement SimCLR with proper augmentations (chapter 7.4, "Method 1").
 *
 *   x ─ aug₁ → x₁ ─ f → h₁ ─ g → z₁ ┐
 *     └ aug₂ → x₂ ─ f → h₂ ─ g → z₂ ┴─ NT-Xent(z₁, z₂; τ = 0.5)
 *
 * The augmentations are the default pipeline of src/data/augment.ts (random resized crop, ±15°
 * rotation, brightness/contrast jitter, blur, noise: docs/data.md §2). The script
 *   1. writes a grid of augmented views (each row: an original digit, then 8 views) to a PNG;
 *   2. trains SimCLR twice from the same initial weights on the same images: with the pipeline,
 *      and with augmentation strength 0 (the two "views" are the same image);
 *   3. measures both on held-out *augmented* pairs of test digits: the gap between the mean cosine
 *      of positive pairs and of negative pairs, i.e. how much the representation ignores what the
 *      augmentations change. Without augmentations the pretext task is trivial (find the identical
 *      image), the training loss is lower, and that invariance is not learned.
 *   4. on the full budget, also the kNN accuracy of the encoder features h (the representation).
 *
 * Run: npm run build:spec && node build/examples/exercise-07-simclr-augmentations.js [--full] [--out FILE.png]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimCLR, Generator, limitSplit, noGrad, similarityStats, knnAccuracy, imageTensor } from "../src/index.js";
import { TwoViewLoader, defaultAugmentation, augmentBatch, augmentationPreview, gatherImages, IMAGE_PIXELS } from "../src/data/index.js";
import { imageGrid, savePng } from "../src/data/png.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { mean, printResult, trainLoop, type ExerciseOptions } from "./exercise-common.js";

export interface Exercise07Options extends ExerciseOptions {
  /** Where to write the grid of augmented views (default: a file in the OS temp folder). */
  out?: string;
}

export interface SimCLRRun {
  firstLoss: number;
  lastLoss: number;
  /** On held-out augmented pairs: mean positive cosine, mean negative cosine, their gap. */
  positiveCosine: number;
  negativeCosine: number;
  gap: number;
  /** kNN (k = 20) accuracy of the encoder features, train → test (full budget only, else null). */
  knnAccuracy: number | null;
}

export interface Exercise07Result {
  previewPath: string;
  previewSize: string;
  steps: number;
  /** The gap of the untrained network (the same for both runs). */
  gapBefore: number;
  withAugmentations: SimCLRRun;
  withoutAugmentations: SimCLRRun;
}

export function main(options: Exercise07Options = { budget: "tiny" }): Exercise07Result {
  const full = options.budget === "full";
  const data = loadMnist();
  const train = limitSplit(data.train, full ? 0 : 512);
  const heldOut = limitSplit(data.test, full ? 0 : 256);
  const [batchSize, steps] = full ? [256, 300] : [128, 8];

  // 1. What the encoder is asked to ignore: 5 digits, 8 random views each.
  const originals = gatherImages(data.train.images, IMAGE_PIXELS, [0, 900, 1800, 2700, 3500]);
  const preview = augmentationPreview(originals, 5, defaultAugmentation(), new Generator(0), 8);
  const grid = imageGrid(preview.images, preview.rows, preview.cols); // original, then 8 views, per row
  const previewPath = options.out ?? join(tmpdir(), `contrastive-ts-exercise-07-views-${process.pid}.png`);
  savePng(previewPath, grid.pixels, grid.width, grid.height);

  // 3. Held-out positive pairs: two augmentations of each test digit, drawn once for both runs.
  const generator = new Generator(99);
  const view1 = imageTensor(augmentBatch(heldOut.images, heldOut.count, defaultAugmentation(), generator), heldOut.count); // (M, 1, 28, 28)
  const view2 = imageTensor(augmentBatch(heldOut.images, heldOut.count, defaultAugmentation(), generator), heldOut.count);
  const gapOf = (model: SimCLR) => {
    model.eval();
    const stats = noGrad(() => similarityStats(model.forward(view1), model.forward(view2))); // z (M, 128)
    model.train();
    return stats;
  };

  const trainWith = (strength: number): SimCLRRun => {
    const model = new SimCLR({ temperature: 0.5, generator: new Generator(0) });
    const loader = new TwoViewLoader(train, defaultAugmentation({ strength }), { batchSize, seed: 1 });
    const losses = trainLoop({
      parameters: model.trainableParameters(),
      nextBatch: () => loader.next(),
      lossOf: (batch) => model.trainingLoss(batch),
      steps,
      lr: 2e-3,
    });
    const stats = gapOf(model);
    let knn: number | null = null;
    if (full) {
      model.eval();
      knn = noGrad(() =>
        knnAccuracy(
          model.encoder.forward(imageTensor(train.images, train.count)),
          train.labels,
          model.encoder.forward(imageTensor(heldOut.images, heldOut.count)),
          heldOut.labels,
        ).accuracy
      );
    }
    const window = Math.max(1, Math.floor(steps / 4));
    return {
      firstLoss: mean(losses.slice(0, window)),
      lastLoss: mean(losses.slice(-window)),
      positiveCosine: stats.positiveMean!,
      negativeCosine: stats.negativeMean!,
      gap: stats.gap!,
      knnAccuracy: knn,
    };
  };

  return {
    previewPath,
    previewSize: `${grid.width}×${grid.height}`,
    steps,
    gapBefore: gapOf(new SimCLR({ temperature: 0.5, generator: new Generator(0) })).gap!,
    withAugmentations: trainWith(1),
    withoutAugmentations: trainWith(0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outIndex = process.argv.indexOf("--out");
  printResult(
    "Exercise 7: SimCLR with and without augmentations",
    main({ budget: process.argv.includes("--full") ? "full" : "tiny", out: outIndex > 0 ? process.argv[outIndex + 1] : undefined }),
  );
}
