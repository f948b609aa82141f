/**
 * CLIP (Radford et al., 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision"): chapter section 7.3, on handwritten digits and their captions.
 *
 *   image x ─ f_img → h (B, 256) ─ W_i → u (B, 128) ┐
 *   caption ─ f_txt → t (B, 128) ─ W_t → v (B, 128) ┴─ L = ½[CE(s·ûv̂ᵀ, arange) + CE(s·v̂ûᵀ, arange)]
 *
 *   s = exp(logitScale) = 1/τ: the model stores logitScale = log(1/τ), initialized to log(1/0.07),
 *   learns it, and clamps it to [0, log 100] after every optimizer step (open_clip), so τ ≥ 0.01.
 *
 * Text towers: "bow" — the masked mean of word embeddings (a bag of words); "transformer" — word +
 * position embeddings through a pre-norm Transformer encoder with a padding mask, then the masked
 * mean over the tokens. Image towers: the shared MLP or conv encoder, or a small ViT on 7×7 patches.
 *
 * Zero-shot classification (section 7.3): embed each class's prompts ("a photo of the digit 7",
 * "a handwritten seven", …), normalize, average per class, renormalize (prompt ensembling), and
 * pick the class with the highest cosine similarity — src/eval/zero-shot.ts does the scoring.
 *
 * The captions carry measured attributes (thick/thin, slanted/upright, small/large) beside the
 * digit: with label-only captions CLIP is a supervised classifier in disguise, and instance
 * retrieval is meaningless (50 distinct captions, all ties). See docs/data.md.
 *
 * PyTorch: open_clip `CLIP` (`logit_scale`, `encode_image`, `encode_text`), `ClipLoss`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { noGrad } from "../autograd/tape.js";
import { Module, Parameter, type Parameter as ParameterType } from "../nn/module.js";
import { Linear } from "../nn/linear.js";
import { Embedding } from "../nn/embedding.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { LayerNorm } from "../nn/layernorm.js";
import { VisionTransformer } from "../nn/vit.js";
import { normal_ } from "../nn/init.js";
import { clipLoss, clampLogitScale_ } from "../losses/clip-loss.js";
import { normalize } from "../ops/functional.js";
import type { ImageCaptionBatch } from "../data/loader.js";
import { PAD_ID } from "../data/captions.js";
import { IMAGE_PIXELS } from "../data/mnist.js";
import { FEATURE_DIM, imageEncoder, imageTensor, trainableOf, type ContrastiveMethod, type ImageEncoder } from "./common.js";
import { checkOptions } from "../tensor/options.js";

/** CLIP's image towers: the shared `"mlp"` or `"conv"` encoder, or a small `"vit"`. */
export type ClipImageTower = "mlp" | "conv" | "vit";
/** CLIP's text towers: `"bow"` (mean of word embeddings) or `"transformer"`. */
export type ClipTextTower = "bow" | "transformer";

/** Options of {@link CLIP}. */
export interface CLIPOptions {
  /** The tokenizer's vocabulary size. */
  vocabSize: number;
  /** The caption length in tokens (the transformer's position embeddings). */
  maxLength: number;
  /** The image tower (default `"mlp"`). */
  imageTower?: ClipImageTower;
  /** The text tower (default `"bow"`). */
  textTower?: ClipTextTower;
  /** The joint embedding size (default 128). */
  embedDim?: number;
  /** τ₀: logitScale starts at log(1/τ₀). */
  initialTemperature?: number;
  /** Seeded generator for the init (required). */
  generator: Generator;
}

/** mean over the non-padding tokens: Σ_t m_t e_t / Σ_t m_t, with m_t = [token_t ≠ pad]. */
function maskedMean(embedded: Tensor, tokens: Int32Array, batchSize: number, length: number): Tensor {
  const mask = new Float32Array(batchSize * length);
  const counts = new Float32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < length; t++) {
      if (tokens[b * length + t] !== PAD_ID) {
        mask[b * length + t] = 1;
        counts[b]++;
      }
    }
    if (counts[b] === 0) counts[b] = 1; // an empty caption embeds to zero, not NaN
  }
  const maskTensor = Tensor.fromTypedArray(mask, [batchSize, length, 1]).to(embedded.dtype); // (B, L, 1)
  const countTensor = Tensor.fromTypedArray(counts, [batchSize, 1]).to(embedded.dtype); // (B, 1)
  return embedded.mul(maskTensor).sum(1).div(countTensor); // (B, D)
}

/** Bag of words: the masked mean of the word embeddings. */
export class BagOfWordsEncoder extends Module {
  /** The word embeddings (vocabSize, width), padding row 0. */
  readonly embedding: Embedding;
  /**
   * An embedding table of `vocabSize` words of size `width`, padding row 0.
   *
   * @param vocabSize the vocabulary size.
   * @param width the embedding width.
   * @param generator the init's generator.
   */
  constructor(vocabSize: number, width: number, generator: Generator) {
    super();
    this.embedding = this.registerModule("embedding", new Embedding(vocabSize, width, { paddingIdx: PAD_ID, generator }));
  }
  forward(tokens: Int32Array, batchSize: number, length: number): Tensor {
    const embedded = this.embedding.forward(tokens, [batchSize, length]); // (B, L, D)
    return maskedMean(embedded, tokens, batchSize, length); // (B, D)
  }
}

/** Word + position embeddings → pre-norm Transformer (padding masked) → masked mean. */
export class TransformerTextEncoder extends Module {
  /** The word embeddings (vocabSize, width), padding row 0. */
  readonly embedding: Embedding;
  /** The learned position embeddings (1, maxLength, width), N(0, 0.01²) at init. */
  readonly positionEmbedding: Parameter;
  /** Two pre-norm layers of width `width`, 4 heads, with a final LayerNorm. */
  readonly transformer: TransformerEncoder;
  /**
   * Build the embeddings and a 2-layer Transformer of width `width`.
   *
   * @param vocabSize the vocabulary size.
   * @param maxLength the longest caption in tokens.
   * @param width the model width.
   * @param generator the init's generator.
   */
  constructor(vocabSize: number, maxLength: number, width: number, generator: Generator) {
    super();
    this.embedding = this.registerModule("embedding", new Embedding(vocabSize, width, { paddingIdx: PAD_ID, generator }));
    this.positionEmbedding = new Parameter(
      normal_(Tensor.fromTypedArray(new Float32Array(maxLength * width), [1, maxLength, width]), 0, 0.01, generator),
    ); // (1, L, D)
    this.registerParameter("positionEmbedding", this.positionEmbedding);
    this.transformer = this.registerModule(
      "transformer",
      new TransformerEncoder(() => new TransformerEncoderLayer(width, 4, { dimFeedforward: 2 * width, generator }), 2, {
        norm: new LayerNorm(width),
      }),
    );
  }
  forward(tokens: Int32Array, batchSize: number, length: number): Tensor {
    const padding = new Float32Array(batchSize * length);
    for (let i = 0; i < padding.length; i++) padding[i] = tokens[i] === PAD_ID ? 1 : 0;
    const x = this.embedding.forward(tokens, [batchSize, length]).add(this.positionEmbedding.narrow(1, 0, length)); // (B, L, D)
    const encoded = this.transformer.forward(x, { srcKeyPaddingMask: Tensor.fromTypedArray(padding, [batchSize, length]) }); // (B, L, D)
    return maskedMean(encoded, tokens, batchSize, length); // (B, D)
  }
}

/**
 * CLIP: an image tower and a text tower projected into one space and trained with {@link clipLoss} over matched (image, caption) pairs,
 * with a learned logit scale clamped to [0, log 100]. PyTorch: open_clip `CLIP` + `ClipLoss`.
 */
export class CLIP extends Module implements ContrastiveMethod<ImageCaptionBatch> {
  readonly methodName = "clip" as const;
  readonly encoder: ImageEncoder;
  /** W_i, a bias-free Linear from the image features to the joint space. */
  readonly imageProjection: Linear;
  /** The text tower ({@link BagOfWordsEncoder} or {@link TransformerTextEncoder}). */
  readonly textEncoder: BagOfWordsEncoder | TransformerTextEncoder;
  /** W_t, a bias-free Linear from the text features to the joint space. */
  readonly textProjection: Linear;
  /** s = log(1/τ), a learned 0-d parameter, initialized to log(1/initialTemperature). open_clip: `logit_scale`. */
  readonly logitScale: ParameterType;
  /** The caption length in tokens. */
  readonly maxLength: number;

  /**
   * Build the two towers, their projections and the logit scale.
   *
   * @param options see {@link CLIPOptions}.
   */
  constructor(options: CLIPOptions) {
    super();
    checkOptions("CLIP", options, {
      vocabSize: true,
      maxLength: true,
      imageTower: true,
      textTower: true,
      embedDim: true,
      initialTemperature: true,
      generator: true,
    });
    const g = options.generator;
    const embedDim = options.embedDim ?? 128;
    this.maxLength = options.maxLength;
    const tower = options.imageTower ?? "mlp";
    let featureDim = FEATURE_DIM;
    if (tower === "vit") {
      featureDim = 64;
      this.encoder = this.registerModule(
        "encoder",
        new VisionTransformer({ embedDim: 64, depth: 2, numHeads: 4, patchSize: 7, pool: "mean", mlpRatio: 2, generator: g }),
      );
    } else {
      this.encoder = this.registerModule("encoder", imageEncoder(tower, g));
    }
    this.imageProjection = this.registerModule("imageProjection", new Linear(featureDim, embedDim, { bias: false, generator: g }));
    const textWidth = 128;
    this.textEncoder = this.registerModule(
      "textEncoder",
      (options.textTower ?? "bow") === "bow"
        ? new BagOfWordsEncoder(options.vocabSize, textWidth, g)
        : new TransformerTextEncoder(options.vocabSize, options.maxLength, textWidth, g),
    );
    this.textProjection = this.registerModule("textProjection", new Linear(textWidth, embedDim, { bias: false, generator: g }));
    const initial = new Float32Array([Math.log(1 / (options.initialTemperature ?? 0.07))]);
    this.logitScale = new Parameter(Tensor.fromTypedArray(initial, [])); // log(1/τ)
    this.registerParameter("logitScale", this.logitScale);
  }

  /** The encoder's features h = f_img(x) (what the linear probe reads). */
  forward(images: Tensor): Tensor {
    return this.encoder.forward(images);
  }

  /** u = W_i f_img(x): (B, 1, 28, 28) → (B, embedDim), not normalized. */
  encodeImage(images: Tensor): Tensor {
    return this.imageProjection.forward(this.encoder.forward(images));
  }

  /** v = W_t f_txt(tokens): tokens (B, L) → (B, embedDim), not normalized. */
  encodeText(tokens: Int32Array, batchSize: number): Tensor {
    const length = tokens.length / batchSize;
    return this.textProjection.forward(this.textEncoder.forward(tokens, batchSize, length));
  }

  trainingLoss(batch: ImageCaptionBatch): Tensor {
    const imageFeatures = this.encodeImage(imageTensor(batch.images, batch.batchSize)); // (N, 128)
    const textFeatures = this.encodeText(batch.tokens, batch.batchSize); // (N, 128)
    return clipLoss(imageFeatures, textFeatures, { logitScale: this.logitScale });
  }

  trainableParameters(): [string, ParameterType][] {
    return trainableOf(this);
  }

  /** open_clip: logit_scale.clamp_(0, log 100) after each step. */
  afterOptimizerStep(): void {
    clampLogitScale_(this.logitScale);
  }

  progressExtra() {
    return { label: "scale", value: Math.exp(this.logitScale.item()) };
  }

  /** Normalized text embeddings of a list of token rows, in eval mode (for zero-shot and retrieval). */
  embedTexts(tokens: Int32Array, count: number): {
    /** (count, dim) unit rows, row-major. */
    features: Float32Array;
    /** The joint embedding size. */
    dim: number;
  } {
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const v = normalize(this.encodeText(tokens, count)); // (count, 128)
        return { features: v.toTypedArray() as Float32Array, dim: v.shape[1] };
      });
    } finally {
      this.train(wasTraining);
    }
  }

  /** Normalized image embeddings u/‖u‖ (the CLIP space, not the encoder features). */
  embedImagesJoint(images: Float32Array, count: number, batchSize = 500): {
    /** (count, dim) unit rows, row-major. */
    features: Float32Array;
    /** The joint embedding size. */
    dim: number;
  } {
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const parts: Float32Array[] = [];
        let dim = 0;
        for (let start = 0; start < count; start += batchSize) {
          const size = Math.min(batchSize, count - start);
          const u = normalize(this.encodeImage(imageTensor(images.subarray(start * IMAGE_PIXELS, (start + size) * IMAGE_PIXELS), size)));
          dim = u.shape[1];
          parts.push(u.toTypedArray() as Float32Array);
        }
        const features = new Float32Array(count * dim);
        let offset = 0;
        for (const part of parts) {
          features.set(part, offset);
          offset += part.length;
        }
        return { features, dim };
      });
    } finally {
      this.train(wasTraining);
    }
  }
}
