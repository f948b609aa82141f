/**
 * Training in Node: a run from the `mnist` package's digits (`createRun`), run directories with a
 * checkpoint.safetensors each epoch (`saveCheckpoint`, `resumeRun`), and the loop driven to the end
 * (`trainRun`) or a step at a time (`trainSteps`). The run itself — the config, the method, the
 * loop, the checkpoint's metadata and bytes — is ./run.ts, which runs in any JavaScript runtime
 * (the browser playground trains with it); this file adds the files.
 *
 * @module
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { saveModule } from "../io/checkpoint.js";
import { loadSafetensors } from "../io/safetensors.js";
import { loadMnist } from "../data/mnist-package.js";
import { parseCheckpointMetadata, type CheckpointContents } from "./checkpoint-schema.js";
import { TRAIN_CONFIG_KEYS, type TrainConfig, type TrainState } from "./config.js";
import {
  checkpointMetadata,
  createRunFromData,
  resumeRunFromContents,
  trainRunSteps,
  type Progress,
  type Run,
  type TrainEvent,
} from "./run.js";
import { checkOptions } from "../tensor/options.js";

export { METHOD_NAMES, DEFAULT_TEMPERATURE, defaultConfig, validateConfig, type TrainConfig, type TrainState } from "./config.js";
export { LOSS_NAMES, type LossName } from "./config.js";
export {
  checkpointMetadata,
  createRunFromData,
  limitSplit,
  nonFiniteHint,
  readCheckpointBytes,
  resumeRunFromBytes,
  serializeCheckpoint,
  trainRunSteps,
  type AnyLoader,
  type CreateRunOptions,
  type Progress,
  type Run,
  type TrainEvent,
  type TrainStepsOptions,
} from "./run.js";

/** A fresh run from a config: the `mnist` package's digits, the method, its loader and optimizer, at step 0 (validated first). */
export function createRun(config: TrainConfig): Run {
  checkOptions("createRun", config, TRAIN_CONFIG_KEYS);
  return createRunFromData(config, loadMnist());
}

/** The checkpoint's file name inside a run directory. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** Save the run at an epoch boundary (atomic); the same bytes as `serializeCheckpoint(run)`. */
export function saveCheckpoint(run: Run, directory: string): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, CHECKPOINT_FILE);
  saveModule(path, run.method, { optimizer: run.optimizer, metadata: checkpointMetadata(run) });
  return path;
}

/**
 * Rebuild a run from a checkpoint: the same config, then the saved weights, optimizer, loader and
 * history. Every metadata field is checked first (src/methods/checkpoint-schema.ts), then every
 * tensor (names, shapes, dtypes, finite values: loadModule); a bad file throws naming the field.
 */
export function resumeRun(directory: string, overrides: Partial<TrainConfig> = {}, op = "resume"): Run {
  checkOptions("resumeRun", overrides, TRAIN_CONFIG_KEYS);
  const path = join(directory, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new Error(`${op}: no checkpoint at ${path}`);
  const checked = readCheckpoint(path, op);
  return resumeRunFromContents(op, path, checked, () => loadSafetensors(path), loadMnist(), overrides);
}

/** A checkpoint's metadata, every field checked (checkpoint-schema.ts); the tensors are checked by loadModule. */
export function readCheckpoint(path: string, op = "resume"): CheckpointContents & { metadata: Record<string, string> } {
  const metadata = loadSafetensors(path, { names: [] }).metadata; // the header only: no tensor is read
  return { metadata, ...parseCheckpointMetadata(op, path, metadata) };
}

/** The metadata strings of a checkpoint, after the checks of `readCheckpoint`. */
export function readCheckpointMetadata(path: string): Record<string, string> {
  return readCheckpoint(path).metadata;
}

const TRAIN_OPTION_KEYS = { checkpointDirectory: true, onProgress: true, onEpoch: true, stopAfterEpochs: true } as const;

/** Options of {@link trainRun} and {@link trainSteps}. */
export interface TrainOptions {
  /** Write checkpoint.safetensors here at the end of every epoch. */
  checkpointDirectory?: string;
  /** After every optimizer step. */
  onProgress?: (p: Progress) => void;
  /** After every epoch, after its checkpoint is written. */
  onEpoch?: (epoch: number, meanLoss: number) => void;
  /** Stop after this many epochs of this call. */
  stopAfterEpochs?: number;
}

/**
 * Train until `config.epochs` (continuing from the run's state), calling `onProgress` after every
 * step and `onEpoch` after every epoch (after the checkpoint is written).
 */
export function trainRun(run: Run, options: TrainOptions = {}): TrainState {
  checkOptions("trainRun", options, TRAIN_OPTION_KEYS);
  const steps = trainSteps(run, options);
  let next = steps.next();
  while (!next.done) next = steps.next();
  return next.value;
}

/**
 * The loop of `trainRun`, one optimizer step at a time (./run.ts, `trainRunSteps`), with a
 * checkpoint file in `checkpointDirectory` after every epoch: a caller may pause at a yield (the
 * CLI lets a Ctrl-C in) or stop (`return()`), and the last checkpoint written is the last whole epoch.
 */
export function trainSteps(run: Run, options: TrainOptions = {}): globalThis.Generator<TrainEvent, TrainState, void> {
  checkOptions("trainSteps", options, TRAIN_OPTION_KEYS);
  const { checkpointDirectory, ...rest } = options;
  return trainRunSteps(run, {
    ...rest,
    ...(checkpointDirectory ? { checkpoint: (current: Run) => saveCheckpoint(current, checkpointDirectory) } : {}),
  });
}
