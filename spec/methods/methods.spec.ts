/**
 * The four methods on a tiny seeded budget (256 images, batch 64, 2 epochs; MoCo 4): training
 * lowers the loss, the same seed reproduces the loss history, the final weights and every
 * evaluation number bit for bit, and another seed gives other weights and another first loss.
 *
 * "Lowers the loss" is measured where the loss is comparable: SimCLR, BYOL and CLIP compare the
 * first and last epoch means. MoCo's first steps read negatives from a queue of random unit
 * vectors (easy: the loss starts near 1); once the queue (two batches here) holds real keys the
 * loss jumps, so MoCo compares the first epoch after the queue has filled with the last epoch.
 */
import { expect } from "chai";
import type { MethodName } from "../../src/methods/common.js";
import { cachedTiny, sameBits, trainTiny, jsonBitEqual, tinyConfig, type TrainedRun } from "./helpers.js";
import { createRun, type Run } from "../../src/methods/trainer.js";

/** The least drop of the mean loss between the compared epochs (measured drops: 0.29, 0.15, 1.6, 0.71; SupCon 0.46, Barlow Twins 116). */
const MIN_DROP: Record<string, number> = { simclr: 0.1, moco: 0.05, byol: 0.5, clip: 0.3, supcon: 0.2, barlow: 20 };
const EPOCHS: Record<string, number> = { simclr: 2, moco: 4, byol: 2, clip: 2, supcon: 2, barlow: 2 };

function sameHistory(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/** The state-dict entries whose bits differ between two runs (the key lists must match). */
function differingTensors(a: Run, b: Run): string[] {
  const left = a.method.stateDict();
  const right = b.method.stateDict();
  expect([...left.keys()]).to.deep.equal([...right.keys()]);
  return [...left.keys()].filter((key) => !sameBits(left.get(key)!, right.get(key)!));
}

for (const method of ["simclr", "moco", "byol", "clip", "supcon", "barlow"] as MethodName[]) {
  describe(`methods/${method}: a tiny seeded run`, () => {
    let first: TrainedRun;
    let again: TrainedRun;

    before(() => {
      first = cachedTiny(method);
      again = trainTiny(method);
    });

    it("lowers the loss", () => {
      const { lossPerEpoch, lossPerStep } = first.run.state;
      expect(lossPerEpoch).to.have.length(EPOCHS[method]);
      expect(lossPerStep).to.have.length(EPOCHS[method] * first.run.stepsPerEpoch);
      lossPerStep.forEach((loss) => expect(loss).to.be.finite.and.above(0));
      const compared = method === "moco" ? 1 : 0; // MoCo: the first epoch with a queue of real keys
      expect(lossPerEpoch[lossPerEpoch.length - 1]).to.be.below(lossPerEpoch[compared] - MIN_DROP[method]);
    });

    it("the same seed gives the same loss history, weights and evaluation, bit for bit", () => {
      expect(
        sameHistory(first.run.state.lossPerStep, again.run.state.lossPerStep),
        `${first.run.state.lossPerStep} vs ${again.run.state.lossPerStep}`,
      ).to.equal(true);
      expect(sameHistory(first.run.state.lossPerEpoch, again.run.state.lossPerEpoch)).to.equal(true);
      expect(differingTensors(first.run, again.run)).to.deep.equal([]);
      expect(jsonBitEqual(first.evaluation.row, again.evaluation.row), JSON.stringify([first.evaluation.row, again.evaluation.row])).to
        .equal(true);
      expect(jsonBitEqual(first.evaluation, again.evaluation)).to.equal(true); // every number, predictions and probe weights included
      expect(first.run.loader.getState()).to.deep.equal(again.run.loader.getState());
    });

    it("another seed gives other weights and another first loss; the same seed the same first loss", () => {
      const firstStepLoss = (run: Run) => run.method.trainingLoss(run.loader.next()).item(); // before any update: lossPerStep[0]
      const sameSeed = createRun(tinyConfig(method));
      const otherSeed = createRun(tinyConfig(method, { seed: 2 }));
      expect(differingTensors(sameSeed, createRun(tinyConfig(method)))).to.deep.equal([]); // built the same, bit for bit
      expect(differingTensors(sameSeed, otherSeed).filter((key) => key.endsWith("weight")).length).to.be.above(0);
      expect(firstStepLoss(sameSeed)).to.equal(first.run.state.lossPerStep[0]);
      expect(firstStepLoss(otherSeed)).to.not.equal(first.run.state.lossPerStep[0]);
    });

    it("evaluates to accuracies in [0, 1] and finite health numbers", () => {
      const { evaluation } = first;
      for (const accuracy of [evaluation.linearProbe.testAccuracy, evaluation.knn.accuracy]) expect(accuracy).to.be.within(0, 1);
      // 10 classes: a trained encoder is far above chance even on this budget.
      expect(evaluation.linearProbe.testAccuracy).to.be.above(0.5);
      const health = evaluation.health!;
      for (const value of [health.alignment!, health.uniformity, health.normalizedStd.std, health.effectiveRank]) {
        expect(value).to.be.finite;
      }
      expect(health.effectiveRank).to.be.within(1, 256);
    });
  });
}
