/**
 * The command line as users of the ecosystem expect it (in process, `run(argv)`, except one real
 * process for --version):
 *  - `COMMAND --help`, `help COMMAND`: every flag of the command's table with its default, exit 0;
 *  - `--version`, `-v`, `version`: package.json's version, read at run time;
 *  - the parser on util.parseArgs: "did you mean", short flags, `--`, help before any other check;
 *  - open_clip's flags reach the optimizer: --wd (the decay is applied: p₁(λ) − p₁(0) = −lr·λ·p₀),
 *    --warmup (the schedule's shape, step by step), --grad-clip-norm (the gradient the optimizer
 *    sees has that norm), all saved in the checkpoint and kept, or refused if changed, on --resume.
 */
import { expect } from "chai";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, UsageError, HelpRequested, editDistance } from "../../src/cli/args.js";
import { commandFlags, commandHelp, defaultPerMethod, HELP_COMMANDS } from "../../src/cli/commands.js";
import { STEP_LOG_FILE } from "../../src/cli/step-log.js";
import { packageVersion } from "../../src/cli/version.js";
import {
  CHECKPOINT_FILE,
  createRun,
  defaultConfig,
  readCheckpoint,
  resumeRun,
  trainSteps,
  METHOD_NAMES,
  type TrainEvent,
} from "../../src/methods/trainer.js";
import { cleanupTempDirs, tempDir } from "../methods/helpers.js";
import { cli, cliProcess, expectCleanFailure } from "./helpers.js";

const TINY = ["--limit", "256", "--batch-size", "64"];
const packageJson = JSON.parse(readFileSync(fileURLToPath(new URL("../../../package.json", import.meta.url)), "utf8")) as {
  version: string;
};

/** The lines of a run directory's log.jsonl, parsed. */
function logOf(directory: string): Record<string, number>[] {
  return readFileSync(join(directory, STEP_LOG_FILE), "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

describe("cli/flags: --help, --version, the parser", () => {
  for (const command of HELP_COMMANDS) {
    it(`${command} --help lists every flag with its meaning and default, exits 0, and equals 'help ${command}' and '-h'`, async () => {
      const result = await cli([command, "--help"]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stderr).to.equal("");
      expect(result.stdout).to.match(new RegExp(`^usage: contrastive ${command}`));
      for (const [name, spec] of Object.entries(commandFlags(command))) {
        const line = new RegExp(`^  --${name}\\b.*$`, "m").exec(result.stdout);
        expect(line, `--${name}`).to.not.equal(null);
        expect(spec.help, `--${name} has a meaning`).to.be.a("string").and.not.equal("");
        expect(result.stdout, `--${name}'s meaning`).to.include(spec.help!);
        if (spec.default !== undefined) expect(result.stdout, `--${name}'s default`).to.include(`(default: ${spec.default})`);
      }
      expect((await cli(["help", command])).stdout).to.equal(result.stdout);
      expect((await cli([command, "-h"])).stdout).to.equal(result.stdout);
      expect(result.stdout).to.equal(commandHelp(command));
    });
  }

  it("train --help shows each method's own defaults, read from defaultConfig (wd, epochs, temperature)", async () => {
    const { stdout } = await cli(["train", "--help"]);
    expect(defaultPerMethod("weightDecay")).to.match(/^simclr 1e-6, moco 1e-6, byol 1e-6, clip 0\.1\b/);
    expect(stdout).to.include(`(default: ${defaultPerMethod("weightDecay")})`);
    expect(defaultPerMethod("seed")).to.equal("0");
    expect(defaultPerMethod("temperature")).to.not.include("byol"); // BYOL has no temperature
    for (const method of METHOD_NAMES) expect(stdout).to.include(`${method} ${defaultConfig(method).epochs}`);
  });

  it("--help wins over every other mistake on the line, and a help of an unknown command is a usage error", async () => {
    expect((await cli(["train", "--bogus", "--epochs", "x", "--help"])).code).to.equal(0);
    expect(() => parseArgs(["--nope", "-h"], {}, "eval")).to.throw(HelpRequested);
    expectCleanFailure(await cli(["help", "fly"]), 2, "help: unknown command 'fly' (train, eval, augment, demo)");
  });

  it("--version, -v and version print package.json's version (a real process: dist/ and build/ find it the same way)", async () => {
    expect(packageVersion()).to.equal(packageJson.version);
    for (const argv of [["--version"], ["-v"], ["version"]]) {
      const result = await cli(argv);
      expect(result, argv[0]).to.deep.include({ code: 0, stdout: `${packageJson.version}\n`, stderr: "" });
    }
    const spawned = await cliProcess(["--version"], { cwd: tempDir() }); // cwd elsewhere: found from the file, not the cwd
    expect(spawned).to.deep.include({ code: 0, stdout: `${packageJson.version}\n` });
  });

  it("packageVersion skips a package.json of another name and says where it looked when there is none", () => {
    const root = tempDir();
    const nested = join(root, "node_modules", "contrastive-ts", "dist", "cli");
    const files = [
      [join(root, "package.json"), { name: "my-app", version: "9.9.9" }],
      [join(root, "node_modules", "contrastive-ts", "package.json"), { name: "contrastive-ts", version: "1.2.3" }],
      [join(root, "node_modules", "contrastive-ts", "dist", "package.json"), { type: "module" }],
    ] as const;
    for (const [path, manifest] of files) {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, JSON.stringify(manifest));
    }
    mkdirSync(nested, { recursive: true });
    expect(packageVersion(join(nested, "version.js"))).to.equal("1.2.3");
    expect(() => packageVersion(join(root, "elsewhere", "version.js"))).to.throw(
      /no package.json of contrastive-ts in .*elsewhere or above it/,
    );
  });

  it("an unknown flag lists the known ones and suggests the nearest (--epoch → --epochs), a far one suggests nothing", () => {
    const specs = { epochs: { kind: "integer" }, "batch-size": { kind: "integer" }, quiet: { kind: "boolean" } } as const;
    expect(() => parseArgs(["--epoch", "3"], specs, "train")).to.throw(
      UsageError,
      "train: unknown option --epoch (known: --epochs, --batch-size, --quiet); did you mean --epochs?",
    );
    expect(() => parseArgs(["--batchsize=3"], specs, "train")).to.throw(UsageError, "did you mean --batch-size?");
    expect(() => parseArgs(["--temperature", "3"], specs, "train")).to.throw(UsageError).that.satisfies((error: Error) =>
      !error.message.includes("did you mean")
    );
    expect(() => parseArgs(["-q"], specs, "train")).to.throw(UsageError, "train: unknown option -q (known: ");
    expect(editDistance("epoch", "epochs")).to.equal(1);
    expect(editDistance("kitten", "sitting")).to.equal(3);
    expect(editDistance("", "abc")).to.equal(3);
  });

  it("`--` ends the options: what follows is positional, even if it looks like a flag", () => {
    expect(parseArgs(["--quiet", "--", "--epochs", "-x"], { quiet: { kind: "boolean" } }, "eval")).to.deep.equal({
      positionals: ["--epochs", "-x"],
      flags: { quiet: true },
    });
  });
});

describe("cli/flags: --wd, --warmup, --grad-clip-norm reach the optimizer", () => {
  after(cleanupTempDirs);

  it("--wd: saved in the config, set on the decayed group, and applied: p₁(λ) − p₁(0) = −lr·λ·p₀ on every weight matrix", async () => {
    const out = tempDir();
    const result = await cli(["train", "simclr", ...TINY, "--wd", "0.25", "--epochs", "2", "--stop-after", "1", "--out", out, "--quiet"]);
    expect(result.code, result.stderr).to.equal(0);
    expect(readCheckpoint(join(out, CHECKPOINT_FILE)).config.weightDecay).to.equal(0.25);
    const resumed = resumeRun(out);
    expect(resumed.optimizer.paramGroups.map((group) => group.weightDecay)).to.deep.equal([0.25, 0]); // matrices; biases and norms
    // One step with and without decay, no warmup (so lr(0) = base lr): AdamW's update differs by exactly −lr·λ·p₀.
    const step = (weightDecay: number) => {
      const run = createRun(defaultConfig("simclr", { trainLimit: 256, batchSize: 64, epochs: 1, weightDecay, warmupSteps: 0 }));
      const before = run.method.trainableParameters().map(([name, p]) => [name, p.toTypedArray().slice()] as const);
      trainSteps(run).next();
      return { run, before, after: run.method.trainableParameters().map(([, p]) => p.toTypedArray()) };
    };
    const decayed = step(0.25);
    const plain = step(0);
    const lr = decayed.run.config.lr;
    let matrices = 0;
    decayed.before.forEach(([name, p0], k) => {
      const isMatrix = decayed.run.method.trainableParameters()[k][1].ndim >= 2;
      let largest = 0;
      for (let i = 0; i < p0.length; i++) {
        const expected = isMatrix ? -lr * 0.25 * p0[i] : 0;
        largest = Math.max(largest, Math.abs(decayed.after[k][i] - plain.after[k][i] - expected));
      }
      expect(largest, name).to.be.below(2e-6); // float32 rounding of |p| ≲ 1 values
      if (isMatrix) matrices++;
    });
    expect(matrices).to.be.above(0);
    // And the test can fail: the decay is visible, far above the rounding.
    const firstMatrix = decayed.before.findIndex((_, k) => decayed.run.method.trainableParameters()[k][1].ndim >= 2);
    const p0 = decayed.before[firstMatrix][1];
    let gap = 0;
    for (let i = 0; i < p0.length; i++) gap = Math.max(gap, Math.abs(decayed.after[firstMatrix][i] - plain.after[firstMatrix][i]));
    expect(gap).to.be.above(1e-5);
  });

  it("--warmup STEPS: lr(t) = lr·t/STEPS for t < STEPS, then the cosine from the peak; --warmup-epochs by default", async () => {
    const [stepsRun, epochsRun] = [tempDir(), tempDir()];
    const common = ["train", "simclr", ...TINY, "--epochs", "3", "--stop-after", "1", "--quiet"];
    expect((await cli([...common, "--warmup", "3", "--out", stepsRun])).code).to.equal(0);
    expect((await cli([...common, "--out", epochsRun])).code).to.equal(0);
    const base = defaultConfig("simclr").lr;
    const total = 12; // 3 epochs × 4 steps
    const cosine = (t: number, warmup: number) => base * 0.5 * (1 + Math.cos((Math.PI * (t - warmup)) / (total - warmup)));
    const lrs = (directory: string) => logOf(directory).map((entry) => entry.lr);
    expect(lrs(stepsRun)).to.deep.equal([0, base / 3, (base * 2) / 3, cosine(3, 3)]);
    expect(lrs(epochsRun)).to.deep.equal([0, base / 4, (base * 2) / 4, (base * 3) / 4]); // warmupEpochs 1 = 4 steps
    expect(readCheckpoint(join(stepsRun, CHECKPOINT_FILE)).config).to.include({ warmupSteps: 3, warmupEpochs: 1 });
    expect(readCheckpoint(join(epochsRun, CHECKPOINT_FILE)).config).to.not.have.property("warmupSteps");
    // --resume keeps the saved warmup: the next epoch continues the same cosine (epoch 2 of 3: no evaluation yet).
    expect((await cli(["train", "simclr", "--resume", "--stop-after", "1", "--out", stepsRun, "--quiet"])).code).to.equal(0);
    expect(lrs(stepsRun).slice(4)).to.deep.equal([4, 5, 6, 7].map((t) => cosine(t, 3)));
  });

  it("--grad-clip-norm X: the optimizer steps on gradients of norm X (the log has the norm before); --resume keeps it", async () => {
    const clip = 0.05;
    const run = createRun(defaultConfig("simclr", { trainLimit: 256, batchSize: 64, epochs: 1, gradClipNorm: clip }));
    const event = trainSteps(run).next().value as TrainEvent;
    if (event.kind !== "step") throw new Error("expected a step");
    let squares = 0;
    for (const [, parameter] of run.method.trainableParameters()) {
      for (const g of parameter.grad!.toTypedArray()) squares += g * g;
    }
    expect(event.progress.gradNorm).to.be.above(10 * clip); // the unclipped norm: clipping had work to do
    expect(Math.sqrt(squares)).to.be.closeTo(clip, clip * 1e-4); // what the optimizer saw
    // Through the CLI: saved, logged every step, kept on --resume; a different value on --resume is refused.
    const out = tempDir();
    const argv = ["train", "simclr", ...TINY, "--epochs", "2", "--grad-clip-norm", String(clip), "--out", out, "--quiet"];
    expect((await cli([...argv, "--stop-after", "1"])).code).to.equal(0);
    expect(readCheckpoint(join(out, CHECKPOINT_FILE)).config.gradClipNorm).to.equal(clip);
    expect(logOf(out).map((entry) => entry.gradNorm)).to.have.length(4).and.satisfy((norms: number[]) => norms.every((n) => n > clip));
    expectCleanFailure(
      await cli(["train", "simclr", "--resume", "--grad-clip-norm", "1", "--out", out]),
      1,
      /was trained with gradClipNorm 0\.05, not 1 \(only epochs may change on resume\)$/,
    );
    expectCleanFailure(
      await cli(["train", "simclr", "--resume", "--wd", "0.5", "--out", out]),
      1,
      /was trained with weightDecay 0\.000001, not 0\.5/,
    );
    expect(resumeRun(out).config.gradClipNorm).to.equal(clip);
  });

  it("bad values and a conflicting pair are usage errors naming the flag and the value", async () => {
    const cases: [string[], string][] = [
      [["--wd", "-1"], "train: --wd must be a number ≥ 0, got -1"],
      [["--warmup", "-2"], "train: --warmup must be a whole number of steps ≥ 0, got -2"],
      [["--warmup", "1.5"], "train: --warmup must be a whole number, got '1.5'"],
      [["--warmup-epochs", "-0.5"], "train: --warmup-epochs must be a number ≥ 0, got -0.5"],
      [["--grad-clip-norm", "0"], "train: --grad-clip-norm must be a positive number, got 0"],
      [["--warmup", "3", "--warmup-epochs", "1"], "train: give the warmup in steps (--warmup) or in epochs (--warmup-epochs), not both"],
    ];
    for (const [flags, message] of cases) expectCleanFailure(await cli(["train", "simclr", ...flags]), 2, message);
  });
});
