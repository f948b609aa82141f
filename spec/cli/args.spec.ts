/**
 * The CLI's argument parser (src/cli/args.ts) and progress line (src/cli/progress.ts), as units.
 */
import { expect } from "chai";
import fc from "fast-check";
import { parseArgs, UsageError, type FlagSpec } from "../../src/cli/args.js";
import { formatDuration, progressLine, progressReporter } from "../../src/cli/progress.js";
import type { Progress } from "../../src/methods/trainer.js";

const SPECS: Record<string, FlagSpec> = {
  epochs: { kind: "integer" },
  lr: { kind: "number" },
  out: { kind: "string" },
  encoder: { kind: "string", choices: ["mlp", "conv"] },
  quiet: { kind: "boolean" },
};

describe("cli/args: parseArgs", () => {
  it("reads positionals, --name value, --name=value and boolean flags", () => {
    expect(parseArgs(["simclr", "--epochs", "3", "--lr=0.5", "--quiet", "--out", "a b", "extra"], SPECS, "train")).to.deep.equal({
      positionals: ["simclr", "extra"],
      flags: { epochs: 3, lr: 0.5, quiet: true, out: "a b" },
    });
    expect(parseArgs(["--out=x=y", "--lr", "-1e-3"], SPECS, "train").flags).to.deep.equal({ out: "x=y", lr: -0.001 });
  });

  it("round-trips every safe integer and every finite double", () => {
    const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0); // + 0: −0 prints as "0"
    fc.assert(
      fc.property(fc.maxSafeInteger(), finiteDouble, (n, x) => {
        expect(parseArgs(["--epochs", String(n), `--lr=${x}`], SPECS, "train").flags).to.deep.equal({ epochs: n, lr: x });
      }),
    );
  });

  const errors: [string[], string][] = [
    [["--nope"], "train: unknown option --nope (known: --epochs, --lr, --out, --encoder, --quiet)"],
    [["--epochs"], "train: --epochs needs a value"],
    [["--epochs", "--quiet"], "train: --epochs needs a value"],
    [["--epochs", "two"], "train: --epochs must be a number, got 'two'"],
    [["--epochs", "2.5"], "train: --epochs must be a whole number, got '2.5'"],
    [["--epochs="], "train: --epochs must be a number, got ''"],
    [["--lr", "Infinity"], "train: --lr must be a number, got 'Infinity'"],
    [["--encoder", "vit"], "train: --encoder must be one of mlp, conv, got 'vit'"],
    [["--quiet=1"], "train: --quiet takes no value"],
  ];
  for (const [argv, message] of errors) {
    it(`${argv.join(" ")} → UsageError "${message}"`, () => {
      expect(() => parseArgs(argv, SPECS, "train")).to.throw(UsageError, message);
    });
  }

  it("an unknown option with no options known says so", () => {
    expect(() => parseArgs(["--x"], {}, "eval")).to.throw(UsageError, "eval: unknown option --x (known: none)");
  });
});

describe("cli/progress", () => {
  it("formatDuration: s, m ss, h mm; ? when unknown", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [59.4, "59s"],
      [59.6, "1m00s"],
      [61, "1m01s"],
      [3599, "59m59s"],
      [3600, "1h00m"],
      [7384, "2h03m"],
      [-5, "0s"],
      [Infinity, "?"],
      [NaN, "?"],
    ];
    for (const [seconds, text] of cases) expect(formatDuration(seconds), String(seconds)).to.equal(text);
  });

  const progress: Progress = {
    step: 7,
    epoch: 2,
    epochs: 5,
    stepInEpoch: 3,
    stepsPerEpoch: 4,
    loss: 4.56789,
    lr: 0.00075,
    extra: { label: "τ", value: 0.5 },
    samplesPerSecond: 812.4,
    wallSeconds: 3.2,
    etaSeconds: 75,
  };

  it("progressLine shows epoch, bar, step, loss, lr, the method's extra number, speed and ETA", () => {
    expect(progressLine("simclr", progress, 8)).to.equal(
      "[simclr] epoch 2/5 ██████░░ 3/4  loss 4.5679  lr 7.50e-4  τ 0.5000  812 img/s  ETA 1m15s",
    );
    expect(progressLine("byol", { ...progress, extra: null }, 4)).to.not.include("τ");
  });

  it("progressReporter: one line per epoch off a terminal, a redrawn line on one", () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (text: string) => written.push(text) > 0 }) as unknown as NodeJS.WriteStream;
    const steps = [1, 2, 3, 4].map((stepInEpoch) => ({ ...progress, stepInEpoch }));
    const file = progressReporter("moco", stream(false));
    steps.forEach(file);
    expect(written).to.deep.equal([`${progressLine("moco", steps[3])}\n`]);
    written.length = 0;
    const terminal = progressReporter("moco", stream(true));
    steps.forEach(terminal);
    expect(written).to.have.length(4);
    written.forEach((text) => expect(text.startsWith("\r\x1b[2K")).to.equal(true));
    expect(written.map((text) => text.endsWith("\n"))).to.deep.equal([false, false, false, true]);
  });
});
