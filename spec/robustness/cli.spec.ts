/**
 * The command line's bad inputs, one row per kind, each with the exit code the help documents
 * (2 usage, 1 failure, 130 / 143 interrupted) and a one-line message that names the flag and the
 * offending value or path:
 *  - `--out`: a file, a path under a file, a directory this process cannot write to (and, through
 *    `writeProblem`, a read-only file system, a full disk), all found before any training by
 *    creating and removing a probe file; nothing is created;
 *  - a batch larger than the data, `--limit` out of range (train and demo);
 *  - a temperature whose 1/τ overflows float32: exit 1 with the hint to raise it;
 *  - SIGINT / SIGTERM during training (real processes): the message says which epoch is saved and
 *    that --resume continues, the exit code is 130 / 143, the checkpoint is that epoch's, whole,
 *    with no temporary file beside it, and --resume continues from it.
 */
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, resumeRun } from "../../src/methods/trainer.js";
import { writeProblem } from "../../src/cli/commands.js";
import { STEP_LOG_FILE } from "../../src/cli/step-log.js";
import { cli, cliProcess, expectCleanFailure, startCliProcess } from "../cli/helpers.js";
import { cleanupTempDirs, tempDir } from "../methods/helpers.js";

const TINY = ["--limit", "256", "--batch-size", "64"];

/** A directory this process cannot create files in, or null (root ignores permission bits; /sys refuses even root). */
function unwritableDirectory(): string | null {
  const candidate = process.getuid?.() === 0 ? "/sys" : tempDir();
  if (candidate !== "/sys") chmodSync(candidate, 0o555);
  try {
    writeFileSync(join(candidate, `.probe-${process.pid}`), "");
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EACCES" ? candidate : null;
  }
}

describe("robustness: the CLI's bad inputs are usage errors (exit 2) found before training", () => {
  after(cleanupTempDirs);

  interface Row {
    input: string;
    /** argv, and the path that must not exist afterwards; built in the test (temp paths). */
    setup: () => { argv: string[]; absent?: string };
    message: (argv: string[]) => string;
  }
  const file = (): string => {
    const path = join(tempDir(), "a-file");
    writeFileSync(path, "not a directory");
    return path;
  };
  const rows: Row[] = [
    {
      input: "--out is a file",
      setup: () => ({ argv: ["train", "simclr", ...TINY, "--out", file()] }),
      message: (argv) => `train: --out ${argv[argv.length - 1]} is a file, not a directory`,
    },
    {
      input: "--out is under a file",
      setup: () => {
        const parent = file();
        return { argv: ["train", "simclr", ...TINY, "--out", join(parent, "runs", "simclr")] };
      },
      message: (argv) =>
        `train: --out ${argv[argv.length - 1]} is under ${
          argv[argv.length - 1].replace(/\/runs\/simclr$/, "")
        }, which is a file, not a directory`,
    },
    {
      input: "demo --out is a file",
      setup: () => ({ argv: ["demo", "--limit", "256", "--out", file()] }),
      message: (argv) => `demo: --out ${argv[argv.length - 1]} is a file, not a directory`,
    },
    {
      input: "a batch larger than --limit",
      setup: () => {
        const out = join(tempDir(), "run");
        return { argv: ["train", "simclr", "--limit", "32", "--batch-size", "64", "--out", out], absent: out };
      },
      message: () => "train: --batch-size 64 is larger than the 32 training images (--limit 32)",
    },
    {
      input: "a batch larger than the training set",
      setup: () => {
        const out = join(tempDir(), "run");
        return { argv: ["train", "moco", "--batch-size", "8000", "--queue-size", "16000", "--out", out], absent: out };
      },
      message: () => "train: --batch-size 8000 is larger than the 7996 training images",
    },
    {
      input: "--limit above the training set",
      setup: () => {
        const out = join(tempDir(), "run");
        return { argv: ["train", "simclr", "--limit", "9000", "--out", out], absent: out };
      },
      message: () => "train: --limit must be at most 7996 (the training images), got 9000",
    },
    {
      input: "--limit below 2",
      setup: () => ({ argv: ["train", "simclr", "--limit", "1"] }),
      message: () => "train: --limit must be at least 2",
    },
    {
      input: "demo --limit above the training set",
      setup: () => {
        const out = join(tempDir(), "demo");
        return { argv: ["demo", "--limit", "8000", "--out", out], absent: out };
      },
      message: () => "demo: --limit must be at most 7996 (the training images), got 8000",
    },
  ];
  for (const row of rows) {
    it(`${row.input} → exit 2, naming the flag and the value`, async () => {
      const { argv, absent } = row.setup();
      expectCleanFailure(await cli(argv), 2, row.message(argv));
      if (absent !== undefined) expect(existsSync(absent), `${absent} created`).to.equal(false);
    });
  }

  it("--out in a directory it cannot write to → exit 2, 'not writable', nothing created", async function() {
    const directory = unwritableDirectory();
    if (directory === null) this.skip(); // no such directory on this machine
    const out = join(directory!, "contrastive-run");
    expectCleanFailure(
      await cli(["train", "simclr", ...TINY, "--out", out]),
      2,
      `train: --out ${out}: ${directory} is not writable (permission denied)`,
    );
    expect(existsSync(out)).to.equal(false);
    expect(readdirSync(directory!).filter((name) => name.startsWith(".contrastive-write-probe"))).to.deep.equal([]);
  });

  it("writeProblem says which: read-only file system, permission, full disk, anything else", () => {
    const table: [string | undefined, string][] = [
      ["EROFS", "/mnt/ro is on a read-only file system"],
      ["EACCES", "/mnt/ro is not writable (permission denied)"],
      ["EPERM", "/mnt/ro is not writable (permission denied)"],
      ["ENOSPC", "no space left for a file in /mnt/ro (ENOSPC)"],
      ["EDQUOT", "no space left for a file in /mnt/ro (EDQUOT)"],
      ["EIO", "cannot create a file in /mnt/ro (EIO)"],
      [undefined, "cannot create a file in /mnt/ro (unknown error)"],
    ];
    for (const [code, message] of table) expect(writeProblem("/mnt/ro", code), String(code)).to.equal(message);
  });

  it(
    "a temperature whose 1/τ overflows float32 → a usage error (exit 2) " +
      "naming --temperature, before training, no checkpoint",
    async () => {
      const out = join(tempDir(), "run");
      const result = await cli(["train", "simclr", ...TINY, "--temperature", "1e-39", "--out", out, "--quiet"]);
      expectCleanFailure(
        result,
        2,
        /^contrastive: train: --temperature 1e-39 is too small for float32: .*; use a larger --temperature \(the default is 0\.5\)$/,
      );
      expect(existsSync(join(out, CHECKPOINT_FILE))).to.equal(false);
    },
  );
});

describe("robustness: SIGINT / SIGTERM during training (real processes)", () => {
  after(cleanupTempDirs);

  /** Start a long tiny run; once its first checkpoint exists, send `signal`. */
  async function interruptAfterFirstCheckpoint(signal: NodeJS.Signals): Promise<{ directory: string; code: number; stderr: string }> {
    const directory = tempDir("contrastive-signal-");
    const { child, result } = startCliProcess(["train", "simclr", ...TINY, "--epochs", "500", "--out", directory, "--quiet"]);
    const checkpoint = join(directory, CHECKPOINT_FILE);
    while (!existsSync(checkpoint)) {
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill(signal);
    const { code, stderr } = await result;
    return { directory, code, stderr };
  }

  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal} → exit ${code}: says which epoch is saved and that --resume continues; the checkpoint is that epoch, whole`, async () => {
      const run = await interruptAfterFirstCheckpoint(signal);
      const checkpoint = join(run.directory, CHECKPOINT_FILE);
      const pattern = new RegExp(
        `^contrastive: train: interrupted by ${signal} during epoch (\\d+) of 500; epoch (\\d+) is saved in (.*); continue with --resume$`,
      );
      expectCleanFailure({ ...run, stdout: "" }, code, pattern);
      const [, during, saved, path] = pattern.exec(run.stderr.trim())!;
      expect(Number(during)).to.equal(Number(saved) + 1);
      expect(path).to.equal(checkpoint);
      expect(loadSafetensors(checkpoint).metadata.epoch).to.equal(saved);
      expect(readdirSync(run.directory).sort()).to.deep.equal([CHECKPOINT_FILE, STEP_LOG_FILE]); // no temporary file, no metrics
      expect(resumeRun(run.directory).state.epoch).to.equal(Number(saved)); // every field valid
    });
  }

  it("--resume continues an interrupted run from the saved epoch", async () => {
    const run = await interruptAfterFirstCheckpoint("SIGINT");
    const saved = Number(loadSafetensors(join(run.directory, CHECKPOINT_FILE)).metadata.epoch);
    const resumed = await cliProcess(["train", "simclr", "--resume", "--out", run.directory, "--stop-after", "1", "--quiet"]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(loadSafetensors(join(run.directory, CHECKPOINT_FILE)).metadata.epoch).to.equal(String(saved + 1));
  });

  it("a signal before the first checkpoint → exit 143, 'no epoch was saved yet', no checkpoint", async () => {
    const directory = join(tempDir("contrastive-signal-"), "run");
    mkdirSync(directory);
    // 4096 images, batch 64: 64 steps in epoch 1, so the signal lands well before its checkpoint.
    const { child, result } = startCliProcess([
      "train",
      "simclr",
      "--limit",
      "4096",
      "--batch-size",
      "64",
      "--epochs",
      "5",
      "--out",
      directory,
    ]);
    await new Promise<void>((resolve) => child.stderr!.once("data", () => resolve())); // the header line: training has started
    child.kill("SIGTERM");
    const { code, stderr } = await result;
    expect(code, stderr).to.equal(143);
    const lines = stderr.trim().split("\n");
    expect(lines[0]).to.match(/^\[simclr\] 4096 images, batch 64, 64 steps\/epoch/);
    expect(lines[lines.length - 1]).to.equal(
      "contrastive: train: interrupted by SIGTERM during epoch 1 of 5; no epoch was saved yet (nothing to resume)",
    );
    expect(existsSync(join(directory, CHECKPOINT_FILE))).to.equal(false);
  });
});
