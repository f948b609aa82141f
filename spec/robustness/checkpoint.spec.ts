/**
 * Bad checkpoints, one row per kind of damage: every metadata field (config, trainState,
 * loaderState, the optimizer's JSON, the top-level strings) and every kind of tensor (weight,
 * buffer, optimizer moment) with a non-finite value. Each row is refused with a message that names
 * the file, the field or tensor, and the value found, by three readers:
 *  - resumeRun (the API),
 *  - `contrastive eval DIR` and `contrastive train … --resume` (exit 1): neither writes anything
 *    (no metrics.json, no plot; the checkpoint's bytes unchanged) before the file is validated.
 * And the leftovers of a killed write (`checkpoint.safetensors.tmp-<pid>-<n>`) are removed by the
 * next successful write of the same checkpoint.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../../src/tensor/tensor.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, createRun, resumeRun, saveCheckpoint, trainRun, type Run } from "../../src/methods/trainer.js";
import { cleanupTempDirs, tempDir, tinyConfig } from "../methods/helpers.js";
import { cli, expectCleanFailure } from "../cli/helpers.js";

type Metadata = Record<string, string>;
type Tensors = Map<string, Tensor>;

/** Edit one JSON metadata field. */
function json(key: string, edit: (value: Record<string, unknown>) => void): (metadata: Metadata) => void {
  return (metadata) => {
    const value = JSON.parse(metadata[key]) as Record<string, unknown>;
    edit(value);
    metadata[key] = JSON.stringify(value);
  };
}

/** The first tensor whose name matches, with value `value` at flat index `index` (a copy; the file is rewritten). */
function poison(pattern: RegExp, index: number, value: number): (metadata: Metadata, tensors: Tensors) => void {
  return (_metadata, tensors) => {
    const name = [...tensors.keys()].find((key) => pattern.test(key));
    if (name === undefined) throw new Error(`no tensor matches ${pattern}`);
    const source = tensors.get(name)!;
    const data = source.toTypedArray().slice();
    data[index] = value;
    tensors.set(name, Tensor.fromTypedArray(data, source.shape));
  };
}

interface Row {
  damage: string;
  edit: (metadata: Metadata, tensors: Tensors) => void;
  /** The message must contain each (the file is checked separately). */
  says: (string | RegExp)[];
}

const optimizerKey = "encoder.1.weight";

const rows: Row[] = [
  // The top-level strings.
  {
    damage: "an unknown metadata key",
    edit: (m) => void (m.note = "hello"),
    says: ["metadata 'note' is not a field of a training checkpoint"],
  },
  { damage: "a missing metadata key", edit: (m) => void delete m.loaderState, says: ["metadata 'loaderState' is missing"] },
  { damage: "format is not pt", edit: (m) => void (m.format = "np"), says: ["metadata 'format' must be 'pt', got 'np'"] },
  {
    damage: "epoch disagrees with trainState",
    edit: (m) => void (m.epoch = "7"),
    says: ["metadata 'epoch' is '7', but trainState.epoch is 1"],
  },
  { damage: "seed disagrees with config", edit: (m) => void (m.seed = "3"), says: ["metadata 'seed' is '3', but config.seed is 1"] },
  // config
  { damage: "config is not JSON", edit: (m) => void (m.config = "{lr: 1"), says: ["metadata 'config' is not valid JSON ("] },
  { damage: "config is an array", edit: (m) => void (m.config = "[1]"), says: ["metadata 'config' must be a JSON object, got an array"] },
  { damage: "config lacks a required key", edit: json("config", (c) => delete c.lr), says: ["metadata 'config.lr' is missing"] },
  {
    damage: "config has an unknown key",
    edit: json("config", (c) => (c.momentum = 0.9)),
    says: ["metadata 'config.momentum' is not a field of config (fields: method, epochs,"],
  },
  {
    damage: "config value of the wrong type",
    edit: json("config", (c) => (c.batchSize = "64")),
    says: ["metadata 'config.batchSize' must be an integer ≥ 2, got '64'"],
  },
  {
    damage: "config value out of range",
    edit: json("config", (c) => (c.lr = -1)),
    says: ["metadata 'config.lr' must be a finite number > 0, got -1"],
  },
  {
    damage: "config value not a choice",
    edit: json("config", (c) => (c.encoder = "resnet")),
    says: ["metadata 'config.encoder' must be one of mlp, conv, got 'resnet'"],
  },
  {
    damage: "config flag of another method",
    edit: json("config", (c) => (c.queueSize = 128)),
    says: ["metadata 'config' is inconsistent: --queue-size applies to moco only (this run is simclr)"],
  },
  // trainState
  {
    damage: "trainState value out of range",
    edit: json("trainState", (t) => (t.epoch = -1)),
    says: ["metadata 'trainState.epoch' must be an integer ≥ 0, got -1"],
  },
  {
    damage: "trainState lacks a key",
    edit: json("trainState", (t) => delete t.wallSeconds),
    says: ["metadata 'trainState.wallSeconds' is missing"],
  },
  {
    damage: "trainState has an unknown key",
    edit: json("trainState", (t) => (t.bestLoss = 1)),
    says: ["metadata 'trainState.bestLoss' is not a field of trainState"],
  },
  {
    damage: "a non-finite loss in the history",
    edit: json("trainState", (t) => ((t.lossPerStep as unknown[])[2] = null)),
    says: ["metadata 'trainState.lossPerStep[2]' must be a finite number, got null"],
  },
  {
    damage: "a loss history of the wrong length",
    edit: json("trainState", (t) => (t.lossPerStep as number[]).pop()),
    says: ["metadata 'trainState.lossPerStep' has 3 entries for 4 steps"],
  },
  {
    damage: "more epochs done than configured",
    edit: (m) => {
      json("trainState", (t) => {
        t.epoch = 9;
        t.lossPerEpoch = Array(9).fill(1);
      })(m);
      m.epoch = "9";
    },
    says: ["metadata 'trainState.epoch' is 9, more than config.epochs 2"],
  },
  {
    damage: "a step count that is not epochs × steps per epoch",
    edit: (m) => {
      json("trainState", (t) => {
        t.step = 5;
        (t.lossPerStep as number[]).push(1);
      })(m);
      m.step = "5";
    },
    says: ["metadata 'trainState.step' is 5, but 1 epochs of 4 steps are 4"],
  },
  // loaderState
  {
    damage: "loaderState has an unknown key",
    edit: json("loaderState", (l) => (l.workers = 4)),
    says: ["metadata 'loaderState.workers' is not a field of loaderState"],
  },
  {
    damage: "loaderState value of the wrong type",
    edit: json("loaderState", (l) => (l.shuffle = "yes")),
    says: ["metadata 'loaderState.shuffle' must be true or false, got 'yes'"],
  },
  {
    damage: "a generator state of the wrong length",
    edit: json("loaderState", (l) => (l.orderState as unknown[]).pop()),
    says: ["metadata 'loaderState.orderState' must be 5 numbers (a Generator state), got 4"],
  },
  {
    damage: "a generator word that is not 32-bit",
    edit: json("loaderState", (l) => ((l.batchState as unknown[])[1] = 2 ** 40)),
    says: ["metadata 'loaderState.batchState[1]' must be a 32-bit integer, got 1099511627776"],
  },
  {
    damage: "a position past the data",
    edit: json("loaderState", (l) => (l.position = 256)),
    says: ["metadata 'loaderState.position' is 256, not below loaderState.count 256"],
  },
  {
    damage: "a loader batch size unlike the config's",
    edit: json("loaderState", (l) => (l.batchSize = 32)),
    says: ["metadata 'loaderState.batchSize' is 32, but config.batchSize is 64"],
  },
  {
    damage: "a loader over other data",
    edit: json("loaderState", (l) => (l.count = 300)),
    says: ["metadata 'loaderState' does not fit this run: loader.setState: the state was saved with count=300, this loader has count=256"],
  },
  // optimizer.state
  {
    damage: "optimizer JSON with an unknown key",
    edit: json("optimizer.state", (o) => (o.extra = 1)),
    says: ["metadata 'optimizer.state'.extra is not a field (fields: type, param_groups, state)"],
  },
  {
    damage: "optimizer JSON without param_groups",
    edit: json("optimizer.state", (o) => delete o.param_groups),
    says: ["metadata 'optimizer.state'.param_groups is missing"],
  },
  {
    damage: "optimizer group params not keys",
    edit: json("optimizer.state", (o) => ((o.param_groups as Record<string, unknown>[])[1].params = [3])),
    says: ["metadata 'optimizer.state'.param_groups[1].params must be an array of parameter keys, got [3]"],
  },
  {
    damage: "an optimizer option out of range",
    edit: json("optimizer.state", (o) => ((o.param_groups as Record<string, unknown>[])[0].lr = -1)),
    says: ["does not match the optimizer:", "parameter group 0 of the state dict:", "lr -1"],
  },
  {
    damage: "an unknown optimizer state key",
    edit: json("optimizer.state", (o) => ((o.state as Record<string, Record<string, unknown>>)[optimizerKey].velocity = 1)),
    says: ["does not match the optimizer:", `'${optimizerKey}'`, "unknown key 'velocity'"],
  },
  {
    damage: "an infinite optimizer step count",
    edit: (m) =>
      void (m["optimizer.state"] = m["optimizer.state"].replace(`"${optimizerKey}":{"step":4`, `"${optimizerKey}":{"step":1e999`)),
    says: [`metadata 'optimizer.state'.state['${optimizerKey}'].step must be finite, got Infinity`],
  },
  {
    damage: "an optimizer state that names a missing tensor",
    edit: json(
      "optimizer.state",
      (o) => ((o.state as Record<string, Record<string, unknown>>)[optimizerKey].exp_avg = { tensor: "nowhere" }),
    ),
    says: [`metadata 'optimizer.state'.state['${optimizerKey}'].exp_avg refers to tensor 'nowhere', which the file does not hold`],
  },
  // Non-finite tensors: a weight, a buffer, an optimizer moment.
  {
    damage: "a NaN weight",
    edit: poison(/^encoder\.1\.weight$/, 5, NaN),
    says: [/tensor 'encoder\.1\.weight' \[\d+, 784\] holds NaN at flat index 5$/],
  },
  {
    damage: "an infinite buffer",
    edit: poison(/running_var$/, 0, Infinity),
    says: [/tensor '[\w.]+running_var' \[\d+\] holds Infinity at flat index 0$/],
  },
  {
    damage: "a -Infinity optimizer moment",
    edit: poison(/^optimizer\.state\.encoder\.1\.weight\.exp_avg$/, 3, -Infinity),
    says: ["tensor 'optimizer.state.encoder.1.weight.exp_avg'", "holds -Infinity at flat index 3"],
  },
];

function expectSays(text: string, path: string, says: (string | RegExp)[]): void {
  const message = text.trimEnd();
  expect(message, "names the file").to.include(`'${path}'`);
  for (const part of says) {
    if (typeof part === "string") expect(message).to.include(part);
    else expect(message).to.match(part);
  }
}

describe("robustness: bad checkpoints are refused on load, naming the file and the field", () => {
  let good: string;
  let run: Run;

  before(() => {
    // simclr, seed 1, 256 images, batch 64: 4 steps an epoch; 1 of 2 epochs done.
    run = createRun(tinyConfig("simclr"));
    good = tempDir("contrastive-robust-good-");
    trainRun(run, { checkpointDirectory: good, stopAfterEpochs: 1 });
  });
  after(cleanupTempDirs);

  it("the undamaged checkpoint loads (so each row below fails for its own damage)", async () => {
    const directory = tempDir();
    copyFileSync(join(good, CHECKPOINT_FILE), join(directory, CHECKPOINT_FILE));
    expect(resumeRun(directory).state.epoch).to.equal(1);
  });

  for (const row of rows) {
    it(`${row.damage}: resume, eval and train --resume refuse it, and write nothing`, async () => {
      const directory = tempDir();
      const path = join(directory, CHECKPOINT_FILE);
      const { tensors, metadata } = loadSafetensors(join(good, CHECKPOINT_FILE));
      const copy = { ...metadata };
      row.edit(copy, tensors);
      saveSafetensors(path, tensors, copy);
      const bytes = readFileSync(path);
      const { says } = row;

      let message = "(no error)";
      try {
        resumeRun(directory);
      } catch (error) {
        message = (error as Error).message;
      }
      expectSays(message, path, says);
      expect(message.split("\n")).to.have.length(1);

      const evaluated = await cli(["eval", directory]);
      expectCleanFailure(evaluated, 1, /^contrastive: /);
      expectSays(evaluated.stderr, path, says);
      const resumed = await cli(["train", "simclr", "--resume", "--out", directory, "--quiet"]);
      expect(resumed.code, resumed.stderr).to.equal(1);
      expectSays(resumed.stderr, path, says);

      expect(readdirSync(directory), "nothing written").to.deep.equal([CHECKPOINT_FILE]);
      expect(readFileSync(path).equals(bytes), "checkpoint unchanged").to.equal(true);
    });
  }
});

describe("robustness: the next write of a checkpoint removes the temporary files of killed writes", () => {
  after(cleanupTempDirs);

  it("removes <file>.tmp-<pid>-<n> of dead processes and of this one; keeps a live process's and other files", () => {
    const run = createRun(tinyConfig("simclr"));
    const directory = tempDir();
    // A process id that has certainly exited: a child that ran and was reaped.
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    const livePid = process.ppid; // the parent of this process is running
    const stale = [`${CHECKPOINT_FILE}.tmp-${deadPid}-1`, `${CHECKPOINT_FILE}.tmp-${process.pid}-999`];
    const kept = [`${CHECKPOINT_FILE}.tmp-${livePid}-1`, `${CHECKPOINT_FILE}.bak`, `metrics.json.tmp-${deadPid}-1`];
    for (const name of [...stale, ...kept]) writeFileSync(join(directory, name), "half a checkpoint");
    saveCheckpoint(run, directory);
    for (const name of stale) expect(existsSync(join(directory, name)), name).to.equal(false);
    for (const name of kept) expect(existsSync(join(directory, name)), name).to.equal(true);
    expect(loadSafetensors(join(directory, CHECKPOINT_FILE)).metadata.method).to.equal("simclr"); // the write itself succeeded
  });
});
