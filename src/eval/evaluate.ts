/**
 * Everything at once: run the evaluations of this folder on one method's features (or encoder)
 * and collect the numbers into a report row.
 *
 *   train features (n, D) + labels ─┬─ linearProbe ──────────── test accuracy
 *   test features  (m, D) + labels ─┼─ knnAccuracy ──────────── test accuracy
 *                                   └─ representationHealth ─── uniformity, std vs 1/√D, effective rank
 *   second view of the test images (m, D) ─────────────────────── alignment (with the test features)
 *   CLIP only: prompt embeddings (C, P, D) ─── zeroShotAccuracy;  caption embeddings ─── retrievalRecall
 *
 * `evaluateEncoder` first embeds the MNIST splits with `embed(images) → features` (frozen, in
 * batches), and builds the positive pairs for alignment from two augmented views of each test
 * image (the method's own notion of a positive pair, Wang & Isola 2020 §4).
 *
 * @module
 */
import type { MnistData } from "../data/mnist.js";
import { augmentBatch, defaultAugmentation, type Transform } from "../data/augment.js";
import { Generator } from "../tensor/random.js";
import { embedImages, type EmbedFn, type FeaturesLike, type LabelsLike } from "./features.js";
import { linearProbe, type LinearProbeOptions, type LinearProbeResult } from "./linear-probe.js";
import { linearProbeValidated } from "./validated-probe.js";
import { knnAccuracy, type KnnOptions, type KnnResult } from "./knn.js";
import { alignment, representationHealth, type RepresentationHealth } from "./health.js";
import { zeroShotAccuracy, type PromptEmbeddingsLike, type ZeroShotResult } from "./zero-shot.js";
import { retrievalRecall, type RetrievalResult } from "./retrieval.js";
import type { EvaluationRow } from "./report.js";
import { checkOptions } from "../tensor/options.js";
import { relabelProgress, type EvaluationProgressFn } from "./progress.js";

/**
 * The input of {@link evaluateFeatures}: one method's train and test features with their labels (and, optionally, positives, zero-shot
 * and retrieval inputs).
 */
export interface FeatureEvaluationInput {
  /** The method's name, for the report row. */
  method: string;
  /** (n, D) training features, what the probe and kNN fit on. */
  trainFeatures: FeaturesLike;
  /** (n) training labels. */
  trainLabels: LabelsLike;
  /** (m, D) test features, what the scores are measured on. */
  testFeatures: FeaturesLike;
  /** (m) test labels. */
  testLabels: LabelsLike;
  /** (m, D): row i is a positive of test row i (e.g. another augmented view), for alignment. */
  positiveFeatures?: FeaturesLike;
  /** CLIP: image embeddings in the joint space (m, E), their labels and the prompt embeddings (C, P, E). */
  zeroShot?: {
    /** (m, E) image embeddings in the joint space. */
    imageFeatures: FeaturesLike;
    /** (m) their labels. */
    labels: LabelsLike;
    /** (C, P, E) the embeddings of P prompts for each of C classes. */
    promptEmbeddings: PromptEmbeddingsLike;
  };
  /** CLIP: paired image and caption embeddings (N, E) each. */
  retrieval?: {
    /** (N, E) image embeddings. */
    imageFeatures: FeaturesLike;
    /** (N, E) caption embeddings; row i describes image i. */
    textFeatures: FeaturesLike;
  };
}

/** Options of {@link evaluateFeatures}. */
export interface EvaluationOptions {
  /** Options of the linear probe ({@link linearProbe}). */
  linearProbe?: LinearProbeOptions;
  /** Options of the kNN classifier ({@link knnAccuracy}). */
  knn?: KnnOptions;
  /** Uniformity's t and alignment's α; false skips the health numbers. */
  health?: {
    /** Uniformity's t (default 2). */
    t?: number;
    /** Alignment's α (default 2). */
    alpha?: number;
  } | false;
  /** Progress of the long stages (features, kNN, linear probe): src/eval/progress.ts. Default: none. */
  onProgress?: EvaluationProgressFn;
}

/** The result of {@link evaluateFeatures}: the report row and every evaluation's details. */
export interface EvaluationResult {
  /** The one-line summary, a row of the report table. */
  row: EvaluationRow;
  /** The linear probe's result. */
  linearProbe: LinearProbeResult;
  /** The kNN classifier's result. */
  knn: KnnResult;
  /** The representation health numbers (unless `health: false`). */
  health?: RepresentationHealth;
  /** Zero-shot classification, when its inputs were given (CLIP). */
  zeroShot?: ZeroShotResult;
  /** Image–text retrieval recall, when its inputs were given (CLIP). */
  retrieval?: RetrievalResult;
}

/** Linear probe, kNN, health and (when given) zero-shot and retrieval of one method's features. */
export function evaluateFeatures(input: FeatureEvaluationInput, options: EvaluationOptions = {}): EvaluationResult {
  checkOptions("evaluateFeatures", options, { linearProbe: true, knn: true, health: true, onProgress: true });
  const onProgress = options.onProgress;
  const probeOptions = onProgress ? { ...options.linearProbe, onProgress } : options.linearProbe;
  // λ is chosen on held-out training data unless the caller fixes it (src/eval/validated-probe.ts).
  const probe = options.linearProbe?.weightDecay === undefined
    ? linearProbeValidated(input.trainFeatures, input.trainLabels, input.testFeatures, input.testLabels, probeOptions)
    : linearProbe(input.trainFeatures, input.trainLabels, input.testFeatures, input.testLabels, probeOptions);
  const knnOptions = onProgress ? { ...options.knn, onProgress } : options.knn;
  const knn = knnAccuracy(input.trainFeatures, input.trainLabels, input.testFeatures, input.testLabels, knnOptions);
  const healthOptions = options.health;
  const health = healthOptions === false
    ? undefined
    : representationHealth(input.testFeatures, {
      positiveFeatures: input.positiveFeatures,
      t: healthOptions?.t,
      alpha: healthOptions?.alpha,
    });
  const zeroShot = input.zeroShot && zeroShotAccuracy(input.zeroShot.imageFeatures, input.zeroShot.labels, input.zeroShot.promptEmbeddings);
  const retrieval = input.retrieval && retrievalRecall(input.retrieval.imageFeatures, input.retrieval.textFeatures, { ks: [1, 5] });
  const row: EvaluationRow = {
    method: input.method,
    dim: probe.mean.length,
    linearProbe: probe.testAccuracy,
    knn: knn.accuracy,
    zeroShot: zeroShot?.ensembleAccuracy,
    recallAt1: retrieval && { imageToText: retrieval.imageToText[1], textToImage: retrieval.textToImage[1] },
    alignment: health?.alignment,
    uniformity: health?.uniformity,
    normalizedStd: health?.normalizedStd,
    effectiveRank: health?.effectiveRank,
  };
  return { row, linearProbe: probe, knn, health, zeroShot, retrieval };
}

/** Options of {@link evaluateEncoder}: those of {@link evaluateFeatures} plus how to embed. */
export interface EncoderEvaluationOptions extends EvaluationOptions {
  /** Images per embed call (default 256). */
  batchSize?: number;
  /** Augmentation that makes the two views for alignment (default: the data layer's default). */
  augmentation?: Transform;
  /** Seed of the augmentations (default 0). */
  seed?: number;
  /** CLIP extras, already embedded (they need the text encoder). */
  zeroShot?: FeatureEvaluationInput["zeroShot"];
  /** CLIP: the inputs of the retrieval evaluation. */
  retrieval?: FeatureEvaluationInput["retrieval"];
}

/**
 * Embed the MNIST train and test images with a frozen encoder and evaluate the features.
 * Alignment uses two augmented views of every test image (seeded: same seed, same numbers).
 */
export function evaluateEncoder(method: string, embed: EmbedFn, data: MnistData, options: EncoderEvaluationOptions = {}): EvaluationResult {
  checkOptions("evaluateEncoder", options, {
    linearProbe: true,
    knn: true,
    health: true,
    batchSize: true,
    augmentation: true,
    seed: true,
    zeroShot: true,
    retrieval: true,
    onProgress: true,
  });
  const { onProgress } = options;
  const embedOptions = (stage: string) => ({ batchSize: options.batchSize, onProgress: relabelProgress(onProgress, stage) });
  const trainFeatures = embedImages(embed, data.train.images, data.train.count, embedOptions("features: train images")); // (n, D)
  const testFeatures = embedImages(embed, data.test.images, data.test.count, embedOptions("features: test images")); //    (m, D)
  let positiveFeatures: FeaturesLike | undefined;
  let viewFeatures: FeaturesLike | undefined;
  if (options.health !== false) {
    const pipeline = options.augmentation ?? defaultAugmentation();
    const generator = new Generator(options.seed ?? 0);
    const view1 = augmentBatch(data.test.images, data.test.count, pipeline, generator); // (m, 1, 28, 28)
    const view2 = augmentBatch(data.test.images, data.test.count, pipeline, generator); // (m, 1, 28, 28)
    viewFeatures = embedImages(embed, view1, data.test.count, embedOptions("features: augmented view 1")); //     (m, D)
    positiveFeatures = embedImages(embed, view2, data.test.count, embedOptions("features: augmented view 2")); // (m, D)
  }
  const result = evaluateFeatures(
    {
      method,
      trainFeatures,
      trainLabels: data.train.labels,
      testFeatures,
      testLabels: data.test.labels,
      zeroShot: options.zeroShot,
      retrieval: options.retrieval,
    },
    { linearProbe: options.linearProbe, knn: options.knn, health: false, onProgress },
  );
  if (options.health === false) return result;
  // Health: uniformity, std and rank on the clean test features; alignment between the two views.
  const healthOptions = options.health ?? {};
  const health = representationHealth(testFeatures, { t: healthOptions.t, alpha: healthOptions.alpha });
  health.alignment = alignment(viewFeatures!, positiveFeatures!, { alpha: healthOptions.alpha });
  result.health = health;
  Object.assign(result.row, {
    alignment: health.alignment,
    uniformity: health.uniformity,
    normalizedStd: health.normalizedStd,
    effectiveRank: health.effectiveRank,
  });
  return result;
}
