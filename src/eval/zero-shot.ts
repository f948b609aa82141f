/**
 * CLIP zero-shot classification: classify an image by the class whose text prompt it matches
 * best, with no classifier trained on labels (chapter 7.3, "Zero-Shot Transfer").
 *
 * Source: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
 * Supervision" (CLIP), §3.1.2 and §3.1.4 (prompt engineering and ensembling); the same recipe as
 * CLIP's "Prompt_Engineering_for_ImageNet" notebook and open_clip's `build_zero_shot_classifier`.
 *
 *   image embeddings    f_i (N, D)                      u_i = f_i / ‖f_i‖
 *   prompt embeddings   t_{c,p} (C, P, D): prompt p of class c (e.g. "the digit seven", "a 7")
 *   single prompt       w_c = t_{c,0} / ‖t_{c,0}‖                                        (C, D)
 *   prompt ensemble     m_c = (1/P) Σ_p t_{c,p} / ‖t_{c,p}‖,   w_c = m_c / ‖m_c‖              (C, D)
 *   prediction          ŷ_i = argmax_c u_i · w_c      (cosine similarity; ties to the smaller c)
 *   accuracy            (1/N) Σ_i [ŷ_i = y_i]
 *
 * Each prompt is normalized before the average so that every prompt weighs the same whatever
 * its norm, and the average is renormalized because a mean of unit vectors is shorter than 1
 * (by how much depends on how much the prompts agree), which would otherwise scale the scores of
 * some classes down. PyTorch (CLIP's notebook):
 *   class_embeddings /= class_embeddings.norm(dim=-1, keepdim=True)
 *   class_embedding = class_embeddings.mean(dim=0); class_embedding /= class_embedding.norm()
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import {
  accuracy,
  asFeatureMatrix,
  asLabels,
  checkSameFeatureDim,
  normalizeRows,
  type FeatureArray,
  type FeatureMatrix,
  type FeaturesLike,
  type LabelsLike,
} from "./features.js";
import { checkOptions } from "../tensor/options.js";

/** Prompt embeddings (C, P, D): as a Tensor, or a row-major typed array with its shape. */
export type PromptEmbeddingsLike = Tensor | {
  /** (C, P, E) row-major. */
  data: FeatureArray;
  /** C, the number of classes. */
  classes: number;
  /** P, prompts per class. */
  prompts: number;
  /** E, the embedding size. */
  dim: number;
};

/** The checked prompt embeddings, flattened to (C·P, D) rows: row c·P + p is prompt p of class c. */
function asPromptEmbeddings(fn: string, input: PromptEmbeddingsLike): { rows: FeatureMatrix; classes: number; prompts: number } {
  if (input instanceof Tensor) {
    if (input.ndim !== 3) {
      throw new Error(`${fn}: promptEmbeddings must be a 3-D tensor (C classes, P prompts, D), got shape [${input.shape.join(", ")}]`);
    }
    const [classes, prompts, dim] = input.shape;
    const rows = asFeatureMatrix(fn, `promptEmbeddings [${classes}, ${prompts}, ${dim}]`, {
      data: input.contiguous().toTypedArray(),
      rows: classes * prompts,
      dim,
    });
    return { rows, classes, prompts };
  }
  const { data, classes, prompts, dim } = input;
  for (const [name, value] of [["classes", classes], ["prompts", prompts], ["dim", dim]] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${fn}: promptEmbeddings.${name} must be a positive whole number, got ${value}`);
    }
  }
  const rows = asFeatureMatrix(fn, `promptEmbeddings [${classes}, ${prompts}, ${dim}]`, { data, rows: classes * prompts, dim });
  return { rows, classes, prompts };
}

/**
 * The zero-shot classifier: one unit vector per class, (C, D) Float64Array. With ensemble = true
 * (default) the renormalized mean of the normalized prompts; with false, the first prompt only.
 */
export function zeroShotClassifier(promptEmbeddings: PromptEmbeddingsLike, options: { ensemble?: boolean } = {}): FeatureMatrix {
  checkOptions("zeroShotClassifier", options, { ensemble: true });
  const { rows, classes, prompts } = asPromptEmbeddings("zeroShotClassifier", promptEmbeddings);
  const dim = rows.dim;
  const promptUnit = normalizeRows(rows); // (C·P, D)
  const used = options.ensemble === false ? 1 : prompts;
  const mean = new Float64Array(classes * dim); // (C, D)
  for (let c = 0; c < classes; c++) {
    for (let p = 0; p < used; p++) {
      const source = (c * prompts + p) * dim;
      for (let d = 0; d < dim; d++) mean[c * dim + d] += promptUnit[source + d];
    }
    for (let d = 0; d < dim; d++) mean[c * dim + d] /= used;
  }
  return { data: normalizeRows({ data: mean, rows: classes, dim }), rows: classes, dim };
}

/** ŷ_i = argmax_c cos(f_i, w_c) for (N, D) image features and a (C, D) classifier; ties to the smaller c. */
export function zeroShotPredict(imageFeatures: FeaturesLike, classifier: FeaturesLike): Int32Array {
  const fn = "zeroShotPredict";
  const images = asFeatureMatrix(fn, "imageFeatures", imageFeatures);
  const weights = asFeatureMatrix(fn, "classifier", classifier);
  checkSameFeatureDim(fn, "imageFeatures", images, "classifier", weights);
  return predictWithUnitRows(normalizeRows(images), images.rows, normalizeRows(weights), weights.rows, images.dim);
}

function predictWithUnitRows(images: Float64Array, rows: number, classes: Float64Array, numClasses: number, dim: number): Int32Array {
  const predictions = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      let score = 0;
      for (let d = 0; d < dim; d++) score += images[i * dim + d] * classes[c * dim + d];
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    predictions[i] = best;
  }
  return predictions;
}

/** The result of {@link zeroShotAccuracy}: accuracy and predictions with one prompt and with the prompt ensemble. */
export interface ZeroShotResult {
  /** Accuracy with the first prompt of each class only. */
  singlePromptAccuracy: number;
  /** Accuracy with all P prompts ensembled. */
  ensembleAccuracy: number;
  /** The predicted class of each image with the first prompt only (m). */
  singlePromptPredictions: Int32Array;
  /** The predicted class of each image with the ensembled prompts (m). */
  ensemblePredictions: Int32Array;
  /** C, the number of classes. */
  classes: number;
  /** P, the number of prompts per class. */
  promptsPerClass: number;
}

/**
 * Zero-shot accuracy of (N, D) image features against (C, P, D) prompt embeddings, with the first
 * prompt alone and with the P prompts ensembled. Labels are (N,) in 0 … C−1.
 */
export function zeroShotAccuracy(imageFeatures: FeaturesLike, labels: LabelsLike, promptEmbeddings: PromptEmbeddingsLike): ZeroShotResult {
  const fn = "zeroShotAccuracy";
  const images = asFeatureMatrix(fn, "imageFeatures", imageFeatures);
  const { rows, classes, prompts } = asPromptEmbeddings(fn, promptEmbeddings);
  checkSameFeatureDim(fn, "imageFeatures", images, "promptEmbeddings (as C·P rows)", rows);
  const y = asLabels(fn, "labels", labels, images.rows, classes);
  const imageUnit = normalizeRows(images); // (N, D)
  const prompt3d = { data: rows.data, classes, prompts, dim: rows.dim };
  const single = zeroShotClassifier(prompt3d, { ensemble: false }); //   (C, D)
  const ensemble = zeroShotClassifier(prompt3d, { ensemble: true }); //  (C, D)
  const singlePromptPredictions = predictWithUnitRows(imageUnit, images.rows, single.data as Float64Array, classes, images.dim);
  const ensemblePredictions = predictWithUnitRows(imageUnit, images.rows, ensemble.data as Float64Array, classes, images.dim);
  return {
    singlePromptAccuracy: accuracy(singlePromptPredictions, y),
    ensembleAccuracy: accuracy(ensemblePredictions, y),
    singlePromptPredictions,
    ensemblePredictions,
    classes,
    promptsPerClass: prompts,
  };
}
