/**
 * LARS: layer-wise adaptive rate scaling (not in torch.optim; the form used by SimCLR, BYOL and
 * facebookresearch/barlowtwins' `LARS` class, which a PyTorch port copies).
 *
 * For each parameter w with gradient g (the whole tensor is one "layer"):
 *
 *   adapted parameters (weights):
 *     g = g + λ·w                                   (weight decay λ)
 *     trust = η·‖w‖ / ‖g‖   if ‖w‖ > 0 and ‖g‖ > 0, else 1    (η: trust coefficient, ‖·‖: L2
 *     g = trust·g                                              over the tensor, ‖g‖ after decay)
 *   excluded parameters (biases, normalization scales and shifts):
 *     g unchanged: no weight decay, no trust scaling
 *   all parameters:
 *     b = g at the first step, else b = μ·b + g     (momentum μ, no dampening)
 *     w = w − lr·b
 *
 * The trust ratio makes each layer's step proportional to its weight norm, so one global lr works
 * for every layer at batch sizes in the thousands. Excluded by default: every parameter with fewer
 * than 2 dimensions, i.e. biases and BatchNorm/LayerNorm weights and biases (barlowtwins:
 * `exclude_bias_and_norm = p.ndim == 1`; BYOL: biases and "norm" layers; SimCLR: "bias" and
 * "batch_normalization" in the name). Pass `excludeFromAdaptation(name, param)` to decide by name.
 *
 * Source: You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks",
 * arXiv:1708.03888, Algorithm 1.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { mutableStorage } from "../tensor/version.js";
import {
  Optimizer,
  checkNumber,
  withDefaults,
  zerosLikeParam,
  type GradientView,
  type OptimizerParams,
  type ParamGroup,
  type ParamState,
  type StateSchema,
} from "./optimizer.js";
import { checkOptions } from "../tensor/options.js";

/** The hyperparameters of {@link LARS} (per group). */
export interface LARSOptions {
  /** The learning rate (required). */
  lr: number;
  /** The momentum μ (default 0.9). */
  momentum: number;
  /** Weight decay λ on adapted parameters (default 0). */
  weightDecay: number;
  /** The trust coefficient η (default 0.001). */
  trustCoefficient: number;
}

/** Decides whether a parameter is excluded; `name` is undefined when the optimizer got unnamed parameters. */
export type ParameterFilter = (name: string | undefined, param: Tensor) => boolean;

/** The options of the {@link LARS} constructor: the hyperparameters plus the exclusion rules. */
export interface LARSConstructorOptions extends Partial<LARSOptions> {
  /** The learning rate (required). */
  lr: number;
  /** True: no trust scaling (and, by default, no weight decay). Default: `param.ndim < 2` (biases, norm parameters). */
  excludeFromAdaptation?: ParameterFilter;
  /** True: no weight decay. Default: the same rule as `excludeFromAdaptation`. */
  excludeFromWeightDecay?: ParameterFilter;
}

/** The default exclusion: biases and normalization parameters, i.e. tensors of rank < 2. */
export const excludeBiasAndNorm: ParameterFilter = (_name, param) => param.ndim < 2;

interface LARSState extends ParamState {
  momentumBuffer: Tensor;
}

/**
 * LARS, layer-wise adaptive rate scaling: each weight's step is scaled by the trust ratio η‖w‖/‖g‖; biases and norm parameters are
 * excluded. Not in torch.optim (the barlowtwins / SimCLR form).
 */
export class LARS extends Optimizer<LARSOptions> {
  private readonly excludeFromAdaptation: ParameterFilter;
  private readonly excludeFromWeightDecay: ParameterFilter;

  /**
   * Build LARS over `params`.
   *
   * @param params parameters, named parameters or parameter groups.
   * @param options `lr` (required), momentum 0.9, weightDecay 0, trustCoefficient 0.001, and the exclusion rules.
   */
  constructor(params: OptimizerParams<LARSOptions>, options: LARSConstructorOptions) {
    checkOptions("LARS", options, {
      lr: true,
      momentum: true,
      weightDecay: true,
      trustCoefficient: true,
      excludeFromAdaptation: true,
      excludeFromWeightDecay: true,
    });
    if (!options || options.lr === undefined) throw new Error("LARS: options.lr is required");
    const { excludeFromAdaptation, excludeFromWeightDecay, ...groupOptions } = options;
    super(params, withDefaults<LARSOptions>({ lr: options.lr, momentum: 0.9, weightDecay: 0, trustCoefficient: 0.001 }, groupOptions), [
      "lr",
      "momentum",
      "weightDecay",
      "trustCoefficient",
    ]);
    if (excludeFromAdaptation !== undefined && typeof excludeFromAdaptation !== "function") {
      throw new Error("LARS: excludeFromAdaptation must be a function (name, param) => boolean");
    }
    if (excludeFromWeightDecay !== undefined && typeof excludeFromWeightDecay !== "function") {
      throw new Error("LARS: excludeFromWeightDecay must be a function (name, param) => boolean");
    }
    this.excludeFromAdaptation = excludeFromAdaptation ?? excludeBiasAndNorm;
    this.excludeFromWeightDecay = excludeFromWeightDecay ?? this.excludeFromAdaptation;
  }

  protected validateOptions(o: LARSOptions, where: string): void {
    checkNumber("LARS", where, "lr", o.lr, 0);
    checkNumber("LARS", where, "momentum", o.momentum, 0);
    checkNumber("LARS", where, "weightDecay", o.weightDecay, 0);
    checkNumber("LARS", where, "trustCoefficient", o.trustCoefficient, 0);
  }

  protected stateSchema(): StateSchema {
    return { required: { momentumBuffer: "tensor" } };
  }

  protected updateParameter(
    group: ParamGroup<LARSOptions>,
    param: Tensor,
    grad: GradientView,
    rawState: ParamState,
    name: string | undefined,
  ): void {
    const { lr, momentum, trustCoefficient } = group;
    const decay = this.excludeFromWeightDecay(name, param) ? 0 : group.weightDecay;
    const adapted = !this.excludeFromAdaptation(name, param);
    const { data: w, offset: wOffset } = mutableStorage(param); // w is updated in place: its version goes up
    const g = grad.data;
    const gOffset = grad.offset;
    const n = param.numel();

    // Pass 1 (adapted parameters only): ‖w‖ and ‖g + λw‖, without materializing g + λw.
    let trust = 1;
    if (adapted) {
      let wSquares = 0;
      let gSquares = 0;
      for (let i = 0; i < n; i++) {
        const wi = w[wOffset + i];
        const gi = decay !== 0 ? g[gOffset + i] + decay * wi : g[gOffset + i];
        wSquares += wi * wi;
        gSquares += gi * gi;
      }
      const wNorm = Math.sqrt(wSquares);
      const gNorm = Math.sqrt(gSquares);
      if (wNorm > 0 && gNorm > 0) trust = (trustCoefficient * wNorm) / gNorm;
    }

    // Pass 2: scaled gradient → momentum buffer → parameter.
    const firstStep = rawState.momentumBuffer === undefined;
    if (firstStep) rawState.momentumBuffer = zerosLikeParam(param);
    const b = mutableStorage((rawState as LARSState).momentumBuffer).data;
    for (let i = 0; i < n; i++) {
      let gi = g[gOffset + i];
      if (decay !== 0) gi = gi + decay * w[wOffset + i];
      if (adapted) gi = gi * trust;
      b[i] = firstStep ? gi : momentum * b[i] + gi;
      w[wOffset + i] = w[wOffset + i] - lr * b[i];
    }
  }
}
