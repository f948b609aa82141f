/**
 * MoCo v2 (He et al., 2020, "Momentum Contrast for Unsupervised Visual Representation Learning";
 * Chen, Fan, Girshick & He, 2020, "Improved Baselines with Momentum Contrastive Learning"):
 * chapter section 7.4, "Method 2".
 *
 *   x ─ aug₁ → x_q ─ f_q → g_q → q ┐
 *     └ aug₂ → x_k ─ f_k → g_k → k ┴─ InfoNCE(q; positive k, negatives = queue; τ)
 *                                          then enqueue k, dequeue the oldest N keys
 *   θ_k ← m θ_k + (1 − m) θ_q   after every step (the key encoder never receives a gradient)
 *
 *   logits_i = [q_i·k_i, q_i·queue_1, …, q_i·queue_K] / τ, label 0 (the positive is column 0)
 *   L(q, k)  = mean_i −log softmax(logits_i)_0
 *
 * Symmetrized (the default here, `symmetric: true`): both views are queries and both are keys,
 *
 *   L = ½ [L(q₁, k₂) + L(q₂, k₁)],  q_v = g_q(f_q(x_v)), k_v = normalize(g_k(f_k(x_v)))
 *
 * against the same negatives, then k₁ and k₂ are both enqueued (2N keys a step). Every image
 * gives two gradient signals a step instead of one, as in SimCLR, BYOL and MoCo v3; on this data,
 * with the trainer's batch of 128, it raises the 50-epoch linear probe over the one-sided loss at
 * batch 256 on both seeds tried (docs/methods.md, "Numbers reached here", has the runs).
 * `symmetric: false` is MoCo v2's own, one-sided loss L(q₁, k₂).
 * Gradient: each term is mocoLoss's, ∂L/∂(q_i · k_c) = (p_ic − [c = 0]) / (N τ), halved.
 *
 * Shapes: q, k (N, 128); queue (K, 128), K a multiple of the keys a step enqueues (N, or 2N
 * symmetrized) so that each enqueue fills a whole slot block. The negatives are read from the
 * queue *before* this batch's keys are enqueued, so a key is never its own query's negative.
 * The queue and its pointer are buffers: saved with the model and restored on resume.
 *
 * The chapter says "pop old representations from queue → memory negatives" before the loss, and
 * "push new representations" after: that is this order. Hyperparameters: τ = 0.2 (v2), m = 0.99
 * (short runs; 0.999 for 200 epochs), K = 4096, head MLP 256 → 256 → ReLU → 128 (v2, no BN).
 *
 * PyTorch: facebookresearch/moco `moco/builder.py` (MoCo class, `_dequeue_and_enqueue`,
 * `_momentum_update_key_encoder`); lightly `MemoryBankModule`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { mutableStorage } from "../tensor/version.js";
import { noGrad } from "../autograd/tape.js";
import { Module, type Parameter } from "../nn/module.js";
import type { Sequential } from "../nn/container.js";
import { MLP } from "../nn/mlp.js";
import { normalize } from "../ops/functional.js";
import { mocoLoss } from "../losses/moco-loss.js";
import { emaUpdate } from "../optim/ema.js";
import type { TwoViewBatch } from "../data/loader.js";
import { copyWeights, FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type EncoderKind } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link MoCo} (MoCo v2's hyperparameters for short runs by default). */
export interface MoCoOptions {
  /** The image encoder (default `"mlp"`). */
  encoder?: EncoderKind;
  /** InfoNCE's τ (default 0.2, MoCo v2). */
  temperature?: number;
  /** K, the number of keys in the queue (a multiple of the batch size). */
  queueSize?: number;
  /** m, the key encoder's momentum. */
  momentum?: number;
  /** The projection size (default 128). */
  projectionDim?: number;
  /** The symmetrized loss ½[L(q₁, k₂) + L(q₂, k₁)] (default true); false: v2's one-sided L(q₁, k₂). */
  symmetric?: boolean;
  /** BatchNorm1d after the heads' hidden Linear (default false, as v2's head; MoCo v3 has it). */
  projectorBatchNorm?: boolean;
  /** Seeded generator for the init and the initial queue (required). */
  generator: Generator;
}

/**
 * MoCo v2: queries from encoder + head, keys from their momentum (EMA) copies, InfoNCE against a queue of past keys ({@link mocoLoss});
 * symmetrized by default. q, k (N, 128), queue (K, 128). PyTorch: facebookresearch/moco `MoCo`.
 */
export class MoCo extends Module implements ContrastiveMethod<TwoViewBatch> {
  /** `"moco"`. */
  readonly methodName = "moco" as const;
  readonly encoder: Sequential;
  /** The query projection head, MLP 256 → 256 → ReLU → projectionDim. */
  readonly projector: MLP;
  /** The key encoder, an EMA of `encoder` (never trained by backprop). */
  readonly keyEncoder: Sequential;
  /** The key projection head, an EMA of `projector`. */
  readonly keyProjector: MLP;
  /** InfoNCE's τ. */
  readonly temperature: number;
  /** m, the key encoder's EMA momentum (default 0.99). */
  readonly momentum: number;
  /** K, the number of keys in the queue (default 4096). */
  readonly queueSize: number;
  /** The size of q and k (default 128). */
  readonly projectionDim: number;
  /** Whether the loss is symmetrized over the two views (default true). */
  readonly symmetric: boolean;

  /**
   * Build the query encoder and head, their key copies and a queue of random unit keys.
   *
   * @param options see {@link MoCoOptions}.
   */
  constructor(options: MoCoOptions) {
    super();
    checkOptions("MoCo", options, {
      encoder: true,
      temperature: true,
      queueSize: true,
      momentum: true,
      projectionDim: true,
      symmetric: true,
      projectorBatchNorm: true,
      generator: true,
    });
    const kind = options.encoder ?? "mlp";
    this.temperature = options.temperature ?? 0.2;
    this.momentum = options.momentum ?? 0.99;
    this.queueSize = options.queueSize ?? 4096;
    this.projectionDim = options.projectionDim ?? 128;
    this.symmetric = options.symmetric ?? true;
    const headOptions = { batchNorm: options.projectorBatchNorm ?? false };
    const g = options.generator;
    this.encoder = this.registerModule("encoder", imageEncoder(kind, g));
    this.projector = this.registerModule(
      "projector",
      new MLP([FEATURE_DIM, FEATURE_DIM, this.projectionDim], { ...headOptions, generator: g }),
    );
    // The key encoder starts as an exact copy of the query encoder (builder.py: param_k.copy_(param_q)).
    this.keyEncoder = this.registerModule("keyEncoder", copyWeights(this.encoder, imageEncoder(kind, g)));
    this.keyProjector = this.registerModule(
      "keyProjector",
      copyWeights(this.projector, new MLP([FEATURE_DIM, FEATURE_DIM, this.projectionDim], { ...headOptions, generator: g })),
    );
    // The queue starts as random unit vectors (builder.py: randn, then normalize along dim 0 per key).
    const initial = new Float32Array(this.queueSize * this.projectionDim);
    for (let i = 0; i < initial.length; i++) initial[i] = g.normal();
    this.registerBuffer("queue", normalize(Tensor.fromTypedArray(initial, [this.queueSize, this.projectionDim]))); // (K, 128)
    this.registerBuffer("queuePointer", Tensor.fromTypedArray(new Float32Array(1), []));
  }

  /** The queue of past keys (K, projectionDim), unit rows; a buffer, saved with the model. */
  get queue(): Tensor {
    return this.getBuffer("queue");
  }

  /** Where the next keys are written in the queue (a buffer, saved with the model). */
  get queuePointer(): number {
    return this.getBuffer("queuePointer").item();
  }

  /** The encoder's features h = f(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  trainingLoss(batch: TwoViewBatch): Tensor {
    const n = batch.batchSize;
    if (this.queueSize % (this.symmetric ? 2 * n : n) !== 0) {
      throw new Error(
        `MoCo: ${this.symmetric ? "symmetric: " : ""}queue size ${this.queueSize} is not a multiple of ${
          this.symmetric ? "twice " : ""
        }the batch size ${n}`,
      );
    }
    const query = (view: Float32Array) => this.projector.forward(this.encoder.forward(imageTensor(view, n))); // (N, 128)
    const key = (view: Float32Array) =>
      // (N, 128), unit rows
      noGrad(() => normalize(this.keyProjector.forward(this.keyEncoder.forward(imageTensor(view, n)))));
    // Negatives are the queue as it is now, before this batch's keys go in. The enqueue below
    // overwrites the queue in place after the loss is built and before the trainer calls backward,
    // so the loss must not leave the queue's own buffer on the tape. Today mocoLoss already does
    // not: it reads the queue only through normalize(queue.detach()), a fresh tensor. The copy is
    // a safeguard for a loss that would use the queue as it is, as builder.py's einsum does
    // (`self.queue.clone().detach()`; without it PyTorch refuses the backward). Such a loss
    // without the copy would now fail the same way here: the enqueue bumps the queue's version
    // and backward refuses the saved tensor, naming the op (src/tensor/version.ts).
    const negatives = noGrad(() => this.queue.clone()); // (K, 128)
    const options = { temperature: this.temperature };
    if (!this.symmetric) {
      const k2 = key(batch.view2);
      const loss = mocoLoss(query(batch.view1), k2, negatives, options);
      this.enqueue(k2);
      return loss;
    }
    const k1 = key(batch.view1);
    const k2 = key(batch.view2);
    const loss = mocoLoss(query(batch.view1), k2, negatives, options).add(mocoLoss(query(batch.view2), k1, negatives, options)).mul(0.5);
    this.enqueue(k1);
    this.enqueue(k2);
    return loss;
  }

  /** Write the N keys at the pointer and advance it: pointer ← (pointer + N) mod K. */
  enqueue(keys: Tensor): void {
    const n = keys.shape[0];
    const pointer = this.queuePointer;
    const queue = this.queue;
    mutableStorage(queue).data.set(keys.toTypedArray(), pointer * this.projectionDim); // rows pointer … pointer + N − 1
    mutableStorage(this.getBuffer("queuePointer")).data[0] = (pointer + n) % this.queueSize;
  }

  trainableParameters(): [string, Parameter][] {
    return trainableOf(this);
  }

  /** θ_k ← m θ_k + (1 − m) θ_q, after the optimizer has updated θ_q. */
  afterOptimizerStep(): void {
    emaUpdate(this.keyEncoder, this.encoder, this.momentum);
    emaUpdate(this.keyProjector, this.projector, this.momentum);
  }

  progressExtra() {
    return { label: "τ", value: this.temperature };
  }
}
