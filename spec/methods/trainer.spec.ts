/**
 * The training loop and its checkpoints (src/methods/trainer.ts):
 *  - resume: a run stopped after epoch 1 and resumed from its checkpoint ends bit-identical to an
 *    uninterrupted run — every tensor of the final checkpoint (weights, buffers such as MoCo's
 *    queue and batch-norm statistics, optimizer moments) and the loss history — for MoCo, BYOL
 *    and CLIP here, for SimCLR across processes in spec/cli/cli.spec.ts;
 *  - a missing, corrupt, truncated or foreign checkpoint, and a resume with another config, fail
 *    with a message that names the file and the problem;
 *  - configs are validated; `limitSplit` keeps every class.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tensor } from "../../src/tensor/creation.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { classCounts, IMAGE_PIXELS } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import {
  CHECKPOINT_FILE,
  createRun,
  defaultConfig,
  limitSplit,
  resumeRun,
  saveCheckpoint,
  trainRun,
  validateConfig,
  type TrainConfig,
} from "../../src/methods/trainer.js";
import type { MethodName } from "../../src/methods/common.js";
import { MoCo } from "../../src/methods/moco.js";
import { cachedTiny, checkpointDifferences, cleanupTempDirs, sameBits, tempDir, tinyConfig } from "./helpers.js";

describe("methods/trainer: resume", () => {
  after(cleanupTempDirs);

  // SimCLR's resume is checked across processes, through the CLI, in spec/cli/cli.spec.ts.
  for (const method of ["moco", "byol", "clip"] as MethodName[]) {
    it(`${method}: stopped after epoch 1 and resumed, it ends bit-identical to an uninterrupted run`, () => {
      const uninterrupted = cachedTiny(method).run; // seed 1, 2 epochs (MoCo 4)
      const fullDirectory = tempDir();
      saveCheckpoint(uninterrupted, fullDirectory);

      const directory = tempDir();
      const interrupted = createRun(tinyConfig(method));
      trainRun(interrupted, { checkpointDirectory: directory, stopAfterEpochs: 1 });
      expect(interrupted.state.epoch).to.equal(1);
      expect(loadSafetensors(join(directory, CHECKPOINT_FILE)).metadata.epoch).to.equal("1");

      const resumed = resumeRun(directory);
      expect(resumed.state.epoch).to.equal(1);
      expect(resumed.state.lossPerStep).to.deep.equal(interrupted.state.lossPerStep);
      trainRun(resumed, { checkpointDirectory: directory });

      expect(resumed.state.epoch).to.equal(uninterrupted.config.epochs);
      expect(resumed.state.lossPerStep.every((loss, i) => Object.is(loss, uninterrupted.state.lossPerStep[i]))).to.equal(true);
      expect(resumed.state.lossPerStep).to.have.length(uninterrupted.state.lossPerStep.length);
      expect(resumed.state.lossPerEpoch).to.deep.equal(uninterrupted.state.lossPerEpoch);
      const differences = checkpointDifferences(join(fullDirectory, CHECKPOINT_FILE), join(directory, CHECKPOINT_FILE));
      expect(differences).to.deep.equal([]);
      // The comparison covers the optimizer state and, for MoCo, the queue and its pointer.
      const names = [...loadSafetensors(join(directory, CHECKPOINT_FILE)).tensors.keys()];
      expect(names.some((name) => name.startsWith("optimizer.state.") && name.endsWith(".exp_avg_sq"))).to.equal(true);
      if (method === "moco") expect(names).to.include.members(["queue", "queue_pointer"]);
    });
  }

  it("may lengthen the run (--epochs), which recomputes the schedule's length", () => {
    const directory = tempDir();
    saveCheckpoint(cachedTiny("simclr").run, directory);
    const longer = resumeRun(directory, { epochs: 3 });
    expect(longer.config.epochs).to.equal(3);
    expect(longer.totalSteps).to.equal(3 * longer.stepsPerEpoch);
    expect(longer.state.epoch).to.equal(2);
  });

  it("refuses to resume with another config: only epochs may change", () => {
    const directory = tempDir();
    saveCheckpoint(cachedTiny("simclr").run, directory);
    expect(() => resumeRun(directory, { seed: 5 })).to.throw(
      /^resume: .*checkpoint\.safetensors was trained with seed 1, not 5 \(only epochs may change on resume\)$/,
    );
    expect(() => resumeRun(directory, { batchSize: 32 })).to.throw(/was trained with batchSize 64, not 32/);
    expect(() => resumeRun(directory, { temperature: 0.1 })).to.throw(/was trained with temperature 0.5, not 0.1/);
    expect(resumeRun(directory, { seed: 1, batchSize: 64, trainLimit: 256 }).config.seed).to.equal(1); // the same values are fine
  });

  it("fails clearly on a missing checkpoint", () => {
    const directory = tempDir();
    expect(() => resumeRun(directory)).to.throw(`resume: no checkpoint at ${join(directory, CHECKPOINT_FILE)}`);
  });

  it("fails clearly on a corrupt or truncated checkpoint", () => {
    const directory = tempDir();
    const path = saveCheckpoint(cachedTiny("simclr").run, directory);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(() => resumeRun(directory)).to.throw(/^loadSafetensors: '.*checkpoint\.safetensors' is not a valid safetensors file: /);
    writeFileSync(path, Buffer.from("this is not a checkpoint, just some text"));
    expect(() => resumeRun(directory)).to.throw(/is not a valid safetensors file: .*truncated/);
  });

  it("fails clearly on a safetensors file that is not a training checkpoint", () => {
    const directory = tempDir();
    saveSafetensors(join(directory, CHECKPOINT_FILE), { weight: tensor([1, 2, 3]) });
    expect(() => resumeRun(directory)).to.throw(/is not a contrastive-ts training checkpoint \(no 'method' in its metadata\)/);
  });

  it("fails clearly when the checkpoint's tensors do not fit the model its config builds", () => {
    const directory = tempDir();
    const path = saveCheckpoint(cachedTiny("byol").run, directory);
    const { tensors, metadata } = loadSafetensors(path);
    const config = JSON.parse(metadata.config) as TrainConfig;
    saveSafetensors(path, tensors, { ...metadata, method: "simclr", config: JSON.stringify({ ...config, method: "simclr" }) });
    expect(() => resumeRun(directory)).to.throw(/^loadModule: '.*checkpoint\.safetensors' does not match/);
  });
});

describe("methods/trainer: configs", () => {
  it("validates every field with a message naming the flag", () => {
    const bad: [Partial<TrainConfig>, RegExp][] = [
      [{ epochs: 0 }, /--epochs must be a positive integer, got 0/],
      [{ epochs: 1.5 }, /--epochs must be a positive integer, got 1.5/],
      [{ batchSize: 1 }, /--batch-size must be an integer ≥ 2, got 1/],
      [{ lr: -1 }, /--lr must be a positive number, got -1/],
      [{ lr: Number.NaN }, /--lr must be a positive number, got NaN/],
      [{ temperature: 0 }, /--temperature must be a positive number, got 0/],
      [{ seed: 0.5 }, /--seed must be an integer, got 0.5/],
      [{ encoder: "resnet" as TrainConfig["encoder"] }, /--encoder must be mlp or conv, got resnet/],
    ];
    for (const [overrides, message] of bad) {
      expect(() => validateConfig(defaultConfig("simclr", overrides)), JSON.stringify(overrides)).to.throw(message);
    }
    expect(() => validateConfig({ ...defaultConfig("simclr"), method: "supervised" as MethodName })).to.throw(
      /unknown method 'supervised'/,
    );
    for (const method of ["simclr", "moco", "byol", "clip"] as MethodName[]) {
      expect(() => validateConfig(defaultConfig(method))).to.not.throw();
    }
  });

  it("has per-method defaults: τ 0.5 / 0.2 / none / 0.07, MoCo's batch of 128, and CLIP's larger lr and weight decay", () => {
    expect(["simclr", "moco", "byol", "clip"].map((m) => defaultConfig(m as MethodName).temperature)).to.deep.equal([
      0.5,
      0.2,
      undefined,
      0.07,
    ]);
    expect(["simclr", "moco", "byol", "clip"].map((m) => defaultConfig(m as MethodName).batchSize)).to.deep.equal([256, 128, 256, 256]);
    const moco = createRun(defaultConfig("moco", { trainLimit: 512 })).method as MoCo;
    // K = 16 steps of 2 × 128 keys
    expect([moco.symmetric, moco.queueSize, moco.momentum, moco.temperature]).to.deep.equal([true, 4096, 0.99, 0.2]);
    expect(defaultConfig("clip")).to.include({ lr: 2e-3, weightDecay: 0.1, batchSize: 256 });
    expect(defaultConfig("byol", { temperature: 0.3 }).temperature).to.equal(0.3);
  });

  it("refuses a batch larger than the training set and a MoCo queue that is not a multiple of the keys a step enqueues", () => {
    expect(() => createRun(defaultConfig("simclr", { batchSize: 64, trainLimit: 32 }))).to.throw(
      "train: batch size 64 is larger than the 32 training images",
    );
    expect(() => createRun(defaultConfig("moco", { batchSize: 64, trainLimit: 256, queueSize: 100, symmetricLoss: false }))).to.throw(
      "train: MoCo queue size 100 must be a multiple of the batch size 64 (64 keys a step)",
    );
    expect(() => createRun(defaultConfig("moco", { batchSize: 64, trainLimit: 256, queueSize: 192 }))).to.throw(
      "train: MoCo queue size 192 must be a multiple of twice the batch size 64 (128 keys a step)",
    );
    const symmetric = createRun(defaultConfig("moco", { batchSize: 96, trainLimit: 256 })).method as MoCo;
    expect([symmetric.symmetric, symmetric.queueSize]).to.deep.equal([true, 4032]); // ⌊4096/192⌋·192
    const oneSided = createRun(defaultConfig("moco", { batchSize: 160, trainLimit: 320, symmetricLoss: false })).method as MoCo;
    expect([oneSided.symmetric, oneSided.queueSize]).to.deep.equal([false, 4000]); // ⌊4096/160⌋·160
  });

  it("refuses options of one method given to another, and a queue size that is not a positive whole number", () => {
    expect(() => validateConfig(defaultConfig("simclr", { queueSize: 4096 }))).to.throw(
      "train: --queue-size applies to moco only (this run is simclr)",
    );
    expect(() => validateConfig(defaultConfig("byol", { symmetricLoss: false }))).to.throw(
      "train: --moco-loss applies to moco only (this run is byol)",
    );
    expect(() => validateConfig(defaultConfig("moco", { imageTower: "vit" }))).to.throw(
      "train: --image-tower applies to clip only (this run is moco)",
    );
    expect(() => validateConfig(defaultConfig("simclr", { textTower: "bow" }))).to.throw(
      "train: --text-tower applies to clip only (this run is simclr)",
    );
    expect(() => validateConfig(defaultConfig("moco", { queueSize: 0 }))).to.throw(
      "train: --queue-size must be a positive whole number, got 0",
    );
    expect(() => validateConfig(defaultConfig("moco", { queueSize: 2.5 }))).to.throw(
      "train: --queue-size must be a positive whole number, got 2.5",
    );
  });
});

describe("methods/trainer: limitSplit", () => {
  it("takes n images spread over the split, so every class keeps its share", () => {
    const train = loadMnist().train;
    const small = limitSplit(train, 256);
    expect(small.count).to.equal(256);
    expect(small.images.length).to.equal(256 * IMAGE_PIXELS);
    const counts = classCounts(small.labels);
    const full = classCounts(train.labels);
    counts.forEach((count, digit) => expect(count, `digit ${digit}`).to.be.closeTo((256 * full[digit]) / train.count, 1));
    expect(limitSplit(train, 0)).to.equal(train);
    expect(limitSplit(train, train.count + 5)).to.equal(train);
  });

  it("image i of the subset is image ⌊i·count/n⌋ of the split, with its label", () => {
    const test = loadMnist().test;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: test.count - 1 }), fc.nat(), (n, pick) => {
        const small = limitSplit(test, n);
        const i = pick % n;
        const source = Math.floor((i * test.count) / n);
        expect(small.labels[i]).to.equal(test.labels[source]);
        expect(
          sameBits(
            small.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS),
            test.images.subarray(source * IMAGE_PIXELS, (source + 1) * IMAGE_PIXELS),
          ),
        ).to.equal(true);
      }),
      { numRuns: 50 },
    );
  });
});
