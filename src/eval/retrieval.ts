/**
 * Cross-modal retrieval: image → text and text → image recall@K for N paired embeddings.
 *
 * Source: the retrieval protocol of CLIP (Radford et al. 2021, §3.1, zero-shot Flickr30k /
 * MSCOCO retrieval) and of the image-text literature before it (Karpathy & Fei-Fei 2015); the
 * code follows open_clip's `get_clip_metrics`, except for ties (below).
 *
 *   u_i = image_i / ‖image_i‖,  v_j = text_j / ‖text_j‖,   s_ij = u_i · v_j            (N, N)
 *   pair i ↔ i is the true match.
 *   image → text rank of i:  r_i = #{ j ≠ i : s_ij ≥ s_ii }       (0 = the caption ranks first)
 *   text → image rank of i:  r'_i = #{ j ≠ i : s_ji ≥ s_ii }
 *   recall@K = (1/N) Σ_i [r_i < K]
 *
 * Ties are counted pessimistically: an item with exactly the same similarity as the true one
 * counts as ranked ahead of it (the "≥"). open_clip's argsort-based rank puts ties in whatever
 * order the sort leaves them, which credits the true item whenever it happens to come first.
 * That matters here: captions made only of the label ("the digit seven") are shared by every
 * seven, so their embeddings are identical and so are their similarities, and an optimistic rule
 * would report a perfect recall@1 for "retrieving" one of 200 identical captions. With the
 * pessimistic rule, identical captions give recall@1 = 0 — retrieval among them is meaningless,
 * and the number says so. (Identical embeddings give bit-identical similarities: each s_ij is the
 * same sequence of float64 operations on the same numbers, whatever its position in the matrix.)
 *
 * Both directions are computed block by block from gemm; the diagonal s_ii used in a block is the
 * one computed in that same block, so each comparison is between numbers of one computation.
 *
 * @module
 */
import {
  asFeatureMatrix,
  checkSameFeatureDim,
  checkSameRows,
  normalizeRows,
  queryBlockRows,
  similarityBlock,
  type FeaturesLike,
} from "./features.js";
import { checkOptions } from "../tensor/options.js";

/** Options of {@link retrievalRecall} and {@link groupedRetrievalRecall}. */
export interface RetrievalOptions {
  /** Cut-offs K of recall@K. Default [1, 5]. */
  ks?: readonly number[];
}

/** The result of {@link retrievalRecall}: recall@K both ways and the ranks behind it. */
export interface RetrievalResult {
  /** recall@K for each K in ks: imageToText[K], textToImage[K]. */
  imageToText: Record<number, number>;
  /** recall@K of text → image for each K in `ks`. */
  textToImage: Record<number, number>;
  /** Pessimistic 0-based rank of the true item for each query (N,). */
  imageToTextRanks: Int32Array;
  /** Pessimistic 0-based rank of the true image for each text query (N). */
  textToImageRanks: Int32Array;
  /** The cut-offs K used. */
  ks: number[];
}

/** Recall@K in both directions for N images and their N captions (row i ↔ row i). */
export function retrievalRecall(imageFeatures: FeaturesLike, textFeatures: FeaturesLike, options: RetrievalOptions = {}): RetrievalResult {
  checkOptions("retrievalRecall", options, { ks: true });
  const fn = "retrievalRecall";
  const images = asFeatureMatrix(fn, "imageFeatures", imageFeatures);
  const texts = asFeatureMatrix(fn, "textFeatures", textFeatures);
  checkSameRows(fn, "imageFeatures", images, "textFeatures", texts);
  checkSameFeatureDim(fn, "imageFeatures", images, "textFeatures", texts);
  const ks = [...(options.ks ?? [1, 5])];
  if (ks.length === 0) throw new Error(`${fn}: ks is empty; give at least one cut-off K`);
  for (const k of ks) if (!Number.isInteger(k) || k <= 0) throw new Error(`${fn}: every K in ks must be a positive whole number, got ${k}`);
  const imageUnit = normalizeRows(images); // (N, D)
  const textUnit = normalizeRows(texts); //   (N, D)
  const imageToTextRanks = pessimisticRanks(imageUnit, textUnit, images.rows, images.dim);
  const textToImageRanks = pessimisticRanks(textUnit, imageUnit, images.rows, images.dim);
  return {
    imageToText: recallAtK(imageToTextRanks, ks),
    textToImage: recallAtK(textToImageRanks, ks),
    imageToTextRanks,
    textToImageRanks,
    ks,
  };
}

/** r_i = #{ j ≠ i : q_i · c_j ≥ q_i · c_i } for unit queries q (N, D) and candidates c (N, D). */
function pessimisticRanks(queries: Float64Array, candidates: Float64Array, rows: number, dim: number): Int32Array {
  const ranks = new Int32Array(rows);
  const blockRows = queryBlockRows(rows);
  const similarities = new Float64Array(blockRows * rows); // (block, N)
  for (let start = 0; start < rows; start += blockRows) {
    const blockSize = Math.min(blockRows, rows - start);
    similarityBlock(queries, start, blockSize, candidates, rows, dim, similarities); // (block, N) = Q[block] Cᵀ
    for (let r = 0; r < blockSize; r++) {
      const i = start + r;
      const rowOffset = r * rows;
      const trueSimilarity = similarities[rowOffset + i];
      let ahead = 0;
      for (let j = 0; j < rows; j++) if (j !== i && similarities[rowOffset + j] >= trueSimilarity) ahead++;
      ranks[i] = ahead;
    }
  }
  return ranks;
}

/** recall@K = fraction of ranks < K, for each K. */
export function recallAtK(ranks: Int32Array, ks: readonly number[]): Record<number, number> {
  const recall: Record<number, number> = {};
  for (const k of ks) {
    let hits = 0;
    for (let i = 0; i < ranks.length; i++) if (ranks[i] < k) hits++;
    recall[k] = hits / ranks.length;
  }
  return recall;
}

/** The result of {@link groupedRetrievalRecall}: recall@K when several images share one caption. */
export interface GroupedRetrievalResult {
  /** recall@K of image → caption over the N images, and caption → image over the U captions. */
  imageToText: Record<number, number>;
  /** recall@K of caption → image (any image of the caption's group counts). */
  textToImage: Record<number, number>;
  /** Pessimistic 0-based rank of its caption for each image, among the U captions (N). */
  imageToTextRanks: Int32Array;
  /** Pessimistic 0-based rank, for each caption, of its best-scoring image among the N images (U). */
  textToImageRanks: Int32Array;
  /** U, the number of distinct captions. */
  captions: number;
  /** The cut-offs K used. */
  ks: number[];
}

/**
 * Retrieval when several images share one caption (N images, U ≤ N distinct captions; image i's
 * caption is c(i)). Attribute captions are like this: "a thick, right-slanted seven" describes
 * many sevens, so pairing image i with caption row i would make identical captions tie, and the
 * pessimistic rule above would score every such image 0 whatever the model. Here each distinct
 * caption is one candidate:
 *
 *   image → text rank of i:   #{ u ≠ c(i) : s_iu ≥ s_i,c(i) }                 (among U captions)
 *   text → image rank of u:   #{ i : c(i) ≠ u, s_ui ≥ max_{i′ : c(i′) = u} s_ui′ }  (the first
 *                             image that has caption u, among all N images)
 *
 * Ties still count against the true item. Shapes: images (N, D), captions (U, D), c (N,).
 */
export function groupedRetrievalRecall(
  imageFeatures: FeaturesLike,
  captionFeatures: FeaturesLike,
  captionOfImage: Int32Array,
  options: RetrievalOptions = {},
): GroupedRetrievalResult {
  checkOptions("groupedRetrievalRecall", options, { ks: true });
  const fn = "groupedRetrievalRecall";
  const images = asFeatureMatrix(fn, "imageFeatures", imageFeatures);
  const captions = asFeatureMatrix(fn, "captionFeatures", captionFeatures);
  checkSameFeatureDim(fn, "imageFeatures", images, "captionFeatures", captions);
  if (captionOfImage.length !== images.rows) {
    throw new Error(`${fn}: captionOfImage has ${captionOfImage.length} entries for ${images.rows} images`);
  }
  const ks = [...(options.ks ?? [1, 5])];
  for (const k of ks) if (!Number.isInteger(k) || k <= 0) throw new Error(`${fn}: every K in ks must be a positive whole number, got ${k}`);
  const hasImage = new Uint8Array(captions.rows);
  captionOfImage.forEach((u, i) => {
    if (!Number.isInteger(u) || u < 0 || u >= captions.rows) {
      throw new Error(`${fn}: image ${i} names caption ${u}, out of range for ${captions.rows} captions`);
    }
    hasImage[u] = 1;
  });
  const N = images.rows;
  const U = captions.rows;
  const dim = images.dim;
  const imageUnit = normalizeRows(images); //   (N, D)
  const captionUnit = normalizeRows(captions); // (U, D)
  const similarities = new Float64Array(N * U); // (N, U)
  similarityBlock(imageUnit, 0, N, captionUnit, U, dim, similarities);
  const imageToTextRanks = new Int32Array(N);
  const bestOwn = new Float64Array(U).fill(-Infinity); // max similarity of caption u to one of its own images
  for (let i = 0; i < N; i++) {
    const own = similarities[i * U + captionOfImage[i]];
    let ahead = 0;
    for (let u = 0; u < U; u++) if (u !== captionOfImage[i] && similarities[i * U + u] >= own) ahead++;
    imageToTextRanks[i] = ahead;
    bestOwn[captionOfImage[i]] = Math.max(bestOwn[captionOfImage[i]], own);
  }
  const described: number[] = [];
  for (let u = 0; u < U; u++) if (hasImage[u]) described.push(u);
  const textToImageRanks = new Int32Array(described.length);
  described.forEach((u, k) => {
    let ahead = 0;
    for (let i = 0; i < N; i++) if (captionOfImage[i] !== u && similarities[i * U + u] >= bestOwn[u]) ahead++;
    textToImageRanks[k] = ahead;
  });
  return {
    imageToText: recallAtK(imageToTextRanks, ks),
    textToImage: recallAtK(textToImageRanks, ks),
    imageToTextRanks,
    textToImageRanks,
    captions: described.length,
    ks,
  };
}
