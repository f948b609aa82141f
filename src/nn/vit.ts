/**
 * A small Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words", §3.1, eq. 1–4).
 *
 *   patches:   x (B, C, H, W) → P = H·W/p² patches of C·p·p pixels (row-major over the grid)   (B, P, C·p²)
 *   embed:     z₀ = [x_cls; patches·Eᵀ + b] + E_pos                                          (B, P(+1), D)
 *   encoder:   z_L = TransformerEncoder(z₀)  (pre-norm layers + a final LayerNorm)
 *   pool:      y = z_L[:, 0] (class token) or mean over the tokens                             (B, D)
 *   head:      out = y·W_headᵀ + b_head, or y itself when numClasses = 0                      (B, K)
 *
 * MNIST with 7×7 patches: 28×28 → a 4×4 grid of 16 tokens of 49 pixels.
 *
 * PatchEmbedding's projection is a Linear `proj` with weight (D, C·p·p): it equals the usual
 * Conv2d(C, D, kernel = stride = p) of timm / torchvision, whose weight (D, C, p, p) is
 * proj.weight viewed as (D, C, p, p) — unfold orders each patch (c, i, j) as the conv weight
 * does — and both have the same default init, U(±1/√(C·p²)).
 * clsToken (1, 1, D) and posEmbed (1, P(+1), D) are initialized N(0, 0.02²), as ViT/timm
 * (trunc_normal std 0.02; the truncation at ±2 is 100σ away, so it never binds).
 *
 * State dict keys, in order: patchEmbed.clsToken, patchEmbed.posEmbed, patchEmbed.proj.{weight,bias},
 * encoder.layers.i.… (see transformer.ts), encoder.norm.{weight,bias}, head.{weight,bias}.
 * Neither class is in torch.nn; timm's names are cls_token, pos_embed, patch_embed.proj, blocks.i, norm, head.
 *
 * @module
 */
import { checkDType, type DType, type Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { shapeToString } from "../tensor/shape.js";
import { add } from "../ops/elementwise.js";
import { cat } from "../ops/indexing.js";
import { mean } from "../ops/reduce.js";
import { expand, select, transpose } from "../ops/views.js";
import { Module, type Parameter } from "./module.js";
import { Linear } from "./linear.js";
import { checkDtype, checkFeatures } from "./util.js";
import { LayerNorm } from "./layernorm.js";
import { Identity } from "./flatten.js";
import { unfold } from "./conv.js";
import { TransformerEncoder, TransformerEncoderLayer } from "./transformer.js";
import { emptyParameter, normal_, requireGenerator } from "./init.js";
import { checkOptions } from "../tensor/options.js";

/** The default image side: 28, MNIST's (nn sits below data/, so the number is restated, not imported). */
export const DEFAULT_IMAGE_SIZE = 28;

/** Options of {@link PatchEmbedding}. */
export interface PatchEmbeddingOptions {
  /** The token width D. */
  embedDim: number;
  /** The image side H = W in pixels (default 28, MNIST's). */
  imageSize?: number;
  /** The patch side p (default 7); must divide imageSize. */
  patchSize?: number;
  /** The number of image channels C (default 1). */
  inChannels?: number;
  /** Prepend a learned class token (default true). */
  classToken?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/**
 * ViT's patch embedding: cut (B, C, H, W) images into p×p patches, project each to D, prepend the class token and add the position
 * embedding → (B, P(+1), D). Not in torch.nn (timm: `PatchEmbed` + `cls_token` + `pos_embed`).
 */
export class PatchEmbedding extends Module {
  /** The image side H = W. */
  readonly imageSize: number;
  /** The patch side p. */
  readonly patchSize: number;
  /** The number of image channels C. */
  readonly inChannels: number;
  /** The token width D. */
  readonly embedDim: number;
  /** The number of patches P = (H/p)². */
  readonly numPatches: number;
  /** The patch projection, a Linear(C·p·p, D) (a Conv2d with kernel = stride = p, viewed flat). */
  readonly proj: Linear;
  /** The learned class token (1, 1, D); null without `classToken`. */
  readonly clsToken: Parameter | null;
  /** The learned position embedding (1, P(+1), D). */
  readonly posEmbed: Parameter;

  /**
   * Build the patch projection, class token and position embedding.
   *
   * @param options embedDim, imageSize, patchSize, inChannels, classToken, dtype, generator.
   */
  constructor(options: PatchEmbeddingOptions) {
    super();
    checkOptions("PatchEmbedding", options, {
      embedDim: true,
      imageSize: true,
      patchSize: true,
      inChannels: true,
      classToken: true,
      dtype: true,
      generator: true,
    });
    const generator = requireGenerator("PatchEmbedding", options?.generator);
    this.imageSize = options.imageSize ?? DEFAULT_IMAGE_SIZE;
    this.patchSize = options.patchSize ?? 7;
    this.inChannels = options.inChannels ?? 1;
    this.embedDim = options.embedDim;
    checkFeatures("PatchEmbedding", {
      imageSize: this.imageSize,
      patchSize: this.patchSize,
      inChannels: this.inChannels,
      embedDim: this.embedDim,
    });
    if (this.patchSize < 1 || this.imageSize % this.patchSize !== 0) {
      throw new Error(`PatchEmbedding: imageSize (${this.imageSize}) must be a multiple of patchSize (${this.patchSize})`);
    }
    this.numPatches = (this.imageSize / this.patchSize) ** 2;
    const dtype = checkDType("PatchEmbedding", options?.dtype);
    const patchPixels = this.inChannels * this.patchSize * this.patchSize;
    this.proj = this.registerModule("proj", new Linear(patchPixels, this.embedDim, { dtype, generator })); // (D, C·p²)
    const classToken = options.classToken ?? true;
    // (1, 1, D)
    this.clsToken = classToken ? (normal_(emptyParameter([1, 1, this.embedDim], dtype), 0, 0.02, generator) as Parameter) : null;
    this.registerParameter("clsToken", this.clsToken);
    const tokens = this.numPatches + (classToken ? 1 : 0);
    this.posEmbed = normal_(emptyParameter([1, tokens, this.embedDim], dtype), 0, 0.02, generator) as Parameter; // (1, P(+1), D)
    this.registerParameter("posEmbed", this.posEmbed);
  }

  /** x (B, C, H, W) → tokens (B, P(+1), D). */
  forward(x: Tensor): Tensor {
    const { inChannels: C, imageSize: S, patchSize: p, embedDim: D } = this;
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`PatchEmbedding: input must be (B, ${C}, ${S}, ${S}), got shape ${shapeToString(x.shape)}`);
    }
    checkDtype("PatchEmbedding", x, this.posEmbed);
    const B = x.shape[0];
    const patches = transpose(unfold(x, p, { stride: p }), 1, 2); // (B, P, C·p²)
    let tokens = this.proj.forward(patches); // (B, P, D)
    if (this.clsToken) tokens = cat([expand(this.clsToken, [B, 1, D]), tokens], 1); // (B, P + 1, D)
    return add(tokens, this.posEmbed); // (B, P(+1), D)
  }
}

/** Options of {@link VisionTransformer}. */
export interface VisionTransformerOptions {
  /** The token width D. */
  embedDim: number;
  /** Number of encoder layers. */
  depth: number;
  /** Attention heads per layer (must divide embedDim). */
  numHeads: number;
  /** The image side in pixels (default 28). */
  imageSize?: number;
  /** The patch side (default 7). */
  patchSize?: number;
  /** The number of image channels (default 1). */
  inChannels?: number;
  /** Feed-forward width = mlpRatio·embedDim (default 4). */
  mlpRatio?: number;
  /** Dropout in the encoder layers (default 0). */
  dropout?: number;
  /** The feed-forward activation (default `"gelu"`). */
  activation?: "gelu" | "relu";
  /** "cls" (default): the class token's output; "mean": the mean over patch tokens (no class token). */
  pool?: "cls" | "mean";
  /** Output size of the linear head; 0 (default) = no head, the pooled (B, embedDim) features. */
  numClasses?: number;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init and dropout (required). */
  generator: Generator;
}

/**
 * A small Vision Transformer: {@link PatchEmbedding}, a pre-norm {@link TransformerEncoder} with a final LayerNorm, class-token or mean
 * pooling and an optional linear head; (B, C, H, W) → (B, numClasses or D). Not in torch.nn (timm: `VisionTransformer`).
 */
export class VisionTransformer extends Module {
  /** How the tokens are pooled: `"cls"` (the class token, default) or `"mean"`. */
  readonly pool: "cls" | "mean";
  /** The token width D. */
  readonly embedDim: number;
  /** The patch embedding (keys "patchEmbed.…"). */
  readonly patchEmbed: PatchEmbedding;
  /** The encoder (keys "encoder.layers.i.…", "encoder.norm.…"). */
  readonly encoder: TransformerEncoder;
  /** The head: a Linear(D, numClasses), or an Identity when numClasses = 0. */
  readonly head: Linear | Identity;

  /**
   * Build the patch embedding, the encoder and the head.
   *
   * @param options see {@link VisionTransformerOptions}.
   */
  constructor(options: VisionTransformerOptions) {
    super();
    checkOptions("VisionTransformer", options, {
      embedDim: true,
      depth: true,
      numHeads: true,
      imageSize: true,
      patchSize: true,
      inChannels: true,
      mlpRatio: true,
      dropout: true,
      activation: true,
      pool: true,
      numClasses: true,
      dtype: true,
      generator: true,
    });
    const generator = requireGenerator("VisionTransformer", options?.generator);
    this.pool = options.pool ?? "cls";
    if (this.pool !== "cls" && this.pool !== "mean") {
      throw new Error(`VisionTransformer: pool must be "cls" or "mean", got "${String(this.pool)}"`);
    }
    const { embedDim, depth, numHeads } = options;
    const dtype = checkDType("VisionTransformer", options.dtype);
    this.embedDim = embedDim;
    this.patchEmbed = this.registerModule(
      "patchEmbed",
      new PatchEmbedding({
        embedDim,
        imageSize: options.imageSize,
        patchSize: options.patchSize,
        inChannels: options.inChannels,
        classToken: this.pool === "cls",
        dtype,
        generator,
      }),
    );
    const layerOptions = {
      dimFeedforward: Math.round((options.mlpRatio ?? 4) * embedDim),
      dropout: options.dropout ?? 0,
      activation: options.activation ?? "gelu",
      normFirst: true,
      dtype,
      generator,
    };
    this.encoder = this.registerModule(
      "encoder",
      new TransformerEncoder(
        () => new TransformerEncoderLayer(embedDim, numHeads, layerOptions),
        depth,
        { norm: new LayerNorm(embedDim, { dtype }) },
      ),
    );
    const numClasses = options.numClasses ?? 0;
    this.head = this.registerModule("head", numClasses > 0 ? new Linear(embedDim, numClasses, { dtype, generator }) : new Identity());
  }

  /** Token features after the final norm: (B, P(+1), D). */
  forwardFeatures(x: Tensor): Tensor {
    return this.encoder.forward(this.patchEmbed.forward(x));
  }

  /** x (B, C, H, W) → (B, numClasses) or (B, embedDim). */
  forward(x: Tensor): Tensor {
    const tokens = this.forwardFeatures(x); // (B, P(+1), D)
    const pooled = this.pool === "cls" ? select(tokens, 1, 0) : mean(tokens, 1); // (B, D)
    return this.head.forward(pooled);
  }
}
