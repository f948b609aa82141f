/**
 * DINO (Caron et al., ICCV 2021, "Emerging Properties in Self-Supervised Vision Transformers"):
 * self-distillation with no labels. A student and an EMA teacher of the same architecture; the
 * student matches the teacher's centered, sharpened distribution over K output dims.
 *
 *   student:  x_v ─ f_θ → g_θ → s_v (N, K)          teacher:  x_v ─ f_ξ → g_ξ → t_v (N, K)  (no gradient)
 *   L = ½[H(P_t(t₁), P_s(s₂)) + H(P_t(t₂), P_s(s₁))]    P_t = softmax((t − c)/0.04), P_s = softmax(s/0.1)
 *   c ← 0.9 c + 0.1 · mean(t₁, t₂)                       after the loss (src/losses/dino-loss.ts)
 *   ξ ← τ_k ξ + (1 − τ_k) θ,  τ_k rising from τ₀ to 1 along a cosine (BYOL's schedule, src/optim/schedules.ts)
 *
 *   f: the encoder (kept for evaluation)
 *   g: the DINO head: MLP 256 → 512 → BN → GELU → 512 → BN → GELU → 64 (bottleneck), ℓ2-normalize, then a
 *      weight-normalized Linear 64 → K without bias: s = normalize(y) · normalize(V)ᵀ, each row of V
 *      divided by its norm (torch's weight_norm with the gain fixed at 1, the official
 *      `norm_last_layer=True`). K = 1024 here (65536 for ImageNet).
 *
 * What avoids collapse: centering and sharpening together (centering alone drives the teacher to
 * uniform, sharpening alone to one dim), plus the slow EMA teacher. On this data, as for BYOL, batch
 * norm in the head too: without it (`headBatchNorm: false`) the student went uniform (loss → log K). The center is a buffer: saved
 * in the checkpoint and restored on resume.
 *
 * Shapes: views (N, 1, 28, 28) → h (N, 256) → y (N, 64) → logits (N, K); center (1, K).
 * PyTorch: facebookresearch/dino main_dino.py (`DINOLoss`, the teacher's EMA), vision_transformer.py
 * (`DINOHead`); lightly `DINOProjectionHead`, `DINOLoss`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { noGrad } from "../autograd/tape.js";
import { mutableStorage } from "../tensor/version.js";
import { Module, type Parameter } from "../nn/module.js";
import { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { Linear } from "../nn/linear.js";
import { normalize } from "../ops/functional.js";
import { dinoCenterUpdate, dinoLoss } from "../losses/dino-loss.js";
import { emaUpdate } from "../optim/ema.js";
import { cosineMomentum } from "../optim/schedules.js";
import type { TwoViewBatch } from "../data/loader.js";
import { copyWeights, FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of the DINO method (all but the generator optional). */
export interface DINOOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** K, the head's output dims (default 1024). */
  outputDim?: number;
  /** τ_s (default 0.1). */
  studentTemperature?: number;
  /** τ_t (default 0.04). */
  teacherTemperature?: number;
  /** m of the center's EMA (default 0.9). */
  centerMomentum?: number;
  /** τ₀, the teacher's momentum at step 0 (default 0.99; 0.996 for ImageNet's 100+ epochs). */
  baseMomentum?: number;
  /**
   * BatchNorm1d in the head's MLP (the official `use_bn_in_head`, off for ViTs there; default true
   * here: without it the MNIST MLP collapsed to a uniform student, docs/methods.md "DINO").
   */
  headBatchNorm?: boolean;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * DINO's projection head: MLP to a bottleneck, ℓ2-normalize, weight-normalized last layer (see the file's header).
 * PyTorch: facebookresearch/dino `DINOHead(in_dim, out_dim, use_bn, norm_last_layer=True)`.
 */
export class DINOHead extends Module {
  /** The MLP inputDim → 512 → 512 → 64 (GELU; BatchNorm1d if `batchNorm`), ending at the bottleneck. */
  readonly mlp: MLP;
  /** The last layer V, Linear 64 → K without bias; its rows are ℓ2-normalized in `forward` (weight norm, gain 1). */
  readonly lastLayer: Linear;

  /** Builds the head inputDim → 512 → 512 → 64 → outputDim (K), with BatchNorm1d in the MLP if `batchNorm` (default false). */
  constructor(inputDim: number, outputDim: number, generator: Generator, batchNorm = false) {
    super();
    this.mlp = this.registerModule("mlp", new MLP([inputDim, 512, 512, 64], { activation: "gelu", batchNorm, generator }));
    this.lastLayer = this.registerModule("lastLayer", new Linear(64, outputDim, { bias: false, generator }));
  }

  /** (B, inputDim) → (B, K): normalize(mlp(x)) · normalize(V)ᵀ, cosines in [−1, 1]. */
  forward(x: Tensor): Tensor {
    const y = normalize(this.mlp.forward(x)); // (B, 64), unit rows
    const v = normalize(this.lastLayer.weight); // (K, 64), unit rows: weight norm with gain 1
    return y.matmul(v.t()); // (B, K)
  }
}

/** DINO on MNIST: student and EMA teacher, centering and sharpening. */
export class DINO extends Module implements ContrastiveMethod<TwoViewBatch> {
  readonly methodName = "dino" as const;
  readonly encoder: Sequential;
  /** The student's head g_θ, a {@link DINOHead} 256 → K. */
  readonly head: DINOHead;
  /** The teacher encoder f_ξ, an EMA of `encoder` (no gradient). */
  readonly teacherEncoder: Sequential;
  /** The teacher head g_ξ, an EMA of `head` (no gradient). */
  readonly teacherHead: DINOHead;
  /** τ_s, the student's temperature (default 0.1). */
  readonly studentTemperature: number;
  /** τ_t, the teacher's temperature (default 0.04). */
  readonly teacherTemperature: number;
  /** m, the momentum of the center's EMA (default 0.9). */
  readonly centerMomentum: number;
  /** τ₀, the teacher's momentum at step 0 (default 0.99). */
  readonly baseMomentum: number;
  /** The momentum of the latest teacher update (τ₀ rising to 1 over training). */
  currentMomentum: number;

  /** Builds the student (encoder, head), the teacher as an exact copy, and a zero center (1, K) from {@link DINOOptions}. */
  constructor(options: DINOOptions) {
    super();
    checkOptions("DINO", options, {
      encoder: true,
      outputDim: true,
      studentTemperature: true,
      teacherTemperature: true,
      centerMomentum: true,
      baseMomentum: true,
      headBatchNorm: true,
      generator: true,
    });
    const kind = options.encoder ?? "mlp";
    const g = options.generator;
    const k = options.outputDim ?? 1024;
    this.studentTemperature = options.studentTemperature ?? 0.1;
    this.teacherTemperature = options.teacherTemperature ?? 0.04;
    this.centerMomentum = options.centerMomentum ?? 0.9;
    this.baseMomentum = options.baseMomentum ?? 0.99;
    this.currentMomentum = this.baseMomentum;
    this.encoder = this.registerModule("encoder", imageEncoder(kind, g));
    this.head = this.registerModule("head", new DINOHead(FEATURE_DIM, k, g, options.headBatchNorm ?? true));
    // The teacher starts as an exact copy of the student (main_dino.py: teacher.load_state_dict(student.state_dict())).
    this.teacherEncoder = this.registerModule("teacherEncoder", copyWeights(this.encoder, imageEncoder(kind, g)));
    this.teacherHead = this.registerModule(
      "teacherHead",
      copyWeights(this.head, new DINOHead(FEATURE_DIM, k, g, options.headBatchNorm ?? true)),
    );
    this.registerBuffer("center", Tensor.fromTypedArray(new Float32Array(k), [1, k])); // (1, K), zeros as the official
  }

  /** c, the EMA of the teacher's mean output (1, K). */
  get center(): Tensor {
    return this.getBuffer("center");
  }

  /** The encoder's features h = f(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const n = batch.batchSize;
    const x1 = imageTensor(batch.view1, n);
    const x2 = imageTensor(batch.view2, n);
    const s1 = this.head.forward(this.encoder.forward(x1)); // (N, K)
    const s2 = this.head.forward(this.encoder.forward(x2)); // (N, K)
    const [t1, t2] = noGrad(
      () => [this.teacherHead.forward(this.teacherEncoder.forward(x1)), this.teacherHead.forward(this.teacherEncoder.forward(x2))],
    );
    const loss = dinoLoss([s1, s2], [t1, t2], this.center, {
      studentTemperature: this.studentTemperature,
      teacherTemperature: this.teacherTemperature,
    });
    // c ← m c + (1 − m) mean(t), after the loss has used the old center (as DINOLoss.forward). The loss
    // read the center through a detached copy (dinoTeacherProbabilities), so writing in place is safe.
    const updated = dinoCenterUpdate(this.center, [t1, t2], this.centerMomentum);
    mutableStorage(this.center).data.set(updated.toTypedArray());
    return loss;
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  /** ξ ← τ_k ξ + (1 − τ_k) θ with the cosine schedule from τ₀ to 1. */
  afterOptimizerStep(step: number, totalSteps: number): void {
    this.currentMomentum = cosineMomentum({ base: this.baseMomentum, totalSteps: Math.max(1, totalSteps) })(step);
    emaUpdate(this.teacherEncoder, this.encoder, this.currentMomentum);
    emaUpdate(this.teacherHead, this.head, this.currentMomentum);
  }

  progressExtra() {
    return { label: "τ_ema", value: this.currentMomentum };
  }
}
