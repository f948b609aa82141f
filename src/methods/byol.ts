/**
 * BYOL (Grill et al., 2020, "Bootstrap Your Own Latent"): chapter section 7.4, "Method 3".
 *
 *   online:  x₁ ─ f_θ → h ─ g_θ → z ─ q_θ → p₁         target:  x₂ ─ f_ξ → g_ξ → z′₂  (no gradient)
 *   L = ℓ(p₁, z′₂) + ℓ(p₂, z′₁),   ℓ(p, z′) = 2 − 2·cos(p, z′)   (src/losses/byol-loss.ts, batch mean)
 *   ξ ← τ_k ξ + (1 − τ_k) θ,   τ_k = 1 − (1 − τ₀)(cos(πk/K) + 1)/2 rising from τ₀ to 1
 *
 * The chapter writes the loss as ‖h(online(aug1)) − target(aug2)‖²: on L2-normalized vectors
 * ‖p̂ − ẑ‖² = 2 − 2·cos(p, z), the same thing. There are no negatives: what keeps the online
 * network from collapsing to a constant is the asymmetry (the predictor, the stop-gradient, the
 * slowly moving target) — and, on this data, batch norm in the projector and predictor. Without
 * it an MLP version collapsed (loss 0, per-dimension std far below the 1/√D of spread-out
 * embeddings: docs/methods.md, "BYOL", has the run); the collapse monitor in the report shows
 * the difference.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 128) → p (N, 128).
 * PyTorch: lightly `BYOLProjectionHead`, `BYOLPredictionHead`, `NegativeCosineSimilarity`;
 * deepmind-research/byol.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { noGrad } from "../autograd/tape.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { byolLoss } from "../losses/byol-loss.js";
import { emaUpdate } from "../optim/ema.js";
import { cosineMomentum } from "../optim/schedules.js";
import type { TwoViewBatch } from "../data/loader.js";
import { copyWeights, FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link BYOL}. */
export interface BYOLOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** τ₀, the target momentum at step 0. */
  baseMomentum?: number;
  /** The projection size (default 128). */
  projectionDim?: number;
  /** The hidden width of the projector and predictor (default 512). */
  hiddenDim?: number;
  /** Batch norm in the projector and predictor (default true; false reproduces the collapse). */
  batchNorm?: boolean;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * BYOL: an online network (encoder, projector, predictor) regresses the target network's projection of the other view ({@link byolLoss},
 * symmetrized); the target is an EMA of the online network with a cosine-rising momentum. No negatives. PyTorch/lightly:
 * `BYOLProjectionHead`, `BYOLPredictionHead`.
 */
export class BYOL extends Module implements ContrastiveMethod<TwoViewBatch> {
  /** `"byol"`. */
  readonly methodName = "byol" as const;
  readonly encoder: Sequential;
  /** The online projector g_θ, MLP 256 → hidden → projectionDim. */
  readonly projector: MLP;
  /** The online predictor q_θ, MLP projectionDim → hidden → projectionDim. */
  readonly predictor: MLP;
  /** The target encoder f_ξ, an EMA of `encoder`. */
  readonly targetEncoder: Sequential;
  /** The target projector g_ξ, an EMA of `projector`. */
  readonly targetProjector: MLP;
  /** τ₀, the target momentum at step 0 (default 0.99). */
  readonly baseMomentum: number;
  /** The momentum of the latest target update (τ₀ rising to 1 over training). */
  currentMomentum: number;

  /**
   * Build the online encoder, projector and predictor, and the target copies.
   *
   * @param options encoder, baseMomentum, projectionDim, hiddenDim, batchNorm, generator.
   */
  constructor(options: BYOLOptions) {
    super();
    checkOptions("BYOL", options, {
      encoder: true,
      baseMomentum: true,
      projectionDim: true,
      hiddenDim: true,
      batchNorm: true,
      generator: true,
    });
    const kind = options.encoder ?? "mlp";
    const g = options.generator;
    const projectionDim = options.projectionDim ?? 128;
    const hidden = options.hiddenDim ?? 512;
    const batchNorm = options.batchNorm ?? true;
    this.baseMomentum = options.baseMomentum ?? 0.99;
    this.currentMomentum = this.baseMomentum;
    const head = () => new MLP([FEATURE_DIM, hidden, projectionDim], { batchNorm, generator: g });
    this.encoder = this.registerModule("encoder", imageEncoder(kind, g));
    this.projector = this.registerModule("projector", head());
    this.predictor = this.registerModule("predictor", new MLP([projectionDim, hidden, projectionDim], { batchNorm, generator: g }));
    this.targetEncoder = this.registerModule("targetEncoder", copyWeights(this.encoder, imageEncoder(kind, g)));
    this.targetProjector = this.registerModule("targetProjector", copyWeights(this.projector, head()));
  }

  /** The encoder's features h = f(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const n = batch.batchSize;
    const x1 = imageTensor(batch.view1, n);
    const x2 = imageTensor(batch.view2, n);
    const p1 = this.predictor.forward(this.projector.forward(this.encoder.forward(x1))); // (N, 128)
    const p2 = this.predictor.forward(this.projector.forward(this.encoder.forward(x2))); // (N, 128)
    const [targetZ1, targetZ2] = noGrad(() => [
      this.targetProjector.forward(this.targetEncoder.forward(x1)), // (N, 128)
      this.targetProjector.forward(this.targetEncoder.forward(x2)), // (N, 128)
    ]);
    return byolLoss(p1, targetZ2).add(byolLoss(p2, targetZ1)); // symmetrized
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  /** ξ ← τ_k ξ + (1 − τ_k) θ with the cosine schedule from τ₀ to 1. */
  afterOptimizerStep(step: number, totalSteps: number): void {
    this.currentMomentum = cosineMomentum({ base: this.baseMomentum, totalSteps: Math.max(1, totalSteps) })(step);
    emaUpdate(this.targetEncoder, this.encoder, this.currentMomentum);
    emaUpdate(this.targetProjector, this.projector, this.currentMomentum);
  }

  progressExtra() {
    return { label: "τ_ema", value: this.currentMomentum };
  }
}
