/**
 * `contrastive demo` (what `npm start` runs): its budget per method and the report.md it writes.
 * The loop itself (baselines, then train + evaluate + pictures per method) is `demoCommand` in
 * ./commands.ts.
 *
 * The budget is chosen to show what each method can do while the whole of `npm start` stays under
 * 3 minutes on two quiet cores (docs/evaluation.md, "The demo", has the runs behind each choice).
 *
 * @module
 */
import type { MethodName } from "../methods/common.js";
import type { TrainConfig } from "../methods/config.js";
import { describeAgainstBaseline, formatBaselineComparison, formatEvaluationTable, type EvaluationRow } from "../eval/report.js";

/**
 * Each method's settings in the demo, at --scale 1 (epochs are multiplied by --scale). What is not
 * set here is the method's default (src/methods/config.ts).
 */
export const DEMO_BUDGET: Partial<Record<MethodName, Partial<TrainConfig> & { epochs: number }>> = {
  // τ 0.1 instead of 0.5 (+2.6 points of kNN after 5 epochs), and 20 epochs: the one budget measured at which
  // SimCLR's kNN beats raw pixels' on seeds 0 and 1 (93.7% / 93.3% against 93.1%).
  simclr: { epochs: 20, temperature: 0.1 },
  // Two epochs at a larger lr and a lower τ reach what three default epochs did, for two thirds of the time.
  // Its kNN stays below raw pixels' at any budget the demo can afford (5 epochs: 91.0%).
  moco: { epochs: 2, temperature: 0.1, lr: 3e-3 },
  // Batch 64 (4× the steps of the default 256): the linear probe +1 point for ~8 CPU s; at 256 it beat raw
  // pixels by 0.1 point on seed 1. Its kNN stays near 91% whatever was tried (more epochs, lr, batch, momentum).
  byol: { epochs: 2, batchSize: 64 },
  clip: { epochs: 5 },
};

/** One trained method as the report shows it. */
export interface DemoMethodResult {
  config: TrainConfig;
  /** Its evaluation row; `method` is the label of the tables, e.g. "simclr (5 ep)". */
  row: EvaluationRow;
  trainSeconds: number;
}

/** Everything report.md is written from. */
export interface DemoReportInput {
  trainCount: number;
  testCount: number;
  /** Wall time of the whole demo. */
  seconds: number;
  /** CPU time of the whole demo (every thread of the process: user + system), the number a busy machine does not inflate. */
  cpuSeconds: number;
  /** The baseline rows: raw pixels first, then the randomly initialized encoder. */
  baselines: EvaluationRow[];
  methods: DemoMethodResult[];
  /** Where the time went, in order: [phase, wall seconds, CPU seconds], e.g. ["simclr: training", 14.2, 19.8], … */
  phases: [string, number, number][];
}

/** A one-line description of a run's settings, e.g. "5 epochs, batch 256, lr 3e-3, τ 0.5". */
export function describeBudget(config: TrainConfig): string {
  const parts = [`${config.epochs} epoch${config.epochs === 1 ? "" : "s"}`, `batch ${config.batchSize}`, `lr ${config.lr}`];
  if (config.temperature !== undefined) parts.push(`${config.method === "clip" ? "initial τ" : "τ"} ${config.temperature}`);
  return parts.join(", ");
}

/** An accuracy in [0, 1] as a percentage with one decimal, e.g. "93.1%". */
function percent(accuracy: number): string {
  return `${(accuracy * 100).toFixed(1)}%`;
}

/** What to look for in each picture, once per report. */
const PICTURE_GUIDE = [
  "- **loss**: the dashed line is the loss of a model that has learned nothing (log(2N − 1) for SimCLR, log(K + 1) for MoCo, " +
  "log N for CLIP; for BYOL, unrelated predictions); a run that learns leaves it.",
  "- **similarity**: 30 test digits ordered by digit; a bright diagonal (each image against its other view) inside brighter " +
  "same-digit blocks is what the loss asks for; all red is collapse.",
  "- **embeddings**: the encoder features of every test digit on their first two principal components, coloured by the digit " +
  "that no method was told: separate clouds per colour mean the digits are told apart without labels.",
  "- **nearest neighbours**: one test digit of each class and its 8 most similar training digits by cosine: " +
  "the neighbours the kNN column votes with (green frame: same digit, red: another).",
];

/** The demo's report.md (see the file header): numbers beside the baselines, one sentence on their meaning, the pictures. */
export function demoReport(input: DemoReportInput): string {
  const [rawPixels, randomEncoder] = input.baselines;
  const rows = input.methods.map((m) => m.row);
  const compared = input.methods.map((m) => ({ ...m.row, method: m.config.method, epochs: m.config.epochs, trainSeconds: m.trainSeconds }));
  const lines = [
    "# contrastive-ts demo",
    "",
    `Four methods trained on ${input.trainCount} MNIST training digits (short budgets), ` +
    `evaluated on the ${input.testCount} test digits, in ${(input.seconds / 60).toFixed(1)} minutes.`,
    "",
    "**What the numbers mean**: each accuracy says how well the digit can be read off an encoder's frozen features by a " +
    "classifier that never trained the encoder (linear probe: a logistic regression on the features; kNN: a vote of the " +
    "20 most similar training digits), so a method has learned something when it beats the same encoder left at its random " +
    "initialization and the raw pixels, into which no learning went at all.",
    "",
    describeAgainstBaseline(rows, rawPixels),
    ...(rawPixels.knn === undefined ? [] : [
      `Raw pixels are the hard bar on kNN: MNIST's digits are centred and size-normalized, so a vote of pixel-space ` +
      `neighbours already reads ${percent(rawPixels.knn)} of the test digits right, and a method beats that only once its ` +
      `features bring same-digit images closer than their pixels are (docs/evaluation.md, "The demo", has the budgets tried).`,
    ]),
    ...(randomEncoder === undefined ? [] : [describeAgainstBaseline(rows, randomEncoder, "the same encoder at its random initialization")]),
    "",
    "## Each method beside the baselines",
    "",
    "Differences are in percentage points of test accuracy (one test digit is 0.05 points here; " +
    "a run's seed moves a number by about ±0.5).",
    "",
    formatBaselineComparison(compared, input.baselines),
    "## Every number",
    "",
    formatEvaluationTable([...input.baselines, ...rows]),
    "## Pictures",
    "",
    ...PICTURE_GUIDE,
    "",
  ];
  for (const m of input.methods) {
    const name = m.config.method;
    lines.push(
      `### ${name} (${describeBudget(m.config)})`,
      "",
      `![${name}: loss](${name}/loss.svg)`,
      `![${name}: similarity matrix](${name}/similarity.svg)`,
      `![${name}: embeddings](${name}/embeddings.svg)`,
      `![${name}: nearest neighbours](${name}/neighbours.svg)`,
      "",
      `- ${name}: [loss](${name}/loss.svg), [similarity matrix](${name}/similarity.svg), [embeddings](${name}/embeddings.svg), ` +
        `[nearest neighbours](${name}/neighbours.svg), [metrics](${name}/metrics.json)`,
      "",
    );
  }
  lines.push(
    "## Where the time went",
    "",
    "Wall seconds grow when other jobs share the cores; CPU seconds (every thread of the process, user + system) do not.",
    "",
    "| phase | wall s | CPU s |",
    "| --- | ---: | ---: |",
    ...input.phases.map(([phase, seconds, cpuSeconds]) => `| ${phase} | ${seconds.toFixed(1)} | ${cpuSeconds.toFixed(1)} |`),
    `| all | ${input.seconds.toFixed(1)} | ${input.cpuSeconds.toFixed(1)} |`,
    "",
    "Longer runs reach the floors of `npm run bench:quality` (docs/methods.md).",
    "",
  );
  return lines.join("\n");
}
