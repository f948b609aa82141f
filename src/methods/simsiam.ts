/**
 * SimSiam (Chen & He, CVPR 2021, "Exploring Simple Siamese Representation Learning"): a predictor
 * and a stop-gradient, no negatives and no momentum encoder.
 *
 *   x ─ aug₁ → x₁ ─ f → g → z₁ ─ h → p₁
 *     └ aug₂ → x₂ ─ f → g → z₂ ─ h → p₂       L = ½ D(p₁, sg(z₂)) + ½ D(p₂, sg(z₁)),  D = −cos
 *
 *   f: the encoder (kept for evaluation)
 *   g: projector 256 → 512 → BN → ReLU → 128 → BN (the output BN as the paper's, §4.4)
 *   h: predictor 128 → 64 → BN → ReLU → 128 (a bottleneck, as the paper's 2048 → 512 → 2048)
 *   src/losses/simsiam-loss.ts; the two branches share every weight.
 *
 * What avoids collapse: the stop-gradient (the paper's Fig. 2: without it the output collapses to
 * a constant at once) together with the predictor (without h, or with h fixed to the identity,
 * the loss again collapses: Table 1). BN in the heads helps optimization (Table 2).
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 128) → p (N, 128).
 * PyTorch: facebookresearch/simsiam simsiam/builder.py (`SimSiam`), main_simsiam.py;
 * lightly `SimSiamProjectionHead`, `SimSiamPredictionHead`, `NegativeCosineSimilarity`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { simsiamLoss } from "../losses/simsiam-loss.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";
import { normalize } from "../ops/functional.js";
import { noGrad } from "../autograd/tape.js";

/** Options of the SimSiam method (all but the generator optional). */
export interface SimSiamOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** The projection size, the projector's output and the predictor's input and output (default 128). */
  projectionDim?: number;
  /** The predictor's bottleneck width (default 64). */
  predictorHiddenDim?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** SimSiam on MNIST: encoder, projector, predictor and the symmetric negative cosine with stop-gradient. */
export class SimSiam extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "simsiam" as const;
  readonly encoder: Sequential;
  /** The projector g, MLP 256 → 512 → BN → ReLU → projectionDim → BN (the official `projector`). */
  readonly projector: MLP;
  /** The predictor h, MLP projectionDim → predictorHiddenDim → BN → ReLU → projectionDim (the official `predictor`). */
  readonly predictor: MLP;
  /**
   * The last batch's std of the normalized projections ẑ, averaged over the dimensions: 1/√D when
   * the outputs spread over the sphere, 0 when they collapse (the paper's Fig. 2 middle panel).
   */
  lastOutputStd = Number.NaN;

  /** Builds the encoder, the projector and the predictor from {@link SimSiamOptions}. */
  constructor(options: SimSiamOptions) {
    super();
    checkOptions("SimSiam", options, { encoder: true, projectionDim: true, predictorHiddenDim: true, generator: true });
    const g = options.generator;
    const dim = options.projectionDim ?? 128;
    this.encoder = this.registerModule("encoder", imageEncoder(options.encoder ?? "mlp", g));
    this.projector = this.registerModule(
      "projector",
      new MLP([FEATURE_DIM, 512, dim], { batchNorm: true, lastBatchNorm: true, generator: g }),
    );
    this.predictor = this.registerModule(
      "predictor",
      new MLP([dim, options.predictorHiddenDim ?? 64, dim], { batchNorm: true, generator: g }),
    );
  }

  /** The encoder's features h = f(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const n = batch.batchSize;
    const z1 = this.projector.forward(this.encoder.forward(imageTensor(batch.view1, n))); // (N, 128)
    const z2 = this.projector.forward(this.encoder.forward(imageTensor(batch.view2, n))); // (N, 128)
    const p1 = this.predictor.forward(z1); // (N, 128)
    const p2 = this.predictor.forward(z2); // (N, 128)
    this.lastOutputStd = noGrad(() => normalize(z1).std(0).mean().item());
    return simsiamLoss(p1, p2, z1, z2); // the loss detaches z1, z2
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  afterOptimizerStep(): void {}

  progressExtra() {
    return { label: "std(ẑ)", value: this.lastOutputStd };
  }
}
