/**
 * Barlow Twins (Zbontar, Jing, Misra, LeCun & Deny, 2021, "Barlow Twins: Self-Supervised Learning
 * via Redundancy Reduction"): two views through one network, and a loss on the cross-correlation
 * of their embeddings — no negatives, no predictor, no momentum encoder, no stop-gradient.
 *
 *   x ─ aug₁ → x₁ ─ f → h₁ ─ g → z₁ ┐
 *     └ aug₂ → x₂ ─ f → h₂ ─ g → z₂ ┴─ Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²   (src/losses/barlow-twins-loss.ts)
 *
 *   f: the encoder (kept for evaluation)
 *   g: projector Linear 256 → 512 → BN → ReLU → Linear 512 → BN → ReLU → Linear 512
 *
 * The projector, scaled to MNIST: the paper's is three linear layers of 8192 (BN and ReLU after
 * the first two, none after the last: the loss batch-normalizes) on 2048-dimensional ResNet-50
 * features, 4× the feature width. Here the same three layers at 512, 2× the 256 features: the
 * paper shows accuracy rising with the projector's width, but at 4× (1024) the projector would
 * cost 4× the encoder per step on a 2-core machine. λ = 5·10⁻³ (the paper's), AdamW lr 1e-3 with
 * one epoch of warmup and a cosine decay (the paper's LARS schedule needs far larger batches).
 * What keeps it from collapsing is the off-diagonal term (decorrelation): a constant embedding has
 * zero variance, so its standardized C cannot reach the identity.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 512) → C (512, 512).
 *
 * PyTorch: facebookresearch/barlowtwins `BarlowTwins`; lightly `BarlowTwinsProjectionHead`,
 * `BarlowTwinsLoss`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { barlowTwinsLoss } from "../losses/barlow-twins-loss.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of the Barlow Twins method. */
export interface BarlowTwinsOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** Width of the projector's three layers, default 512. */
  projectionDim?: number;
  /** λ, default 5·10⁻³. */
  lambda?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** Barlow Twins: encoder + a three-layer projector trained to make the views' cross-correlation the identity. */
export class BarlowTwins extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "barlow" as const;
  readonly encoder: Sequential;
  /** The projector g, MLP 256 → projectionDim → projectionDim → projectionDim, BN and ReLU between (barlowtwins `projector`). */
  readonly projector: MLP;
  /** λ, the weight of the off-diagonal (redundancy) term of {@link barlowTwinsLoss} (default 5·10⁻³). */
  readonly lambda: number;

  /** Builds the encoder and the three-layer projector from {@link BarlowTwinsOptions}. */
  constructor(options: BarlowTwinsOptions) {
    super();
    checkOptions("BarlowTwins", options, { encoder: true, projectionDim: true, lambda: true, generator: true });
    this.lambda = options.lambda ?? 5e-3;
    const width = options.projectionDim ?? 512;
    this.encoder = this.registerModule("encoder", imageEncoder(options.encoder ?? "mlp", options.generator));
    this.projector = this.registerModule(
      "projector",
      new MLP([FEATURE_DIM, width, width, width], { batchNorm: true, generator: options.generator }),
    );
  }

  /** z = g(f(x)) for a batch of images (B, 1, 28, 28) → (B, 512). */
  forward(images: Tensor): Tensor {
    return this.projector.forward(this.encoder.forward(images));
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const z1 = this.forward(imageTensor(batch.view1, batch.batchSize)); // (N, 512)
    const z2 = this.forward(imageTensor(batch.view2, batch.batchSize)); // (N, 512)
    return barlowTwinsLoss(z1, z2, { lambda: this.lambda });
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  afterOptimizerStep(): void {}

  progressExtra() {
    return null;
  }
}
