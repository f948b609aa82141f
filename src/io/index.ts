/**
 * Barrel of src/io for every runtime: safetensors on bytes. Files and checkpoints (Node) are in ./node.ts.
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
