/**
 * Exponential moving average of a network's weights: the momentum (key) encoder of MoCo and the
 * target network of BYOL.
 *
 *   θ_target ← m · θ_target + (1 − m) · θ_online        for every parameter
 *
 * After n updates towards a fixed θ_online: θ_n = mⁿ θ_0 + (1 − mⁿ) θ_online. m = 0 copies the
 * online weights; m = 1 freezes the target.
 *
 * Source: He et al. 2020, "Momentum Contrast", Eq. 2 (facebookresearch/moco, builder.py
 * `_momentum_update_key_encoder`: `param_k.mul_(m).add_(param_q.mul(1 - m))`, the same operations
 * as here); Grill et al. 2020, BYOL §3.1 (deepmind-research/byol, byol_experiment.py).
 *
 * Buffers (BatchNorm running statistics). Both official implementations average the *parameters
 * only*: MoCo's loop runs over `parameters()`, and BYOL keeps a separate `target_state` that the
 * target network updates itself, with its own batch statistics, in its own forward passes. Neither
 * copies nor averages the buffers. That is the default here (`buffers: "keep"`); `"copy"` (take the
 * online network's buffers) and `"ema"` (average them like the parameters, as timm's ModelEmaV2
 * does over the whole state dict) are available for other recipes.
 *
 * Nothing is recorded on the autograd tape: the target's typed arrays are written directly
 * (PyTorch: the function runs under `@torch.no_grad()`).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { sameShape, shapeToString } from "../tensor/shape.js";
import { contiguousData } from "../ops/util.js";
import { mutableStorage } from "../tensor/version.js";
import type { Module } from "../nn/module.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link emaUpdate}. */
export interface EmaOptions {
  /** What to do with buffers: keep the target's own (default, as MoCo and BYOL), copy the online ones, or average them. */
  buffers?: "keep" | "copy" | "ema";
}

/**
 * `θ_target ← m · θ_target + (1 − m) · θ_online` for every parameter, in place (MoCo's key encoder, BYOL's target); buffers are kept by
 * default.
 * @param m the momentum in [0, 1] (0 copies, 1 freezes).
 */
export function emaUpdate(target: Module, online: Module, m: number, options: EmaOptions = {}): void {
  checkOptions("emaUpdate", options, { buffers: true });
  const buffers = options.buffers ?? "keep";
  if (typeof m !== "number" || !(m >= 0 && m <= 1)) throw new Error(`emaUpdate: momentum m must be in [0, 1], got ${String(m)}`);
  if (buffers !== "keep" && buffers !== "copy" && buffers !== "ema") {
    throw new Error(`emaUpdate: buffers must be "keep", "copy" or "ema", got ${String(buffers)}`);
  }
  if (target === online) throw new Error("emaUpdate: target and online are the same module");

  // Check the whole structure before writing anything.
  const parameterPairs = matchByName("parameters", [...target.namedParameters()], [...online.namedParameters()]);
  const bufferPairs = buffers === "keep" ? [] : matchByName("buffers", [...target.namedBuffers()], [...online.namedBuffers()]);

  for (const [, targetTensor, onlineTensor] of parameterPairs) average(targetTensor, onlineTensor, m);
  for (const [, targetTensor, onlineTensor] of bufferPairs) average(targetTensor, onlineTensor, buffers === "copy" ? 0 : m);
}

/** target ← m·target + (1 − m)·online, elementwise, in place. */
function average(target: Tensor, online: Tensor, m: number): void {
  const { data: t, offset: tOffset } = mutableStorage(target);
  const { data: o, offset: oOffset } = contiguousData(online);
  const n = target.numel();
  if (m === 0) {
    for (let i = 0; i < n; i++) t[tOffset + i] = o[oOffset + i]; // an exact copy, also of NaN/∞
    return;
  }
  const onlineWeight = 1 - m;
  for (let i = 0; i < n; i++) t[tOffset + i] = t[tOffset + i] * m + o[oOffset + i] * onlineWeight;
}

/** Pair tensors by name; throw listing the differences in names, shapes or dtypes. */
function matchByName(kind: string, targetList: [string, Tensor][], onlineList: [string, Tensor][]): [string, Tensor, Tensor][] {
  const onlineByName = new Map(onlineList);
  const targetNames = new Set(targetList.map(([name]) => name));
  const onlyTarget = targetList.map(([name]) => name).filter((name) => !onlineByName.has(name));
  const onlyOnline = onlineList.map(([name]) => name).filter((name) => !targetNames.has(name));
  if (onlyTarget.length > 0 || onlyOnline.length > 0) {
    throw new Error(
      `emaUpdate: target and online differ in their ${kind}: only in target [${onlyTarget.join(", ")}], only in online [${
        onlyOnline.join(", ")
      }]; ` +
        "build the target as a copy of the online network's architecture",
    );
  }
  return targetList.map(([name, targetTensor]) => {
    const onlineTensor = onlineByName.get(name)!;
    if (!sameShape(targetTensor.shape, onlineTensor.shape) || targetTensor.dtype !== onlineTensor.dtype) {
      throw new Error(
        `emaUpdate: ${kind} '${name}' is ${shapeToString(targetTensor.shape)} ${targetTensor.dtype} in target but ${
          shapeToString(onlineTensor.shape)
        } ${onlineTensor.dtype} in online`,
      );
    }
    if (!targetTensor.isContiguous()) throw new Error(`emaUpdate: target ${kind} '${name}' is not contiguous`);
    if (targetTensor.storage.data === onlineTensor.storage.data) {
      throw new Error(
        `emaUpdate: target and online ${kind} '${name}' share their storage (the average would do nothing); ` +
          "give the target its own copy of the weights",
      );
    }
    return [name, targetTensor, onlineTensor];
  });
}
