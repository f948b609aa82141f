/**
 * The family B methods (VICReg, SimSiam, DINO, SwAV) on the tiny seeded budget of the other
 * method specs (256 images, batch 64, 2 epochs, seed 1), through the same trainer:
 *  - training runs and, where the loss measures progress, lowers it (DINO's does not: its target,
 *    the teacher, sharpens as it moves, so the check there is on the center and the teacher);
 *  - stopped after epoch 1 and resumed from its checkpoint, a run ends bit-identical to an
 *    uninterrupted one: every tensor, DINO's center and SwAV's prototypes included;
 *  - what each method adds is there after training: SwAV's prototypes on the unit sphere, DINO's
 *    center the EMA of the teacher's outputs, the teacher an EMA (≠ the student, ≠ its start).
 */
import { expect } from "chai";
import { join } from "node:path";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, createRun, resumeRun, saveCheckpoint, trainRun, type Run } from "../../src/methods/trainer.js";
import { imageTensor, type MethodName } from "../../src/methods/common.js";
import type { TwoViewBatch } from "../../src/data/loader.js";
import { DINO } from "../../src/methods/dino.js";
import { SwAV } from "../../src/methods/swav.js";
import { checkpointDifferences, cleanupTempDirs, sameBits, tempDir, tinyConfig } from "./helpers.js";

const FAMILY_B: MethodName[] = ["vicreg", "simsiam", "dino", "swav"];
/** The buffers and parameters each method adds that a resume must restore (checkpoint names). */
const ADDED: Partial<Record<MethodName, string[]>> = { dino: ["center"], swav: ["prototypes.weight"] };

const uninterrupted = new Map<MethodName, Run>();
function trained(method: MethodName): Run {
  let run = uninterrupted.get(method);
  if (run === undefined) {
    run = createRun(tinyConfig(method));
    trainRun(run);
    uninterrupted.set(method, run);
  }
  return run;
}

describe("methods/family B: tiny seeded runs through the shared trainer", () => {
  after(cleanupTempDirs);

  for (const method of FAMILY_B) {
    describe(method, () => {
      it("trains with finite losses; VICReg, SimSiam and SwAV lower theirs", () => {
        const run = trained(method);
        expect(run.state.lossPerEpoch).to.have.length(2);
        run.state.lossPerStep.forEach((loss) => expect(Number.isFinite(loss)).to.equal(true));
        if (method !== "dino") expect(run.state.lossPerEpoch[1]).to.be.below(run.state.lossPerEpoch[0]);
        if (method === "simsiam") run.state.lossPerStep.forEach((loss) => expect(loss).to.be.within(-1, 1));
      });

      it("stopped after epoch 1 and resumed, it ends bit-identical to an uninterrupted run (its added state included)", () => {
        const full = tempDir();
        saveCheckpoint(trained(method), full);
        const directory = tempDir();
        const interrupted = createRun(tinyConfig(method));
        trainRun(interrupted, { checkpointDirectory: directory, stopAfterEpochs: 1 });
        const resumed = resumeRun(directory);
        trainRun(resumed, { checkpointDirectory: directory });
        expect(resumed.state.lossPerStep.every((loss, i) => Object.is(loss, trained(method).state.lossPerStep[i]))).to.equal(true);
        expect(checkpointDifferences(join(full, CHECKPOINT_FILE), join(directory, CHECKPOINT_FILE))).to.deep.equal([]);
        const names = [...loadSafetensors(join(directory, CHECKPOINT_FILE)).tensors.keys()];
        expect(names).to.include.members(ADDED[method] ?? []);
      });
    });
  }

  it("swav: the prototypes are unit rows after every step, and they moved", () => {
    const run = trained("swav");
    const method = run.method as SwAV;
    const [k, d] = method.prototypes.weight.shape;
    const values = method.prototypes.weight.toTypedArray();
    for (let row = 0; row < k; row++) {
      let norm = 0;
      for (let j = 0; j < d; j++) norm += values[row * d + j] ** 2;
      expect(Math.sqrt(norm)).to.be.closeTo(1, 1e-6);
    }
    const initial = createRun(tinyConfig("swav")).method as SwAV;
    expect(sameBits(initial.prototypes.weight, method.prototypes.weight)).to.equal(false);
  });

  it("dino: the center is no longer zero, and the teacher moved away from its start but is not the student", () => {
    const method = trained("dino").method as DINO;
    const initial = createRun(tinyConfig("dino")).method as DINO;
    expect(Array.from(initial.center.toTypedArray()).every((v) => v === 0)).to.equal(true);
    expect(Array.from(method.center.toTypedArray()).some((v) => v !== 0)).to.equal(true);
    const student = method.head.lastLayer.weight;
    const teacher = method.teacherHead.lastLayer.weight;
    expect(sameBits(teacher, initial.teacherHead.lastLayer.weight)).to.equal(false);
    expect(sameBits(teacher, student)).to.equal(false);
    expect(teacher.requiresGrad).to.equal(false);
    expect(method.trainableParameters().some(([name]) => name.startsWith("teacher"))).to.equal(false);
  });

  it("dino: one training step writes c ← 0.9 c + 0.1 mean(teacher outputs) into the center buffer", () => {
    const run = createRun(tinyConfig("dino"));
    const method = run.method as DINO;
    const batch = run.loader.next() as TwoViewBatch;
    const before = Float64Array.from(method.center.toTypedArray());
    method.trainingLoss(batch);
    const after = method.center.toTypedArray();
    // recompute the teacher's mean output for the same batch: the teacher has not changed (no optimizer step yet)
    const fresh = createRun(tinyConfig("dino")).method as DINO;
    const teacherMean = meanTeacherOutput(fresh, batch.view1, batch.view2, batch.batchSize);
    for (let j = 0; j < after.length; j++) expect(after[j]).to.be.closeTo(0.9 * before[j] + 0.1 * teacherMean[j], 1e-6);
  });
});

/** mean over the 2N rows of the teacher's outputs (1, K) → K numbers. */
function meanTeacherOutput(method: DINO, view1: Float32Array, view2: Float32Array, n: number): number[] {
  const k = method.center.shape[1];
  const sums = new Array<number>(k).fill(0);
  for (const view of [view1, view2]) {
    const images = imageTensor(view, n);
    const out = method.teacherHead.forward(method.teacherEncoder.forward(images)).toTypedArray();
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) sums[j] += out[i * k + j] / (2 * n);
  }
  return sums;
}
