/**
 * State-dict key mapping between this project (camelCase) and PyTorch (snake_case).
 *
 * Module attribute names here are PyTorch's in camelCase, segment by segment, so the mapping is
 * mechanical: "layers.0.selfAttn.inProjWeight" ↔ "layers.0.self_attn.in_proj_weight",
 * "1.runningMean" ↔ "1.running_mean", "1.numBatchesTracked" ↔ "1.num_batches_tracked".
 * Names that are the same in both ("0.weight", "linear1.bias", "norm2.weight") pass unchanged.
 *
 * Use it to load a PyTorch state dict (saved as safetensors) into a module here, or the reverse:
 *   model.loadStateDict(fromTorchStateDict(torchState))
 * Values are passed through (not copied); dtypes and shapes are checked by loadStateDict.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";

/** "selfAttn.inProjWeight" → "self_attn.in_proj_weight". */
export function toTorchKey(key: string): string {
  return key
    .split(".")
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase())
    .join(".");
}

/** "self_attn.in_proj_weight" → "selfAttn.inProjWeight". */
export function fromTorchKey(key: string): string {
  return key
    .split(".")
    .map((segment) => segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join(".");
}

/** A state dict with PyTorch's snake_case keys ("selfAttn.inProjWeight" → "self_attn.in_proj_weight"); values are not copied. */
export function toTorchStateDict(state: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...state].map(([key, value]) => [toTorchKey(key), value]));
}

/** A state dict with this project's camelCase keys, from PyTorch's (a Map or a plain object); values are not copied. */
export function fromTorchStateDict(state: Map<string, Tensor> | Record<string, Tensor>): Map<string, Tensor> {
  const entries = state instanceof Map ? [...state] : Object.entries(state);
  return new Map(entries.map(([key, value]) => [fromTorchKey(key), value]));
}
