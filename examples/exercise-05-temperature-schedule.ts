/**
 * Exercise 5 (⭐⭐): implement temperature scheduling (chapter 7.2, 7.5).
 *
 * A cosine schedule from a warm start to a cold end:
 *
 *   τ(t) = τ_end + (τ_start − τ_end) · ½ (1 + cos(π t / T)),     t = 0 … T
 *
 * τ(0) = τ_start = 0.5, τ(T/2) = 0.3, τ(T) = τ_end = 0.1. It is the library's cosine learning-rate
 * schedule with no warmup and minLr = τ_end, which the script checks. Warm early (smooth softmax,
 * every negative contributes), cold late (the hardest negatives dominate).
 *
 * SimCLR (encoder + projection head, NT-Xent) is trained three times from the same seed, with the
 * same batches: τ scheduled, τ fixed at 0.5, τ fixed at 0.1. A training loss is not comparable
 * across temperatures (the same embeddings score differently at each τ), so every run is measured
 * the same way on held-out augmented pairs: the NT-Xent loss at τ = 0.5, and the gap between the
 * mean cosine of positive pairs and of negative pairs.
 *
 * Run: npm run build:spec && node build/examples/exercise-05-temperature-schedule.js [--full]
 */
import {
  SimCLR,
  Generator,
  limitSplit,
  ntXent,
  noGrad,
  similarityStats,
  cosineWithWarmup,
  imageTensor,
  type Tensor,
} from "../src/index.js";
import { TwoViewLoader, defaultAugmentation, augmentBatch } from "../src/data/index.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { printResult, trainLoop, type ExerciseOptions } from "./exercise-common.js";

/** τ(t) = end + (start − end)·½(1 + cos(πt/T)); t is clamped to [0, T]. */
export function cosineTemperature(options: { start: number; end: number; totalSteps: number }): (step: number) => number {
  const { start, end, totalSteps } = options;
  return (step) => end + (start - end) * 0.5 * (1 + Math.cos((Math.PI * Math.min(Math.max(step, 0), totalSteps)) / totalSteps));
}

export interface RunSummary {
  /** The τ used at each step (for the fixed runs, one value repeated). */
  temperatures: number[];
  losses: number[];
  /** On held-out augmented pairs after training: NT-Xent at τ = 0.5, and positive − negative cosine. */
  heldOutLoss: number;
  heldOutGap: number;
}

export interface Exercise05Result {
  steps: number;
  /** The largest |τ(t) − cosineWithWarmup({ baseLr: 0.5, minLr: 0.1, warmupSteps: 0 })(t)|. */
  differenceFromLibrarySchedule: number;
  scheduled: RunSummary;
  fixedWarm: RunSummary;
  fixedCold: RunSummary;
  /** Before training (the same for the three runs). */
  heldOutLossBefore: number;
  heldOutGapBefore: number;
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise05Result {
  const full = options.budget === "full";
  const data = loadMnist();
  const train = limitSplit(data.train, full ? 0 : 512);
  const heldOut = limitSplit(data.test, full ? 1000 : 256);
  const [batchSize, steps] = full ? [256, 300] : [64, 8];

  const schedule = cosineTemperature({ start: 0.5, end: 0.1, totalSteps: steps - 1 });
  const library = cosineWithWarmup({ baseLr: 0.5, minLr: 0.1, warmupSteps: 0, totalSteps: steps - 1 });
  const differenceFromLibrarySchedule = Math.max(...Array.from({ length: steps }, (_, t) => Math.abs(schedule(t) - library(t))));

  // Held-out positive pairs: two augmentations of each test image, drawn once.
  const generator = new Generator(99);
  const view1 = imageTensor(augmentBatch(heldOut.images, heldOut.count, defaultAugmentation(), generator), heldOut.count); // (M, 1, 28, 28)
  const view2 = imageTensor(augmentBatch(heldOut.images, heldOut.count, defaultAugmentation(), generator), heldOut.count);
  const measure = (model: SimCLR) => {
    model.eval();
    const result = noGrad(() => {
      const [z1, z2]: Tensor[] = [model.forward(view1), model.forward(view2)]; // (M, 128)
      return { loss: ntXent(z1, z2, { temperature: 0.5 }).item(), gap: similarityStats(z1, z2).gap! };
    });
    model.train();
    return result;
  };

  const runWith = (temperatureAt: (step: number) => number): RunSummary => {
    const model = new SimCLR({ generator: new Generator(0) }); // the same initial weights every run
    const loader = new TwoViewLoader(train, defaultAugmentation(), { batchSize, seed: 1 }); // the same batches
    const temperatures: number[] = [];
    const losses = trainLoop({
      parameters: model.trainableParameters(),
      nextBatch: () => loader.next(),
      lossOf: (batch, step) => {
        const temperature = temperatureAt(step);
        temperatures.push(temperature);
        const z1 = model.forward(imageTensor(batch.view1, batch.batchSize)); // (N, 128)
        const z2 = model.forward(imageTensor(batch.view2, batch.batchSize)); // (N, 128)
        return ntXent(z1, z2, { temperature });
      },
      steps,
      lr: 2e-3,
    });
    const { loss, gap } = measure(model);
    return { temperatures, losses, heldOutLoss: loss, heldOutGap: gap };
  };

  const before = measure(new SimCLR({ generator: new Generator(0) }));
  return {
    steps,
    differenceFromLibrarySchedule,
    scheduled: runWith(schedule),
    fixedWarm: runWith(() => 0.5),
    fixedCold: runWith(() => 0.1),
    heldOutLossBefore: before.loss,
    heldOutGapBefore: before.gap,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = main({ budget: process.argv.includes("--full") ? "full" : "tiny" });
  const brief = (run: RunSummary) => ({
    τ: `${run.temperatures[0].toFixed(3)} → ${run.temperatures[run.temperatures.length - 1].toFixed(3)}`,
    trainLoss: `${run.losses[0].toFixed(3)} → ${run.losses[run.losses.length - 1].toFixed(3)}`,
    heldOutLoss: run.heldOutLoss,
    heldOutGap: run.heldOutGap,
  });
  printResult("Exercise 5: a cosine temperature schedule, 0.5 → 0.1", {
    steps: result.steps,
    differenceFromLibrarySchedule: result.differenceFromLibrarySchedule,
    heldOutLossBefore: result.heldOutLossBefore,
    heldOutGapBefore: result.heldOutGapBefore,
    scheduled: brief(result.scheduled),
    fixedWarm: brief(result.fixedWarm),
    fixedCold: brief(result.fixedCold),
  });
}
