/**
 * The CLI's commands. Each returns an exit code; a usage mistake throws UsageError (exit 2), any
 * other failure an Error whose one-line message is printed (exit 1). Each command's flags are one
 * table (`FlagSpec`s with their meaning and default) that both parses the command line and prints
 * `contrastive COMMAND --help`; docs/cli.md has the same table for the reader.
 *
 * @module
 */
import "../ops/tensor-methods.js"; // Tensor's methods, as the package entry (src/index.ts) loads them
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Generator } from "../tensor/random.js";
import { gatherImages, IMAGE_PIXELS, type MnistData } from "../data/mnist.js";
import { loadMnist } from "../data/mnist-package.js";
import { augmentationPreview, defaultAugmentation } from "../data/augment.js";
import { imageGrid, savePng } from "../data/png.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { removeStaleTemporaryFiles } from "../io/temporary-files.js";
import { formatEvaluationTable, type EvaluationRow } from "../eval/report.js";
import { rawPixelBaseline } from "../eval/baselines.js";
import type { EvaluationProgressFn } from "../eval/progress.js";
import {
  CHECKPOINT_FILE,
  LOSS_NAMES,
  METHOD_NAMES,
  createRun,
  defaultConfig,
  limitSplit,
  readCheckpointMetadata,
  resumeRun,
  trainRun,
  trainSteps,
  validateConfig,
  type Run,
  type TrainConfig,
  type TrainState,
} from "../methods/trainer.js";
import { evaluateMethod, type MethodEvaluation } from "../methods/evaluate.js";
import type { MethodName } from "../methods/common.js";
import { formatHelp, HelpRequested, parseArgs, UsageError, type FlagSpec } from "./args.js";
import { evaluationReporter, progressReporter, formatDuration } from "./progress.js";
import { openStepLog, STEP_LOG_FILE, type StepLog } from "./step-log.js";
import { packageVersion } from "./version.js";
import { oneOfEachClass, runPictures } from "./pictures.js";
import { DEMO_BUDGET, demoReport, describeBudget, type DemoMethodResult } from "./demo.js";
import { nodePlatform } from "../parallel/node-platform.js";
import { setThreadPlatform } from "../parallel/platform.js";

setThreadPlatform(nodePlatform); // the CLI runs in Node: products use worker threads (src/parallel/platform.ts)

const HELP = `contrastive — contrastive learning on MNIST, in TypeScript

usage:
  contrastive train <${METHOD_NAMES.join("|")}> [--epochs N] [--batch-size B] [--lr X] [--temperature T]
                    [--wd X] [--warmup STEPS] [--grad-clip-norm X] [--seed S] [--out DIR] [--resume] [--force] …
  contrastive eval DIR [--quiet]
  contrastive augment --out FILE.png [--count N] [--views V] [--seed S]
  contrastive demo [--out DIR] [--scale X] [--limit N] [--quiet]
  contrastive help [COMMAND]          this text, or a command's flags (as COMMAND --help)
  contrastive --version               the package version (also -v, version)

Every command's flags, their defaults and meaning: contrastive COMMAND --help (docs/cli.md has them in one table).

train writes DIR/checkpoint.safetensors (each epoch), DIR/log.jsonl (one line per step), DIR/metrics.json,
DIR/loss.svg and DIR/similarity.svg; --resume continues DIR's checkpoint to the same tensors and training
state as an uninterrupted run (only the wall-clock time differs). Ctrl-C or SIGTERM stops after the
current step, keeping the last epoch's checkpoint (exit 130 or 143).
demo trains all four methods for a few epochs each (--scale multiplies them) and writes DIR/report.md;
--limit N runs it on N training and N/4 test images, a quick smoke test.
`;

/** A command's --help: its usage, what it does, and its flag table. */
interface CommandHelp {
  usage: string;
  description: string;
  flags: () => Record<string, FlagSpec>;
}

const COMMAND_HELP: Record<string, CommandHelp> = {
  train: {
    usage: `contrastive train <${METHOD_NAMES.join("|")}> [options]`,
    description: "Train one method on MNIST and evaluate it. Writes DIR/checkpoint.safetensors (each epoch), DIR/log.jsonl\n" +
      "(one JSON line per optimizer step), and at the end DIR/metrics.json, DIR/loss.svg, DIR/similarity.svg.\n" +
      "Defaults that differ by method are listed per method.",
    flags: () => TRAIN_FLAGS,
  },
  eval: {
    usage: "contrastive eval DIR [options]",
    description: "Re-evaluate DIR's checkpoint (linear probe, kNN, health; CLIP: zero-shot, retrieval) and rewrite\n" +
      "DIR/metrics.json and the plots.",
    flags: () => EVAL_FLAGS,
  },
  augment: {
    usage: "contrastive augment --out FILE.png [options]",
    description: "Draw test digits (left column) beside augmented views of each, as the training pipeline makes them.",
    flags: () => AUGMENT_FLAGS,
  },
  demo: {
    usage: "contrastive demo [options]",
    description: "Train every method for a short budget, evaluate each beside two baselines (raw pixels, a random\n" +
      "encoder) and write DIR/report.md with the table and every run's files.",
    flags: () => DEMO_FLAGS,
  },
};

/** The flag table of `command` (train, eval, augment, demo): what it parses and what its --help prints. */
export function commandFlags(command: string): Record<string, FlagSpec> {
  const help = COMMAND_HELP[command];
  if (help === undefined) throw new Error(`commandFlags: unknown command '${command}' (${Object.keys(COMMAND_HELP).join(", ")})`);
  return help.flags();
}

/** The commands that have a --help of their own. */
export const HELP_COMMANDS: readonly string[] = Object.keys(COMMAND_HELP);

/** The --help text of `command`. */
export function commandHelp(command: string): string {
  const help = COMMAND_HELP[command];
  return formatHelp(help.usage, help.description, help.flags());
}

export async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "train":
        return await trainCommand(rest); // awaited here, so that its errors reach the catch below
      case "eval":
        return evalCommand(rest);
      case "augment":
        return augmentCommand(rest);
      case "demo":
        return demoCommand(rest);
      case "--version":
      case "-v":
      case "version":
        process.stdout.write(`${packageVersion()}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h": {
        const topic = command === "help" ? rest[0] : undefined;
        if (topic !== undefined && !(topic in COMMAND_HELP)) {
          throw new UsageError(`help: unknown command '${topic}' (${Object.keys(COMMAND_HELP).join(", ")})`);
        }
        process.stdout.write(topic === undefined ? HELP : commandHelp(topic));
        return command === undefined ? 2 : 0;
      }
      default:
        throw new UsageError(`unknown command '${command}' (train, eval, augment, demo, help)`);
    }
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(commandHelp(error.command));
      return 0;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`contrastive: ${message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/**
 * A config field's default as --help shows it: one value if every method has the same, else
 * "simclr 0.5, moco 0.2, clip 0.07" (methods without the field left out). Read from defaultConfig,
 * so a new method or a changed default shows up here by itself.
 */
export function defaultPerMethod(key: keyof TrainConfig): string {
  const values = METHOD_NAMES.map((method) => [method, defaultConfig(method)[key]] as const).filter(([, value]) => value !== undefined);
  // 1e-6, not 0.000001
  const show = (
    value: unknown,
  ) => (typeof value === "number" && value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value));
  if (values.length === METHOD_NAMES.length && values.every(([, value]) => value === values[0][1])) return show(values[0][1]);
  return values.map(([method, value]) => `${method} ${show(value)}`).join(", ");
}

/** train's flags, in the order --help lists them. */
const TRAIN_FLAGS: Record<string, FlagSpec> = {
  epochs: {
    kind: "integer",
    help: "length of the run in epochs (the only value --resume may change)",
    default: defaultPerMethod("epochs"),
  },
  "batch-size": { kind: "integer", value: "B", help: "images per optimizer step", default: defaultPerMethod("batchSize") },
  lr: {
    kind: "number",
    help: "peak learning rate of AdamW, reached after warmup, then cosine decay to 0",
    default: defaultPerMethod("lr"),
  },
  wd: {
    kind: "number",
    help: "AdamW's decoupled weight decay on the weight matrices (open_clip's --wd)",
    default: defaultPerMethod("weightDecay"),
  },
  warmup: {
    kind: "integer",
    value: "STEPS",
    help: "linear warmup in optimizer steps (open_clip's --warmup); wins over --warmup-epochs",
    default: "unset, --warmup-epochs applies",
  },
  "warmup-epochs": {
    kind: "number",
    value: "E",
    help: "linear warmup in epochs (may be fractional)",
    default: defaultPerMethod("warmupEpochs"),
  },
  "grad-clip-norm": {
    kind: "number",
    help: "clip the global 2-norm of the gradients to X before each step (open_clip's --grad-clip-norm)",
    default: "off",
  },
  temperature: {
    kind: "number",
    value: "T",
    help: "τ of the InfoNCE loss; CLIP: its initial value (then learned)",
    default: defaultPerMethod("temperature"),
  },
  seed: { kind: "integer", value: "S", help: "seed of the weights, the data order and the augmentations", default: "0" },
  out: { kind: "string", value: "DIR", help: "the run directory", default: "runs/METHOD-seedS" },
  resume: { kind: "boolean", help: "continue DIR's checkpoint (the other flags must match its config)" },
  force: { kind: "boolean", help: "start over in a DIR that already holds a checkpoint" },
  encoder: { kind: "string", choices: ["mlp", "conv"], help: "the image encoder", default: "mlp" },
  "image-tower": { kind: "string", choices: ["mlp", "conv", "vit"], help: "CLIP only: the image tower", default: "--encoder" },
  "text-tower": { kind: "string", choices: ["bow", "transformer"], help: "CLIP only: the text tower", default: "bow" },
  "moco-loss": {
    kind: "string",
    choices: ["symmetric", "one-sided"],
    help: "MoCo only: the symmetrized loss or MoCo v2's one-sided one",
    default: "symmetric",
  },
  "queue-size": {
    kind: "integer",
    value: "K",
    help: "MoCo only: the queue length (a multiple of the keys a step enqueues)",
    default: "the largest such multiple ≤ 4096",
  },
  loss: {
    kind: "string",
    choices: [...LOSS_NAMES],
    help: "SimCLR: ntxent, dcl or dclw; CLIP: clip or siglip (docs/losses.md)",
    default: "ntxent (simclr), clip (clip)",
  },
  limit: { kind: "integer", help: "train on N images spread evenly over the classes (smoke tests)", default: "all 7996" },
  /** Stop after this many epochs of this invocation, as an interruption would (resume continues). */
  "stop-after": { kind: "integer", help: "stop after N epochs of this invocation, as an interruption would (--resume continues)" },
  quiet: { kind: "boolean", help: "no progress lines on stderr (the result table still goes to stdout)" },
};

const QUIET_FLAG: FlagSpec = { kind: "boolean", help: "no progress lines on stderr" };
const EVAL_FLAGS: Record<string, FlagSpec> = { quiet: QUIET_FLAG };
const AUGMENT_FLAGS: Record<string, FlagSpec> = {
  out: { kind: "string", value: "FILE.png", help: "the PNG to write (required)" },
  count: { kind: "integer", help: "test digits, one per row, the classes in turn (1–100)", default: "10" },
  views: { kind: "integer", value: "V", help: "augmented views per digit (1–20)", default: "6" },
  seed: { kind: "integer", value: "S", help: "seed of the augmentations", default: "0" },
};
const DEMO_FLAGS: Record<string, FlagSpec> = {
  out: { kind: "string", value: "DIR", help: "the directory of report.md and the runs", default: "runs/demo" },
  scale: { kind: "number", help: "multiply every method's epochs by X", default: "1" },
  limit: { kind: "integer", help: "N training and N/4 test images, a smoke test (≥ 256)", default: "all" },
  quiet: QUIET_FLAG,
};

function configOverrides(flags: Record<string, string | number | boolean>): Partial<TrainConfig> {
  const overrides: Partial<TrainConfig> = {};
  if (flags.epochs !== undefined) overrides.epochs = flags.epochs as number;
  if (flags["batch-size"] !== undefined) overrides.batchSize = flags["batch-size"] as number;
  if (flags.lr !== undefined) overrides.lr = flags.lr as number;
  if (flags.wd !== undefined) overrides.weightDecay = flags.wd as number;
  if (flags.warmup !== undefined) overrides.warmupSteps = flags.warmup as number;
  if (flags["warmup-epochs"] !== undefined) overrides.warmupEpochs = flags["warmup-epochs"] as number;
  if (flags["grad-clip-norm"] !== undefined) overrides.gradClipNorm = flags["grad-clip-norm"] as number;
  if (flags.warmup !== undefined && flags["warmup-epochs"] !== undefined) {
    throw new UsageError("train: give the warmup in steps (--warmup) or in epochs (--warmup-epochs), not both");
  }
  if (flags.temperature !== undefined) overrides.temperature = flags.temperature as number;
  if (flags.seed !== undefined) overrides.seed = flags.seed as number;
  if (flags.encoder !== undefined) overrides.encoder = flags.encoder as TrainConfig["encoder"];
  if (flags["image-tower"] !== undefined) overrides.imageTower = flags["image-tower"] as TrainConfig["imageTower"];
  if (flags["text-tower"] !== undefined) overrides.textTower = flags["text-tower"] as TrainConfig["textTower"];
  if (flags["moco-loss"] !== undefined) overrides.symmetricLoss = flags["moco-loss"] === "symmetric";
  if (flags["queue-size"] !== undefined) overrides.queueSize = flags["queue-size"] as number;
  if (flags.loss !== undefined) overrides.loss = flags.loss as TrainConfig["loss"];
  if (flags.limit !== undefined) {
    const available = loadMnist().train.count;
    if ((flags.limit as number) < 2) throw new UsageError("train: --limit must be at least 2");
    if ((flags.limit as number) > available) {
      throw new UsageError(`train: --limit must be at most ${available} (the training images), got ${flags.limit}`);
    }
    overrides.trainLimit = flags.limit as number;
  }
  return overrides;
}

/**
 * `--out DIR` must be a directory this process can create files in. Checked before any training,
 * by creating and removing a probe file in DIR or, when DIR does not exist yet, in its nearest
 * existing ancestor (so the check itself creates nothing). The UsageError says which problem it is.
 */
export function checkOutDirectory(command: string, out: string): void {
  let existing = out;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new UsageError(
      existing === out
        ? `${command}: --out ${out} is a file, not a directory`
        : `${command}: --out ${out} is under ${existing}, which is a file, not a directory`,
    );
  }
  const probe = join(existing, `.contrastive-write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (error) {
    throw new UsageError(`${command}: --out ${out}: ${writeProblem(existing, (error as NodeJS.ErrnoException).code)}`);
  }
}

/** The reason a file cannot be created in `directory`, from the error code of the attempt. */
export function writeProblem(directory: string, code: string | undefined): string {
  switch (code) {
    case "EROFS":
      return `${directory} is on a read-only file system`;
    case "EACCES":
    case "EPERM":
      return `${directory} is not writable (permission denied)`;
    case "ENOSPC":
    case "EDQUOT":
      return `no space left for a file in ${directory} (${code})`;
    default:
      return `cannot create a file in ${directory} (${code ?? "unknown error"})`;
  }
}

/**
 * SIGINT (Ctrl-C) and SIGTERM while training: noted, and acted on between two steps. (Node's
 * default would end the process at once: safe for the checkpoint, which is written atomically, but
 * silent about what was saved.)
 */
function listenForInterruption(): { signal: () => NodeJS.Signals | null; dispose: () => void } {
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: () => received,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** A turn of the event loop, so that a pending signal's handler runs. */
const letSignalsIn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function trainCommand(argv: readonly string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, TRAIN_FLAGS, "train");
  if (positionals.length !== 1) {
    throw new UsageError(
      `train: expected one method (${METHOD_NAMES.join(", ")}), got ${positionals.length ? positionals.join(" ") : "none"}`,
    );
  }
  const method = positionals[0] as MethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`train: unknown method '${positionals[0]}' (${METHOD_NAMES.join(", ")})`);
  const overrides = configOverrides(flags);
  const requested = defaultConfig(method, overrides);
  try {
    validateConfig(requested); // a bad value is a usage mistake (exit 2)
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const stopAfter = flags["stop-after"] as number | undefined;
  if (stopAfter !== undefined && stopAfter < 1) throw new UsageError(`train: --stop-after must be at least 1, got ${stopAfter}`);
  const seed = overrides.seed ?? 0;
  const variant = requested.loss === undefined ? "" : `-${requested.loss}`; // runs/simclr-dcl-seed0 beside runs/simclr-seed0
  const out = resolve((flags.out as string | undefined) ?? join("runs", `${method}${variant}-seed${seed}`));
  const checkpoint = join(out, CHECKPOINT_FILE);
  let runState: Run;
  if (flags.resume) {
    if (!existsSync(checkpoint)) throw new UsageError(`train: --resume, but ${checkpoint} does not exist`);
    const saved = readCheckpointMetadata(checkpoint); // every field checked
    if (saved.method !== method) throw new UsageError(`train: ${checkpoint} holds a ${saved.method} run, not ${method}`);
    checkOutDirectory("train", out);
    runState = resumeRun(out, overrides);
  } else {
    const images = requested.trainLimit > 0 ? requested.trainLimit : loadMnist().train.count;
    if (requested.batchSize > images) {
      throw new UsageError(
        `train: --batch-size ${requested.batchSize} is larger than the ${images} training images${
          requested.trainLimit > 0 ? ` (--limit ${requested.trainLimit})` : ""
        }`,
      );
    }
    if (existsSync(checkpoint) && !flags.force) {
      throw new UsageError(`train: ${out} already holds a checkpoint; pass --resume to continue it or --force to start over`);
    }
    checkOutDirectory("train", out);
    runState = createRun(requested);
  }
  const quiet = Boolean(flags.quiet);
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  const interruption = listenForInterruption(); // from here on, a signal is reported, not fatal
  log(
    `[${method}] ${runState.train.count} images, batch ${runState.config.batchSize}, ${runState.stepsPerEpoch} steps/epoch, epochs ${
      runState.state.epoch + 1
    }–${runState.config.epochs}, out ${out}`,
  );
  const data = loadMnist();

  // The loop, a step at a time, with a turn of the event loop after each so that Ctrl-C and
  // SIGTERM are seen. On a signal: finish the step; if it was an epoch's last, write that epoch's
  // checkpoint too; then stop. The checkpoint on disk is always a whole epoch (written atomically,
  // so even kill -9 leaves the previous one intact).
  let savedEpoch = runState.state.epoch;
  // log.jsonl: the lines after the checkpoint's step (an interrupted epoch's) are dropped first (step-log.ts).
  let stepLog: StepLog | null = null;
  try {
    stepLog = openStepLog(out, runState.state.step);
    const steps = trainSteps(runState, {
      checkpointDirectory: out,
      onProgress: quiet ? undefined : progressReporter(method),
      stopAfterEpochs: stopAfter,
    });
    for (let next = steps.next(); !next.done; next = steps.next()) {
      const event = next.value;
      if (event.kind === "epoch") savedEpoch = event.epoch;
      else stepLog.append(event.progress);
      await letSignalsIn();
      const epochStepsDone = event.kind === "step" && event.progress.stepInEpoch === event.progress.stepsPerEpoch;
      if (interruption.signal() !== null && !epochStepsDone) {
        steps.return(runState.state);
        break;
      }
    }
  } finally {
    stepLog?.close();
    interruption.dispose();
  }
  const signal = interruption.signal();
  if (signal !== null) {
    const during = savedEpoch < runState.config.epochs ? ` during epoch ${savedEpoch + 1} of ${runState.config.epochs}` : "";
    const saved = savedEpoch > 0
      ? `epoch ${savedEpoch} is saved in ${checkpoint}; continue with --resume`
      : "no epoch was saved yet (nothing to resume)";
    process.stderr.write(`contrastive: train: interrupted by ${signal}${during}; ${saved}\n`);
    return 128 + constants.signals[signal];
  }
  if (runState.state.epoch < runState.config.epochs) {
    log(`[${method}] stopped after epoch ${runState.state.epoch} of ${runState.config.epochs}; continue with --resume`);
    return 0;
  }
  log(`[${method}] training done in ${formatDuration(runState.state.wallSeconds)}; evaluating`);
  const evaluation = evaluateMethod(runState.method, data, { seed: runState.config.seed, onProgress: evaluationProgress(method, quiet) });
  writeOutputs(out, runState, evaluation, data);
  process.stdout.write(`${formatEvaluationTable([evaluation.row], { legend: false })}\n`);
  log(`[${method}] wrote ${join(out, "metrics.json")}, ${STEP_LOG_FILE}, loss.svg, similarity.svg, embeddings.svg, neighbours.svg`);
  return 0;
}

export interface Metrics {
  method: MethodName;
  seed: number;
  epochs: number;
  wallSeconds: number;
  lossPerEpoch: number[];
  linearProbeAccuracy: number;
  knnAccuracy: number;
  zeroShotAccuracy?: number;
  zeroShotSinglePromptAccuracy?: number;
  retrievalRecallAt1?: number;
  retrievalRecall?: { imageToText: Record<number, number>; textToImage: Record<number, number>; distinctCaptions: number };
  health: { alignment?: number; uniformity: number; normalizedStd: number; normalizedStdExpected: number; effectiveRank: number };
  config: TrainConfig;
}

export function metricsOf(config: TrainConfig, state: TrainState, evaluation: MethodEvaluation): Metrics {
  const health = evaluation.health!;
  const metrics: Metrics = {
    method: config.method,
    seed: config.seed,
    epochs: state.epoch,
    wallSeconds: state.wallSeconds,
    lossPerEpoch: state.lossPerEpoch,
    linearProbeAccuracy: evaluation.linearProbe.testAccuracy,
    knnAccuracy: evaluation.knn.accuracy,
    health: {
      alignment: health.alignment,
      uniformity: health.uniformity,
      normalizedStd: health.normalizedStd.std,
      normalizedStdExpected: health.normalizedStd.expected,
      effectiveRank: health.effectiveRank,
    },
    config,
  };
  if (evaluation.zeroShot) {
    metrics.zeroShotAccuracy = evaluation.zeroShot.ensembleAccuracy;
    metrics.zeroShotSinglePromptAccuracy = evaluation.zeroShot.singlePromptAccuracy;
  }
  if (evaluation.retrieval) {
    // The mean of the two directions' recall@1 over the distinct attribute captions (both kept).
    metrics.retrievalRecallAt1 = (evaluation.retrieval.imageToText[1] + evaluation.retrieval.textToImage[1]) / 2;
    metrics.retrievalRecall = {
      imageToText: evaluation.retrieval.imageToText,
      textToImage: evaluation.retrieval.textToImage,
      distinctCaptions: evaluation.retrieval.captions,
    };
  }
  return metrics;
}

function writeText(path: string, text: string): void {
  writeFileAtomic(path, [new TextEncoder().encode(text)]);
  removeStaleTemporaryFiles(path);
}

function writeOutputs(out: string, runState: Run, evaluation: MethodEvaluation, data: MnistData): Metrics {
  mkdirSync(out, { recursive: true });
  const metrics = metricsOf(runState.config, runState.state, evaluation);
  writeText(join(out, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
  // The pictures (src/cli/pictures.ts): loss, similarity matrix, PCA of the embeddings, nearest neighbours.
  for (const [file, svg] of Object.entries(runPictures(runState, data))) writeText(join(out, file), svg);
  return metrics;
}

/** The evaluation's progress lines on stderr, or none with --quiet. */
function evaluationProgress(name: string, quiet: boolean): EvaluationProgressFn | undefined {
  return quiet ? undefined : evaluationReporter(name);
}

function evalCommand(argv: readonly string[]): number {
  const { positionals, flags } = parseArgs(argv, EVAL_FLAGS, "eval");
  if (positionals.length !== 1) throw new UsageError("eval: expected one run directory (contrastive eval DIR)");
  const out = resolve(positionals[0]);
  const checkpoint = join(out, CHECKPOINT_FILE);
  if (!existsSync(checkpoint)) throw new Error(`eval: no checkpoint at ${checkpoint}`);
  // The whole checkpoint is checked (every metadata field, every tensor, the optimizer state), as
  // for --resume, before anything is evaluated or written.
  const runState = resumeRun(out, {}, "eval");
  const data = loadMnist();
  const onProgress = evaluationProgress(runState.config.method, Boolean(flags.quiet));
  const evaluation = evaluateMethod(runState.method, data, { seed: runState.config.seed, onProgress });
  writeOutputs(out, runState, evaluation, data);
  process.stdout.write(`${formatEvaluationTable([evaluation.row], { legend: false })}\n`);
  return 0;
}

function augmentCommand(argv: readonly string[]): number {
  const { positionals, flags } = parseArgs(argv, AUGMENT_FLAGS, "augment");
  if (positionals.length > 0) throw new UsageError(`augment: unexpected argument '${positionals[0]}'`);
  const out = flags.out as string | undefined;
  if (!out) throw new UsageError("augment: --out FILE.png is required");
  if (!out.toLowerCase().endsWith(".png")) throw new UsageError(`augment: --out must name a .png file, got '${out}'`);
  const count = (flags.count as number | undefined) ?? 10;
  const views = (flags.views as number | undefined) ?? 6;
  if (count < 1 || count > 100) throw new UsageError(`augment: --count must be between 1 and 100, got ${count}`);
  if (views < 1 || views > 20) throw new UsageError(`augment: --views must be between 1 and 20, got ${views}`);
  const data = loadMnist();
  // One digit of each class in turn (0, 1, …, 9, 0, …): the test split is stored class by class.
  const chosen = oneOfEachClass(data.test.labels, count);
  const preview = augmentationPreview(
    gatherImages(data.test.images, IMAGE_PIXELS, chosen),
    count,
    defaultAugmentation(),
    new Generator((flags.seed as number | undefined) ?? 0),
    views,
  );
  const grid = imageGrid(preview.images, preview.rows, preview.cols);
  savePng(resolve(out), grid.pixels, grid.width, grid.height);
  process.stdout.write(`wrote ${out}: ${count} test digits (left column) and ${views} augmented views each\n`);
  return 0;
}

/**
 * The data the demo trains and evaluates on: all of MNIST, or with --limit n (a smoke test) n
 * training and ⌈n/4⌉ test images spread evenly over the classes.
 */
function demoData(limit: number): MnistData {
  const data = loadMnist();
  if (!(limit > 0)) return data;
  return { train: limitSplit(data.train, limit), test: limitSplit(data.test, Math.ceil(limit / 4)) };
}

/** The chapter's four methods, which the demo trains (the others: `contrastive train METHOD`). */
const DEMO_METHODS = METHOD_NAMES.filter((method) => DEMO_BUDGET[method] !== undefined);

function demoCommand(argv: readonly string[]): number {
  const { positionals, flags } = parseArgs(argv, DEMO_FLAGS, "demo");
  const quiet = Boolean(flags.quiet);
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  if (positionals.length > 0) throw new UsageError(`demo: unexpected argument '${positionals[0]}'`);
  const out = resolve((flags.out as string | undefined) ?? join("runs", "demo"));
  const scale = (flags.scale as number | undefined) ?? 1;
  if (!(scale > 0)) throw new UsageError(`demo: --scale must be positive, got ${scale}`);
  const limit = (flags.limit as number | undefined) ?? 0;
  if (flags.limit !== undefined && !(limit >= 256)) throw new UsageError(`demo: --limit must be at least 256 (one batch), got ${limit}`);
  const available = loadMnist().train.count;
  if (limit > available) throw new UsageError(`demo: --limit must be at most ${available} (the training images), got ${limit}`);
  checkOutDirectory("demo", out);
  // CPU seconds of the process so far: user + system of every thread (the workers' matrix products too).
  const cpuSeconds = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const started = performance.now();
  const startedCpu = cpuSeconds();
  const phases: [string, number, number][] = [];
  const timed = <T>(phase: string, work: () => T): T => {
    const start = performance.now();
    const startCpu = cpuSeconds();
    const result = work();
    phases.push([phase, (performance.now() - start) / 1000, cpuSeconds() - startCpu]);
    return result;
  };
  const data = demoData(limit);
  say(`[demo] baselines: raw pixels and a randomly initialized encoder`);
  const baselines: EvaluationRow[] = timed(
    "baselines: raw pixels",
    () => [rawPixelBaseline(data, { onProgress: evaluationProgress("raw pixels", quiet) }).row],
  );
  const random = createRun(defaultConfig("simclr", { epochs: 1, trainLimit: limit }));
  const randomEvaluation = timed(
    "baselines: random-init encoder",
    () => evaluateMethod(random.method, data, { onProgress: evaluationProgress("random-init encoder", quiet) }),
  );
  baselines.push({ ...randomEvaluation.row, method: "random-init encoder" });
  const methods: DemoMethodResult[] = [];
  for (const method of DEMO_METHODS) {
    const budget = DEMO_BUDGET[method]!;
    const epochs = Math.max(1, Math.round(budget.epochs * scale));
    const runState = createRun(defaultConfig(method, { ...budget, epochs, trainLimit: limit }));
    const directory = join(out, method);
    say(`[demo] ${method}: ${describeBudget(runState.config)}`);
    const stepLog = openStepLog(directory, 0);
    const report = quiet ? undefined : progressReporter(method);
    timed(`${method}: training`, () => {
      try {
        trainRun(runState, {
          checkpointDirectory: directory,
          onProgress: (progress) => {
            stepLog.append(progress);
            report?.(progress);
          },
        });
      } finally {
        stepLog.close();
      }
    });
    const evaluation = timed(
      `${method}: evaluation`,
      () => evaluateMethod(runState.method, data, { seed: runState.config.seed, onProgress: evaluationProgress(method, quiet) }),
    );
    timed(`${method}: metrics and pictures`, () => writeOutputs(directory, runState, evaluation, data));
    methods.push({
      config: runState.config,
      row: { ...evaluation.row, method: `${method} (${epochs} ep)` },
      trainSeconds: runState.state.wallSeconds,
    });
  }
  const report = demoReport({
    trainCount: data.train.count,
    testCount: data.test.count,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds() - startedCpu,
    baselines,
    methods,
    phases,
  });
  mkdirSync(out, { recursive: true });
  writeText(join(out, "report.md"), report);
  const table = formatEvaluationTable([...baselines, ...methods.map((m) => m.row)]);
  process.stdout.write(`${table}\n\nwrote ${join(out, "report.md")}\n`);
  return methods.length === DEMO_METHODS.length ? 0 : 1;
}

export function readMetrics(directory: string): Metrics {
  return JSON.parse(readFileSync(join(directory, "metrics.json"), "utf8")) as Metrics;
}
