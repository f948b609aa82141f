/**
 * Evaluation progress (src/eval/progress.ts): the long stages report through `onProgress`, the
 * library prints nothing without one, and the callback changes no number. The CLI's reporter
 * (src/cli/progress.ts `evaluationReporter`) draws them: one line per finished stage off a
 * terminal, a throttled redrawn line on one.
 */
import { expect } from "chai";
import { linearProbe } from "../../src/eval/linear-probe.js";
import { rawPixelBaseline, rawPixelFeatures } from "../../src/eval/baselines.js";
import { WEIGHT_DECAY_GRID } from "../../src/eval/validated-probe.js";
import type { EvaluationProgress } from "../../src/eval/progress.js";
import { evaluateMethod } from "../../src/methods/evaluate.js";
import { createRun } from "../../src/methods/trainer.js";
import { evaluationProgressLine, evaluationReporter } from "../../src/cli/progress.js";
import { evaluationSubset, tinyConfig } from "../methods/helpers.js";

/** The reports of each stage, in the order the stages first appear. */
function byStage(reports: EvaluationProgress[]): Map<string, EvaluationProgress[]> {
  const stages = new Map<string, EvaluationProgress[]>();
  for (const report of reports) stages.set(report.stage, [...(stages.get(report.stage) ?? []), report]);
  return stages;
}

/** Run `body` with process.stdout/stderr captured; returns what was written. */
function captured(body: () => void): string {
  const written: string[] = [];
  const [out, err] = [process.stdout.write, process.stderr.write];
  const capture = ((chunk: string | Uint8Array) => written.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    body();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return written.join("");
}

describe("eval/progress: onProgress of the evaluations", () => {
  it("evaluateMethod reports features (train, test, two views), kNN and the linear probe, each ending at done = total", () => {
    const data = evaluationSubset();
    const run = createRun(tinyConfig("simclr"));
    const reports: EvaluationProgress[] = [];
    let silent: ReturnType<typeof evaluateMethod> | undefined;
    const printed = captured(() => {
      silent = evaluateMethod(run.method, data, { seed: 3 });
    });
    expect(printed, "the library prints nothing").to.equal("");
    const reported = evaluateMethod(run.method, data, { seed: 3, onProgress: (p) => reports.push(p) });
    expect(reported.row, "the callback changes no number").to.deep.equal(silent!.row);

    const stages = byStage(reports);
    expect([...stages.keys()]).to.deep.equal([
      "features: train images",
      "features: test images",
      "features: augmented view 1",
      "features: augmented view 2",
      "linear probe",
      "kNN",
    ]);
    const totals: Record<string, number> = {
      "features: train images": data.train.count,
      "features: test images": data.test.count,
      "features: augmented view 1": data.test.count,
      "features: augmented view 2": data.test.count,
      "linear probe": WEIGHT_DECAY_GRID.length + 1, // the validation fits, then the refit
      kNN: data.test.count,
    };
    for (const [stage, list] of stages) {
      expect(list.every((p) => p.total === totals[stage]), stage).to.equal(true);
      for (let i = 1; i < list.length; i++) expect(list[i].done, stage).to.be.at.least(list[i - 1].done);
      expect(list[list.length - 1].done, stage).to.equal(totals[stage]);
      expect(list.filter((p) => p.done === p.total), `${stage} ends once`).to.have.length(1);
    }
    const probe = stages.get("linear probe")!;
    expect(probe.some((p) => /^validation fit λ [\d.e-]+, L-BFGS iteration \d+$/.test(p.detail ?? ""))).to.equal(true);
    expect(probe[probe.length - 1].detail).to.match(/^refit λ [\d.e-]+ done$/);
  });

  it("linearProbe reports every L-BFGS iteration, then its end; rawPixelBaseline reports its probe and kNN", () => {
    const data = evaluationSubset();
    const train = rawPixelFeatures(data.train);
    const test = rawPixelFeatures(data.test);
    const reports: EvaluationProgress[] = [];
    const result = linearProbe(train, data.train.labels, test, data.test.labels, { onProgress: (p) => reports.push(p), maxIterations: 50 });
    expect(reports.slice(0, -1).map((p) => p.done)).to.deep.equal(Array.from({ length: result.iterations }, (_, i) => i + 1));
    expect(reports[reports.length - 1]).to.deep.include({ stage: "linear probe", done: 50, total: 50 });
    const stages = byStage([]);
    rawPixelBaseline(data, { onProgress: (p) => stages.set(p.stage, [...(stages.get(p.stage) ?? []), p]) });
    expect([...stages.keys()]).to.deep.equal(["linear probe", "kNN"]);
  });
});

describe("eval/progress: the CLI's evaluation reporter", () => {
  const stream = (isTTY: boolean, written: string[]) =>
    ({ isTTY, write: (text: string) => written.push(text) > 0 }) as unknown as NodeJS.WriteStream;
  const reports: EvaluationProgress[] = [
    { stage: "kNN", done: 100, total: 300 },
    { stage: "kNN", done: 200, total: 300 },
    { stage: "kNN", done: 300, total: 300 },
    { stage: "linear probe", done: 0, total: 6, detail: "validation fit λ 0.1, L-BFGS iteration 1" },
    { stage: "linear probe", done: 6, total: 6, detail: "refit λ 0.001 done" },
  ];

  it("off a terminal: one line per finished stage, with its time", () => {
    const written: string[] = [];
    let clock = 0;
    const report = evaluationReporter("simclr", stream(false, written), { now: () => clock });
    reports.forEach((p) => {
      clock += 1500;
      report(p);
    });
    expect(written).to.deep.equal([
      `${evaluationProgressLine("simclr", reports[2], 3)}\n`,
      `${evaluationProgressLine("simclr", reports[4], 1.5)}\n`,
    ]);
    expect(written[0]).to.equal(`[simclr] eval: kNN ${"█".repeat(20)} 300/300  3s\n`);
    expect(written[1]).to.equal(`[simclr] eval: linear probe ${"█".repeat(20)} 6/6  refit λ 0.001 done  2s\n`);
  });

  it("on a terminal: a redrawn line, at most every intervalMs, and each stage's end always drawn and kept", () => {
    const written: string[] = [];
    let clock = 0;
    const report = evaluationReporter("clip", stream(true, written), { now: () => clock, intervalMs: 100 });
    for (const [p, at] of reports.map((p, i) => [p, [0, 50, 60, 200, 210][i]] as const)) {
      clock = at;
      report(p);
    }
    // drawn: 100/300 (t 0), not 200/300 (t 50, too soon), 300/300 (end of stage), 0/6 (t 200), 6/6 (end)
    expect(written.map((text) => text.replace(/^\r\x1b\[2K/, "").replace(/ \d+\/\d+.*$/s, ""))).to.deep.equal([
      "[clip] eval: kNN ███████░░░░░░░░░░░░░",
      "[clip] eval: kNN ████████████████████",
      "[clip] eval: linear probe ░░░░░░░░░░░░░░░░░░░░",
      "[clip] eval: linear probe ████████████████████",
    ]);
    expect(written.map((text) => text.endsWith("\n"))).to.deep.equal([false, true, false, true]);
  });
});
