/**
 * A run in any runtime (src/methods/run.ts), as the browser playground uses it: built from the
 * digits' bytes, checkpointed to bytes, resumed from bytes. The bytes must be exactly the CLI's
 * checkpoint.safetensors, so that a checkpoint downloaded from the page loads in `contrastive eval`,
 * `--resume` and PyTorch; and the augmentation option must really reach the loader.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeMnistDigits, mnistFromBytes } from "../../src/data/mnist.js";
import { loadMnist, readMnistPackageDigits } from "../../src/data/mnist-package.js";
import { loadModuleFromBytes, serializeModule } from "../../src/io/checkpoint-bytes.js";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors-bytes.js";
import { loadModule, saveModule } from "../../src/io/checkpoint.js";
import { createRunFromData, resumeRunFromBytes, serializeCheckpoint, trainRunSteps } from "../../src/methods/run.js";
import { createRun, resumeRun, saveCheckpoint, trainRun } from "../../src/methods/trainer.js";
import { Linear } from "../../src/nn/linear.js";
import { Generator } from "../../src/tensor/random.js";
import { AdamW } from "../../src/optim/adam.js";
import { cleanupTempDirs, tempDir, tinyConfig } from "./helpers.js";
import type { TwoViewBatch, TwoViewLoader } from "../../src/data/loader.js";

/** Every entry of a state dict as plain numbers, by key. */
function weightsOf(run: { method: { stateDict(): Map<string, { toTypedArray(): ArrayLike<number> }> } }): Record<string, number[]> {
  return Object.fromEntries([...run.method.stateDict()].map(([key, value]) => [key, Array.from(value.toTypedArray())]));
}

describe("methods/run: a run on bytes (src/methods/run.ts)", function() {
  this.timeout(120_000);
  after(cleanupTempDirs);

  it("serializeCheckpoint is byte for byte the checkpoint.safetensors that saveCheckpoint writes", () => {
    const run = createRun(tinyConfig("simclr", { epochs: 1 }));
    trainRun(run);
    const directory = tempDir();
    const file = readFileSync(saveCheckpoint(run, directory));
    const bytes = serializeCheckpoint(run);
    expect(bytes.length).to.equal(file.length);
    expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(file)).to.equal(true);
  });

  it("a run from the digits' bytes trains to the same bits as createRun, and resumes from bytes like resumeRun", () => {
    const config = tinyConfig("simclr", { epochs: 2 });
    const data = mnistFromBytes(encodeMnistDigits(readMnistPackageDigits()));
    const fromBytes = createRunFromData(config, data);
    const steps = trainRunSteps(fromBytes, { stopAfterEpochs: 1 });
    while (!steps.next().done);
    const fromPackage = createRun(config);
    const directory = tempDir();
    trainRun(fromPackage, { checkpointDirectory: directory, stopAfterEpochs: 1 });
    expect(weightsOf(fromBytes)).to.deep.equal(weightsOf(fromPackage));

    const resumedFromBytes = resumeRunFromBytes(serializeCheckpoint(fromBytes), loadMnist(), { source: "page.safetensors" });
    const resumedFromFile = resumeRun(directory);
    const { wallSeconds: _bytesSeconds, ...bytesState } = resumedFromBytes.state; // wall-clock time differs, nothing else
    const { wallSeconds: _fileSeconds, ...fileState } = resumedFromFile.state;
    expect(bytesState).to.deep.equal(fileState);
    expect(weightsOf(resumedFromBytes)).to.deep.equal(weightsOf(resumedFromFile));
    trainRun(resumedFromBytes);
    trainRun(resumedFromFile);
    expect(weightsOf(resumedFromBytes)).to.deep.equal(weightsOf(resumedFromFile));
  });

  it("resumeRunFromBytes refuses a checkpoint whose metadata is damaged, naming the source and the field", () => {
    const run = createRun(tinyConfig("simclr", { epochs: 1 }));
    trainRun(run);
    const bytes = serializeCheckpoint(run);
    const { tensors, metadata } = parseSafetensors(bytes);
    const trainState = JSON.parse(metadata.trainState) as { epoch: number };
    trainState.epoch = 7;
    const damaged = serializeSafetensors(tensors, { ...metadata, trainState: JSON.stringify(trainState) });
    expect(() => resumeRunFromBytes(damaged, loadMnist(), { source: "page.safetensors" })).to.throw(
      /resume: 'page\.safetensors': metadata 'epoch' is '1', but trainState\.epoch is 7/,
    );
  });

  it("the augmentation option reaches the loader: strength 0 gives views equal to the images, the default does not", () => {
    const data = loadMnist();
    const config = tinyConfig("simclr", { epochs: 1 });
    const first = (
      options: Parameters<typeof createRunFromData>[2],
    ): TwoViewBatch => ((createRunFromData(config, data, options).loader as TwoViewLoader).epochBatches()[Symbol.iterator]().next()
      .value as TwoViewBatch);
    const identity = first({ augmentation: { strength: 0 } });
    expect(Array.from(identity.view1)).to.deep.equal(Array.from(identity.view2));
    const augmented = first({});
    expect(Array.from(augmented.view1)).to.not.deep.equal(Array.from(augmented.view2));
    expect(() => createRunFromData(config, data, { augmentation: { strength: -1 } })).to.throw(/strength must be ≥ 0, got -1/);
    expect(() => createRunFromData(config, data, { augmentations: {} } as never)).to.throw(/createRunFromData.*augmentations/);
  });

  it("serializeModule and loadModuleFromBytes round-trip a module and its optimizer; the bytes are saveModule's file", () => {
    const generator = new Generator(3);
    const layer = new Linear(5, 4, { generator });
    const optimizer = new AdamW([{ params: [...layer.namedParameters()] }], { lr: 0.01 });
    layer.forward(new Linear(3, 5, { generator }).weight.transpose(0, 1)).sum().backward();
    optimizer.step();
    const bytes = serializeModule(layer, { optimizer, metadata: { note: "page" } });
    const path = join(tempDir(), "layer.safetensors");
    saveModule(path, layer, { optimizer, metadata: { note: "page" } });
    expect(Buffer.from(bytes).equals(readFileSync(path))).to.equal(true);

    const twin = new Linear(5, 4, { generator: new Generator(9) });
    const twinOptimizer = new AdamW([{ params: [...twin.namedParameters()] }], { lr: 0.01 });
    expect(loadModuleFromBytes(bytes, twin, { optimizer: twinOptimizer }).metadata.note).to.equal("page");
    expect(Array.from(twin.weight.toTypedArray())).to.deep.equal(Array.from(layer.weight.toTypedArray()));
    expect(Array.from(twin.bias!.toTypedArray())).to.deep.equal(Array.from(layer.bias!.toTypedArray()));
    const fromFile = new Linear(5, 4, { generator: new Generator(10) });
    loadModule(path, fromFile);
    expect(Array.from(fromFile.weight.toTypedArray())).to.deep.equal(Array.from(layer.weight.toTypedArray()));
    expect(() => loadModuleFromBytes(bytes.subarray(0, 20), new Linear(5, 4, { generator }), { source: "cut.safetensors" })).to.throw(
      /cut\.safetensors/,
    );
  });
});
