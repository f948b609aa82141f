/**
 * log.jsonl (src/cli/step-log.ts), through the CLI in process: one JSON line per optimizer step,
 * strictly increasing steps, and append-safe across --resume. The interruption is the one kill -9
 * leaves mid-epoch: the last checkpoint is epoch 1, the log holds two more steps of epoch 2 and a
 * half-written line. The resumed log must equal the uninterrupted run's, line for line, except the
 * timing fields.
 */
import { expect } from "chai";
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keptLogLines, openStepLog, STEP_LOG_FILE, STEP_LOG_TIMING_FIELDS, stepLogEntry } from "../../src/cli/step-log.js";
import type { Progress } from "../../src/methods/trainer.js";
import { cleanupTempDirs, tempDir } from "../methods/helpers.js";
import { cli } from "./helpers.js";

const TINY = ["--limit", "256", "--batch-size", "64", "--epochs", "3", "--quiet"];

const readLog = (directory: string) => readFileSync(join(directory, STEP_LOG_FILE), "utf8");
const entries = (text: string): Record<string, number>[] => text.trim().split("\n").map((line) => JSON.parse(line));
const withoutTiming = (entry: Record<string, number>) =>
  Object.fromEntries(Object.entries(entry).filter(([key]) => !STEP_LOG_TIMING_FIELDS.includes(key)));

describe("cli/step-log: log.jsonl, one line per step, append-safe across --resume", () => {
  after(cleanupTempDirs);

  it("a run stopped mid-epoch 2 as kill -9 would, then resumed, logs exactly what an uninterrupted run logs (timing aside)", async () => {
    const [uninterrupted, interrupted] = [tempDir(), tempDir()];
    expect((await cli(["train", "simclr", ...TINY, "--stop-after", "2", "--out", uninterrupted])).code).to.equal(0);
    expect((await cli(["train", "simclr", ...TINY, "--stop-after", "1", "--out", interrupted])).code).to.equal(0);
    const reference = readLog(uninterrupted).split("\n");
    // kill -9 during step 7: steps 5 and 6 were logged after the epoch-1 checkpoint, step 7's line is half written.
    appendFileSync(join(interrupted, STEP_LOG_FILE), `${reference[4]}\n${reference[5]}\n${reference[6].slice(0, 25)}`);
    expect((await cli(["train", "simclr", ...TINY, "--resume", "--stop-after", "1", "--out", interrupted])).code).to.equal(0);

    const expected = entries(readLog(uninterrupted));
    const resumed = entries(readLog(interrupted));
    expect(expected.map((entry) => entry.step)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(expected.map((entry) => entry.epoch)).to.deep.equal([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(resumed.map(withoutTiming)).to.deep.equal(expected.map(withoutTiming));
    for (const entry of resumed) {
      expect(entry).to.have.all.keys("step", "epoch", "loss", "lr", "temperature", "samplesPerSecond", "wallSeconds");
      expect(entry.samplesPerSecond).to.be.above(0);
    }
    // wall time keeps counting across the sessions: strictly increasing within each session, and epoch 2 after epoch 1.
    expect(resumed[4].wallSeconds).to.be.above(resumed[3].wallSeconds);
    expect(readdirSync(interrupted).filter((name) => name.includes(".tmp"))).to.deep.equal([]); // the rewrite left no temporary file
  });

  it("--force starts the log over; each method writes its own extra number (CLIP's logit scale, BYOL's EMA momentum)", async () => {
    const directory = tempDir();
    const argv = ["--limit", "256", "--batch-size", "64", "--epochs", "2", "--stop-after", "1", "--quiet", "--out", directory];
    expect((await cli(["train", "clip", ...argv])).code).to.equal(0);
    expect(entries(readLog(directory)).map((entry) => Object.keys(entry))).to.have.length(4).and.satisfy((keys: string[][]) =>
      keys.every((k) => k.includes("logitScale") && !k.includes("temperature"))
    );
    expect((await cli(["train", "byol", ...argv, "--force"])).code).to.equal(0);
    const byol = entries(readLog(directory));
    expect(byol.map((entry) => entry.step)).to.deep.equal([1, 2, 3, 4]);
    expect(byol.every((entry) => entry.emaMomentum > 0.9 && entry.emaMomentum <= 1)).to.equal(true);
  });

  it("keptLogLines keeps whole lines with strictly increasing steps up to the checkpoint's, and stops at the first bad one", () => {
    const line = (step: number) => JSON.stringify({ step, epoch: 1, loss: 1, lr: 0 });
    const text = [1, 2, 3, 4, 5].map(line).join("\n") + "\n";
    expect(keptLogLines(text, 3)).to.deep.equal([1, 2, 3].map(line));
    expect(keptLogLines(text, 99)).to.deep.equal([1, 2, 3, 4, 5].map(line));
    expect(keptLogLines(`${line(1)}\n${line(2)}\n{"step":3,"ep`, 9)).to.deep.equal([line(1), line(2)]);
    expect(keptLogLines(`${line(1)}\n${line(1)}\n${line(2)}`, 9)).to.deep.equal([line(1)]); // a repeated step: not increasing
    expect(keptLogLines(`${line(1)}\n[]\n${line(2)}`, 9)).to.deep.equal([line(1)]);
    expect(keptLogLines("", 9)).to.deep.equal([]);
  });

  it("openStepLog rewrites only when it drops lines, and a fresh run (step 0) starts empty", () => {
    const directory = tempDir();
    const progress = (step: number): Progress => ({
      step,
      epoch: 1,
      epochs: 1,
      stepInEpoch: step,
      stepsPerEpoch: 9,
      loss: 2.5,
      lr: 1e-3,
      extra: { label: "τ", value: 0.5 },
      samplesPerSecond: 100,
      wallSeconds: step,
      etaSeconds: 1,
    });
    const log = openStepLog(directory, 0);
    [1, 2, 3].forEach((step) => log.append(progress(step)));
    log.close();
    expect(entries(readLog(directory))).to.deep.equal([1, 2, 3].map((step) => stepLogEntry(progress(step))));
    expect(stepLogEntry(progress(1))).to.deep.equal({
      step: 1,
      epoch: 1,
      loss: 2.5,
      lr: 1e-3,
      temperature: 0.5,
      samplesPerSecond: 100,
      wallSeconds: 1,
    });
    const again = openStepLog(directory, 2);
    again.append(progress(3));
    again.close();
    expect(entries(readLog(directory)).map((entry) => entry.step)).to.deep.equal([1, 2, 3]);
    openStepLog(directory, 0).close();
    expect(readLog(directory)).to.equal("");
    writeFileSync(join(directory, STEP_LOG_FILE), "");
    expect(() => again.append(progress(4))).to.throw("is closed");
  });
});
