/**
 * Barrel of src/io for every runtime: safetensors and module checkpoints on bytes. Files (Node) are in ./node.ts.
 *
 * @module
 */
export {
  serializeSafetensors,
  parseSafetensors,
  SAFETENSORS_LIMITS,
  type TensorMap,
  type SafetensorsContents,
  type LoadSafetensorsOptions,
} from "./safetensors-bytes.js";
export {
  serializeModule,
  loadModuleFromBytes,
  OPTIMIZER_METADATA_KEY,
  OPTIMIZER_TENSOR_PREFIX,
  type SaveModuleOptions,
  type LoadModuleOptions,
} from "./checkpoint-bytes.js";
