/**
 * Barrel of src/io's Node part: safetensors files and module/optimizer checkpoints (they read and write paths).
 *
 * @module
 */
export { saveSafetensors, loadSafetensors, writeFileAtomic } from "./safetensors.js";
export {
  saveModule,
  loadModule,
  OPTIMIZER_METADATA_KEY,
  OPTIMIZER_TENSOR_PREFIX,
  type SaveModuleOptions,
  type LoadModuleOptions,
} from "./checkpoint.js";
