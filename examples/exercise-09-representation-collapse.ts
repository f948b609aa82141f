/**
 * Exercise 9 (⭐⭐⭐): debug and fix representation collapse (chapter 7.6, "Problem 2").
 *
 * BYOL has no negatives: its loss, 2 − 2·cos(p, z′), is 0 for *any* network whose outputs all point
 * the same way. What keeps it from getting there is the asymmetry (predictor, stop-gradient, slow
 * EMA target) — and, in the MLP heads used here, batch norm. The script trains BYOL twice from the
 * same initial weights on the same batches:
 *
 *   broken:  new BYOL({ batchNorm: false })   heads Linear → ReLU → Linear
 *   fixed:   new BYOL({ batchNorm: true })    heads Linear → BatchNorm1d → ReLU → Linear
 *
 * and reads the projector outputs z of held-out test digits with `collapseMonitor` before and after:
 *
 *   stdRatio      = mean per-dimension std of the normalized z, × √D   (≈ 1 spread out, → 0 collapsed)
 *   effectiveRank = exp(entropy of the normalized singular values)     (how many directions are used)
 *   collapsed     = stdRatio < 0.1 or effectiveRank < 1.5
 *
 * and the chapter's own monitor, `var(z, dim=0).mean() < 0.001` on the raw z, which gets both
 * answers wrong here: it flags the healthy untrained network (its raw outputs are small) and passes
 * the collapsed one (its raw outputs are large). Symptoms to read: the broken run's loss falls
 * *fast* towards 0 — a loss that looks great is the first sign of collapse without negatives.
 *
 * Run: npm run build:spec && node build/examples/exercise-09-representation-collapse.js [--full]
 */
import { BYOL, Generator, limitSplit, noGrad, collapseMonitor, imageTensor, type CollapseReport } from "../src/index.js";
import { TwoViewLoader, defaultAugmentation } from "../src/data/index.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { mean, printResult, trainLoop, type ExerciseOptions } from "./exercise-common.js";

export interface CollapseSummary {
  stdRatio: number;
  effectiveRank: number;
  collapsed: boolean;
  /** The chapter's monitor on the raw z: mean variance, and whether it warns (< 0.001). */
  chapterVariance: number;
  chapterWarning: boolean;
}

export interface ByolRun {
  firstLoss: number;
  lastLoss: number;
  after: CollapseSummary;
}

export interface Exercise09Result {
  steps: number;
  /** The untrained network (the same initial weights for both runs). */
  before: CollapseSummary;
  withoutBatchNorm: ByolRun;
  withBatchNorm: ByolRun;
}

function summarize(report: CollapseReport): CollapseSummary {
  const { stdRatio, effectiveRank, collapsed, chapterVariance, chapterWarning } = report;
  return { stdRatio, effectiveRank, collapsed, chapterVariance, chapterWarning };
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise09Result {
  const full = options.budget === "full";
  const data = loadMnist();
  const train = limitSplit(data.train, full ? 0 : 512);
  const probe = limitSplit(data.test, 256);
  const probeImages = imageTensor(probe.images, probe.count); // (256, 1, 28, 28)
  const [batchSize, steps] = full ? [256, 300] : [64, 8];

  const monitor = (byol: BYOL): CollapseSummary => {
    byol.eval();
    const report = noGrad(() => collapseMonitor(byol.projector.forward(byol.encoder.forward(probeImages)))); // z (256, 128)
    byol.train();
    return summarize(report);
  };

  const trainWith = (batchNorm: boolean): ByolRun => {
    const byol = new BYOL({ batchNorm, baseMomentum: 0.99, generator: new Generator(0) });
    const loader = new TwoViewLoader(train, defaultAugmentation(), { batchSize, seed: 1 });
    const losses = trainLoop({
      parameters: byol.trainableParameters(),
      nextBatch: () => loader.next(),
      lossOf: (batch) => byol.trainingLoss(batch), // ℓ(p₁, z′₂) + ℓ(p₂, z′₁), each 2 − 2·cos
      afterStep: (step) => byol.afterOptimizerStep(step, steps), // target EMA, τ rising from 0.99 to 1
      steps,
      lr: 3e-3,
    });
    const window = Math.max(1, Math.floor(steps / 4));
    return { firstLoss: mean(losses.slice(0, window)), lastLoss: mean(losses.slice(-window)), after: monitor(byol) };
  };

  return {
    steps,
    before: monitor(new BYOL({ batchNorm: false, generator: new Generator(0) })),
    withoutBatchNorm: trainWith(false),
    withBatchNorm: trainWith(true),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResult(
    "Exercise 9: BYOL collapses without batch norm in its heads",
    main({ budget: process.argv.includes("--full") ? "full" : "tiny" }),
  );
}
