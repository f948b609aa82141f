/**
 * Features in, numbers out: the small adapter every evaluation goes through.
 *
 * The evaluations never see an encoder. They take a feature matrix F (N, D), N rows (one per
 * image or caption), D dimensions, either as
 *   - a plain typed array with its shape: `{ data: Float32Array | Float64Array, rows: N, dim: D }`
 *     (row-major: F[i, j] = data[i·D + j]), or
 *   - a `Tensor` of shape (N, D), any dtype, any strides (it is read, never modified).
 * `asFeatureMatrix` turns either into the first form and checks it (2-D, non-empty, finite), so
 * that a bad input fails at the door with the name of the evaluation and the shapes involved.
 *
 * Where an evaluation needs an encoder, it takes `embed(images) → features`: a callback that maps
 * a batch of images (B, 1, 28, 28) to features (B, D). `embedImages` runs it over a whole split in
 * batches, under `noGrad` (a frozen encoder: nothing is recorded on the tape), and stacks the
 * results. PyTorch: `with torch.no_grad(): feats = torch.cat([model(x) for x in loader])`.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/tape.js";
import { gemm } from "../ops/gemm.js";
import { IMAGE_SIDE } from "../data/mnist.js";
import { checkOptions } from "../tensor/options.js";
import type { EvaluationProgressFn } from "./progress.js";

/** The typed arrays feature matrices are stored in. */
export type FeatureArray = Float32Array | Float64Array;

/** A row-major (rows, dim) matrix over a typed array: F[i, j] = data[i·dim + j]. */
export interface FeatureMatrix {
  /** The values, row-major, `rows · dim` of them. */
  data: FeatureArray;
  /** N, the number of rows. */
  rows: number;
  /** D, the feature dimension. */
  dim: number;
}

/** Features as a typed array with its shape, or as a Tensor (N, D). */
export type FeaturesLike = FeatureMatrix | Tensor;

/** Class labels 0 … C−1, one per row. */
export type LabelsLike = Int32Array | readonly number[] | Tensor;

/** An encoder seen from outside: images (B, 1, 28, 28) → features (B, D). */
export type EmbedFn = (images: Tensor) => FeaturesLike;

/** Shape of a FeaturesLike as text, for error messages: "[N, D]". */
export function describeShape(input: unknown): string {
  if (input instanceof Tensor) return `[${input.shape.join(", ")}]`;
  if (isFeatureMatrixShaped(input)) return `[${input.rows}, ${input.dim}] (data length ${input.data.length})`;
  return input === null ? "null" : typeof input;
}

function isFeatureMatrixShaped(input: unknown): input is FeatureMatrix {
  if (typeof input !== "object" || input === null) return false;
  const candidate = input as Partial<FeatureMatrix>;
  return (candidate.data instanceof Float32Array || candidate.data instanceof Float64Array) && typeof candidate.rows === "number" &&
    typeof candidate.dim === "number";
}

/** A checked FeatureMatrix over `data` (no copy). */
export function featureMatrix(data: FeatureArray, rows: number, dim: number): FeatureMatrix {
  return asFeatureMatrix("featureMatrix", "features", { data, rows, dim });
}

/**
 * The checked (rows, dim) view of `input`. Tensors that are contiguous are read in place (a
 * subarray of their buffer), others are copied once. Throws, naming `fn` and `name`, when the
 * input is not 2-D, has no rows or no columns, or holds a NaN or an infinity.
 */
export function asFeatureMatrix(fn: string, name: string, input: FeaturesLike): FeatureMatrix {
  let matrix: FeatureMatrix;
  if (input instanceof Tensor) {
    if (input.ndim !== 2) throw new Error(`${fn}: ${name} must be a 2-D tensor (N, D), got shape ${describeShape(input)}`);
    const [rows, dim] = input.shape;
    let data: FeatureArray;
    if (input.isContiguous()) {
      const { data: buffer, offset } = input.storage;
      data = buffer.subarray(offset, offset + rows * dim);
    } else {
      data = input.toTypedArray();
    }
    matrix = { data, rows, dim };
  } else if (isFeatureMatrixShaped(input)) {
    const { data, rows, dim } = input;
    if (!Number.isInteger(rows) || !Number.isInteger(dim) || rows < 0 || dim < 0) {
      throw new Error(`${fn}: ${name} rows and dim must be non-negative integers, got shape ${describeShape(input)}`);
    }
    if (data.length !== rows * dim) {
      throw new Error(`${fn}: ${name} has shape [${rows}, ${dim}] but its data holds ${data.length} values (expected ${rows * dim})`);
    }
    matrix = { data, rows, dim };
  } else {
    throw new Error(
      `${fn}: ${name} must be a Tensor (N, D) or { data: Float32Array | Float64Array, rows, dim }, got ${describeShape(input)}`,
    );
  }
  if (matrix.rows === 0 || matrix.dim === 0) {
    throw new Error(`${fn}: ${name} is empty (shape [${matrix.rows}, ${matrix.dim}]); need at least one row and one column`);
  }
  const { data, dim } = matrix;
  for (let index = 0; index < data.length; index++) {
    if (!Number.isFinite(data[index])) {
      const row = Math.floor(index / dim);
      throw new Error(`${fn}: ${name} (shape [${matrix.rows}, ${dim}]) holds ${data[index]} at row ${row}, column ${index - row * dim}`);
    }
  }
  return matrix;
}

/**
 * Labels as an Int32Array of length `rows`, every entry a whole number in [0, numClasses) when
 * numClasses is given (else ≥ 0). Tensors hold labels as whole floats, as in PyTorch's `.long()`.
 */
export function asLabels(fn: string, name: string, labels: LabelsLike, rows: number, numClasses?: number): Int32Array {
  let values: ArrayLike<number>;
  if (labels instanceof Tensor) {
    if (labels.ndim !== 1) throw new Error(`${fn}: ${name} must be a 1-D tensor, got shape [${labels.shape.join(", ")}]`);
    values = labels.toTypedArray();
  } else if (labels instanceof Int32Array || Array.isArray(labels)) {
    values = labels;
  } else {
    throw new Error(`${fn}: ${name} must be an Int32Array, a number[] or a 1-D Tensor, got ${typeof labels}`);
  }
  if (values.length !== rows) {
    throw new Error(`${fn}: ${name} has ${values.length} entries but the features have ${rows} rows`);
  }
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = values[i];
    if (!Number.isInteger(label) || label < 0 || (numClasses !== undefined && label >= numClasses)) {
      const range = numClasses === undefined ? "a whole number ≥ 0" : `a whole number in [0, ${numClasses})`;
      throw new Error(`${fn}: ${name}[${i}] = ${label} is not ${range}`);
    }
    out[i] = label;
  }
  return out;
}

/**
 * Fraction of rows where predictions[i] = labels[i].
 * PyTorch: `(predictions == labels).float().mean()`.
 */
export function accuracy(predictions: Int32Array, labels: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** 1 + the largest label: the number of classes seen. */
export function countClasses(...labelSets: Int32Array[]): number {
  let largest = -1;
  for (const labels of labelSets) for (let i = 0; i < labels.length; i++) largest = Math.max(largest, labels[i]);
  return largest + 1;
}

/** Two feature matrices compared with each other: the feature dims (columns) must agree. */
export function checkSameFeatureDim(fn: string, nameA: string, a: FeatureMatrix, nameB: string, b: FeatureMatrix): void {
  if (a.dim !== b.dim) {
    throw new Error(
      `${fn}: ${nameA} [${a.rows}, ${a.dim}] and ${nameB} [${b.rows}, ${b.dim}] have different feature dimensions (${a.dim} vs ${b.dim})`,
    );
  }
}

/** Two feature matrices that pair row by row: the row counts must agree. */
export function checkSameRows(fn: string, nameA: string, a: FeatureMatrix, nameB: string, b: FeatureMatrix): void {
  if (a.rows !== b.rows) {
    throw new Error(
      `${fn}: ${nameA} [${a.rows}, ${a.dim}] and ${nameB} [${b.rows}, ${b.dim}] must have the same number of rows (one pair per row)`,
    );
  }
}

/**
 * Row-wise L2 normalization in float64: u_i = f_i / max(‖f_i‖₂, eps), eps = 1e-12 (F.normalize).
 * The norm factors out the row's largest magnitude, so it neither overflows nor underflows; an
 * all-zero row stays zero. (N, D) → (N, D) Float64Array.
 */
export function normalizeRows(features: FeatureMatrix, eps = 1e-12): Float64Array {
  const { data, rows, dim } = features;
  const out = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    const base = i * dim;
    let largest = 0;
    for (let j = 0; j < dim; j++) largest = Math.max(largest, Math.abs(data[base + j]));
    if (largest === 0) continue;
    let sumOfSquares = 0;
    for (let j = 0; j < dim; j++) {
      const scaled = data[base + j] / largest;
      sumOfSquares += scaled * scaled;
    }
    const denominator = Math.max(largest * Math.sqrt(sumOfSquares), eps);
    for (let j = 0; j < dim; j++) out[base + j] = data[base + j] / denominator;
  }
  return out;
}

/**
 * S[r, j] = Σ_k A[rowStart + r, k] · B[j, k] for r < blockRows: a block of rows of A Bᵀ.
 * A (rowsA, D) and B (rowsB, D) are row-major; out is (blockRows, rowsB), row-major.
 * Used for cosine similarities (A, B normalized) one block of query rows at a time, so the full
 * (rowsA, rowsB) matrix never has to exist.
 */
export function similarityBlock(
  a: FeatureArray,
  rowStart: number,
  blockRows: number,
  b: FeatureArray,
  rowsB: number,
  dim: number,
  out: Float64Array,
): void {
  gemm(
    blockRows,
    rowsB,
    dim,
    { data: a, offset: rowStart * dim, rowStride: dim, colStride: 1 }, // (blockRows, D)
    { data: b, offset: 0, rowStride: 1, colStride: dim }, //              (D, rowsB) = Bᵀ as a view
    out,
    0,
    false,
  );
}

/** Rows of query features handled per block: the (block, rowsB) similarity buffer stays ≤ ~16 MB. */
export function queryBlockRows(rowsB: number): number {
  return Math.max(1, Math.min(256, Math.floor(2_000_000 / Math.max(1, rowsB))));
}

/** Options of {@link embedImages}. */
export interface EmbedOptions {
  /** Images per call of `embed` (default 256). */
  batchSize?: number;
  /** Shape of one image (default [1, 28, 28], MNIST). */
  imageShape?: readonly number[];
  /** Called after every batch: stage "features", done = images embedded so far, total = count. */
  onProgress?: EvaluationProgressFn;
}

/**
 * Features of `count` images: embed(images[b : b + B]) for each batch, stacked into (count, D).
 *
 *   images: (count, ...imageShape) flattened, row-major (e.g. a data Split's `images`)
 *   returns: (count, D), Float32Array or Float64Array as the encoder returns it
 *
 * Runs under `noGrad`: the encoder is frozen. The encoder must be in eval mode if it has
 * dropout or batch statistics (call `model.eval()` first); this function cannot know.
 */
export function embedImages(embed: EmbedFn, images: Float32Array, count: number, options: EmbedOptions = {}): FeatureMatrix {
  checkOptions("embedImages", options, { batchSize: true, imageShape: true, onProgress: true });
  const imageShape = options.imageShape ?? [1, IMAGE_SIDE, IMAGE_SIDE];
  const batchSize = options.batchSize ?? 256;
  const pixels = imageShape.reduce((p, d) => p * d, 1);
  if (!Number.isInteger(count) || count <= 0) throw new Error(`embedImages: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`embedImages: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (images.length !== count * pixels) {
    throw new Error(
      `embedImages: images hold ${images.length} values, expected count × [${imageShape.join(", ")}] = ${count} × ${pixels} = ${
        count * pixels
      }`,
    );
  }
  let out: FeatureArray | null = null;
  let dim = 0;
  noGrad(() => {
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const batch = Tensor.fromTypedArray(images.slice(start * pixels, (start + size) * pixels), [size, ...imageShape]); // (B, 1, 28, 28)
      const features = asFeatureMatrix("embedImages", `embed output for images ${start}..${start + size - 1}`, embed(batch)); // (B, D)
      if (features.rows !== size) {
        throw new Error(
          `embedImages: embed returned ${features.rows} rows for a batch of ${size} images (shape [${features.rows}, ${features.dim}])`,
        );
      }
      if (out === null) {
        dim = features.dim;
        out = features.data instanceof Float64Array ? new Float64Array(count * dim) : new Float32Array(count * dim);
      } else if (features.dim !== dim) {
        throw new Error(`embedImages: embed returned dim ${features.dim} for images ${start}.., but ${dim} before`);
      }
      out.set(features.data, start * dim);
      options.onProgress?.({ stage: "features", done: start + size, total: count });
    }
  });
  return { data: out!, rows: count, dim };
}
