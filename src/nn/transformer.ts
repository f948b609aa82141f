/**
 * Transformer encoder (Vaswani et al. 2017, §3.1; pre-norm as Xiong et al. 2020, "On Layer
 * Normalization in the Transformer Architecture", and ViT, Dosovitskiy et al. 2021, eq. 2–3).
 * PyTorch: torch.nn.TransformerEncoderLayer, torch.nn.TransformerEncoder.
 *
 *   pre-norm  (normFirst = true, the default here):
 *     x ← x + Dropout(SelfAttn(LN₁(x)))
 *     x ← x + Dropout(W₂ · Dropout(act(W₁ · LN₂(x) + b₁)) + b₂)
 *   post-norm (normFirst = false, the original Transformer):
 *     x ← LN₁(x + Dropout(SelfAttn(x)))
 *     x ← LN₂(x + Dropout(FFN(x)))
 *
 *   x: (B, T, dModel);  W₁: (dimFeedforward, dModel);  W₂: (dModel, dimFeedforward)
 *
 * The pre-norm residual path is the identity, so gradients reach early layers undamped and the
 * stack trains without learning-rate warmup tricks; ViT and CLIP use it.
 *
 * State dict keys, as torch's TransformerEncoderLayer (ours → torch):
 *   selfAttn.inProjWeight → self_attn.in_proj_weight, selfAttn.inProjBias → self_attn.in_proj_bias,
 *   selfAttn.outProj.{weight,bias} → self_attn.out_proj.{weight,bias},
 *   linear1.{weight,bias}, linear2.{weight,bias}, norm1.{weight,bias}, norm2.{weight,bias} (same names).
 * TransformerEncoder: layers.0.…, layers.1.…, and norm.{weight,bias} when a final norm is given.
 *
 * Defaults that differ from torch's (write them out in a port): normFirst = true (torch False),
 * dropout = 0 (torch 0.1), activation = "gelu" (torch "relu"), dimFeedforward = 4·dModel (torch 2048),
 * batchFirst = true (torch False). And torch's TransformerEncoder deep-copies ONE layer numLayers
 * times (all layers start with identical weights); here every layer gets its own init.
 *
 * @module
 */
import { checkDType, type DType, type Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { add } from "../ops/elementwise.js";
import { gelu, relu } from "../ops/activations.js";
import { Module } from "./module.js";
import { ModuleList } from "./container.js";
import { Linear } from "./linear.js";
import { checkFeatures } from "./util.js";
import { LayerNorm } from "./layernorm.js";
import { Dropout } from "./dropout.js";
import { MultiheadAttention } from "./attention.js";
import { requireGenerator } from "./init.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link TransformerEncoderLayer} (defaults differ from PyTorch's where noted). */
export interface TransformerEncoderLayerOptions {
  /** Hidden size of the feed-forward block (default 4·dModel). */
  dimFeedforward?: number;
  /** Dropout in attention, after attention and in the feed-forward block (default 0). */
  dropout?: number;
  /** Feed-forward activation (default "gelu"). */
  activation?: "gelu" | "relu";
  /** Pre-norm residuals (default true). */
  normFirst?: boolean;
  /** The LayerNorms' eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs (B, T, dModel) (default true). */
  batchFirst?: boolean;
  /** Biases in the attention projections and the feed-forward Linears (default true; the LayerNorms keep theirs). */
  bias?: boolean;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init and dropout (required). */
  generator: Generator;
}

/** The masks of a {@link TransformerEncoderLayer} or {@link TransformerEncoder} forward call (1 = masked). */
export interface EncoderMasks {
  /** (T, T), 1 = query t may not attend to key s. */
  srcMask?: Tensor | null;
  /** (B, T), 1 = padding token. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * One Transformer encoder layer: self-attention and a feed-forward block, each with a residual and a LayerNorm (pre-norm by default); (B,
 * T, dModel) → (B, T, dModel). PyTorch: `torch.nn.TransformerEncoderLayer` (other defaults: see the module comment).
 */
export class TransformerEncoderLayer extends Module {
  /** The model width. */
  readonly dModel: number;
  /** The number of attention heads. */
  readonly nHead: number;
  /** The feed-forward hidden width (default 4·dModel). */
  readonly dimFeedforward: number;
  /** Pre-norm (true, the default) or post-norm (false, the original Transformer and PyTorch's default). */
  readonly normFirst: boolean;
  /** The feed-forward activation (default `"gelu"`). */
  readonly activation: "gelu" | "relu";
  /** The self-attention block. */
  readonly selfAttn: MultiheadAttention;
  /** The first feed-forward Linear, dModel → dimFeedforward. */
  readonly linear1: Linear;
  /** Dropout inside the feed-forward block. */
  readonly dropout: Dropout;
  /** The second feed-forward Linear, dimFeedforward → dModel. */
  readonly linear2: Linear;
  /** The LayerNorm of the attention block. */
  readonly norm1: LayerNorm;
  /** The LayerNorm of the feed-forward block. */
  readonly norm2: LayerNorm;
  /** Dropout on the attention block's output. */
  readonly dropout1: Dropout;
  /** Dropout on the feed-forward block's output. */
  readonly dropout2: Dropout;

  /**
   * Build one encoder layer (its attention, feed-forward Linears and LayerNorms).
   *
   * @param dModel the model width.
   * @param nHead the number of heads.
   * @param options see {@link TransformerEncoderLayerOptions}.
   */
  constructor(dModel: number, nHead: number, options: TransformerEncoderLayerOptions) {
    super();
    checkOptions("TransformerEncoderLayer", options, {
      dimFeedforward: true,
      dropout: true,
      activation: true,
      normFirst: true,
      layerNormEps: true,
      batchFirst: true,
      bias: true,
      dtype: true,
      generator: true,
    });
    const generator = requireGenerator("TransformerEncoderLayer", options?.generator);
    checkFeatures("TransformerEncoderLayer", { dModel, nHead });
    this.dModel = dModel;
    this.nHead = nHead;
    this.dimFeedforward = options.dimFeedforward ?? 4 * dModel;
    this.normFirst = options.normFirst ?? true;
    this.activation = options.activation ?? "gelu";
    if (this.activation !== "gelu" && this.activation !== "relu") {
      throw new Error(`TransformerEncoderLayer: activation must be "gelu" or "relu", got "${String(this.activation)}"`);
    }
    const p = options.dropout ?? 0;
    const dtype = checkDType("TransformerEncoderLayer", options.dtype);
    const bias = options.bias ?? true;
    const eps = options.layerNormEps ?? 1e-5;
    // Registration order = torch's: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
    this.selfAttn = this.registerModule(
      "selfAttn",
      new MultiheadAttention(dModel, nHead, { batchFirst: options.batchFirst ?? true, bias, dropout: p, dtype, generator }),
    );
    this.linear1 = this.registerModule("linear1", new Linear(dModel, this.dimFeedforward, { bias, dtype, generator }));
    this.dropout = this.registerModule("dropout", new Dropout(p, generator));
    this.linear2 = this.registerModule("linear2", new Linear(this.dimFeedforward, dModel, { bias, dtype, generator }));
    this.norm1 = this.registerModule("norm1", new LayerNorm(dModel, { eps, dtype, elementwiseAffine: true }));
    this.norm2 = this.registerModule("norm2", new LayerNorm(dModel, { eps, dtype, elementwiseAffine: true }));
    this.dropout1 = this.registerModule("dropout1", new Dropout(p, generator));
    this.dropout2 = this.registerModule("dropout2", new Dropout(p, generator));
  }

  /** src (B, T, dModel) → (B, T, dModel). */
  forward(src: Tensor, masks: EncoderMasks = {}): Tensor {
    let x = src;
    if (this.normFirst) {
      x = add(x, this.selfAttentionBlock(this.norm1.forward(x), masks)); // x + SA(LN₁(x))
      x = add(x, this.feedForwardBlock(this.norm2.forward(x))); // x + FF(LN₂(x))
    } else {
      x = this.norm1.forward(add(x, this.selfAttentionBlock(x, masks))); // LN₁(x + SA(x))
      x = this.norm2.forward(add(x, this.feedForwardBlock(x))); // LN₂(x + FF(x))
    }
    return x;
  }

  private selfAttentionBlock(x: Tensor, masks: EncoderMasks): Tensor {
    const [attended] = this.selfAttn.forward(x, x, x, {
      attnMask: masks.srcMask ?? null,
      keyPaddingMask: masks.srcKeyPaddingMask ?? null,
      needWeights: false,
    });
    return this.dropout1.forward(attended);
  }

  private feedForwardBlock(x: Tensor): Tensor {
    const hidden = this.linear1.forward(x); // (B, T, dimFeedforward)
    const activated = this.activation === "gelu" ? gelu(hidden) : relu(hidden);
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(activated))); // (B, T, dModel)
  }
}

/** Options of {@link TransformerEncoder}. */
export interface TransformerEncoderOptions {
  /** A final LayerNorm after the last layer (pre-norm stacks need one; ViT's "norm"). */
  norm?: LayerNorm | null;
}

/** A config for building each layer: TransformerEncoderLayer's arguments in one object. */
export interface TransformerEncoderLayerConfig extends TransformerEncoderLayerOptions {
  /** The model width of each layer. */
  dModel: number;
  /** The number of heads of each layer. */
  nHead: number;
}

/**
 * A stack of {@link TransformerEncoderLayer}s, each with its own init, and an optional final LayerNorm; (B, T, dModel) → (B, T, dModel).
 * PyTorch: `torch.nn.TransformerEncoder`.
 */
export class TransformerEncoder extends Module {
  /** The layers, state-dict keys "layers.0.…", "layers.1.…". */
  readonly layers: ModuleList<TransformerEncoderLayer>;
  /** The number of layers. */
  readonly numLayers: number;
  /** The final LayerNorm (keys "norm.…"), or null. */
  readonly norm: LayerNorm | null;

  /**
   * `layer`: a factory (index → a fresh layer) or a config from which numLayers layers are built
   * in order (each drawing its own init from the config's generator).
   */
  constructor(
    layer: ((index: number) => TransformerEncoderLayer) | TransformerEncoderLayerConfig,
    numLayers: number,
    options: TransformerEncoderOptions = {},
  ) {
    super();
    checkOptions("TransformerEncoder", options, { norm: "nullable" });
    checkFeatures("TransformerEncoder", { numLayers });
    const build = typeof layer === "function" ? layer : () => {
      const { dModel, nHead, ...layerOptions } = layer;
      return new TransformerEncoderLayer(dModel, nHead, layerOptions);
    };
    this.numLayers = numLayers;
    const layers = new ModuleList<TransformerEncoderLayer>();
    for (let i = 0; i < numLayers; i++) {
      const built = build(i);
      if (!(built instanceof TransformerEncoderLayer)) {
        throw new Error(`TransformerEncoder: the layer factory returned ${String(built)} for layer ${i}, not a TransformerEncoderLayer`);
      }
      layers.append(built);
    }
    this.layers = this.registerModule("layers", layers);
    this.norm = options.norm ?? null;
    if (this.norm) this.registerModule("norm", this.norm);
  }

  /** src (B, T, dModel) → (B, T, dModel). */
  forward(src: Tensor, masks: EncoderMasks = {}): Tensor {
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, masks);
    return this.norm ? this.norm.forward(x) : x;
  }
}
