/**
 * MLP: a stack of Linear layers, each optionally followed by BatchNorm1d and an activation —
 * the projection and prediction heads of SimCLR, MoCo v2/v3 and BYOL.
 *
 *   new MLP([d₀, d₁, …, dₖ], opts) = Sequential(
 *     Linear(d₀, d₁), [BatchNorm1d(d₁)], act,
 *     …,
 *     Linear(dₖ₋₁, dₖ), [BatchNorm1d(dₖ) if lastBatchNorm], [act if lastActivation])
 *
 * It *is* a Sequential, so its state-dict keys are those of the equivalent PyTorch nn.Sequential:
 * [784, 512, 128] with batchNorm gives "0.weight", "0.bias", "1.weight", "1.bias",
 * "1.runningMean", "1.runningVar", "1.numBatchesTracked" (BatchNorm1d; torch: running_mean, …),
 * then "3.weight", "3.bias" (index 2 is the ReLU). Examples:
 *   SimCLR head   new MLP([512, 512, 128], { activation: "relu", generator })
 *   BYOL head     new MLP([256, 4096, 256], { activation: "relu", batchNorm: true, generator })
 *   SimSiam-style projector
 *                 new MLP([512, 2048, 2048, 2048], { batchNorm: true, lastBatchNorm: true, bias: false, generator })
 *
 * PyTorch has no MLP class in torch.nn (torchvision.ops.MLP is similar but orders dropout
 * differently); port it as the nn.Sequential it builds.
 *
 * @module
 */
import { checkDType, type DType } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Sequential } from "./container.js";
import type { Tensor } from "../tensor/tensor.js";
import { Linear } from "./linear.js";
import { BatchNorm1d } from "./batchnorm.js";
import { ReLU, activationModule, type ActivationName } from "./activation.js";
import { requireGenerator } from "./init.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link MLP}. */
export interface MLPOptions {
  /** Activation between layers (default "relu"). */
  activation?: ActivationName;
  /** BatchNorm1d after every hidden Linear (default false). */
  batchNorm?: boolean;
  /** Also put the activation after the last Linear (default false). */
  lastActivation?: boolean;
  /** Also put a BatchNorm1d after the last Linear (default false; SimSiam / MoCo v3 use it). */
  lastBatchNorm?: boolean;
  /** Bias in every Linear (default true; often false when a BatchNorm follows). */
  bias?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the layers' init (required). */
  generator: Generator;
}

/**
 * A multilayer perceptron: Linear layers of the given sizes with an activation (and optionally BatchNorm1d) between them, none after the
 * last; (N, sizes[0]) → (N, sizes[last]). A {@link Sequential}, so its keys are PyTorch's ("0.weight", …).
 */
export class MLP extends Sequential {
  /** The layer widths, input first, e.g. `[784, 256, 128]`. */
  readonly sizes: readonly number[];

  /**
   * Build the Linear layers (and activations, batch norms) for `sizes`.
   *
   * @param sizes the widths, input first (at least two).
   * @param options activation, batch norm, bias, dtype, generator.
   */
  constructor(sizes: readonly number[], options: MLPOptions) {
    super();
    checkOptions("MLP", options, {
      activation: true,
      batchNorm: true,
      lastActivation: true,
      lastBatchNorm: true,
      bias: true,
      dtype: true,
      generator: true,
    });
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new Error(`MLP: sizes must list at least the input and output sizes, got [${String(sizes)}]`);
    }
    const generator = requireGenerator("MLP", options?.generator);
    this.sizes = sizes.slice();
    const activation = options?.activation ?? "relu";
    const dtype = checkDType("MLP", options?.dtype);
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      this.append(new Linear(sizes[i], sizes[i + 1], { bias: options.bias ?? true, dtype, generator }));
      if (last ? options.lastBatchNorm ?? false : options.batchNorm ?? false) this.append(new BatchNorm1d(sizes[i + 1], { dtype }));
      if (!last || (options.lastActivation ?? false)) this.append(activationModule("MLP", activation));
    }
  }

  /**
   * The modules in order, as Sequential, except that a Linear directly followed by a ReLU runs
   * as one fused op (Linear.forwardRelu: the bias and the ReLU ride on the GEMM's output, the
   * ReLU mask and the bias gradient on its backward). Only the library's own forward methods are
   * fused: a subclass or an instance that overrides `forward` runs as written.
   */
  override forward(x: Tensor): Tensor {
    const modules = [...this];
    let out = x;
    for (let i = 0; i < modules.length; i++) {
      const module = modules[i];
      const next = modules[i + 1];
      if (
        module instanceof Linear && module.forward === Linear.prototype.forward && next instanceof ReLU &&
        next.forward === ReLU.prototype.forward
      ) {
        out = module.forwardRelu(out);
        i++; // the ReLU ran inside the fused op
      } else {
        out = module.forward(out);
      }
    }
    return out;
  }
}
