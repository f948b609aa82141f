/**
 * Evaluate a trained method the way the report shows it (docs/evaluation.md):
 *   encoder features h = f(x) of the train and test splits → linear probe, kNN, representation health
 *   CLIP also: zero-shot accuracy (single prompt and prompt ensemble) and image↔caption retrieval
 *   against the test images' attribute captions written with a held-out template.
 *
 * @module
 */
import { noGrad } from "../autograd/tape.js";
import type { Tensor } from "../tensor/tensor.js";
import { gatherImages, IMAGE_PIXELS, NUM_CLASSES, type MnistData } from "../data/mnist.js";
import {
  captionTokenizer,
  zeroShotPrompts,
  buildCaptionTable,
  fitCaptionThresholds,
  HELD_OUT_TEMPLATES,
  CAPTION_MAX_LENGTH,
} from "../data/captions.js";
import { evaluateEncoder, type EvaluationResult } from "../eval/evaluate.js";
import { embedImages, type FeatureMatrix } from "../eval/features.js";
import { groupedRetrievalRecall, type GroupedRetrievalResult } from "../eval/retrieval.js";
import type { ContrastiveMethod } from "./common.js";
import { CLIP } from "./clip.js";
import { imageTensor } from "./common.js";
import type { TensorModule } from "../nn/container.js";
import { Generator } from "../tensor/random.js";
import { normalize } from "../ops/functional.js";
import { augmentBatch, defaultAugmentation } from "../data/augment.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgressFn } from "../eval/progress.js";

/** The result of {@link evaluateMethod}: {@link EvaluationResult} with CLIP's retrieval over distinct captions. */
export interface MethodEvaluation extends Omit<EvaluationResult, "retrieval"> {
  /** CLIP: image ↔ caption retrieval over the distinct attribute captions of the test split. */
  retrieval?: GroupedRetrievalResult;
}

/**
 * Evaluate `method` on `data` (see the file header). `onProgress` receives the progress of the
 * long stages (features, kNN, linear probe; src/eval/progress.ts); without it nothing is reported.
 */
export function evaluateMethod(
  method: ContrastiveMethod,
  data: MnistData,
  options: { seed?: number; onProgress?: EvaluationProgressFn } = {},
): MethodEvaluation {
  checkOptions("evaluateMethod", options, { seed: true, onProgress: true });
  const { onProgress } = options;
  const wasTraining = method.training;
  method.eval();
  try {
    const embed = (images: Tensor) => noGrad(() => method.encoder.forward(images));
    if (!(method instanceof CLIP)) {
      const { retrieval: _none, ...result } = evaluateEncoder(method.methodName, embed, data, { seed: options.seed ?? 0, onProgress });
      return result;
    }
    const tokenizer = captionTokenizer();
    // Zero-shot: every class's prompts through the text tower, (C, P, E).
    const prompts = zeroShotPrompts();
    const classes = prompts.length;
    const perClass = prompts[0].length;
    const promptTokens = tokenizer.encodeBatch(prompts.flat(), method.maxLength);
    const promptEmbeddings = method.embedTexts(promptTokens, classes * perClass);
    const imageJoint = method.embedImagesJoint(data.test.images, data.test.count);
    const { retrieval: _paired, ...result } = evaluateEncoder("clip", embed, data, {
      seed: options.seed ?? 0,
      onProgress,
      zeroShot: {
        imageFeatures: { data: imageJoint.features, rows: data.test.count, dim: imageJoint.dim },
        labels: data.test.labels,
        promptEmbeddings: { data: promptEmbeddings.features, classes, prompts: perClass, dim: promptEmbeddings.dim },
      },
    });
    // Retrieval: each test image's own attribute caption, written with a template never seen in
    // training. Many images share a caption, so each distinct caption is one candidate.
    const table = buildCaptionTable(data.test, fitCaptionThresholds(data.train), {
      templates: HELD_OUT_TEMPLATES.slice(0, 1),
      tokenizer,
      maxLength: CAPTION_MAX_LENGTH,
    });
    const { uniqueTokens, captionOfImage, count } = distinctCaptions(table.tokens, data.test.count, CAPTION_MAX_LENGTH);
    const captionEmbeddings = method.embedTexts(uniqueTokens, count);
    const retrieval = groupedRetrievalRecall(
      { data: imageJoint.features, rows: data.test.count, dim: imageJoint.dim },
      { data: captionEmbeddings.features, rows: count, dim: captionEmbeddings.dim },
      captionOfImage,
      { ks: [1, 5] },
    );
    result.row.recallAt1 = { imageToText: retrieval.imageToText[1], textToImage: retrieval.textToImage[1] };
    return { ...result, retrieval };
  } finally {
    method.train(wasTraining);
  }
}

/** The distinct token rows of a (count, L) caption table, and which one each image has. */
export function distinctCaptions(
  tokens: Int32Array,
  count: number,
  length: number,
): { uniqueTokens: Int32Array; captionOfImage: Int32Array; count: number } {
  const index = new Map<string, number>();
  const rows: Int32Array[] = [];
  const captionOfImage = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const row = tokens.subarray(i * length, (i + 1) * length);
    const key = row.join(",");
    let u = index.get(key);
    if (u === undefined) {
      u = rows.length;
      index.set(key, u);
      rows.push(row);
    }
    captionOfImage[i] = u;
  }
  const uniqueTokens = new Int32Array(rows.length * length);
  rows.forEach((row, u) => uniqueTokens.set(row, u * length));
  return { uniqueTokens, captionOfImage, count: rows.length };
}

/**
 * A batch's similarity matrix for the heatmap: n test images ordered by digit, cosine similarity
 * in the space the loss acts on — the projection z = g(f(x)) of two augmented views (row i,
 * column j: view 1 of image i against view 2 of image j), or, for CLIP, image i against caption j
 * in the joint space. A good model shows a bright diagonal (positives) and brighter blocks of
 * same-digit images; a collapsed one is uniformly bright.
 */
export function similaritySample(
  method: ContrastiveMethod,
  data: MnistData,
  options: { count?: number; seed?: number } = {},
): {
  /** The (size, size) cosine similarities, row-major. */
  values: Float64Array;
  /** The number of images. */
  size: number;
  /** Their labels (size). */
  labels: Int32Array;
} {
  checkOptions("similaritySample", options, { count: true, seed: true });
  const count = Math.min(options.count ?? 30, data.test.count);
  // The first images of each digit in turn, so that same-digit pairs form blocks.
  const perDigit = Math.ceil(count / NUM_CLASSES);
  const chosen: number[] = [];
  for (let digit = 0; digit < NUM_CLASSES && chosen.length < count; digit++) {
    let taken = 0;
    for (let i = 0; i < data.test.count && taken < perDigit && chosen.length < count; i++) {
      if (data.test.labels[i] === digit) {
        chosen.push(i);
        taken++;
      }
    }
  }
  const size = chosen.length;
  const images = gatherImages(data.test.images, IMAGE_PIXELS, chosen); // (size, 784)
  const labels = Int32Array.from(chosen, (index) => data.test.labels[index]);
  const wasTraining = method.training;
  method.eval();
  try {
    let left: { features: Float32Array; dim: number };
    let right: { features: Float32Array; dim: number };
    if (method instanceof CLIP) {
      const table = buildCaptionTable({ images, labels, count: size }, fitCaptionThresholds(data.train), {
        templates: HELD_OUT_TEMPLATES.slice(0, 1),
        maxLength: CAPTION_MAX_LENGTH,
      });
      left = method.embedImagesJoint(images, size);
      right = method.embedTexts(table.tokens, size);
    } else {
      const generator = new Generator(options.seed ?? 0);
      const pipeline = defaultAugmentation();
      const projector = (method as { projector?: TensorModule }).projector;
      const embed = (pixels: Float32Array) =>
        noGrad(() => {
          const h = method.encoder.forward(imageTensor(pixels, size)); // (n, D)
          const z = normalize(projector ? projector.forward(h) : h); // (n, d)
          return { features: z.toTypedArray() as Float32Array, dim: z.shape[1] };
        });
      left = embed(augmentBatch(images, size, pipeline, generator));
      right = embed(augmentBatch(images, size, pipeline, generator));
    }
    const values = new Float64Array(size * size);
    const dim = left.dim;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += left.features[i * dim + d] * right.features[j * dim + d];
        values[i * size + j] = dot;
      }
    }
    return { values, size, labels };
  } finally {
    method.train(wasTraining);
  }
}

/**
 * `count` indices of a split grouped by class, taking the classes in turn: the first image of
 * class 0, of class 1, … of class C − 1, then the second of each, and so on (a class that runs out
 * is skipped). The `augment` preview and the neighbour grid's queries read their images this way:
 * the split is stored class by class, so its first rows would all be zeros.
 */
export function oneOfEachClass(labels: Int32Array, count: number, numClasses = NUM_CLASSES): Int32Array {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, index) => byClass[label]?.push(index));
  const chosen: number[] = [];
  for (let round = 0; chosen.length < count && byClass.some((rows) => rows.length > round); round++) {
    for (let c = 0; c < numClasses && chosen.length < count; c++) if (round < byClass[c].length) chosen.push(byClass[c][round]);
  }
  return Int32Array.from(chosen);
}

/** The encoder features h = f(x) of a split's images (frozen, eval mode), (count, D). */
export function encoderFeatures(method: ContrastiveMethod, images: Float32Array, count: number): FeatureMatrix {
  const wasTraining = method.training;
  method.eval();
  try {
    return embedImages((batch: Tensor) => noGrad(() => method.encoder.forward(batch)), images, count);
  } finally {
    method.train(wasTraining);
  }
}
