/**
 * Stochastic gradient descent with momentum (PyTorch: torch.optim.SGD, the same update bit for
 * bit in float64).
 *
 * For each parameter w with gradient g, at every step:
 *
 *   d = g + λ·w                                  (weight decay λ: L2, added to the gradient)
 *   if μ ≠ 0:
 *     b = d                    at the first step (no dampening applied)
 *     b = μ·b + (1 − τ)·d      afterwards        (momentum μ, dampening τ)
 *     d = d + μ·b  if nesterov,  else  d = b
 *   w = w − lr·d
 *
 * Source: Sutskever et al. 2013 (momentum, Nesterov); the exact form is PyTorch's
 * (torch/optim/sgd.py, `_single_tensor_sgd`). Note PyTorch's momentum differs from the textbook
 * v = μv − lr·g: lr multiplies the buffer, not the gradient, which matters when lr changes.
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

/** The hyperparameters of {@link SGD} (per group). */
export interface SGDOptions {
  /** The learning rate (required). */
  lr: number;
  /** The momentum μ (default 0: plain SGD). */
  momentum: number;
  /** The dampening τ of the momentum (default 0). */
  dampening: number;
  /** L2 weight decay λ added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs μ > 0 and τ = 0). */
  nesterov: boolean;
}

interface SGDState extends ParamState {
  momentumBuffer: Tensor;
}

/**
 * Stochastic gradient descent with momentum, weight decay and Nesterov, PyTorch's exact update (see the module comment). PyTorch:
 * `torch.optim.SGD`.
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * Build SGD over `params`.
   *
   * @param params parameters, named parameters or parameter groups.
   * @param options `lr` (required), momentum, dampening, weightDecay, nesterov (default 0, 0, 0, false).
   */
  constructor(params: OptimizerParams<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    checkOptions("SGD", options, { lr: true, momentum: true, dampening: true, weightDecay: true, nesterov: true });
    if (!options || options.lr === undefined) throw new Error("SGD: options.lr is required (PyTorch: torch.optim.SGD(params, lr=…))");
    super(params, withDefaults<SGDOptions>({ lr: options.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, options), [
      "lr",
      "momentum",
      "dampening",
      "weightDecay",
      "nesterov",
    ]);
  }

  protected validateOptions(o: SGDOptions, where: string): void {
    checkNumber("SGD", where, "lr", o.lr, 0);
    checkNumber("SGD", where, "momentum", o.momentum, 0);
    checkNumber("SGD", where, "dampening", o.dampening, -Infinity);
    checkNumber("SGD", where, "weightDecay", o.weightDecay, 0);
    if (typeof o.nesterov !== "boolean") throw new Error(`SGD: ${where}: nesterov must be a boolean`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(
        `SGD: ${where}: nesterov momentum requires a momentum > 0 and zero dampening ` +
          `(got momentum ${o.momentum}, dampening ${o.dampening})`,
      );
    }
  }

  protected stateSchema(): StateSchema {
    return { required: {}, optional: { momentumBuffer: "tensor" } };
  }

  protected updateParameter(group: ParamGroup<SGDOptions>, param: Tensor, grad: GradientView, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    const { data: w, offset: wOffset } = mutableStorage(param); // w is updated in place: its version goes up
    const g = grad.data;
    const gOffset = grad.offset;
    const n = param.numel();
    if (momentum === 0) {
      for (let i = 0; i < n; i++) {
        let d = g[gOffset + i];
        if (weightDecay !== 0) d = d + weightDecay * w[wOffset + i];
        w[wOffset + i] = w[wOffset + i] - lr * d;
      }
      return;
    }
    const firstStep = state.momentumBuffer === undefined;
    if (firstStep) state.momentumBuffer = zerosLikeParam(param);
    const b = mutableStorage((state as SGDState).momentumBuffer).data;
    for (let i = 0; i < n; i++) {
      let d = g[gOffset + i];
      if (weightDecay !== 0) d = d + weightDecay * w[wOffset + i];
      b[i] = firstStep ? d : momentum * b[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * b[i] : b[i];
      w[wOffset + i] = w[wOffset + i] - lr * d;
    }
  }
}
