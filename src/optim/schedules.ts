/**
 * Learning-rate and momentum schedules.
 *
 * A schedule here is a plain function of the step, `(t) => value`, so that it can be printed,
 * plotted and tested on its own. `LambdaLR` applies one to an optimizer's groups, step by step.
 *
 * @module
 */
import type { Optimizer } from "./optimizer.js";
import { checkOptions } from "../tensor/options.js";

/** A schedule: a value (a learning-rate factor, a momentum) as a function of the step. */
export type Schedule = (step: number) => number;

/** Options of {@link cosineWithWarmup}. */
export interface CosineWithWarmupOptions {
  /** The peak value, reached at the end of warmup. */
  baseLr: number;
  /** Steps of linear warmup from 0 (0: no warmup). */
  warmupSteps: number;
  /** The step at which the cosine reaches `minLr`; later steps stay at `minLr`. */
  totalSteps: number;
  /** The floor of the cosine (default 0). */
  minLr?: number;
}

/**
 * Linear warmup, then cosine decay (SimCLR, BYOL, MoCo v3; Goyal et al. 2017 for the warmup,
 * Loshchilov & Hutter 2017 "SGDR" for the cosine):
 *
 *   lr(t) = baseLr · t / warmup                                               t < warmup
 *   lr(t) = minLr + (baseLr − minLr) · ½ (1 + cos(π (t − warmup) / (T − warmup)))   warmup ≤ t ≤ T
 *   lr(t) = minLr                                                             t > T
 *
 * With minLr = 0 this is, operation for operation, the formula of spec/fixtures/optim.json
 * (`cosineWarmupSchedule`). t counts optimizer steps from 0: lr(0) = 0 during warmup, so the very
 * first step does nothing, as in the reference implementations. With baseLr = 1 the values are
 * factors, for `LambdaLR` (which multiplies them by each group's own lr).
 */
export function cosineWithWarmup(options: CosineWithWarmupOptions): Schedule {
  checkOptions("cosineWithWarmup", options, { baseLr: true, warmupSteps: true, totalSteps: true, minLr: true });
  const { baseLr, warmupSteps, totalSteps, minLr = 0 } = options ?? ({} as CosineWithWarmupOptions);
  if (typeof baseLr !== "number" || !Number.isFinite(baseLr)) {
    throw new Error(`cosineWithWarmup: baseLr must be a finite number, got ${String(baseLr)}`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(`cosineWithWarmup: warmupSteps must be an integer ≥ 0, got ${String(warmupSteps)}`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) {
    throw new Error(`cosineWithWarmup: totalSteps must be an integer > warmupSteps (${warmupSteps}), got ${String(totalSteps)}`);
  }
  if (typeof minLr !== "number" || !Number.isFinite(minLr)) {
    throw new Error(`cosineWithWarmup: minLr must be a finite number, got ${String(minLr)}`);
  }
  return (t: number): number => {
    if (!(t >= 0)) throw new Error(`cosineWithWarmup: step must be ≥ 0, got ${t}`);
    if (t < warmupSteps) return (baseLr * t) / warmupSteps;
    const decayStep = Math.min(t, totalSteps) - warmupSteps;
    return minLr + (baseLr - minLr) * 0.5 * (1 + Math.cos((Math.PI * decayStep) / (totalSteps - warmupSteps)));
  };
}

/** Options of {@link cosineMomentum}. */
export interface CosineMomentumOptions {
  /** τ₀, the momentum at step 0 (BYOL: 0.996 for 1000 epochs, 0.99 for short runs). */
  base: number;
  /** K, the step at which τ reaches 1; later steps stay at 1. */
  totalSteps: number;
}

/**
 * BYOL's target-network momentum, rising from τ₀ to 1 along a cosine:
 *
 *   τ_k = 1 − (1 − τ₀) · (cos(π k / K) + 1) / 2        (k clamped to K)
 *
 * τ_0 = τ₀ and τ_K = 1 exactly. Source: Grill et al. 2020, "Bootstrap Your Own Latent", §3.2;
 * deepmind-research/byol/utils/schedules.py `target_ema`.
 */
export function cosineMomentum(options: CosineMomentumOptions): Schedule {
  checkOptions("cosineMomentum", options, { base: true, totalSteps: true });
  const { base, totalSteps } = options ?? ({} as CosineMomentumOptions);
  if (typeof base !== "number" || !(base >= 0 && base <= 1)) throw new Error(`cosineMomentum: base must be in [0, 1], got ${String(base)}`);
  if (!Number.isInteger(totalSteps) || totalSteps <= 0) {
    throw new Error(`cosineMomentum: totalSteps must be a positive integer, got ${String(totalSteps)}`);
  }
  return (k: number): number => {
    if (!(k >= 0)) throw new Error(`cosineMomentum: step must be ≥ 0, got ${k}`);
    const clamped = Math.min(k, totalSteps);
    return 1 - ((1 - base) * (Math.cos((Math.PI * clamped) / totalSteps) + 1)) / 2;
  };
}

/** A constant momentum m at every step (MoCo: m = 0.999, or 0.99 for short runs). */
export function constantMomentum(m: number): Schedule {
  if (typeof m !== "number" || !(m >= 0 && m <= 1)) throw new Error(`constantMomentum: m must be in [0, 1], got ${String(m)}`);
  return () => m;
}

/**
 * Sets every group's learning rate to its initial lr times a factor (PyTorch:
 * torch.optim.lr_scheduler.LambdaLR, same call order):
 *
 *   lr_g(t) = initialLr_g · factor(t)
 *
 * Construction applies factor(0) (so create it before the first `optimizer.step()`); then call
 * `scheduler.step()` after each `optimizer.step()`. The initial lr of each group is remembered in
 * the group as `initialLr` (PyTorch: `initial_lr`). For a cosine with warmup:
 *
 *   const optimizer = new SGD(params, { lr: 0.1 });
 *   const scheduler = new LambdaLR(optimizer, cosineWithWarmup({ baseLr: 1, warmupSteps: 10, totalSteps: 1000 }));
 *   for (…) { …; optimizer.step(); scheduler.step(); }
 */
export class LambdaLR {
  /** The optimizer whose groups' lr it sets. */
  readonly optimizer: Optimizer<{
    /** The learning rate it sets. */
    lr: number;
  }>;
  /** The factor lr_g(t) = initialLr_g · factor(t). */
  readonly factor: Schedule;
  /** The learning rate each group started from. */
  readonly baseLrs: number[];
  /** The step whose lr is currently set (0 right after construction; PyTorch: `last_epoch`). */
  lastEpoch: number;

  /**
   * Attach a schedule to `optimizer`; a fresh start (lastEpoch −1) sets every group's lr to initialLr · factor(0).
   *
   * @param optimizer the optimizer to schedule.
   * @param factor the schedule, step → factor.
   * @param lastEpoch −1 (default) to start; a saved value to resume.
   */
  constructor(optimizer: Optimizer<{ lr: number }>, factor: Schedule, lastEpoch = -1) {
    if (typeof factor !== "function") throw new Error("LambdaLR: factor must be a function (step) => number");
    this.optimizer = optimizer;
    this.factor = factor;
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups) if (group.initialLr === undefined) group.initialLr = group.lr;
    } else {
      optimizer.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) {
          throw new Error(
            `LambdaLR: param group ${i} has no initialLr; resuming (lastEpoch ≠ -1) needs the optimizer state it was saved with`,
          );
        }
      });
    }
    this.baseLrs = optimizer.paramGroups.map((group) => group.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** Advance one step and set every group's lr. */
  step(): void {
    this.lastEpoch += 1;
    const factor = this.factor(this.lastEpoch);
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = this.baseLrs[i] * factor;
    });
  }

  /** The lr of each group as last set (PyTorch: `get_last_lr()`). */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** The resumable state: the current step and the base learning rates. PyTorch: `scheduler.state_dict()`. */
  stateDict(): {
    /** The step whose lr is set. */
    lastEpoch: number;
    /** Each group's initial lr. */
    baseLrs: number[];
  } {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice() };
  }

  /** Restore the step counter and set the lrs of that step. */
  loadStateDict(state: {
    /** The step whose lr is set. */
    lastEpoch: number;
    /** Each group's initial lr. */
    baseLrs?: number[];
  }): void {
    if (!state || !Number.isInteger(state.lastEpoch) || state.lastEpoch < 0) {
      throw new Error(`LambdaLR.loadStateDict: lastEpoch must be an integer ≥ 0, got ${String(state?.lastEpoch)}`);
    }
    if (state.baseLrs !== undefined) {
      if (state.baseLrs.length !== this.baseLrs.length) {
        throw new Error(`LambdaLR.loadStateDict: ${state.baseLrs.length} base lrs for ${this.baseLrs.length} param groups`);
      }
      this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    }
    this.lastEpoch = state.lastEpoch - 1;
    this.step();
  }
}
