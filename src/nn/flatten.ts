/**
 * Modules that only pass values through or reshape them (PyTorch: torch.nn.Identity, nn.Flatten).
 *
 *   Identity(x) = x
 *   Flatten(startDim = 1, endDim = −1): (N, C, H, W) → (N, C·H·W)     (a view when x is contiguous)
 *
 * Both have no parameters. Identity is the usual stand-in for a removed head
 * (`encoder.fc = nn.Identity()` in PyTorch).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { flatten } from "../ops/views.js";
import { Module } from "./module.js";

/** Returns its input unchanged (a placeholder, e.g. an absent head). PyTorch: `torch.nn.Identity`. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * Merges axes `startDim…endDim` into one, e.g. (N, C, H, W) → (N, C·H·W) with the defaults 1 and −1 ({@link flatten}). PyTorch:
 * `torch.nn.Flatten`.
 */
export class Flatten extends Module {
  /**
   * Flatten axes `startDim…endDim`.
   *
   * @param startDim first axis to merge (default 1, keeping the batch axis).
   * @param endDim last axis to merge (default −1).
   */
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}
