/**
 * The resume claim, exactly as the README states it: a run of N epochs stopped after N/2 and
 * resumed for the other N/2 ends with
 *  - every tensor of its checkpoint (weights, buffers, optimizer moments) bit-identical to an
 *    uninterrupted N-epoch run's, and
 *  - the same training state: every metadata field equal as text (config, seed, epoch, step,
 *    loaderState with its generator states, the optimizer's JSON), trainState equal bit for bit
 *    except `wallSeconds`, the wall-clock time, which is the only thing that may differ.
 * The two files as a whole are therefore not byte-identical, and the README does not claim so.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, createRun, resumeRun, trainRun } from "../../src/methods/trainer.js";
import { bytesOf, cleanupTempDirs, jsonBitEqual, tempDir, tinyConfig } from "../methods/helpers.js";
import { repoRoot } from "../docs/public-api.js";

const N = 4;

describe("robustness: --resume ends with every tensor and the training state of an uninterrupted run", () => {
  let straight: ReturnType<typeof loadSafetensors>;
  let resumed: ReturnType<typeof loadSafetensors>;

  before(() => {
    const config = tinyConfig("simclr", { epochs: N }); // 256 images, batch 64, seed 1
    const straightDirectory = tempDir();
    trainRun(createRun(config), { checkpointDirectory: straightDirectory });
    const directory = tempDir();
    trainRun(createRun(config), { checkpointDirectory: directory, stopAfterEpochs: N / 2 });
    trainRun(resumeRun(directory), { checkpointDirectory: directory });
    straight = loadSafetensors(join(straightDirectory, CHECKPOINT_FILE));
    resumed = loadSafetensors(join(directory, CHECKPOINT_FILE));
  });
  after(cleanupTempDirs);

  it(`every tensor, bit for bit (${N} epochs straight = ${N / 2} + resume ${N / 2})`, () => {
    expect([...resumed.tensors.keys()]).to.deep.equal([...straight.tensors.keys()]);
    const differ = [...straight.tensors.keys()].filter((name) =>
      !bytesOf(straight.tensors.get(name)!).equals(bytesOf(resumed.tensors.get(name)!))
    );
    expect(differ).to.deep.equal([]);
    // the optimizer's moments are among them
    expect([...straight.tensors.keys()].some((name) => name.endsWith(".exp_avg_sq"))).to.equal(true);
  });

  it("the training state: every metadata field equal, trainState bit for bit except wallSeconds", () => {
    expect(Object.keys(resumed.metadata).sort()).to.deep.equal(Object.keys(straight.metadata).sort());
    for (const key of Object.keys(straight.metadata)) {
      if (key !== "trainState") expect(resumed.metadata[key], key).to.equal(straight.metadata[key]);
    }
    const { wallSeconds: straightSeconds, ...straightState } = JSON.parse(straight.metadata.trainState) as Record<string, unknown>;
    const { wallSeconds: resumedSeconds, ...resumedState } = JSON.parse(resumed.metadata.trainState) as Record<string, unknown>;
    expect(Object.keys(straightState).sort()).to.deep.equal(["epoch", "lossPerEpoch", "lossPerStep", "step"]);
    expect(jsonBitEqual(resumedState, straightState), JSON.stringify([resumedState, straightState])).to.equal(true);
    expect(straightSeconds).to.be.a("number").and.above(0);
    expect(resumedSeconds).to.be.a("number").and.above(0);
  });

  it("the README claims exactly this, not byte-identical files", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8").replace(/\s+/g, " "); // one line, as a reader reads it
    expect(readme).to.not.match(/--resume .*# continue; ends bit-identical/);
    expect(readme).to.include("every tensor of the checkpoint (weights, buffers, optimizer moments) and the training state");
    expect(readme).to.include("only `trainState.wallSeconds`, the wall-clock time, differs");
  });
});
