/**
 * Checkpoints: a module's parameters and buffers — and, optionally, its optimizer's state — in one
 * safetensors file that PyTorch reads with no renaming.
 *
 * Names are PyTorch's. Module keys here are PyTorch's attribute names in camelCase
 * ("encoder.0.runningMean"); the file stores them in snake_case ("encoder.0.running_mean", via
 * src/nn/torch-keys.ts), which is what `model.state_dict()` of the same architecture in PyTorch
 * has. The optimizer's options and state keys are stored under PyTorch's names as well
 * (weight_decay, exp_avg, momentum_buffer, …), so that the JSON below becomes a
 * `torch.optim.Optimizer.load_state_dict` argument in five lines (docs/nn-and-optim.md).
 *
 * Layout of a checkpoint written by `saveModule(path, module, { optimizer, metadata })`:
 *
 *   tensors    "<key>"                           every entry of module.stateDict(), PyTorch key
 *              "optimizer.state.<key>.<name>"    each optimizer state buffer of parameter <key>
 *                                                (name: momentum_buffer, exp_avg, exp_avg_sq,
 *                                                max_exp_avg_sq)
 *   metadata   "format": "pt"                    (the convention of safetensors.torch; overridable)
 *              your metadata                     strings only (JSON-encode structured values)
 *              "optimizer.state"                 JSON, when an optimizer is saved:
 *                { "type": "Adam",
 *                  "param_groups": [{ "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8,
 *                                     "weight_decay": 0, "amsgrad": false, "params": ["<key>", …] }],
 *                  "state": { "<key>": { "step": 3,
 *                                        "exp_avg": { "tensor": "optimizer.state.<key>.exp_avg" }, … } } }
 *
 * Parameters are referred to by their keys, not by position, so a checkpoint stays readable by a
 * person and by a PyTorch script. A PyTorch `load_state_dict(strict=True)` must be given the module
 * entries only: drop the keys that start with "optimizer.".
 *
 * `loadModule` checks the whole file against the module (names, shapes, dtypes) and the optimizer
 * (type, groups, state), and that every tensor is finite, before it changes anything: a
 * mismatched or damaged checkpoint throws an error naming the file and the entry, and leaves the
 * module and the optimizer exactly as they were.
 *
 * This file works on bytes and runs in any JavaScript runtime (`serializeModule`,
 * `loadModuleFromBytes`); the file versions, `saveModule` and `loadModule`, are in ./checkpoint.ts
 * (Node). Both go through `checkpointEntries` and `loadModuleContents`, so a file and the bytes of
 * the same module are the same bytes.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { sameShape, shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";
import type { Module } from "../nn/module.js";
import type { Optimizer, OptimizerStateDict, ParamState } from "../optim/optimizer.js";
import { toTorchKey, fromTorchKey } from "../nn/torch-keys.js";
import { withoutOpName } from "../nn/util.js";
import { parseSafetensors, serializeSafetensors, type SafetensorsContents, type TensorMap } from "./safetensors-bytes.js";
import { checkOptions } from "../tensor/options.js";

/** The metadata key that holds the optimizer's JSON, and the prefix of its state tensors. */
export const OPTIMIZER_METADATA_KEY = "optimizer.state";
/** The prefix of the optimizer's state tensors in a checkpoint ("optimizer.state.0.momentumBuffer"). */
export const OPTIMIZER_TENSOR_PREFIX = "optimizer.state.";

type AnyOptimizer = Optimizer<{ lr: number }>;

/** Options of `saveModule` and {@link serializeModule}. */
export interface SaveModuleOptions {
  /** Also save this optimizer's state (tensors and JSON), so that training can resume exactly. */
  optimizer?: AnyOptimizer;
  /** String values only (method, hyperparameters as JSON, step, seed, …). */
  metadata?: Record<string, string>;
}

/** Options of `loadModule` and {@link loadModuleFromBytes}. */
export interface LoadModuleOptions {
  /** Also restore this optimizer's state from the checkpoint. */
  optimizer?: AnyOptimizer;
}

/** The optimizer part of a checkpoint's metadata (PyTorch names throughout). */
interface SavedOptimizer {
  type: string;
  param_groups: Array<Record<string, unknown> & { params: string[] }>;
  state: Record<string, Record<string, number | { tensor: string }>>;
}

/** The first NaN or ±Infinity of `t` (row-major flat index and value), or null if every value is finite. */
export function firstNonFinite(t: Tensor): { index: number; value: number } | null {
  const values = t.isContiguous() ? t.storage.data.subarray(t.storage.offset, t.storage.offset + t.numel()) : t.toTypedArray();
  const index = firstNonFiniteIndex(values);
  return index < 0 ? null : { index, value: values[index] };
}

/**
 * The index of the first NaN or ±∞ in `values`, or −1. The training loop calls this on every batch,
 * gradient, parameter and Adam moment of every step, so it is written to be cheap: first one
 * branch-free pass, Σ v·0, which is ±0 when every v is finite and NaN as soon as one is not
 * (∞·0 = NaN); two partial sums so that the adds do not wait on each other. Only a NaN sum
 * pays for the second pass that finds where. ~2× faster than `if (!Number.isFinite(v))` per
 * element, ~15× faster than `Array.prototype.findIndex` with a closure.
 */
export function firstNonFiniteIndex(values: Float32Array | Float64Array): number {
  let even = 0;
  let odd = 0;
  const pairs = values.length & ~1;
  for (let i = 0; i < pairs; i += 2) {
    even += values[i] * 0;
    odd += values[i + 1] * 0;
  }
  if (pairs < values.length) even += values[pairs] * 0;
  if (even + odd === 0) return -1;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1; // not reached: a NaN sum has a non-finite term
}

/** Module key → key in the file (PyTorch's); throws if two module keys would share a file key. */
function fileKeys(op: string, filePath: string, module: Module): Map<string, string> {
  const fileKeyOf = new Map<string, string>();
  const moduleKeyOf = new Map<string, string>();
  for (const key of module.stateDict().keys()) {
    const fileKey = toTorchKey(key);
    const clash = moduleKeyOf.get(fileKey);
    if (clash !== undefined) {
      throw new Error(`${op}: '${filePath}': module keys '${clash}' and '${key}' both become '${fileKey}' in PyTorch's naming`);
    }
    moduleKeyOf.set(fileKey, key);
    fileKeyOf.set(key, fileKey);
  }
  return fileKeyOf;
}

/** "encoder.runningMean (as 'encoder.running_mean')" when the two names differ. */
function describeKey(moduleKey: string, fileKey: string): string {
  return moduleKey === fileKey ? moduleKey : `${moduleKey} (as '${fileKey}')`;
}

function renameKeys(record: Record<string, unknown>, rename: (key: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [rename(key), value]));
}

/**
 * What a checkpoint of `module` (and `optimizer`'s state) holds: the tensors under PyTorch's keys and
 * the string metadata (see the file header). `saveModule` writes them to a file, `serializeModule`
 * to bytes: the same entries, so the same bytes. `op` and `source` start every error message.
 */
export function checkpointEntries(
  op: string,
  filePath: string,
  module: Module,
  options: SaveModuleOptions = {},
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  checkOptions(op, options, { optimizer: true, metadata: true });
  const fileKeyOf = fileKeys(op, filePath, module);
  const tensors = new Map<string, Tensor>([...module.stateDict()].map(([key, value]) => [fileKeyOf.get(key)!, value]));
  const metadata: Record<string, string> = { format: "pt", ...(options.metadata ?? {}) };
  const { optimizer } = options;
  if (optimizer !== undefined) {
    if (OPTIMIZER_METADATA_KEY in metadata) {
      throw new Error(`${op}: '${filePath}': metadata key '${OPTIMIZER_METADATA_KEY}' is reserved for the optimizer state`);
    }
    const keyOf = new Map<Tensor, string>();
    for (const [name, parameter] of module.namedParameters()) keyOf.set(parameter, fileKeyOf.get(name)!);
    const stateDict = optimizer.stateDict();
    const flatParams = optimizer.paramGroups.flatMap((group) => group.params);
    const paramKey = (index: number): string => {
      const key = keyOf.get(flatParams[index]);
      if (key === undefined) {
        throw new Error(
          `${op}: '${filePath}': the optimizer has a parameter of shape ${
            shapeToString(flatParams[index].shape)
          } (index ${index}) that is not a parameter of the module`,
        );
      }
      return key;
    };
    const saved: SavedOptimizer = {
      type: optimizer.constructor.name,
      param_groups: stateDict.paramGroups.map(({ params, paramNames: _names, ...groupOptions }) => ({
        ...renameKeys(groupOptions, toTorchKey),
        params: params.map(paramKey),
      })),
      state: {},
    };
    for (const [index, entry] of Object.entries(stateDict.state)) {
      const key = paramKey(Number(index));
      const record: SavedOptimizer["state"][string] = {};
      for (const [stateKey, value] of Object.entries(entry)) {
        const torchStateKey = toTorchKey(stateKey);
        if (value instanceof Tensor) {
          const tensorName = `${OPTIMIZER_TENSOR_PREFIX}${key}.${torchStateKey}`;
          if (tensors.has(tensorName)) throw new Error(`${op}: '${filePath}': the module already has an entry named '${tensorName}'`);
          tensors.set(tensorName, value);
          record[torchStateKey] = { tensor: tensorName };
        } else {
          record[torchStateKey] = value;
        }
      }
      Object.defineProperty(saved.state, key, { value: record, enumerable: true, writable: true, configurable: true });
    }
    metadata[OPTIMIZER_METADATA_KEY] = JSON.stringify(saved);
  }
  return { tensors, metadata };
}

/**
 * A checkpoint of `module` (and `optimizer`'s state) as safetensors bytes: what `saveModule` writes
 * to a file, byte for byte (a browser page downloads these).
 * PyTorch: `safetensors.torch.save(state_dict, metadata)`.
 */
export function serializeModule(module: Module, options: SaveModuleOptions = {}): Uint8Array {
  const { tensors, metadata } = checkpointEntries("serializeModule", "<bytes>", module, options);
  return serializeSafetensors(tensors as TensorMap, metadata);
}

/**
 * Load the parsed contents of a checkpoint written by `saveModule` or `serializeModule` into
 * `module` (and `optimizer`): `loadModule` reads them from a file, `loadModuleFromBytes` from bytes.
 * Returns the metadata. Throws — changing nothing — if the contents are invalid or do not match;
 * `op` and `filePath` (or the bytes' name) start every message.
 */
export function loadModuleContents(
  op: string,
  filePath: string,
  contents: SafetensorsContents,
  module: Module,
  options: LoadModuleOptions = {},
): {
  /** The checkpoint's string metadata, as saved. */
  metadata: Record<string, string>;
} {
  checkOptions(op, options, { optimizer: true });
  const fail = (problem: string): never => {
    throw new Error(`${op}: '${filePath}' does not match the ${problem}`);
  };
  const { tensors, metadata } = contents;
  const { optimizer } = options;

  // 1. The optimizer's part of the file, if any, validated against the optimizer.
  let optimizerStateDict: OptimizerStateDict | null = null;
  const optimizerTensorNames = new Set<string>();
  const savedJson = metadata[OPTIMIZER_METADATA_KEY];
  if (savedJson !== undefined) {
    const saved = parseSavedOptimizer(op, filePath, savedJson, tensors);
    for (const record of Object.values(saved.state)) {
      for (const value of Object.values(record)) if (typeof value === "object") optimizerTensorNames.add(value.tensor);
    }
    if (optimizer !== undefined) {
      optimizerStateDict = toOptimizerStateDict(op, filePath, saved, tensors, fileKeys(op, filePath, module), module, optimizer);
    }
  } else if (optimizer !== undefined) {
    throw new Error(`${op}: '${filePath}' holds no optimizer state (it was saved without { optimizer })`);
  }

  // 2. The module's part: exactly the module's names (in PyTorch's naming), shapes and dtypes.
  const own = module.stateDict();
  const fileKeyOf = fileKeys(op, filePath, module);
  const ownFileKeys = new Set(fileKeyOf.values());
  const missing = [...own.keys()].filter((key) => !tensors.has(fileKeyOf.get(key)!)).map((key) => describeKey(key, fileKeyOf.get(key)!));
  const unexpected = [...tensors.keys()].filter((name) => !optimizerTensorNames.has(name) && !ownFileKeys.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    fail(
      `module ${module.constructor.name}: missing from the file [${missing.join(", ")}], in the file but not in the module [${
        unexpected.join(", ")
      }]`,
    );
  }
  for (const [key, target] of own) {
    const source = tensors.get(fileKeyOf.get(key)!)!;
    if (!sameShape(source.shape, target.shape) || source.dtype !== target.dtype) {
      fail(
        `module ${module.constructor.name}: '${describeKey(key, fileKeyOf.get(key)!)}' is ${
          shapeToString(source.shape)
        } ${source.dtype} in the file but ${shapeToString(target.shape)} ${target.dtype} in the module`,
      );
    }
    if (!target.isContiguous()) throw new Error(`${op}: '${key}' of the module is not contiguous; it cannot be loaded in place`);
  }

  // 3. Every value finite: a NaN or ±Infinity weight, buffer or moment would poison every later step.
  for (const [name, t] of tensors) {
    const bad = firstNonFinite(t);
    if (bad !== null) {
      throw new Error(
        `${op}: '${filePath}': tensor '${name}' ${shapeToString(t.shape)} holds ${bad.value} at flat index ${bad.index}`,
      );
    }
  }

  // 4. Everything matches: load the optimizer (which validates its own state before changing), then the weights.
  if (optimizer !== undefined && optimizerStateDict !== null) {
    try {
      optimizer.loadStateDict(optimizerStateDict);
    } catch (error) {
      throw new Error(`${op}: '${filePath}' does not match the optimizer: ${withoutOpName((error as Error).message)}`, {
        cause: error,
      });
    }
  }
  for (const [key, target] of own) {
    const { data, offset } = mutableStorage(target);
    data.set(tensors.get(fileKeyOf.get(key)!)!.storage.data, offset);
  }
  return { metadata };
}

/**
 * Load checkpoint bytes (from `serializeModule`, or a `saveModule` file's bytes) into `module` (and
 * `optimizer`), with every check of `loadModule`. `source` names the bytes in error messages.
 * PyTorch: `m.load_state_dict(safetensors.torch.load(data))`.
 */
export function loadModuleFromBytes(
  bytes: Uint8Array,
  module: Module,
  options: LoadModuleOptions & {
    /** The bytes' name in error messages (a file name; default "<bytes>"). */
    source?: string;
  } = {},
): {
  /** The checkpoint's string metadata, as saved. */
  metadata: Record<string, string>;
} {
  checkOptions("loadModuleFromBytes", options, { optimizer: true, source: true }); // before the bytes are parsed
  const { source = "<bytes>", ...loadOptions } = options;
  return loadModuleContents("loadModuleFromBytes", source, parseSafetensors(bytes, source), module, loadOptions);
}

/**
 * The optimizer JSON of a checkpoint, its structure checked: exactly { type, param_groups, state },
 * each group an object with `params` (keys), each state value a finite number or
 * { tensor: "<name of a tensor in the file>" }. The option values and state keys are checked by
 * the optimizer itself (`loadStateDict`) when one is given.
 */
function parseSavedOptimizer(op: string, filePath: string, json: string, tensors: Map<string, Tensor>): SavedOptimizer {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${op}: '${filePath}': metadata '${OPTIMIZER_METADATA_KEY}'${field} ${problem}`);
  };
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value);
  const show = (value: unknown): string => (isObject(value) ? "an object" : (JSON.stringify(value) ?? String(value)).slice(0, 60));
  let saved: unknown;
  try {
    saved = JSON.parse(json);
  } catch (error) {
    fail("", `is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(saved)) fail("", `must be a JSON object, got ${show(saved)}`);
  const record = saved as Record<string, unknown>;
  const fields = ["type", "param_groups", "state"];
  const unknown = Object.keys(record).find((key) => !fields.includes(key));
  if (unknown !== undefined) fail(`.${unknown}`, `is not a field (fields: ${fields.join(", ")})`);
  for (const key of fields) if (!(key in record)) fail(`.${key}`, "is missing");
  if (typeof record.type !== "string") fail(".type", `must be a string, got ${show(record.type)}`);
  if (!Array.isArray(record.param_groups)) fail(".param_groups", `must be an array, got ${show(record.param_groups)}`);
  (record.param_groups as unknown[]).forEach((group, g) => {
    if (!isObject(group)) fail(`.param_groups[${g}]`, `must be an object, got ${show(group)}`);
    const params = (group as Record<string, unknown>).params;
    if (!Array.isArray(params) || params.some((key) => typeof key !== "string")) {
      fail(`.param_groups[${g}].params`, `must be an array of parameter keys, got ${show(params)}`);
    }
  });
  if (!isObject(record.state)) fail(".state", `must be an object, got ${show(record.state)}`);
  for (const [key, entry] of Object.entries(record.state as Record<string, unknown>)) {
    if (!isObject(entry)) fail(`.state['${key}']`, `must be an object, got ${show(entry)}`);
    for (const [stateKey, value] of Object.entries(entry as Record<string, unknown>)) {
      const field = `.state['${key}'].${stateKey}`;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) fail(field, `must be finite, got ${value}`);
      } else if (isObject(value) && Object.keys(value).length === 1 && typeof value.tensor === "string") {
        if (!tensors.has(value.tensor)) fail(field, `refers to tensor '${value.tensor}', which the file does not hold`);
      } else fail(field, `must be a number or { "tensor": "<name>" }, got ${show(value)}`);
    }
  }
  return record as unknown as SavedOptimizer;
}

/** The file's optimizer JSON + tensors → a state dict indexed like `optimizer`'s own parameters, in this project's names. */
function toOptimizerStateDict(
  op: string,
  filePath: string,
  saved: SavedOptimizer,
  tensors: Map<string, Tensor>,
  fileKeyOf: Map<string, string>,
  module: Module,
  optimizer: AnyOptimizer,
): OptimizerStateDict {
  const fail = (problem: string): never => {
    throw new Error(`${op}: '${filePath}' does not match the optimizer: ${problem}`);
  };
  if (saved === null || typeof saved !== "object" || !Array.isArray(saved.param_groups)) {
    fail(`metadata '${OPTIMIZER_METADATA_KEY}' lacks param_groups`);
  }
  if (saved.type !== optimizer.constructor.name) {
    fail(`the file holds the state of a ${String(saved.type)}, the optimizer is a ${optimizer.constructor.name}`);
  }
  if (saved.param_groups.length !== optimizer.paramGroups.length) {
    fail(`the file has ${saved.param_groups.length} parameter groups, the optimizer has ${optimizer.paramGroups.length}`);
  }

  // Index of each of the optimizer's parameters, by its key in the file.
  const keyOf = new Map<Tensor, string>();
  for (const [name, parameter] of module.namedParameters()) keyOf.set(parameter, fileKeyOf.get(name)!);
  const indexOfKey = new Map<string, number>();
  let index = 0;
  const paramGroups = optimizer.paramGroups.map((group, g) => {
    const savedGroup = saved.param_groups[g];
    const keys = group.params.map((param) => {
      const key = keyOf.get(param);
      if (key === undefined) {
        fail(`the optimizer has a parameter of shape ${shapeToString(param.shape)} that is not a parameter of the module`);
      }
      return key as string;
    });
    const savedKeys = Array.isArray(savedGroup.params) ? savedGroup.params : [];
    if (savedKeys.length !== keys.length || savedKeys.some((key, i) => key !== keys[i])) {
      fail(`parameter group ${g} holds [${savedKeys.join(", ")}] in the file but [${keys.join(", ")}] in the optimizer`);
    }
    const { params: _params, ...groupOptions } = savedGroup;
    const indices = keys.map((key) => {
      indexOfKey.set(key, index);
      return index++;
    });
    const entry = { ...renameKeys(groupOptions, fromTorchKey), params: indices } as OptimizerStateDict["paramGroups"][number];
    if (group.paramNames) entry.paramNames = group.paramNames.slice();
    return entry;
  });

  const state: Record<number, ParamState> = {};
  for (const [key, record] of Object.entries(saved.state ?? {})) {
    const paramIndex = indexOfKey.get(key);
    if (paramIndex === undefined) fail(`the file has optimizer state for '${key}', which the optimizer does not hold`);
    const entry: ParamState = {};
    for (const [stateKey, value] of Object.entries(record ?? {})) {
      if (typeof value === "number") entry[fromTorchKey(stateKey)] = value;
      else {
        const t = value && typeof value === "object" ? tensors.get(value.tensor) : undefined;
        if (t === undefined) fail(`the state '${stateKey}' of '${key}' refers to a tensor the file does not hold`);
        entry[fromTorchKey(stateKey)] = t as Tensor;
      }
    }
    state[paramIndex as number] = entry;
  }
  return { state, paramGroups };
}
