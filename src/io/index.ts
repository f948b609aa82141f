/**
 * Barrel of src/io: safetensors files and module/optimizer checkpoints.
 *
 * @module
 */
export {
  saveSafetensors,
  loadSafetensors,
  parseSafetensors,
  writeFileAtomic,
  SAFETENSORS_LIMITS,
  type TensorMap,
  type SafetensorsContents,
  type LoadSafetensorsOptions,
} from "./safetensors.js";
export {
  saveModule,
  loadModule,
  OPTIMIZER_METADATA_KEY,
  OPTIMIZER_TENSOR_PREFIX,
  type SaveModuleOptions,
  type LoadModuleOptions,
} from "./checkpoint.js";
