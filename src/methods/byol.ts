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

export interface BYOLOptions {
  encoder?: EncoderKind;
  /** τ₀, the target momentum at step 0. */
  baseMomentum?: number;
  projectionDim?: number;
  hiddenDim?: number;
  /** Batch norm in the projector and predictor (default true; false reproduces the collapse). */
  batchNorm?: boolean;
  generator: Generator;
}

export class BYOL extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "byol" as const;
  readonly encoder: Sequential;
  readonly projector: MLP;
  readonly predictor: MLP;
  readonly targetEncoder: Sequential;
  readonly targetProjector: MLP;
  readonly baseMomentum: number;
  currentMomentum: number;

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
