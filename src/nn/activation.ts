/**
 * Activation modules: stateless wrappers of the elementwise activations in src/ops/activations.ts,
 * so that they can sit in a Sequential (PyTorch: torch.nn.ReLU, GELU, Tanh, Sigmoid).
 *
 *   ReLU(x)    = max(x, 0)                            ∂/∂x = 1[x > 0]
 *   GELU(x)    = x·Φ(x) = x/2·(1 + erf(x/√2))          ∂/∂x = Φ(x) + x·φ(x)   (exact form, torch's default)
 *   Tanh(x)    = tanh x                               ∂/∂x = 1 − tanh² x
 *   Sigmoid(x) = 1/(1 + e^−x)                         ∂/∂x = σ(x)(1 − σ(x))
 *
 * No parameters, no state dict entries (in PyTorch too, so Sequential indices line up).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { gelu, relu, sigmoid, tanh } from "../ops/activations.js";
import { Module } from "./module.js";

/** `max(x, 0)` elementwise as a module ({@link relu}). PyTorch: `torch.nn.ReLU`. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** GELU, exact `x·Φ(x)`, as a module ({@link gelu}). PyTorch: `torch.nn.GELU`. */
export class GELU extends Module {
  /** Only the exact erf form ("none") is implemented; PyTorch also offers approximate = "tanh". */
  /**
   * The exact GELU module.
   *
   * @param approximate only `"none"` (the exact erf form, the default).
   */
  constructor(readonly approximate: "none" = "none") {
    super();
    if (approximate !== "none") throw new Error(`GELU: approximate must be "none" (the exact erf form), got "${approximate}"`);
  }
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

/** Hyperbolic tangent as a module ({@link tanh}). PyTorch: `torch.nn.Tanh`. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** The logistic sigmoid as a module ({@link sigmoid}). PyTorch: `torch.nn.Sigmoid`. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** The activations {@link MLP} and {@link TransformerEncoderLayer} accept by name. */
export type ActivationName = "relu" | "gelu" | "tanh" | "sigmoid";

/** A fresh activation module by name (used by MLP and TransformerEncoderLayer). */
export function activationModule(owner: string, name: ActivationName): ReLU | GELU | Tanh | Sigmoid {
  switch (name) {
    case "relu":
      return new ReLU();
    case "gelu":
      return new GELU();
    case "tanh":
      return new Tanh();
    case "sigmoid":
      return new Sigmoid();
    default:
      throw new Error(`${owner}: activation must be "relu", "gelu", "tanh" or "sigmoid", got "${String(name)}"`);
  }
}
