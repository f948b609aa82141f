/**
 * The loss variants and the methods of issue 15 through the same trainer as the chapter's four:
 * `simclr --loss dcl|dclw`, `clip --loss siglip`, `supcon` and `barlow` (the last two also run in
 * methods.spec.ts with the four). On the tiny budget (256 images, batch 64, 2 epochs):
 *  - each variant trains with its own loss (the first step's loss is that loss of the initial
 *    model), lowers it, and evaluates (linear probe, kNN, the collapse monitor; SigLIP zero-shot);
 *  - SigLIP's model has the learned bias b (init −10) beside the scale (init log 10) and clamps
 *    the scale as CLIP does;
 *  - a run stopped after 1 epoch and resumed ends with every tensor of the straight run, bit for bit;
 *  - the config refuses a loss of another method, and the checkpoint schema checks the field;
 *  - the CLI trains a variant, writes metrics.json (with the loss in its config) and the plots.
 */
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, createRun, resumeRun, saveCheckpoint, trainRun, validateConfig, type Run } from "../../src/methods/trainer.js";
import { CLIP } from "../../src/methods/clip.js";
import { SimCLR } from "../../src/methods/simclr.js";
import { stack } from "../../src/ops/indexing.js";
import { dclLoss, dclwLoss, sigLipLoss, supConLoss, barlowTwinsLoss } from "../../src/losses/index.js";
import { imageTensor } from "../../src/methods/common.js";
import type { TrainConfig } from "../../src/methods/config.js";
import type { ImageCaptionBatch, TwoViewBatch } from "../../src/data/loader.js";
import type { MethodName } from "../../src/methods/common.js";
import { evaluateMethod } from "../../src/methods/evaluate.js";
import { bytesOf, cleanupTempDirs, evaluationSubset, tempDir, tinyConfig, trainOnly } from "./helpers.js";
import { cli } from "../cli/helpers.js";

const VARIANTS: { method: MethodName; overrides: Partial<TrainConfig>; name: string }[] = [
  { method: "simclr", overrides: { loss: "dcl" }, name: "simclr --loss dcl" },
  { method: "simclr", overrides: { loss: "dclw" }, name: "simclr --loss dclw" },
  { method: "clip", overrides: { loss: "siglip" }, name: "clip --loss siglip" },
];

/**
 * The uninterrupted tiny run of each variant (2 epochs, seed 1), trained once in this file: the
 * training test evaluates it, the resume test compares a stopped and resumed run's checkpoint with
 * its checkpoint (saveCheckpoint after training writes what trainRun's last epoch wrote; evaluation
 * changes no weight and restores training mode: spec/methods/evaluate.spec.ts).
 */
const straightRuns = new Map<string, Run>();
function straightRun(method: MethodName, overrides: Partial<TrainConfig>): Run {
  const key = `${method} ${JSON.stringify(overrides)}`;
  let run = straightRuns.get(key);
  if (run === undefined) {
    run = trainOnly(method, overrides);
    straightRuns.set(key, run);
  }
  return run;
}

describe("methods: the loss variants of issue 15 through the shared trainer", () => {
  after(cleanupTempDirs);

  for (const { method, overrides, name } of VARIANTS) {
    it(`${name}: trains with its loss, lowers it, and evaluates with the collapse monitor`, () => {
      const initial = createRun(tinyConfig(method, overrides));
      const batch = initial.loader.next() as TwoViewBatch & ImageCaptionBatch;
      const first = initial.method.trainingLoss(batch).item();
      // the same batch through the loss the variant names, by hand (the method's forward, then the loss)
      if (initial.method instanceof SimCLR) {
        const z1 = initial.method.forward(imageTensor(batch.view1, batch.batchSize));
        const z2 = initial.method.forward(imageTensor(batch.view2, batch.batchSize));
        const byHand = overrides.loss === "dcl" ? dclLoss(z1, z2, { temperature: 0.5 }) : dclwLoss(z1, z2, { temperature: 0.5 });
        expect(first).to.equal(byHand.item());
      } else if (initial.method instanceof CLIP) {
        const image = initial.method.encodeImage(imageTensor(batch.images, batch.batchSize));
        const text = initial.method.encodeText(batch.tokens, batch.batchSize);
        expect(initial.method.logitScale.item()).to.be.closeTo(Math.log(10), 1e-6); // τ₀ = 0.1: t = 10
        expect(initial.method.logitBias!.item()).to.equal(-10);
        expect(first).to.equal(
          sigLipLoss(image, text, { logitScale: initial.method.logitScale, logitBias: initial.method.logitBias! }).item(),
        );
      }
      const run = straightRun(method, overrides); // what trainTiny does: train, then evaluate on the subset
      const evaluation = evaluateMethod(run.method, evaluationSubset(), { seed: run.config.seed });
      const losses = run.state.lossPerEpoch;
      expect(losses[losses.length - 1]).to.be.below(losses[0]);
      expect(evaluation.linearProbe.testAccuracy).to.be.above(0.5);
      const health = evaluation.health!;
      expect(health.normalizedStd.std / health.normalizedStd.expected).to.be.above(0.1); // the collapse monitor ran
      if (method === "clip") {
        expect(evaluation.zeroShot!.ensembleAccuracy).to.be.within(0, 1);
        const clip = run.method as CLIP;
        expect(clip.logitBias!.grad).to.not.equal(null); // b is learned
        expect(clip.logitScale.item()).to.be.within(0, Math.log(100)); // clamped as CLIP's
      }
    });
  }

  it("supcon and barlow train with their losses (the first step's loss of the initial model, by hand)", () => {
    for (const method of ["supcon", "barlow"] as const) {
      const run = createRun(tinyConfig(method));
      const batch = run.loader.next() as TwoViewBatch;
      const first = run.method.trainingLoss(batch).item();
      const forward = (run.method as unknown as { forward(x: ReturnType<typeof imageTensor>): ReturnType<typeof imageTensor> }).forward
        .bind(
          run.method,
        );
      const z1 = forward(imageTensor(batch.view1, batch.batchSize));
      const z2 = forward(imageTensor(batch.view2, batch.batchSize));
      const byHand = method === "supcon"
        ? supConLoss(stack([z1, z2], 1), batch.labels, { temperature: 0.1 })
        : barlowTwinsLoss(z1, z2, { lambda: 5e-3 });
      expect(first, method).to.equal(byHand.item());
    }
  });

  for (
    const { method, overrides, name } of [...VARIANTS, { method: "supcon", overrides: {}, name: "supcon" }, {
      method: "barlow",
      overrides: {},
      name: "barlow",
    }] as typeof VARIANTS
  ) {
    it(`${name}: 2 epochs straight = 1 + resume 1, every tensor bit for bit`, () => {
      const config = tinyConfig(method, overrides);
      const straight = tempDir();
      saveCheckpoint(straightRun(method, overrides), straight); // 2 epochs uninterrupted, trained once (above)
      const resumed = tempDir();
      trainRun(createRun(config), { checkpointDirectory: resumed, stopAfterEpochs: 1 });
      trainRun(resumeRun(resumed), { checkpointDirectory: resumed });
      const a = loadSafetensors(join(straight, CHECKPOINT_FILE));
      const b = loadSafetensors(join(resumed, CHECKPOINT_FILE));
      expect([...b.tensors.keys()]).to.deep.equal([...a.tensors.keys()]);
      expect([...a.tensors.keys()].filter((key) => !bytesOf(a.tensors.get(key)!).equals(bytesOf(b.tensors.get(key)!)))).to.deep.equal([]);
      expect(JSON.parse(b.metadata.config).loss).to.equal(overrides.loss);
      if (overrides.loss === "siglip") expect([...a.tensors.keys()]).to.include("logit_bias"); // open_clip's name
    });
  }

  it("refuses a loss of another method, and a loss name the method does not have", () => {
    expect(() => validateConfig(tinyConfig("moco", { loss: "dcl" }))).to.throw(/train: --loss applies to simclr .* and clip .* only/);
    expect(() => validateConfig(tinyConfig("simclr", { loss: "siglip" }))).to.throw(
      /train: --loss for simclr must be one of ntxent, dcl, dclw, got 'siglip'/,
    );
    expect(() => validateConfig(tinyConfig("clip", { loss: "dclw" }))).to.throw(
      /train: --loss for clip must be one of clip, siglip, got 'dclw'/,
    );
    expect(() => validateConfig(tinyConfig("barlow", { loss: "ntxent" }))).to.throw(/--loss applies to simclr/);
  });

  it("the CLI: `train clip --loss siglip` writes metrics.json (loss in its config, zero-shot, health) and the plots", async () => {
    const out = tempDir();
    const result = await cli([
      "train",
      "clip",
      "--loss",
      "siglip",
      "--epochs",
      "1",
      "--limit",
      "256",
      "--batch-size",
      "64",
      "--out",
      out,
      "--quiet",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as {
      config: TrainConfig;
      zeroShotAccuracy: number;
      health: { normalizedStd: number };
    };
    expect(metrics.config.loss).to.equal("siglip");
    expect(metrics.config.temperature).to.equal(0.1);
    expect(metrics.zeroShotAccuracy).to.be.within(0, 1);
    expect(metrics.health.normalizedStd).to.be.above(0);
    for (const file of ["loss.svg", "similarity.svg", CHECKPOINT_FILE]) expect(existsSync(join(out, file)), file).to.equal(true);
    const bad = await cli(["train", "byol", "--loss", "dcl", "--limit", "256", "--out", tempDir()]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--loss applies to simclr/);
  });
});
