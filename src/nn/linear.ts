/**
 * Linear: an affine map of the last dimension (PyTorch: torch.nn.Linear).
 *
 *   y = x Wᵀ + b          x: (…, in),  W: (out, in),  b: (out),  y: (…, out)
 *   ∂L/∂x = ḡ W,   ∂L/∂W = Σ ḡᵀ x,   ∂L/∂b = Σ ḡ      (sums over the leading dims, folded into rows)
 *
 * Init (PyTorch's default, Linear.reset_parameters): W ~ kaiming_uniform(a = √5), which is
 * U(−1/√in, 1/√in), and b ~ U(−1/√in, 1/√in).
 *
 * State dict keys: "weight" (out, in), "bias" (out) — the same as PyTorch.
 *
 * @module
 */
import { checkDType, type DType, type Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { shapeToString } from "../tensor/shape.js";
import { linear, linearRelu, type LinearActivation } from "../ops/functional.js";
import { Module, type Parameter } from "./module.js";
import { emptyParameter, kaimingUniform_, requireGenerator, uniform_ } from "./init.js";
import { checkDtype, checkFeatures } from "./util.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * A fully connected layer, `y = x Wᵀ + b`: (…, inFeatures) → (…, outFeatures). Weight and bias start U(±1/√inFeatures), as PyTorch. State
 * dict: `weight` (out, in), `bias` (out). PyTorch: `torch.nn.Linear`.
 */
export class Linear extends Module {
  /** Size of each input sample (the last axis). */
  readonly inFeatures: number;
  /** Size of each output sample. */
  readonly outFeatures: number;
  /** The weight W, (outFeatures, inFeatures). */
  readonly weight: Parameter;
  /** The bias b, (outFeatures), or null when `bias: false`. */
  readonly bias: Parameter | null;

  /**
   * A Linear map from `inFeatures` to `outFeatures`, initialized U(±1/√inFeatures) as PyTorch.
   *
   * @param inFeatures input size.
   * @param outFeatures output size.
   * @param options bias (default true), dtype and the init's generator.
   */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions) {
    super();
    checkOptions("Linear", options, { bias: true, dtype: true, generator: true });
    checkFeatures("Linear", { inFeatures, outFeatures });
    const generator = requireGenerator("Linear", options?.generator);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = checkDType("Linear", options?.dtype);
    this.weight = emptyParameter([outFeatures, inFeatures], dtype); // (out, in)
    kaimingUniform_(this.weight, { a: Math.sqrt(5) }, generator);
    this.registerParameter("weight", this.weight);
    if (options.bias ?? true) {
      this.bias = emptyParameter([outFeatures], dtype); // (out)
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      uniform_(this.bias, -bound, bound, generator);
    } else {
      this.bias = null;
    }
    this.registerParameter("bias", this.bias);
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return linearForward(x, this.weight, this.bias);
  }

  /**
   * relu(this.forward(x)) as one fused op (F.linearRelu): what MLP runs for a Linear followed by
   * a ReLU. The same numbers as the two modules in a row, up to where the bias is rounded in.
   */
  forwardRelu(x: Tensor): Tensor {
    this.checkInput(x);
    return linearForward(x, this.weight, this.bias, "relu");
  }

  private checkInput(x: Tensor): void {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear: input of shape ${shapeToString(x.shape)} does not end in inFeatures = ${this.inFeatures}`);
    }
    checkDtype("Linear", x, this.weight);
  }
}

/**
 * y = act(x Wᵀ + b) for x (…, in), W (out, in), b (out) or null, act = identity (default) or
 * relu: one fused op (src/ops/functional.ts, `linearRows`), the leading dims folded into rows
 * so one GEMM covers the whole batch instead of one per item.
 */
export function linearForward(x: Tensor, weight: Tensor, bias: Tensor | null, activation: LinearActivation = "none"): Tensor {
  return activation === "relu" ? linearRelu(x, weight, bias) : linear(x, weight, bias);
}
