/**
 * SwAV (Caron et al., NeurIPS 2020, "Unsupervised Learning of Visual Features by Contrasting
 * Cluster Assignments"): online clustering with swapped prediction.
 *
 *   x ─ aug₁ → x₁ ─ f → g → z₁ = normalize(·) ─ · Cᵀ → s₁ ─ Sinkhorn → q₁ ┐
 *     └ aug₂ → x₂ ─ f → g → z₂ = normalize(·) ─ · Cᵀ → s₂ ─ Sinkhorn → q₂ ┴─ L = ½[ℓ(q₂, s₁) + ℓ(q₁, s₂)]
 *
 *   f: the encoder (kept for evaluation)   g: projector 256 → 512 → BN → ReLU → 128
 *   C: K = 128 prototypes (K, 128), a trainable matrix renormalized to unit rows after every step
 *   ℓ(q, s) = −mean_n Σ_k q_nk log softmax(s_n/τ)_k, τ = 0.1; codes q by Sinkhorn–Knopp (ε = 0.05,
 *   3 iterations), no gradient (src/losses/swav-loss.ts).
 *
 * What avoids collapse: the equal-partition constraint of the codes (every prototype gets N/K of
 * the batch), so the trivial solution (every image in one cluster) is not a solution. The
 * prototypes are parameters: saved in the checkpoint, and restored on resume, with their norm.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → z (N, 128) → scores (N, K).
 * Left out (docs/porting.md): the queue of past embeddings the official code adds for small batches,
 * multi-crop, and freezing the prototypes during the first epoch.
 * PyTorch: facebookresearch/swav main_swav.py (`train`, `distributed_sinkhorn`), src/resnet50.py
 * (`prototypes = nn.Linear(output_dim, nmb_prototypes, bias=False)`); lightly `SwaVPrototypes`, `SwaVLoss`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { noGrad } from "../autograd/tape.js";
import { mutableStorage } from "../tensor/version.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { Linear } from "../nn/linear.js";
import { normalize } from "../ops/functional.js";
import { swavLoss } from "../losses/swav-loss.js";
import type { TwoViewBatch } from "../data/loader.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of the SwAV method (all but the generator optional). */
export interface SwAVOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** D, the projection size and the prototypes' width (default 128). */
  projectionDim?: number;
  /** K, the number of prototypes (default 128). */
  prototypes?: number;
  /** τ of the swapped prediction (default 0.1). */
  temperature?: number;
  /** ε of Sinkhorn–Knopp (default 0.05). */
  epsilon?: number;
  /** Sinkhorn–Knopp iterations (default 3). */
  sinkhornIterations?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** SwAV on MNIST: encoder, projector, prototypes, Sinkhorn codes and the swapped prediction. */
export class SwAV extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "swav" as const;
  readonly encoder: Sequential;
  /** The projector g, MLP 256 → 512 → BN → ReLU → projectionDim (its output ℓ2-normalized in `scores`). */
  readonly projector: MLP;
  /** C as a bias-free Linear (K, D): scores = z Cᵀ, as the official `nn.Linear(..., bias=False)`. */
  readonly prototypes: Linear;
  /** τ of the swapped prediction's softmax (default 0.1). */
  readonly temperature: number;
  /** ε of Sinkhorn–Knopp (default 0.05). */
  readonly epsilon: number;
  /** Sinkhorn–Knopp iterations (default 3). */
  readonly sinkhornIterations: number;

  /** Builds the encoder, the projector and the unit-row prototypes (K, D) from {@link SwAVOptions}. */
  constructor(options: SwAVOptions) {
    super();
    checkOptions("SwAV", options, {
      encoder: true,
      projectionDim: true,
      prototypes: true,
      temperature: true,
      epsilon: true,
      sinkhornIterations: true,
      generator: true,
    });
    const g = options.generator;
    const dim = options.projectionDim ?? 128;
    this.temperature = options.temperature ?? 0.1;
    this.epsilon = options.epsilon ?? 0.05;
    this.sinkhornIterations = options.sinkhornIterations ?? 3;
    this.encoder = this.registerModule("encoder", imageEncoder(options.encoder ?? "mlp", g));
    this.projector = this.registerModule("projector", new MLP([FEATURE_DIM, 512, dim], { batchNorm: true, generator: g }));
    this.prototypes = this.registerModule("prototypes", new Linear(dim, options.prototypes ?? 128, { bias: false, generator: g }));
    this.normalizePrototypes();
  }

  /** C ← C / ‖C‖ row by row, in place and off the tape (main_swav.py: `w = normalize(w, dim=1); prototypes.weight.copy_(w)`). */
  normalizePrototypes(): void {
    const weight = this.prototypes.weight;
    const unit = noGrad(() => normalize(weight.detach())); // (K, D)
    mutableStorage(weight).data.set(unit.toTypedArray());
  }

  /** The encoder's features h = f(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  /** scores = normalize(g(f(x))) Cᵀ: (B, 1, 28, 28) → (B, K). */
  scores(images: Tensor): Tensor {
    return this.prototypes.forward(normalize(this.projector.forward(this.encoder.forward(images)))); // (B, K)
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const n = batch.batchSize;
    const s1 = this.scores(imageTensor(batch.view1, n)); // (N, K)
    const s2 = this.scores(imageTensor(batch.view2, n)); // (N, K)
    return swavLoss(s1, s2, { temperature: this.temperature, epsilon: this.epsilon, iterations: this.sinkhornIterations });
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  /** The prototypes back on the unit sphere after the optimizer moved them. */
  afterOptimizerStep(): void {
    this.normalizePrototypes();
  }

  progressExtra() {
    return { label: "τ", value: this.temperature };
  }
}
