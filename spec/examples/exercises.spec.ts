/**
 * The chapter's nine exercises (docs/exercises.md), each solved by a script in examples/: every
 * script runs here on its tiny budget (≤ 512 training images, a few steps) and its key numbers are
 * checked — not "the loss went down" alone, but the property each exercise is about.
 */
import { expect } from "chai";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { main as exercise01 } from "../../examples/exercise-01-infonce-from-scratch.js";
import { main as exercise02 } from "../../examples/exercise-02-temperature-effects.js";
import { main as exercise03 } from "../../examples/exercise-03-positive-negative-pairs.js";
import { main as exercise04 } from "../../examples/exercise-04-image-text-model.js";
import { main as exercise05 } from "../../examples/exercise-05-temperature-schedule.js";
import { main as exercise06 } from "../../examples/exercise-06-similarity-metrics.js";
import { main as exercise07 } from "../../examples/exercise-07-simclr-augmentations.js";
import { main as exercise08 } from "../../examples/exercise-08-moco-momentum-encoder.js";
import { main as exercise09 } from "../../examples/exercise-09-representation-collapse.js";

const tiny = { budget: "tiny" } as const;

function strictlyIncreasing(values: number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]);
}

describe("exercises: chapter 7's nine exercises on the tiny budget (examples/exercise-*.ts)", function() {
  this.timeout(120_000);

  it(
    "ex 1: InfoNCE composed from exp/log/sum with the max shift " +
      "equals infoNCE (loss and gradients); without the shift float32 overflows",
    () => {
      const result = exercise01(tiny);
      expect(result.lossDifferenceWithNegatives).to.be.below(1e-12);
      expect(result.lossDifferenceInBatch).to.be.below(1e-12);
      expect(result.gradientDifference).to.be.below(1e-12);
      expect(result.float32Library).to.be.a("number").and.satisfy(Number.isFinite);
      expect(result.float32Shifted).to.be.closeTo(result.float32Library, 1e-4);
      expect(Number.isFinite(result.float32Unshifted)).to.equal(false); // exp(≈100) = Infinity in float32
    },
  );

  it(
    "ex 2: the loss is monotone in τ (up when the positive is best, down when worst), " +
      "tends to log(1 + M), and matches the chapter's worked numbers at τ = 0.1",
    () => {
      const result = exercise02(tiny);
      const temperatures = result.rows.map((row) => row.temperature);
      expect(strictlyIncreasing(temperatures)).to.equal(true);
      expect(strictlyIncreasing(result.rows.map((row) => row.goodLoss))).to.equal(true);
      expect(strictlyIncreasing(result.rows.map((row) => -row.badLoss))).to.equal(true);
      expect(strictlyIncreasing(result.rows.map((row) => row.badPositiveGradient))).to.equal(true); // |∂L/∂s⁺| shrinks as τ grows
      const hottest = result.rows[result.rows.length - 1]; // τ = 10
      expect(hottest.goodLoss).to.be.closeTo(result.chanceLoss, 0.1);
      expect(hottest.badLoss).to.be.closeTo(result.chanceLoss, 0.1);
      // the chapter: 0.995 and 0.005; 0.012 and 4.4
      expect(result.goodProbability).to.be.closeTo(0.995, 5e-4);
      expect(result.goodLoss).to.be.closeTo(0.005, 2e-4);
      expect(result.badProbability).to.be.closeTo(0.012, 5e-4);
      expect(result.badLoss).to.be.closeTo(4.42, 5e-3);
      // the chapter's "ratio 2.7×" is τ = 0.1, not its τ = 0.01 (22026×)
      const at = (t: number) => result.rows.find((row) => row.temperature === t)!;
      expect(at(0.1).ratioOfTopTwo).to.be.closeTo(Math.E, 1e-12);
      expect(at(0.01).ratioOfTopTwo).to.be.closeTo(Math.exp(10), 1e-6);
    },
  );

  it(
    "ex 3: NT-Xent's layout has 1 positive, 2N − 2 negatives and the excluded self per row, " +
      "and it is the loss; the template's first N rows target themselves",
    () => {
      const result = exercise03(tiny);
      const n = result.batchSize;
      expect(result.positivesPerRow).to.equal(1);
      expect(result.negativesPerRow).to.equal(2 * n - 2);
      expect(result.excludedPerRow).to.equal(1);
      expect(result.templateRowsTargetingThemselves).to.equal(n);
      expect(result.layoutMatchesNtXent).to.be.below(1e-12);
      const rows = result.ntXentGrid.split("\n");
      expect(rows).to.have.length(2 * n);
      rows.forEach((row, i) => expect(row.split(" ")[(i + n) % (2 * n)]).to.equal("+"));
      expect(result.clipNegativesPerRow).to.equal(n - 1);
    },
  );

  it("ex 4: a tiny CLIP on 512 digits and their captions lowers its loss and classifies test digits zero-shot well above chance", () => {
    const result = exercise04(tiny);
    expect(result.trainImages).to.be.at.most(512);
    expect(result.lastEpochLoss).to.be.below(result.firstEpochLoss - 0.5);
    expect(result.zeroShotBefore).to.be.below(0.25);
    expect(result.zeroShotAfter).to.be.above(0.3); // chance 0.1; about 0.7 on this budget
    expect(result.zeroShotEnsembleAfter).to.be.above(0.3);
    expect(result.logitScale).to.be.within(1, 100); // open_clip's clamp
  });

  it(
    "ex 5: the cosine τ schedule runs 0.5 → 0.1, equals the library's cosine schedule, " +
      "and every run (scheduled, fixed 0.5, fixed 0.1) learns to separate held-out pairs",
    () => {
      const result = exercise05(tiny);
      expect(result.differenceFromLibrarySchedule).to.be.below(1e-12);
      const τ = result.scheduled.temperatures;
      expect(τ).to.have.length(result.steps);
      expect(τ[0]).to.equal(0.5);
      expect(τ[τ.length - 1]).to.be.closeTo(0.1, 1e-12);
      expect(strictlyIncreasing(τ.map((t) => -t))).to.equal(true);
      for (const run of [result.scheduled, result.fixedWarm, result.fixedCold]) {
        run.losses.forEach((loss) => expect(loss).to.satisfy(Number.isFinite));
        expect(run.heldOutGap).to.be.above(result.heldOutGapBefore + 0.05);
      }
      expect(result.fixedWarm.temperatures.every((t) => t === 0.5)).to.equal(true);
    },
  );

  it(
    "ex 6: cosine is blind to scale, dot and euclidean are not; " +
      "euclidean on unit vectors is cosine at τ/2; dot's near-zero loss is mostly norm growth",
    () => {
      const result = exercise06(tiny);
      const [c01, c1, c10] = result.scaled.cosine;
      expect(c01).to.be.closeTo(c1, 1e-12);
      expect(c10).to.be.closeTo(c1, 1e-12);
      expect(Math.abs(result.scaled.dot[2] - result.scaled.dot[1])).to.be.above(1);
      expect(Math.abs(result.scaled.euclidean[2] - result.scaled.euclidean[1])).to.be.above(1);
      expect(result.euclideanVsCosineAtHalfTemperature).to.be.below(1e-12);
      const row = (metric: string) => result.optimization.find((r) => r.metric === metric)!;
      // cosine logits live in [−1/τ, 1/τ]: a floor of log(1 + (N − 1)e^{−2/τ}) > 0; dot has none
      expect(row("cosine").lossAfter).to.be.above(1);
      expect(row("dot").lossAfter).to.be.below(0.01);
      expect(row("dot").normGrowth).to.be.above(2);
      // judged by the directions alone, the dot run is no better than the cosine run
      expect(row("dot").cosineLossAfter).to.be.at.least(row("cosine").cosineLossAfter - 1e-9);
      for (const r of result.optimization) expect(r.accuracyAfter).to.be.above(r.accuracyBefore);
    },
  );

  it(
    "ex 7: SimCLR writes its augmented views to a PNG, " +
      "and training with augmentations learns invariance that identical views do not",
    () => {
      const result = exercise07(tiny);
      try {
        expect(existsSync(result.previewPath)).to.equal(true);
        const bytes = readFileSync(result.previewPath);
        expect([...bytes.subarray(0, 8)]).to.deep.equal([137, 80, 78, 71, 13, 10, 26, 10]);
        expect(bytes.readUInt32BE(16)).to.equal(272); // IHDR width: 9 tiles of 28 + 10 gaps of 2
        expect(bytes.readUInt32BE(20)).to.equal(152); // IHDR height: 5 tiles + 6 gaps
      } finally {
        rmSync(result.previewPath, { force: true });
      }
      const [withAug, without] = [result.withAugmentations, result.withoutAugmentations];
      expect(withAug.lastLoss).to.be.below(withAug.firstLoss);
      expect(without.lastLoss).to.be.below(withAug.lastLoss); // identical views: an easier pretext task
      expect(withAug.gap).to.be.above(result.gapBefore + 0.1);
      expect(withAug.gap).to.be.above(without.gap + 0.05); // on held-out augmented pairs
    },
  );

  it(
    "ex 8: MoCo's queue pointer, unit-norm queue, enqueued keys, " +
      "EMA rule and gradient-free key encoder all behave as the equations say",
    () => {
      const result = exercise08(tiny);
      expect(result.queuePointer).to.equal(result.expectedQueuePointer);
      expect(result.queueNormError).to.be.below(1e-5);
      expect(result.lastKeysInQueueError).to.be.below(1e-6);
      expect(result.emaRuleError).to.be.below(1e-6);
      expect(result.keyEncoderGradients).to.equal(0);
      expect(result.keyQueryDistance).to.be.above(0); // it follows, slowly
      result.losses.forEach((loss) => expect(loss).to.be.within(0, Math.log(1 + result.queueSize * Math.exp(2 / 0.2))));
      expect(result.losses[result.losses.length - 1]).to.be.above(result.losses[0]); // the random queue is replaced by real, harder keys
    },
  );

  it(
    "ex 9: BYOL without batch norm collapses (collapseMonitor flags it), with batch norm it does not; " +
      "the chapter's variance monitor gets both wrong",
    () => {
      const result = exercise09(tiny);
      expect(result.before.collapsed).to.equal(false);
      const [broken, fixed] = [result.withoutBatchNorm, result.withBatchNorm];
      expect(broken.after.collapsed).to.equal(true);
      expect(broken.after.stdRatio).to.be.below(0.1);
      expect(fixed.after.collapsed).to.equal(false);
      expect(fixed.after.stdRatio).to.be.above(0.3);
      expect(broken.lastLoss).to.be.below(fixed.lastLoss); // the collapsed run "looks better"
      // the chapter's monitor: warns on the healthy untrained network, passes the collapsed one
      expect(result.before.chapterWarning).to.equal(true);
      expect(broken.after.chapterWarning).to.equal(false);
    },
  );
});
