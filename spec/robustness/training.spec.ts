/**
 * Training that goes non-finite stops at once, one row per cause, with a message naming what
 * became non-finite (the loss, a gradient, a parameter, an optimizer moment, the data), the
 * parameter, the step and epoch, and a hint that names the real cause:
 *  - τ so small that 1/τ overflows float32: the loss is NaN at step 1, "--temperature … too small";
 *  - τ so small that 1/τ² overflows: Adam's second moment is Infinity at step 1, the same hint
 *    (a lower --lr would not change the first step's gradient);
 *  - an lr so large that the update overflows: a parameter is ±Infinity, "try a lower --lr";
 *  - exploding activations after a few huge steps: a gradient is NaN while the loss is finite,
 *    "try a lower --lr";
 *  - NaN images: the data, before the forward pass.
 * In every case no checkpoint holding the bad values is written: the directory keeps the last
 * good epoch, or nothing.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CHECKPOINT_FILE, createRun, trainRun, type Run, type TrainConfig } from "../../src/methods/trainer.js";
import type { TwoViewBatch } from "../../src/data/loader.js";
import { cleanupTempDirs, tempDir, tinyConfig } from "../methods/helpers.js";

interface Row {
  cause: string;
  config: Partial<TrainConfig>;
  /** Damage the run before training (e.g. the data). */
  prepare?: (run: Run) => void;
  message: RegExp;
}

const rows: Row[] = [
  {
    cause: "1/τ² overflows float32 (τ = 1e-30)",
    config: { temperature: 1e-30 },
    message: new RegExp(
      /^train: the optimizer's expAvgSq of '[\w.]+' became Infinity \(flat index \d+\) at step 1 \(epoch 1\), /.source +
        /its gradient was finite; --temperature 1e-30 is too small for float32: /.source +
        /the gradients scale as 1\/τ and Adam's second moment as 1\/τ² = 1\.00e\+60, above its largest value 3\.40e\+38; /.source +
        /use a larger --temperature/.source,
    ),
  },
  {
    cause: "an lr whose update overflows (lr = 1e39, no warmup)",
    config: { lr: 1e39, warmupEpochs: 0 },
    message: new RegExp(
      /^train: parameter '[\w.]+' became -?Infinity \(flat index \d+\) in the update at step 1 \(epoch 1\), /.source +
        /its gradient was finite; the update overflowed: try a lower --lr \(this run's is 1e\+39\)$/.source,
    ),
  },
  {
    cause: "exploding activations after huge steps (lr = 1e38)",
    config: { lr: 1e38 },
    // NaN propagates through relu (as torch), so the loss refuses the NaN embeddings of the forward pass
    message: new RegExp(
      /^train: the forward pass became non-finite at step \d \(epoch 1\) /.source +
        /\(ntXent: z[12] \(shape \[\d+, \d+\]\) contains (NaN|-?Infinity) at flat index \d+\); /.source +
        /the inputs and the parameters were finite, so the forward pass overflowed \(exploding activations or gradients\): /.source +
        /try a lower --lr \(this run's is 1e\+38\)$/.source,
    ),
  },
  {
    cause: "NaN in the data",
    config: {},
    prepare: (run) => {
      const epochBatches = run.loader.epochBatches.bind(run.loader);
      run.loader.epochBatches = function*() {
        for (const batch of epochBatches() as Iterable<TwoViewBatch>) {
          batch.view2[10] = NaN;
          yield batch;
        }
      } as typeof run.loader.epochBatches;
    },
    message: /^train: the batch's view2 holds NaN at flat index 10 at step 1 \(epoch 1\): the data is broken, not the model$/,
  },
];

describe("robustness: training stops when anything becomes non-finite, naming the tensor, the step and the cause", () => {
  after(cleanupTempDirs);

  for (const row of rows) {
    it(`${row.cause}`, () => {
      const run = createRun(tinyConfig("simclr", row.config));
      row.prepare?.(run);
      const directory = tempDir();
      expect(() => trainRun(run, { checkpointDirectory: directory })).to.throw(row.message);
      expect(existsSync(join(directory, CHECKPOINT_FILE)), "no checkpoint of the bad step").to.equal(false);
    });
  }

  // 1/τ beyond float32 is refused by the config check, before any step (the losses refuse it too).
  it("1/τ overflows float32 (τ = 1e-39): refused before training", () => {
    expect(() => createRun(tinyConfig("simclr", { temperature: 1e-39 }))).to.throw(
      new RegExp(
        /^train: --temperature 1e-39 is too small for float32: the logits scale as 1\/τ = 1\.00e\+39, /.source +
          /above its largest value 3\.40e\+38; use a larger --temperature \(the default is 0\.5\)$/.source,
      ),
    );
  });

  it("the same run with sane values trains (so each row fails for its own cause)", () => {
    const run = createRun(tinyConfig("simclr", { epochs: 1 }));
    expect(trainRun(run).lossPerStep.every(Number.isFinite)).to.equal(true);
  });
});
