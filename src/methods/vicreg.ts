/**
 * VICReg (Bardes, Ponce & LeCun, ICLR 2022, "VICReg: Variance-Invariance-Covariance
 * Regularization for Self-Supervised Learning"): redundancy reduction, no negatives, no predictor,
 * no momentum encoder.
 *
 *   x ─ aug₁ → x₁ ─ f → h₁ ─ g → z₁ ┐
 *     └ aug₂ → x₂ ─ f → h₂ ─ g → z₂ ┴─ L = 25·s(z₁, z₂) + 25·½[v(z₁) + v(z₂)] + 1·[c(z₁) + c(z₂)]
 *
 *   f: the encoder (kept for evaluation)   g: the expander MLP 256 → 512 → BN → ReLU → 512 → BN → ReLU → 512
 *   s: MSE between the views; v: hinge on each dimension's std (≥ 1); c: off-diagonal covariance²
 *   (src/losses/vicreg-loss.ts). Both branches share f and g, and both receive the gradient.
 *
 * What avoids collapse: the variance hinge (no dimension may shrink below std 1 over the batch) and
 * the covariance term (dimensions may not copy each other). The expander's output is not
 * normalized: its scale is what the variance term controls.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 512).
 * PyTorch: facebookresearch/vicreg main_vicreg.py (`Projector`, "8192-8192-8192" there);
 * lightly `VICRegProjectionHead`, `VICRegLoss`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { vicregTerms } from "../losses/vicreg-loss.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of the VICReg method (all but the generator optional). */
export interface VICRegOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** The expander's hidden and output width (default 512). */
  expanderDim?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** VICReg on MNIST: encoder, expander, and the variance-invariance-covariance loss. */
export class VICReg extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "vicreg" as const;
  readonly encoder: Sequential;
  /** The expander g, MLP 256 → expanderDim → expanderDim → expanderDim (BN and ReLU between; the official `Projector`). */
  readonly expander: MLP;
  /** The last batch's variance term ½[v(z₁) + v(z₂)] (0 when every dimension's std ≥ 1), for the progress bar. */
  lastVariance = Number.NaN;

  /** Builds the encoder and the expander from {@link VICRegOptions}. */
  constructor(options: VICRegOptions) {
    super();
    checkOptions("VICReg", options, { encoder: true, expanderDim: true, generator: true });
    const width = options.expanderDim ?? 512;
    this.encoder = this.registerModule("encoder", imageEncoder(options.encoder ?? "mlp", options.generator));
    this.expander = this.registerModule(
      "expander",
      new MLP([FEATURE_DIM, width, width, width], { batchNorm: true, generator: options.generator }),
    );
  }

  /** z = g(f(x)) for a batch of images (B, 1, 28, 28) → (B, 512). */
  forward(images: Tensor): Tensor {
    return this.expander.forward(this.encoder.forward(images));
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const z1 = this.forward(imageTensor(batch.view1, batch.batchSize)); // (N, 512)
    const z2 = this.forward(imageTensor(batch.view2, batch.batchSize)); // (N, 512)
    const terms = vicregTerms(z1, z2);
    this.lastVariance = terms.variance.item();
    return terms.loss;
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  afterOptimizerStep(): void {}

  progressExtra() {
    return { label: "var", value: this.lastVariance };
  }
}
