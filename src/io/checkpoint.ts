/**
 * Checkpoint files (Node): `saveModule(path, module, { optimizer, metadata })` and
 * `loadModule(path, module, { optimizer })` around the byte-level checkpoints of
 * ./checkpoint-bytes.ts, which has the layout (PyTorch's key names, the optimizer's JSON), the
 * checks, and `serializeModule` / `loadModuleFromBytes` for bytes (they work in a browser too).
 *
 * `saveModule` writes atomically (a temporary file renamed over the path) and then removes the
 * temporary files a killed earlier write of the same path left behind (src/io/temporary-files.ts).
 *
 * @module
 */
import type { Module } from "../nn/module.js";
import { loadSafetensors, saveSafetensors } from "./safetensors.js";
import { removeStaleTemporaryFiles } from "./temporary-files.js";
import { checkOptions } from "../tensor/options.js";
import { checkpointEntries, loadModuleContents, type LoadModuleOptions, type SaveModuleOptions } from "./checkpoint-bytes.js";

export {
  OPTIMIZER_METADATA_KEY,
  OPTIMIZER_TENSOR_PREFIX,
  firstNonFinite,
  firstNonFiniteIndex,
  checkpointEntries,
  loadModuleContents,
  serializeModule,
  loadModuleFromBytes,
  type SaveModuleOptions,
  type LoadModuleOptions,
} from "./checkpoint-bytes.js";

/**
 * Save `module` (and `optimizer`'s state) to `filePath`, atomically.
 * PyTorch: `torch.save({'model': m.state_dict(), 'optimizer': opt.state_dict()})`, here as safetensors with PyTorch's key names.
 */
export function saveModule(filePath: string, module: Module, options: SaveModuleOptions = {}): void {
  const { tensors, metadata } = checkpointEntries("saveModule", filePath, module, options);
  saveSafetensors(filePath, tensors, metadata);
  removeStaleTemporaryFiles(filePath); // left by a write of this file that was killed before its rename
}

/**
 * Load a checkpoint written by `saveModule` into `module` (and `optimizer`). Returns the file's
 * metadata. Throws — changing nothing — if the file is invalid or does not match.
 * PyTorch: `m.load_state_dict(…)` and `opt.load_state_dict(…)` from such a file.
 */
export function loadModule(filePath: string, module: Module, options: LoadModuleOptions = {}): {
  /** The checkpoint's string metadata, as saved. */
  metadata: Record<string, string>;
} {
  checkOptions("loadModule", options, { optimizer: true }); // before the file is read
  return loadModuleContents("loadModule", filePath, loadSafetensors(filePath), module, options);
}
