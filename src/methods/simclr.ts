/**
 * SimCLR (Chen, Kornblith, Norouzi & Hinton, 2020, "A Simple Framework for Contrastive Learning of
 * Visual Representations"): chapter section 7.4, "Method 1".
 *
 *   x ─ aug₁ → x₁ ─ f → h₁ ─ g → z₁ ┐
 *     └ aug₂ → x₂ ─ f → h₂ ─ g → z₂ ┴─ NT-Xent(z₁, z₂; τ)
 *
 *   f: the encoder (kept for evaluation)      g: projection head MLP 256 → 256 → BN → ReLU → 128
 *   L = NT-Xent over the 2N views: the positive of view i is its twin, the 2N − 2 other views of
 *       the batch are its negatives (src/losses/nt-xent.ts).
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 128) → the loss normalizes z itself.
 * Hyperparameters here: τ = 0.5 (SimCLR's best for small batches with an MLP head), batch 256, Adam
 * lr 3e-3 with warmup and cosine decay (20 epochs are only 620 steps). The chapter's template uses τ = 0.07 with the wrong labels;
 * see docs/errata.md.
 *
 * PyTorch/lightly: `lightly.models.modules.SimCLRProjectionHead`, `lightly.loss.NTXentLoss`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { ntXent } from "../losses/nt-xent.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link SimCLR}. */
export interface SimCLROptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** NT-Xent's τ (default 0.5). */
  temperature?: number;
  /** The projection size (default 128). */
  projectionDim?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * SimCLR: two augmented views per image through encoder f and projection head g, trained with {@link ntXent} over the 2N views. Views (N,
 * 1, 28, 28) → h (N, 256) → z (N, 128). PyTorch/lightly: `SimCLRProjectionHead` + `NTXentLoss`.
 */
export class SimCLR extends Module implements ContrastiveMethod<TwoViewBatch> {
  /** `"simclr"`. */
  readonly methodName = "simclr" as const;
  readonly encoder: Sequential;
  /** The projection head g, MLP 256 → 256 → BN → ReLU → projectionDim. */
  readonly projector: MLP;
  /** NT-Xent's τ. */
  readonly temperature: number;

  /**
   * Build the encoder and the projection head.
   *
   * @param options encoder, temperature, projectionDim, generator.
   */
  constructor(options: SimCLROptions) {
    super();
    checkOptions("SimCLR", options, { encoder: true, temperature: true, projectionDim: true, generator: true });
    this.temperature = options.temperature ?? 0.5;
    this.encoder = this.registerModule("encoder", imageEncoder(options.encoder ?? "mlp", options.generator));
    this.projector = this.registerModule(
      "projector",
      new MLP([FEATURE_DIM, FEATURE_DIM, options.projectionDim ?? 128], { batchNorm: true, generator: options.generator }),
    );
  }

  /** z = g(f(x)) for a batch of images (B, 1, 28, 28) → (B, 128). */
  forward(images: Tensor): Tensor {
    return this.projector.forward(this.encoder.forward(images));
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const z1 = this.forward(imageTensor(batch.view1, batch.batchSize)); // (N, 128)
    const z2 = this.forward(imageTensor(batch.view2, batch.batchSize)); // (N, 128)
    return ntXent(z1, z2, { temperature: this.temperature });
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  afterOptimizerStep(): void {}

  progressExtra() {
    return { label: "τ", value: this.temperature };
  }
}
