/**
 * The metadata of a training checkpoint, checked field by field before anything is loaded or
 * written (`resume`, `eval`). A checkpoint is a safetensors file whose metadata is strings:
 *
 *   format        "pt"
 *   method        one of METHOD_NAMES ("simclr", "moco", …)      = config.method
 *   seed, epoch, step   decimal strings                           = config.seed, trainState.epoch, trainState.step
 *   config        JSON TrainConfig                                (CONFIG_FIELDS below)
 *   trainState    JSON TrainState                                 (TRAIN_STATE_FIELDS)
 *   loaderState   JSON LoaderState                                (LOADER_STATE_FIELDS)
 *   optimizer.state   JSON, checked by loadModule (src/io/checkpoint.ts) against the optimizer
 *
 * Each JSON object must have every required key, no unknown key, and values of the right type and
 * range; the message names the file, the field and the value found. The rules are data (one row
 * per field), so adding a field to TrainConfig without a row here fails the "unknown key" check
 * of the next checkpoint written: impossible to miss.
 *
 * @module
 */
import { LOSS_NAMES, METHOD_NAMES, validateConfig, type TrainConfig, type TrainState } from "./config.js";
import type { LoaderState } from "../data/loader.js";
import { OPTIMIZER_METADATA_KEY } from "../io/checkpoint-bytes.js";

type Rule =
  | { kind: "integer"; min?: number; max?: number; optional?: true }
  | { kind: "number"; min?: number; exclusiveMin?: number; optional?: true }
  | { kind: "boolean"; optional?: true }
  | { kind: "choice"; choices: readonly string[]; optional?: true }
  | { kind: "finite numbers" }
  | { kind: "generator state" };

export const CONFIG_FIELDS: Record<keyof TrainConfig, Rule> = {
  method: { kind: "choice", choices: METHOD_NAMES },
  epochs: { kind: "integer", min: 1 },
  batchSize: { kind: "integer", min: 2 },
  lr: { kind: "number", exclusiveMin: 0 },
  temperature: { kind: "number", exclusiveMin: 0, optional: true },
  seed: { kind: "integer" },
  encoder: { kind: "choice", choices: ["mlp", "conv"] },
  imageTower: { kind: "choice", choices: ["mlp", "conv", "vit"], optional: true },
  textTower: { kind: "choice", choices: ["bow", "transformer"], optional: true },
  weightDecay: { kind: "number", min: 0 },
  warmupEpochs: { kind: "number", min: 0 },
  warmupSteps: { kind: "integer", min: 0, optional: true },
  gradClipNorm: { kind: "number", exclusiveMin: 0, optional: true },
  trainLimit: { kind: "integer", min: 0 },
  queueSize: { kind: "integer", min: 1, optional: true },
  symmetricLoss: { kind: "boolean", optional: true },
  loss: { kind: "choice", choices: LOSS_NAMES, optional: true },
};

export const TRAIN_STATE_FIELDS: Record<keyof TrainState, Rule> = {
  epoch: { kind: "integer", min: 0 },
  step: { kind: "integer", min: 0 },
  lossPerEpoch: { kind: "finite numbers" },
  lossPerStep: { kind: "finite numbers" },
  wallSeconds: { kind: "number", min: 0 },
};

export const LOADER_STATE_FIELDS: Record<keyof LoaderState, Rule> = {
  epoch: { kind: "integer", min: 0 },
  position: { kind: "integer", min: 0 },
  orderState: { kind: "generator state" },
  batchState: { kind: "generator state" },
  count: { kind: "integer", min: 1 },
  batchSize: { kind: "integer", min: 1 },
  dropLast: { kind: "boolean" },
  shuffle: { kind: "boolean" },
};

/** The metadata keys a training checkpoint has, no more and no fewer. */
export const CHECKPOINT_METADATA_KEYS = [
  "format",
  "method",
  "config",
  "seed",
  "epoch",
  "step",
  "trainState",
  "loaderState",
  OPTIMIZER_METADATA_KEY,
] as const;

export interface CheckpointContents {
  config: TrainConfig;
  trainState: TrainState;
  loaderState: LoaderState;
}

const show = (
  value: unknown,
): string => (typeof value === "string"
  ? `'${value}'`
  : Array.isArray(value)
  ? "an array"
  : value === null
  ? "null"
  : typeof value === "object"
  ? "an object"
  : String(value));

/** Why `value` breaks `rule`, or null if it does not. */
function violation(rule: Rule, value: unknown): string | null {
  switch (rule.kind) {
    case "integer": {
      const range = rule.min !== undefined && rule.max !== undefined
        ? ` in [${rule.min}, ${rule.max}]`
        : rule.min !== undefined
        ? ` ≥ ${rule.min}`
        : "";
      if (
        typeof value !== "number" || !Number.isInteger(value) || (rule.min !== undefined && value < rule.min) ||
        (rule.max !== undefined && value > rule.max)
      ) return `must be an integer${range}, got ${show(value)}`;
      return null;
    }
    case "number": {
      const range = rule.exclusiveMin !== undefined ? ` > ${rule.exclusiveMin}` : rule.min !== undefined ? ` ≥ ${rule.min}` : "";
      if (
        typeof value !== "number" || !Number.isFinite(value) || (rule.min !== undefined && value < rule.min) ||
        (rule.exclusiveMin !== undefined && value <= rule.exclusiveMin)
      ) return `must be a finite number${range}, got ${show(value)}`;
      return null;
    }
    case "boolean":
      return typeof value === "boolean" ? null : `must be true or false, got ${show(value)}`;
    case "choice":
      return typeof value === "string" && rule.choices.includes(value)
        ? null
        : `must be one of ${rule.choices.join(", ")}, got ${show(value)}`;
    case "finite numbers": {
      if (!Array.isArray(value)) return `must be an array of finite numbers, got ${show(value)}`;
      const bad = value.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
      return bad < 0 ? null : `[${bad}] must be a finite number, got ${show(value[bad])}`;
    }
    case "generator state": {
      // Generator.getState(): four 32-bit words (saved signed or unsigned), then the spare normal or null.
      if (!Array.isArray(value) || value.length !== 5) {
        return `must be 5 numbers (a Generator state), got ${Array.isArray(value) ? `${value.length}` : show(value)}`;
      }
      const bad = value.slice(0, 4).findIndex((x) => typeof x !== "number" || !Number.isInteger(x) || x < -(2 ** 31) || x >= 2 ** 32);
      if (bad >= 0) return `[${bad}] must be a 32-bit integer, got ${show(value[bad])}`;
      if (value[4] !== null && !(typeof value[4] === "number" && Number.isFinite(value[4]))) {
        return `[4] must be a finite number or null, got ${show(value[4])}`;
      }
      return null;
    }
  }
}

/** Parse metadata[key] as a JSON object and check it against `rules`: required keys, no unknown keys, each value. */
function checkedRecord<T>(
  fail: (field: string, problem: string) => never,
  metadata: Record<string, string>,
  key: string,
  rules: Record<string, Rule>,
): T {
  let value: unknown;
  try {
    value = JSON.parse(metadata[key]);
  } catch (error) {
    fail(key, `is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(key, `must be a JSON object, got ${show(value)}`);
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((name) => !(name in rules));
  if (unknown.length > 0) fail(`${key}.${unknown[0]}`, `is not a field of ${key} (fields: ${Object.keys(rules).join(", ")})`);
  for (const [name, rule] of Object.entries(rules)) {
    if (!(name in record)) {
      if ("optional" in rule && rule.optional) continue;
      fail(`${key}.${name}`, "is missing");
    }
    const problem = violation(rule, record[name]);
    const element = problem === null ? null : /^(\[\d+\]) (.*)$/s.exec(problem); // "[2] must be …": the field is name[2]
    if (problem !== null) fail(element ? `${key}.${name}${element[1]}` : `${key}.${name}`, element ? element[2] : problem);
  }
  return record as T;
}

/**
 * Check every metadata field of a training checkpoint and return the parsed JSON. `op` and
 * `filePath` start each message: "resume: '<file>': metadata 'trainState.epoch' must be …".
 */
export function parseCheckpointMetadata(op: string, filePath: string, metadata: Record<string, string>): CheckpointContents {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${op}: '${filePath}': metadata '${field}' ${problem}`);
  };
  const missing = CHECKPOINT_METADATA_KEYS.filter((key) => !(key in metadata));
  const identity = missing.find((key) => key === "method" || key === "config");
  if (identity !== undefined) {
    throw new Error(`${op}: '${filePath}' is not a contrastive-ts training checkpoint (no '${identity}' in its metadata)`);
  }
  if (missing.length > 0) fail(missing[0], "is missing");
  const unknown = Object.keys(metadata).filter((key) => !(CHECKPOINT_METADATA_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) fail(unknown[0], `is not a field of a training checkpoint (fields: ${CHECKPOINT_METADATA_KEYS.join(", ")})`);
  if (metadata.format !== "pt") fail("format", `must be 'pt', got '${metadata.format}'`);

  const config = checkedRecord<TrainConfig>(fail, metadata, "config", CONFIG_FIELDS);
  try {
    validateConfig(config); // the rules that relate two fields (an option of another method, MoCo's queue multiple)
  } catch (error) {
    fail("config", `is inconsistent: ${(error as Error).message.replace(/^train: /, "")}`);
  }
  const trainState = checkedRecord<TrainState>(fail, metadata, "trainState", TRAIN_STATE_FIELDS);
  const loaderState = checkedRecord<LoaderState>(fail, metadata, "loaderState", LOADER_STATE_FIELDS);

  // The copies and the relations between the fields.
  const same = (field: string, value: string, expected: string, of: string): void => {
    if (value !== expected) fail(field, `is '${value}', but ${of} is ${expected}`);
  };
  same("method", metadata.method, config.method, "config.method");
  same("seed", metadata.seed, String(config.seed), "config.seed");
  same("epoch", metadata.epoch, String(trainState.epoch), "trainState.epoch");
  same("step", metadata.step, String(trainState.step), "trainState.step");
  if (trainState.epoch > config.epochs) fail("trainState.epoch", `is ${trainState.epoch}, more than config.epochs ${config.epochs}`);
  if (trainState.lossPerEpoch.length !== trainState.epoch) {
    fail("trainState.lossPerEpoch", `has ${trainState.lossPerEpoch.length} entries for ${trainState.epoch} epochs`);
  }
  if (trainState.lossPerStep.length !== trainState.step) {
    fail("trainState.lossPerStep", `has ${trainState.lossPerStep.length} entries for ${trainState.step} steps`);
  }
  if (loaderState.epoch !== trainState.epoch) {
    fail("loaderState.epoch", `is ${loaderState.epoch}, but trainState.epoch is ${trainState.epoch}`);
  }
  if (loaderState.batchSize !== config.batchSize) {
    fail("loaderState.batchSize", `is ${loaderState.batchSize}, but config.batchSize is ${config.batchSize}`);
  }
  if (loaderState.position >= loaderState.count) {
    fail("loaderState.position", `is ${loaderState.position}, not below loaderState.count ${loaderState.count}`);
  }
  return { config, trainState, loaderState };
}
