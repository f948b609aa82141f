/**
 * CLIP's symmetric contrastive loss between N matched image–text pairs.
 * Chapter 7.3 ("Training Process", "Loss computation"). Source: Radford et al., "Learning
 * Transferable Visual Models From Natural Language Supervision" (CLIP), 2021, Figure 3 and §2.5.
 *
 *   I = normalize(imageFeatures), T = normalize(textFeatures)     (N, D) each
 *   logits = I Tᵀ / τ                                             (N, N), row i: image i vs texts
 *   L = ½ [ CE(logits, arange(N)) + CE(logitsᵀ, arange(N)) ]       image→text and text→image
 *
 * Each direction is in-batch InfoNCE (info-nce.ts): the matching pair sits on the diagonal.
 * With all embeddings identical both terms are log N.
 *
 * The temperature, three ways:
 *   { temperature: 0.07 }             a fixed τ (default 0.07, CLIP's initial value);
 *   { temperature: τ }                τ a 0-d tensor with requiresGrad: logits = I Tᵀ / τ, and
 *                                     ∂L/∂τ = −(1/τ²) Σ_ij G_ij (I Tᵀ)_ij, G = ∂L/∂logits;
 *   { logitScale: s }                 s = log(1/τ), a 0-d tensor (or number), as CLIP stores it:
 *                                     logits = exp(s) · I Tᵀ, and ∂L/∂s = −τ ∂L/∂τ.
 * Learning s rather than τ keeps the scale positive and makes steps multiplicative. CLIP
 * initializes s = log(1/0.07) and clips the scale at 100: open_clip runs
 * `logit_scale.clamp_(0, math.log(100))` after every optimizer step. That clamp belongs to the
 * training loop, not to the loss: `clampLogitScale_` below does it. Without it the scale runs
 * away (the loss can always be lowered by sharpening the softmax once the pairs are separated).
 *
 * Shapes: imageFeatures (N, D), textFeatures (N, D).
 *
 * PyTorch: open_clip.loss.ClipLoss computes
 *   logits_per_image = logit_scale * image_features @ text_features.T
 *   logits_per_text  = logit_scale * text_features @ image_features.T
 *   (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2
 * on features the model has already normalized, and its `logit_scale` argument is the
 * *exponentiated* scale (the model returns self.logit_scale.exp()); here `logitScale` is the
 * stored s itself and the loss takes exp(s).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";
import { crossEntropy, normalize } from "../ops/functional.js";
import { checkSameDtype, requireTensor } from "../ops/util.js";
import { FLOAT32_MAX, arangeLabels, checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link clipLoss}: give a temperature τ or a logit scale s = log(1/τ), not both. */
export interface ClipLossOptions {
  /** τ: a number (default 0.07) or a 0-d tensor, learnable when it has requiresGrad. */
  temperature?: number | Tensor;
  /** s = log(1/τ) (CLIP's `logit_scale` parameter): logits are multiplied by exp(s). */
  logitScale?: number | Tensor;
}

/**
 * CLIP's symmetric loss over N matched image–text pairs: the mean of the image→text and text→image cross entropies of `normalize(I)
 * normalize(T)ᵀ / τ`, the pair (i, i) being the positive.
 * PyTorch: `open_clip.loss.ClipLoss` (whose `logit_scale` is exp(s)).
 *
 * @param imageFeatures (N, D).
 * @param textFeatures (N, D); row i matches image i.
 * @param options `temperature` τ (default 0.07, a number or a learnable 0-d tensor) or `logitScale` s = log(1/τ).
 * @returns the loss, a 0-d tensor.
 */
export function clipLoss(imageFeatures: Tensor, textFeatures: Tensor, options: ClipLossOptions = {}): Tensor {
  checkOptions("clipLoss", options, { temperature: true, logitScale: true });
  checkEmbeddings("clipLoss", "imageFeatures", imageFeatures);
  checkEmbeddings("clipLoss", "textFeatures", textFeatures);
  checkSameShape("clipLoss", "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  checkSameDtype("clipLoss", "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  const scaleLogits = logitScaler(options, imageFeatures);

  const image = normalize(imageFeatures); // (N, D)
  const text = normalize(textFeatures); // (N, D)
  const logitsPerImage = scaleLogits(image.matmul(text.t())); // (N, N): image i vs text j
  const logitsPerText = logitsPerImage.t(); // (N, N): text i vs image j
  const labels = arangeLabels(imageFeatures.shape[0]); // pair i is on the diagonal
  return crossEntropy(logitsPerImage, labels).add(crossEntropy(logitsPerText, labels)).mul(0.5);
}

/** similarities ↦ logits: / τ (number or tensor), or · exp(s). */
function logitScaler(options: ClipLossOptions, like: Tensor): (similarities: Tensor) => Tensor {
  const scale = resolveClipScale("clipLoss", options, like);
  if ("logitScale" in scale) {
    const s = scale.logitScale;
    return s instanceof Tensor ? (similarities) => similarities.mul(s.exp()) : (similarities) => similarities.mul(Math.exp(s));
  }
  const temperature = scale.temperature;
  return (similarities) => similarities.div(temperature);
}

/**
 * The checked scale option of a CLIP loss (clipLoss, tiledClipLoss): exactly one of τ (default
 * 0.07) or s = log(1/τ), each a finite number or a 0-d tensor of the features' dtype.
 */
export function resolveClipScale(
  loss: string,
  options: ClipLossOptions,
  like: Tensor,
): { logitScale: number | Tensor } | { temperature: number | Tensor } {
  if (options.temperature !== undefined && options.logitScale !== undefined) {
    throw new Error(`${loss}: pass temperature or logitScale, not both (logitScale = log(1 / temperature))`);
  }
  if (options.logitScale !== undefined) {
    const scale = options.logitScale;
    const s = scale instanceof Tensor ? checkScalarTensor(loss, "logitScale", scale, like) : scale;
    if (typeof s !== "number" || !Number.isFinite(s) || !Number.isFinite(Math.exp(s)) || Math.exp(s) === 0) {
      throw new Error(`${loss}: logitScale must be a finite number whose exp is finite and > 0, got ${String(s)}`);
    }
    if (Math.exp(s) > FLOAT32_MAX) {
      // the same rule as the temperature's (checkTemperature): the logits exp(s)·sim must fit float32
      throw new Error(
        `${loss}: logitScale ${s} is too large: exp(s) = ${Math.exp(s)} overflows float32 (max ${FLOAT32_MAX}, s ≤ ${
          Math.log(FLOAT32_MAX).toFixed(2)
        })`,
      );
    }
    return { logitScale: scale };
  }
  const temperature = options.temperature ?? 0.07;
  checkTemperature(loss, temperature instanceof Tensor ? checkScalarTensor(loss, "temperature", temperature, like) : temperature);
  return { temperature };
}

/** A learnable scalar: 0-d, the features' dtype. Returns its value. */
function checkScalarTensor(loss: string, name: string, value: Tensor, like: Tensor): number {
  requireTensor(loss, value, name);
  if (value.ndim !== 0) throw new Error(`${loss}: ${name} must be a 0-d tensor, got shape ${shapeToString(value.shape)}`);
  if (value.dtype !== like.dtype) {
    throw new Error(
      `${loss}: ${name} is ${value.dtype} but imageFeatures is ${like.dtype} ${
        shapeToString(like.shape)
      }; convert one with .to("${like.dtype}")`,
    );
  }
  return value.item();
}

/**
 * CLIP's clip of the learnable scale, in place, after an optimizer step (open_clip:
 * `with torch.no_grad(): model.logit_scale.clamp_(0, math.log(100))`), so that exp(s) ≤ 100,
 * i.e. τ ≥ 0.01. Returns the tensor.
 */
export function clampLogitScale_(logitScale: Tensor, min = 0, max = Math.log(100)): Tensor {
  requireTensor("clampLogitScale_", logitScale, "logitScale");
  if (!(min <= max)) throw new Error(`clampLogitScale_: need min ≤ max, got min=${min}, max=${max}`);
  if (!logitScale.isContiguous()) {
    throw new Error(`clampLogitScale_: logitScale must be contiguous (shape ${shapeToString(logitScale.shape)})`);
  }
  // A write to the storage, outside the tape (as torch.no_grad + clamp_).
  const { data, offset } = mutableStorage(logitScale);
  for (let i = 0; i < logitScale.numel(); i++) data[offset + i] = Math.min(max, Math.max(min, data[offset + i]));
  return logitScale;
}
