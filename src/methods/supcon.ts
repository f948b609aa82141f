/**
 * SupCon (Khosla et al., 2020, "Supervised Contrastive Learning"): SimCLR's architecture with the
 * labels deciding the positives — every view of every image of the same digit.
 *
 *   x ─ aug₁ → x₁ ─ f → h₁ ─ g → z₁ ┐
 *     └ aug₂ → x₂ ─ f → h₂ ─ g → z₂ ┴─ L_out(stack(z₁, z₂), y; τ)      (src/losses/supcon-loss.ts)
 *
 *   f: the encoder (kept for evaluation)     g: projection head MLP 256 → 256 → BN → ReLU → 128
 *
 * It sees the labels, so its linear probe is the supervised reference the self-supervised
 * methods are measured against (not a self-supervised result). The paper's recipe trains the
 * encoder with this loss, then a linear classifier on the frozen features: exactly what the
 * evaluation here does.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 128) → features (N, 2, 128), labels (N).
 * Hyperparameters: τ = 0.1 (the paper's), batch 256, AdamW lr 1e-3, 50 epochs; τ_base = τ.
 *
 * PyTorch: HobbitLong/SupContrast, `SupConLoss` and `SupConResNet`'s MLP head.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { stack } from "../ops/indexing.js";
import { supConLoss } from "../losses/supcon-loss.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of the SupCon method. */
export interface SupConOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** τ, default 0.1. */
  temperature?: number;
  /** The projection size (default 128). */
  projectionDim?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** SupCon: encoder + projection head trained with the supervised contrastive loss on two views. */
export class SupCon extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "supcon" as const;
  readonly encoder: Sequential;
  /** The projection head g, MLP 256 → 256 → BN → ReLU → projectionDim (SupContrast's `SupConResNet` head). */
  readonly projector: MLP;
  /** τ of {@link supConLoss} (default 0.1; τ_base = τ). */
  readonly temperature: number;

  /** Builds the encoder and the projection head from {@link SupConOptions}. */
  constructor(options: SupConOptions) {
    super();
    checkOptions("SupCon", options, { encoder: true, temperature: true, projectionDim: true, generator: true });
    this.temperature = options.temperature ?? 0.1;
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
    return supConLoss(stack([z1, z2], 1), batch.labels, { temperature: this.temperature }); // features (N, 2, 128)
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  afterOptimizerStep(): void {}

  progressExtra() {
    return { label: "τ", value: this.temperature };
  }
}
