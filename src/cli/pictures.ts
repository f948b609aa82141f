/**
 * The pictures a run directory holds, written by `train` and `eval` (and so by `demo`):
 *
 *   loss.svg        the loss per step and per epoch, with the loss's chance value (src/report/chance.ts)
 *   similarity.svg  30 test digits ordered by digit: two views' (or image vs caption) cosine similarity
 *   embeddings.svg  the encoder features h of every test image on their first two principal components
 *   neighbours.svg  one test image of each digit and its 8 nearest training images by cosine of h
 *
 * and the choice of digits `augment` shows (one of each class in turn). The drawing is in
 * src/report; this file gathers what each picture needs from a run and the data.
 *
 * @module
 */
import { IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES, type MnistData } from "../data/mnist.js";
import { encodeGrayscalePng } from "../data/png.js";
import { encoderFeatures, oneOfEachClass, similaritySample } from "../methods/evaluate.js";
import type { ContrastiveMethod } from "../methods/common.js";
import type { Run } from "../methods/trainer.js";
import { heatmapSvg, lossCurveSvg } from "../report/svg.js";
import { neighbourGridSvg, pcaScatterSvg, type NeighbourRow } from "../report/embedding-svg.js";
import { principalComponents, type PrincipalComponents } from "../report/pca.js";
import { nearestNeighbours, type NearestNeighbours } from "../report/neighbours.js";
import { chanceLine } from "../report/chance.js";

// They moved to src/methods/evaluate.ts (the browser playground uses them too); re-exported for the CLI.
export { encoderFeatures, oneOfEachClass } from "../methods/evaluate.js";

/** The pictures of a run directory: file name → SVG text. */
export type RunPictures = Record<"loss.svg" | "similarity.svg" | "embeddings.svg" | "neighbours.svg", string>;

/** What embeddings.svg and neighbours.svg draw, computed from a trained method. */
export interface EmbeddingPictureData {
  /** PCA of the test features: one point per test image. */
  pca: PrincipalComponents;
  /** The test images used as queries (one of each digit), indices into data.test. */
  queries: Int32Array;
  /** Their nearest training images by cosine of the encoder features. */
  neighbours: NearestNeighbours;
}

/** PCA of the test features and the nearest training images of one test image per digit. */
export function embeddingPictureData(method: ContrastiveMethod, data: MnistData, options: { k?: number } = {}): EmbeddingPictureData {
  const test = encoderFeatures(method, data.test.images, data.test.count); //    (m, D)
  const train = encoderFeatures(method, data.train.images, data.train.count); // (n, D)
  const pca = principalComponents(test.data, test.rows, test.dim, { components: 2 });
  const queries = oneOfEachClass(data.test.labels, NUM_CLASSES);
  const queryFeatures = new Float64Array(queries.length * test.dim); // (q, D)
  queries.forEach((row, q) => queryFeatures.set(test.data.subarray(row * test.dim, (row + 1) * test.dim), q * test.dim));
  const neighbours = nearestNeighbours(queryFeatures, queries.length, train.data, train.rows, train.dim, {
    k: Math.min(options.k ?? 8, train.rows),
  });
  return { pca, queries, neighbours };
}

/** A 28×28 image as a PNG data URL (what an SVG <image> can show without a separate file). */
function pngDataUrl(images: Float32Array, index: number): string {
  const pixels = images.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS);
  const bytes = encodeGrayscalePng(pixels, IMAGE_SIDE, IMAGE_SIDE);
  return `data:image/png;base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`;
}

/** MoCo's queue length K, read from the method (the config may leave it to the default). */
function queueSizeOf(method: ContrastiveMethod): number | undefined {
  return (method as { queueSize?: number }).queueSize;
}

/** Every picture of a run directory, from its trained method, its history and the data. */
export function runPictures(runState: Run, data: MnistData): RunPictures {
  const method = runState.config.method;
  // A loss variant (--loss dcl, dclw, siglip) has its own chance value, which chanceLine does not know:
  // its plot gets no reference line rather than the default loss's.
  const variant = runState.config.loss;
  const lossName = variant === undefined || variant === "ntxent" || variant === "clip" ? method : variant;
  const loss = lossCurveSvg(runState.state.lossPerStep, {
    title: `${lossName === method ? method : `${method} (${lossName})`}: training loss`,
    stepsPerEpoch: runState.stepsPerEpoch,
    reference: chanceLine(lossName, { batchSize: runState.config.batchSize, queueSize: queueSizeOf(runState.method) }),
  });

  const sample = similaritySample(runState.method, data, { seed: runState.config.seed });
  const similarity = heatmapSvg(sample.values, sample.size, sample.size, {
    title: method === "clip"
      ? "clip: cosine similarity of test image i and caption j (joint space)"
      : `${method}: cosine similarity of two augmented views (projection z)`,
    rowLabels: sample.labels,
    colLabels: sample.labels,
    rowTitle: method === "clip" ? "image i, by digit" : "view 1 of test image i, by digit",
    colTitle: method === "clip" ? "caption j, by digit" : "view 2 of test image j, by digit",
  });

  const { pca, queries, neighbours } = embeddingPictureData(runState.method, data);
  const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}% of the variance`;
  const embeddings = pcaScatterSvg(pca.coordinates, data.test.labels, {
    title: `${method}: encoder features of the ${data.test.count} test digits, first two principal components`,
    xLabel: `PC 1 (${percent(pca.explainedRatio[0])})`,
    yLabel: `PC 2 (${percent(pca.explainedRatio[1])})`,
    numClasses: NUM_CLASSES,
  });

  const rows: NeighbourRow[] = Array.from(queries, (testRow, q) => ({
    query: { label: data.test.labels[testRow], href: pngDataUrl(data.test.images, testRow) },
    neighbours: Array.from({ length: neighbours.k }, (_, j) => {
      const trainRow = neighbours.indices[q * neighbours.k + j];
      return {
        label: data.train.labels[trainRow],
        similarity: neighbours.similarities[q * neighbours.k + j],
        href: pngDataUrl(data.train.images, trainRow),
      };
    }),
  }));
  const grid = neighbourGridSvg(rows, {
    title: `${method}: test digits and their nearest training digits (cosine of the encoder features)`,
  });
  return { "loss.svg": loss, "similarity.svg": similarity, "embeddings.svg": embeddings, "neighbours.svg": grid };
}
