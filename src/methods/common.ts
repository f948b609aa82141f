/**
 * What the four methods share: the MNIST image encoder, the method interface the trainer drives,
 * and the helper that turns images into frozen features for evaluation.
 *
 * The encoder f is the representation that evaluation reads (the chapter's h = f(x), section 7.4);
 * every method adds heads on top of it for training only (projector g, predictor q, text tower).
 *
 *   mlp encoder    x (B, 1, 28, 28) → flatten (B, 784) → Linear 512 → ReLU → Linear 256 → h (B, 256)
 *   conv encoder   x → Conv 32 (3×3, pad 1) → BN → ReLU → MaxPool 2 → Conv 64 → BN → ReLU → MaxPool 2
 *                    → flatten (B, 64·7·7) → Linear 256 → h (B, 256)
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import { Sequential, type TensorModule } from "../nn/container.js";
import { Linear } from "../nn/linear.js";
import { ReLU } from "../nn/activation.js";
import { Flatten } from "../nn/flatten.js";
import { Conv2d } from "../nn/conv.js";
import { BatchNorm2d } from "../nn/batchnorm.js";
import { MaxPool2d } from "../nn/pooling.js";
import type { TwoViewBatch, ImageCaptionBatch } from "../data/loader.js";
import { IMAGE_PIXELS, IMAGE_SIDE } from "../data/mnist.js";

/** The built-in image encoders: `"mlp"` (784 → 512 → 256) or `"conv"` (two conv–BN–ReLU–pool blocks, then Linear to 256). */
export type EncoderKind = "mlp" | "conv";
/** D = 256, the size of every encoder's output features h. */
export const FEATURE_DIM = 256;

/**
 * A fresh image encoder f: (B, 1, 28, 28) → (B, {@link FEATURE_DIM}), a Sequential with PyTorch's state-dict keys.
 * @param kind `"mlp"` or `"conv"`.
 * @param generator the seeded generator of the init.
 */
export function imageEncoder(kind: EncoderKind, generator: Generator): Sequential {
  if (kind === "mlp") {
    return new Sequential(
      new Flatten(), // (B, 784)
      new Linear(IMAGE_PIXELS, 512, { generator }), // (B, 512)
      new ReLU(),
      new Linear(512, FEATURE_DIM, { generator }), // (B, 256)
    );
  }
  if (kind === "conv") {
    return new Sequential(
      new Conv2d(1, 32, 3, { padding: 1, generator }), // (B, 32, 28, 28)
      new BatchNorm2d(32),
      new ReLU(),
      new MaxPool2d(2), // (B, 32, 14, 14)
      new Conv2d(32, 64, 3, { padding: 1, generator }), // (B, 64, 14, 14)
      new BatchNorm2d(64),
      new ReLU(),
      new MaxPool2d(2), // (B, 64, 7, 7)
      new Flatten(), // (B, 3136)
      new Linear(64 * 7 * 7, FEATURE_DIM, { generator }), // (B, 256)
    );
  }
  throw new Error(`imageEncoder: unknown encoder kind '${String(kind)}' (mlp or conv)`);
}

/** Wrap a flat batch of images as the (B, 1, 28, 28) tensor the encoders read. */
export function imageTensor(pixels: Float32Array, batchSize: number): Tensor {
  return Tensor.fromTypedArray(pixels, [batchSize, 1, IMAGE_SIDE, IMAGE_SIDE]); // (B, 1, 28, 28)
}

/** What the trainer needs from a method. */
export interface ContrastiveMethod<Batch = TwoViewBatch | ImageCaptionBatch> extends Module {
  /** Which method this is (`"simclr"`, `"moco"`, …), as saved in checkpoints. */
  readonly methodName: MethodName;
  /** The representation evaluated by the linear probe and kNN. */
  readonly encoder: ImageEncoder;
  /** The loss of one batch, recorded on the tape. */
  trainingLoss(batch: Batch): Tensor;
  /** The parameters the optimizer updates (targets and key encoders are excluded). */
  trainableParameters(): [string, Parameter][];
  /** Work after each optimizer step (EMA targets, the logit-scale clamp); `step` counts from 1. */
  afterOptimizerStep(step: number, totalSteps: number): void;
  /** One number to show in the progress bar (temperature or logit scale), or null. */
  progressExtra(): {
    /** Its short name on the progress line. */
    label: string;
    /** Its current value. */
    value: number;
  } | null;
}

/** The names of the training methods, as the CLI and checkpoints spell them. */
export type MethodName = "simclr" | "moco" | "byol" | "clip";

/** Any module that maps images (B, 1, 28, 28) to features (B, D). */
export type ImageEncoder = TensorModule;

/**
 * Trainable (requiresGrad) parameters of `module`, under their dotted names.
 * PyTorch: `[(n, p) for n, p in m.named_parameters() if p.requires_grad]`.
 */
export function trainableOf(module: Module, prefix = ""): [string, Parameter][] {
  return [...module.namedParameters()].filter(([, p]) => p.requiresGrad).map((
    [name, p],
  ) => [prefix === "" ? name : `${prefix}.${name}`, p]);
}

/**
 * A deep copy of a module's values into a freshly built twin (used for EMA targets and key encoders).
 * PyTorch: `copy.deepcopy(module)` (here into a twin built with the same constructor).
 */
export function copyWeights<M extends Module>(source: Module, twin: M): M {
  twin.loadStateDict(source.stateDict());
  twin.requiresGrad_(false);
  return twin;
}
