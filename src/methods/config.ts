/**
 * A training run's settings (`TrainConfig`, with each method's defaults and the checks of every
 * value) and its progress (`TrainState`): what a checkpoint stores as its `config` and
 * `trainState` metadata. The training loop is src/methods/trainer.ts; the checks of a saved
 * config and state are src/methods/checkpoint-schema.ts.
 *
 * @module
 */
import type { EncoderKind, MethodName } from "./common.js";
import type { ClipImageTower, ClipTextTower } from "./clip.js";
import { checkOptions } from "../tensor/options.js";
import { FLOAT32_MAX } from "../losses/checks.js";

/** Every training method, in the order the CLI lists them. */
export const METHOD_NAMES: readonly MethodName[] = [
  "simclr",
  "moco",
  "byol",
  "clip",
  "supcon",
  "barlow",
  "vicreg",
  "simsiam",
  "dino",
  "swav",
];

/**
 * The loss variants `--loss` selects: SimCLR's NT-Xent (default) or DCL / DCLW (src/losses/dcl-loss.ts),
 * CLIP's softmax loss (default) or SigLIP's sigmoid loss (src/losses/siglip-loss.ts).
 */
export const LOSS_VARIANTS = { simclr: ["ntxent", "dcl", "dclw"], clip: ["clip", "siglip"] } as const;
/** Every name `--loss` accepts. */
export const LOSS_NAMES = ["ntxent", "dcl", "dclw", "clip", "siglip"] as const;
/** A loss variant: ntxent | dcl | dclw (SimCLR), clip | siglip (CLIP). */
export type LossName = (typeof LOSS_NAMES)[number];

/** Everything a training run is made from (the CLI's flags); {@link defaultConfig} fills the defaults per method. */
export interface TrainConfig {
  /** The method to train. */
  method: MethodName;
  /** Passes over the training split. */
  epochs: number;
  /** Images (or image–caption pairs) per step. */
  batchSize: number;
  /** AdamW's peak learning rate (after warmup, before the cosine decay). */
  lr: number;
  /** τ for SimCLR and MoCo; CLIP's initial τ (then learned). Defaults per method. */
  temperature?: number;
  /** The seed of every generator of the run (init, order, augmentations). */
  seed: number;
  /** The image encoder of SimCLR, MoCo and BYOL (default `"mlp"`). */
  encoder: EncoderKind;
  /** CLIP only. */
  imageTower?: ClipImageTower;
  /** CLIP only: the text tower. */
  textTower?: ClipTextTower;
  /** AdamW's decoupled weight decay λ on the weight matrices (`--wd`; none on biases, norms, CLIP's logit scale). */
  weightDecay: number;
  /** Warmup as a number of epochs (may be fractional; `--warmup-epochs`). Ignored when `warmupSteps` is set. */
  warmupEpochs: number;
  /** Warmup as a number of optimizer steps (`--warmup`, open_clip's unit); when set, it wins over `warmupEpochs`. */
  warmupSteps?: number;
  /**
   * Clip the global 2-norm of the gradients to this before every optimizer step (`--grad-clip-norm`,
   * torch.nn.utils.clip_grad_norm_); unset: no clipping, as in open_clip.
   */
  gradClipNorm?: number;
  /** Train on n training images spread evenly over the classes (tiny budgets, specs); 0 = all 7,996. */
  trainLimit: number;
  /** MoCo's queue length K (a multiple of the batch size; of twice the batch size when the loss is symmetric). */
  queueSize?: number;
  /**
   * MoCo: the symmetrized loss ½[L(q₁, k₂) + L(q₂, k₁)] (default true; docs/methods.md says why), or,
   * with false, MoCo v2's one-sided L(q₁, k₂).
   */
  symmetricLoss?: boolean;
  /** SimCLR: ntxent (default), dcl or dclw; CLIP: clip (default) or siglip. Other methods: none. */
  loss?: LossName;
}

/** The keys of a TrainConfig, for checkOptions (src/tensor/options.ts). */
export const TRAIN_CONFIG_KEYS = {
  method: true,
  epochs: true,
  batchSize: true,
  lr: true,
  temperature: true,
  seed: true,
  encoder: true,
  imageTower: true,
  textTower: true,
  weightDecay: true,
  warmupEpochs: true,
  warmupSteps: true,
  gradClipNorm: true,
  trainLimit: true,
  queueSize: true,
  symmetricLoss: true,
  loss: true,
} as const;

/** The default τ of each method (BYOL has none: 0). */
export const DEFAULT_TEMPERATURE: Record<MethodName, number> = {
  simclr: 0.5,
  moco: 0.2,
  byol: 0,
  clip: 0.07,
  supcon: 0.1, // SupCon's τ (Khosla et al. use 0.1; τ_base = τ by default)
  barlow: 0, // no temperature
  vicreg: 0, // no temperature
  simsiam: 0, // no temperature
  dino: 0.1, // the student's τ_s (the teacher's τ_t = 0.04 is fixed)
  swav: 0.1, // the swapped prediction's τ
};
/** SigLIP starts at t′ = log 10, i.e. τ₀ = 1/10 (Zhai et al. 2023), where CLIP starts at 0.07. */
const SIGLIP_DEFAULT_TEMPERATURE = 0.1;

/** The methods whose loss has no temperature: their config has none. */
const WITHOUT_TEMPERATURE: readonly MethodName[] = ["byol", "barlow", "vicreg", "simsiam"];

/**
 * The default configuration of `method` (epochs, batch size, lr, τ, …), with `overrides` applied.
 * @param overrides fields that replace the defaults (checked by name).
 */
export function defaultConfig(method: MethodName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  checkOptions("defaultConfig", overrides, TRAIN_CONFIG_KEYS);
  const base: TrainConfig = {
    method,
    epochs: method === "simclr" || method === "clip" ? 20 : 50,
    // MoCo's negatives come from the queue, not the batch: a smaller batch costs it no negatives
    // and gives twice the steps an epoch (docs/methods.md). SimSiam and Barlow Twins have no
    // negatives at all; at batch 256 both stopped at 94.41% linear probe on seed 1 (50 epochs), at
    // 128 (twice the steps) they reach 95.61% and 95.71% (docs/methods.md, "Every method side by side").
    batchSize: method === "moco" || method === "simsiam" || method === "barlow" ? 128 : 256,
    lr: method === "clip" ? 2e-3 : method === "simclr" ? 3e-3 : 1e-3,
    seed: 0,
    encoder: "mlp",
    weightDecay: method === "clip" ? 0.1 : 1e-6,
    warmupEpochs: 1,
    trainLimit: 0,
  };
  const config = { ...base, ...overrides };
  if (config.temperature === undefined && !WITHOUT_TEMPERATURE.includes(method)) {
    config.temperature = method === "clip" && config.loss === "siglip" ? SIGLIP_DEFAULT_TEMPERATURE : DEFAULT_TEMPERATURE[method];
  }
  return config;
}

/** The progress of a run: what a checkpoint stores besides the weights. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** The mean loss of each completed epoch. */
  lossPerEpoch: number[];
  /** The loss of every step. */
  lossPerStep: number[];
  /** Training time so far, in seconds. */
  wallSeconds: number;
}

/**
 * The schedule's warmup in optimizer steps: `warmupSteps` when set (`--warmup`), else
 * round(warmupEpochs · stepsPerEpoch); at most totalSteps − 1, so that the cosine has a step to decay over.
 */
export function warmupStepsOf(config: TrainConfig, stepsPerEpoch: number, totalSteps: number): number {
  const steps = config.warmupSteps ?? Math.round(config.warmupEpochs * stepsPerEpoch);
  return Math.max(0, Math.min(steps, totalSteps - 1));
}

/** MoCo's loss is symmetrized unless the config says otherwise. */
export function mocoSymmetric(config: TrainConfig): boolean {
  return config.symmetricLoss ?? true;
}

/** The keys one MoCo step enqueues: N, or 2N with the symmetrized loss. */
export function mocoKeysPerStep(config: TrainConfig): number {
  return mocoSymmetric(config) ? 2 * config.batchSize : config.batchSize;
}

/** Throw a one-line error naming the flag when a config value is out of range (e.g. "train: --epochs must be a positive integer"). */
export function validateConfig(config: TrainConfig): void {
  checkOptions("validateConfig", config, TRAIN_CONFIG_KEYS);
  const fail = (message: string): never => {
    throw new Error(`train: ${message}`);
  };
  if (!METHOD_NAMES.includes(config.method)) fail(`unknown method '${config.method}' (one of ${METHOD_NAMES.join(", ")})`);
  if (!(Number.isInteger(config.epochs) && config.epochs >= 1)) fail(`--epochs must be a positive integer, got ${config.epochs}`);
  if (!(Number.isInteger(config.batchSize) && config.batchSize >= 2)) fail(`--batch-size must be an integer ≥ 2, got ${config.batchSize}`);
  if (!(config.lr > 0 && Number.isFinite(config.lr))) fail(`--lr must be a positive number, got ${config.lr}`);
  if (config.temperature !== undefined && !(config.temperature > 0 && Number.isFinite(config.temperature))) {
    fail(`--temperature must be a positive number, got ${config.temperature}`);
  }
  // The losses refuse this τ too (checkTemperature); here it is found before any training.
  if (config.temperature !== undefined && 1 / config.temperature > FLOAT32_MAX) {
    fail(
      `--temperature ${config.temperature} is too small for float32: the logits scale as 1/τ = ${
        (1 / config.temperature).toExponential(2)
      }, above its largest value ${FLOAT32_MAX.toExponential(2)}; use a larger --temperature (the default is ${
        DEFAULT_TEMPERATURE[config.method]
      })`,
    );
  }
  if (!(config.weightDecay >= 0 && Number.isFinite(config.weightDecay))) fail(`--wd must be a number ≥ 0, got ${config.weightDecay}`);
  if (!(config.warmupEpochs >= 0 && Number.isFinite(config.warmupEpochs))) {
    fail(`--warmup-epochs must be a number ≥ 0, got ${config.warmupEpochs}`);
  }
  if (config.warmupSteps !== undefined && !(Number.isInteger(config.warmupSteps) && config.warmupSteps >= 0)) {
    fail(`--warmup must be a whole number of steps ≥ 0, got ${config.warmupSteps}`);
  }
  if (config.gradClipNorm !== undefined && !(config.gradClipNorm > 0 && Number.isFinite(config.gradClipNorm))) {
    fail(`--grad-clip-norm must be a positive number, got ${config.gradClipNorm}`);
  }
  if (!Number.isInteger(config.seed)) fail(`--seed must be an integer, got ${config.seed}`);
  if (config.encoder !== "mlp" && config.encoder !== "conv") fail(`--encoder must be mlp or conv, got ${config.encoder}`);
  // An option of another method would be silently ignored: refuse it instead.
  const onlyFor: [keyof TrainConfig, string, MethodName][] = [
    ["queueSize", "--queue-size", "moco"],
    ["symmetricLoss", "--moco-loss", "moco"],
    ["imageTower", "--image-tower", "clip"],
    ["textTower", "--text-tower", "clip"],
  ];
  for (const [key, flag, owner] of onlyFor) {
    if (config[key] !== undefined && config.method !== owner) fail(`${flag} applies to ${owner} only (this run is ${config.method})`);
  }
  if (config.loss !== undefined) {
    const variants: readonly string[] = config.method in LOSS_VARIANTS ? LOSS_VARIANTS[config.method as keyof typeof LOSS_VARIANTS] : [];
    if (variants.length === 0) {
      fail(`--loss applies to simclr (${LOSS_VARIANTS.simclr.join("|")}) and clip (${LOSS_VARIANTS.clip.join("|")}) only`);
    }
    if (!variants.includes(config.loss)) {
      fail(`--loss for ${config.method} must be one of ${variants.join(", ")}, got '${String(config.loss)}'`);
    }
  }
  if (config.queueSize !== undefined && !(Number.isInteger(config.queueSize) && config.queueSize >= 1)) {
    fail(`--queue-size must be a positive whole number, got ${config.queueSize}`);
  }
  if (config.method === "moco" && config.queueSize !== undefined && config.queueSize % mocoKeysPerStep(config) !== 0) {
    fail(
      `MoCo queue size ${config.queueSize} must be a multiple of ${
        mocoSymmetric(config) ? "twice " : ""
      }the batch size ${config.batchSize} (${mocoKeysPerStep(config)} keys a step)`,
    );
  }
}
