/**
 * Modules that only pass values through or reshape them (PyTorch: torch.nn.Identity, nn.Flatten).
 *
 *   Identity(x) = x
 *   Flatten(startDim = 1, endDim = −1): (N, C, H, W) → (N, C·H·W)     (a view when x is contiguous)
 *
 * Both have no parameters. Identity is the usual stand-in for a removed head
 * (`encoder.fc = nn.Identity()` in PyTorch).
 */
import type { Tensor } from "../tensor/tensor.js";
import { flatten } from "../ops/views.js";
import { Module } from "./module.js";

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}
