/**
 * Adam and AdamW (PyTorch: torch.optim.Adam, torch.optim.AdamW; the same updates in float64).
 *
 * For each parameter w with gradient g, at step t = 1, 2, …:
 *
 *   Adam:   g = g + λ·w                      (L2 weight decay λ, added to the gradient)
 *   AdamW:  w = w·(1 − lr·λ)                 (decoupled weight decay, before the Adam update;
 *                                             g is left unchanged)
 *   m = β₁·m + (1 − β₁)·g                    (first moment, starts at 0)
 *   v = β₂·v + (1 − β₂)·g²                   (second moment, starts at 0)
 *   v̂ = max(v̂, v) if amsgrad, else v         (AMSGrad keeps the running maximum)
 *   w = w − (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
 *
 * The two bias corrections undo the moments' start at zero; ε is added after the correction of
 * √v, exactly where PyTorch adds it.
 *
 * Sources: Kingma & Ba 2015, "Adam" (Algorithm 1); Reddi et al. 2018 (AMSGrad); Loshchilov &
 * Hutter 2019, "Decoupled Weight Decay Regularization" (AdamW). Exact form: torch/optim/adam.py
 * and adamw.py, `_single_tensor_adam(w)`.
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

/** The hyperparameters of {@link Adam} and {@link AdamW} (per group). */
export interface AdamOptions {
  /** The learning rate (default 1e-3). */
  lr: number;
  /** The moments' decay rates β₁, β₂ (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Weight decay λ: L2 for Adam (default 0), decoupled for AdamW (default 0.01). */
  weightDecay: number;
  /** Use AMSGrad's running maximum of v (default false). */
  amsgrad: boolean;
}

const ADAM_OPTION_NAMES = ["lr", "betas", "eps", "weightDecay", "amsgrad"] as const;

interface AdamState extends ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** The option keys, checked by checkOptions before any default is filled in. */
const ADAM_OPTION_KEYS = { lr: true, betas: true, eps: true, weightDecay: true, amsgrad: true } as const;

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** True for AdamW (decay applied to w directly), false for Adam (decay added to g). */
  protected abstract readonly decoupledWeightDecay: boolean;

  protected validateOptions(o: AdamOptions, where: string): void {
    const op = this.constructor.name;
    checkNumber(op, where, "lr", o.lr, 0);
    checkNumber(op, where, "eps", o.eps, 0);
    checkNumber(op, where, "weightDecay", o.weightDecay, 0);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new Error(`${op}: ${where}: betas must be a pair [β₁, β₂], got ${JSON.stringify(o.betas)}`);
    }
    checkNumber(op, where, "betas[0]", o.betas[0], 0, 1, true);
    checkNumber(op, where, "betas[1]", o.betas[1], 0, 1, true);
    if (typeof o.amsgrad !== "boolean") throw new Error(`${op}: ${where}: amsgrad must be a boolean`);
  }

  protected stateSchema(group: ParamGroup<AdamOptions>): StateSchema {
    const required: StateSchema["required"] = { step: "number", expAvg: "tensor", expAvgSq: "tensor" };
    if (group.amsgrad) required.maxExpAvgSq = "tensor";
    return { required };
  }

  protected updateParameter(group: ParamGroup<AdamOptions>, param: Tensor, grad: GradientView, rawState: ParamState): void {
    const { lr, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    if (rawState.step === undefined) {
      rawState.step = 0;
      rawState.expAvg = zerosLikeParam(param);
      rawState.expAvgSq = zerosLikeParam(param);
      if (amsgrad) rawState.maxExpAvgSq = zerosLikeParam(param);
    }
    const state = rawState as AdamState;
    if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLikeParam(param);
    state.step += 1;
    const t = state.step;

    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2 = 1 - beta2 ** t;
    const stepSize = lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
    const decayFactor = 1 - lr * weightDecay; // AdamW only

    const { data: w, offset: wOffset } = mutableStorage(param); // w is updated in place: its version goes up
    const m = mutableStorage(state.expAvg).data;
    const v = mutableStorage(state.expAvgSq).data;
    const vMax = amsgrad ? mutableStorage(state.maxExpAvgSq as Tensor).data : null;
    const constants: AdamStepConstants = { beta1, beta2, stepSize, biasCorrection2Sqrt, eps, weightDecay, decayFactor };
    const decay: AdamDecay = weightDecay === 0 ? "none" : this.decoupledWeightDecay ? "decoupled" : "l2";
    const update = vMax === null ? adamUpdate : adamUpdateReference;
    update(w, wOffset, grad.data, grad.offset, m, v, vMax, param.numel(), constants, decay);
  }
}

/** The per-step numbers of one parameter's update (see the file header for the formulas). */
export interface AdamStepConstants {
  beta1: number;
  beta2: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  biasCorrection2Sqrt: number;
  eps: number;
  weightDecay: number;
  /** 1 − lr·λ (AdamW's decoupled decay). */
  decayFactor: number;
}

/** How weight decay enters: not at all (λ = 0), decoupled (AdamW: w·(1 − lr·λ)) or as L2 (Adam: g + λ·w). */
export type AdamDecay = "none" | "decoupled" | "l2";

type Floats = Float32Array | Float64Array;

/**
 * The update of n elements, written once for every case (L2 or decoupled decay, AMSGrad or not), the
 * branches inside the loop: the reference `adamUpdate` is compared against (spec/optim/adam-fast-path.spec.ts),
 * and the path AMSGrad takes. w, m, v (and vMax) are updated in place; each value is stored (rounded to the
 * array's dtype) before it is read again, as PyTorch's in-place ops do.
 */
export function adamUpdateReference(
  w: Floats,
  wOffset: number,
  g: Floats,
  gOffset: number,
  m: Floats,
  v: Floats,
  vMax: Floats | null,
  n: number,
  c: AdamStepConstants,
  decay: AdamDecay,
): void {
  const { beta1, beta2, stepSize, biasCorrection2Sqrt, eps, weightDecay, decayFactor } = c;
  for (let i = 0; i < n; i++) {
    let gi = g[gOffset + i];
    if (decay === "decoupled") w[wOffset + i] = w[wOffset + i] * decayFactor;
    else if (decay === "l2") gi = gi + weightDecay * w[wOffset + i];
    m[i] = m[i] * beta1 + (1 - beta1) * gi;
    v[i] = v[i] * beta2 + (1 - beta2) * gi * gi;
    if (vMax !== null) vMax[i] = Math.max(vMax[i], v[i]);
    const denominator = Math.sqrt(vMax !== null ? vMax[i] : v[i]) / biasCorrection2Sqrt + eps;
    w[wOffset + i] = w[wOffset + i] - (stepSize * m[i]) / denominator;
  }
}

/**
 * The same update without AMSGrad, one loop per kind of decay with no branch inside, and the factors
 * 1 − β₁, 1 − β₂ computed once: the same expressions in the same order, so the same bits as the
 * reference. Measured on a 784 × 512 float32 parameter: 0.41–0.68× the reference's time
 * (docs/performance.md, "The step's serial passes"). `vMax` is unused (null).
 */
export function adamUpdate(
  w: Floats,
  wOffset: number,
  g: Floats,
  gOffset: number,
  m: Floats,
  v: Floats,
  _vMax: Floats | null,
  n: number,
  c: AdamStepConstants,
  decay: AdamDecay,
): void {
  const { beta1, beta2, stepSize, biasCorrection2Sqrt, eps, weightDecay, decayFactor } = c;
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  if (decay === "decoupled") {
    for (let i = 0; i < n; i++) {
      const gi = g[gOffset + i];
      w[wOffset + i] = w[wOffset + i] * decayFactor; // w·(1 − lr·λ), stored (rounded) first
      m[i] = m[i] * beta1 + oneMinusBeta1 * gi;
      v[i] = v[i] * beta2 + oneMinusBeta2 * gi * gi;
      w[wOffset + i] = w[wOffset + i] - (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
    }
  } else if (decay === "l2") {
    for (let i = 0; i < n; i++) {
      const gi = g[gOffset + i] + weightDecay * w[wOffset + i]; // g + λ·w, in double
      m[i] = m[i] * beta1 + oneMinusBeta1 * gi;
      v[i] = v[i] * beta2 + oneMinusBeta2 * gi * gi;
      w[wOffset + i] = w[wOffset + i] - (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const gi = g[gOffset + i];
      m[i] = m[i] * beta1 + oneMinusBeta1 * gi;
      v[i] = v[i] * beta2 + oneMinusBeta2 * gi * gi;
      w[wOffset + i] = w[wOffset + i] - (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
    }
  }
}

/** Adam with L2 weight decay added to the gradient (PyTorch: torch.optim.Adam). */
export class Adam extends AdamBase {
  protected readonly decoupledWeightDecay = false;

  /**
   * Build Adam over `params` (PyTorch's defaults).
   *
   * @param params parameters, named parameters or parameter groups.
   * @param options lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, amsgrad false by default.
   */
  constructor(params: OptimizerParams<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(
      params,
      withDefaults<AdamOptions>(
        { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false },
        checkOptions("Adam", options, ADAM_OPTION_KEYS),
      ),
      ADAM_OPTION_NAMES,
    );
  }
}

/** Adam with decoupled weight decay w ← w·(1 − lr·λ) (PyTorch: torch.optim.AdamW; λ defaults to 0.01 as there). */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;

  /**
   * Build AdamW over `params` (PyTorch's defaults).
   *
   * @param params parameters, named parameters or parameter groups.
   * @param options lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.01, amsgrad false by default.
   */
  constructor(params: OptimizerParams<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(
      params,
      withDefaults<AdamOptions>(
        { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false },
        checkOptions("AdamW", options, ADAM_OPTION_KEYS),
      ),
      ADAM_OPTION_NAMES,
    );
  }
}
