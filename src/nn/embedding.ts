/**
 * Embedding: a lookup table of learned vectors (PyTorch: torch.nn.Embedding, F.embedding).
 *
 *   y[b, l, :] = W[i[b, l], :]            i: (B, L) integer indices,  W: (numEmbeddings, D),  y: (B, L, D)
 *   ∂L/∂W[k, :] = Σ_{(b,l): i[b,l] = k} ḡ[b, l, :]      (scatter-add; repeated indices add up)
 *
 * paddingIdx p: row p is initialized to zeros and receives no gradient (∂L/∂W[p, :] = 0 whatever
 * the output gradient), so it stays fixed — the embedding of the padding token in a caption batch.
 * Init: W ~ N(0, 1) (PyTorch's default), then row p ← 0.
 *
 * Indices: an Int32Array or number[] (with an optional shape, default (n)), or a Tensor of whole
 * numbers of any shape; the output shape is the index shape + (D). State dict: "weight".
 *
 * @module
 */
import { Tensor, checkDType, type DType, type IndexLike } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { numel, shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { contiguousData, emptyTensor } from "../ops/util.js";
import { toIndexArray } from "../ops/indexing.js";
import { Module, type Parameter } from "./module.js";
import { emptyParameter, normal_, requireGenerator } from "./init.js";
import { checkFeatures, forwardAs } from "./util.js";
import { checkOptions } from "../tensor/options.js";

/**
 * F.embedding(indices, weight, paddingIdx): rows of `weight` at `indices`, with output shape
 * `shape` + (D). The gradient skips row `paddingIdx` (null: no padding row).
 */
export const embedding = defineOp("embedding", (
  indices: IndexLike,
  weight: Tensor,
  shape: readonly number[],
  paddingIdx: number | null = null,
): Recordable | Unchanged => {
  const op = "embedding";
  if (weight.ndim !== 2) throw new Error(`${op}: weight must be (numEmbeddings, D), got shape ${shapeToString(weight.shape)}`);
  const [rowsInTable, D] = weight.shape;
  const positions = toIndexArray(op, indices, rowsInTable, "the embedding table (numEmbeddings)");
  if (positions.length !== numel(shape)) {
    throw new Error(`${op}: ${positions.length} indices cannot have shape ${shapeToString(shape)}`);
  }
  const { data, offset } = contiguousData(weight);
  const out = emptyTensor(weight.dtype, [...shape, D]);
  const o = out.storage.data;
  for (let j = 0; j < positions.length; j++) {
    const from = offset + positions[j] * D;
    o.set(data.subarray(from, from + D), j * D);
  }
  return {
    output: out,
    inputs: [weight],
    backward: (g) => {
      const grad = emptyTensor(weight.dtype, weight.shape);
      const gw = grad.storage.data;
      const upstream = contiguousData(g);
      for (let j = 0; j < positions.length; j++) {
        const row = positions[j];
        if (row === paddingIdx) continue; // the padding row receives no gradient
        const from = upstream.offset + j * D;
        const to = row * D;
        for (let d = 0; d < D; d++) gw[to + d] += upstream.data[from + d];
      }
      return [grad];
    },
  };
});

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Index of the padding row: zero at init, never updated by gradients. Negative counts from the end. */
  paddingIdx?: number | null;
  /** Weight dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the N(0, 1) init (required). */
  generator: Generator;
}

/** A lookup table: token ids (…) → rows of `weight`, (…, embeddingDim); initialized N(0, 1) as PyTorch. PyTorch: `torch.nn.Embedding`. */
export class Embedding extends Module {
  /** The vocabulary size (rows of the table). */
  readonly numEmbeddings: number;
  /** The size D of each embedding vector. */
  readonly embeddingDim: number;
  /** The padding row (made non-negative), zero and never updated; null for none. */
  readonly paddingIdx: number | null;
  /** The table, (numEmbeddings, embeddingDim). */
  readonly weight: Parameter;

  /**
   * A table of `numEmbeddings` vectors of size `embeddingDim`, drawn N(0, 1) (the padding row zeroed).
   *
   * @param numEmbeddings vocabulary size.
   * @param embeddingDim vector size D.
   * @param options paddingIdx, dtype, generator.
   */
  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions) {
    super();
    checkOptions("Embedding", options, { dtype: true, generator: true, paddingIdx: "nullable" });
    checkFeatures("Embedding", { numEmbeddings, embeddingDim });
    const generator = requireGenerator("Embedding", options?.generator);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const padding = options.paddingIdx ?? null;
    if (padding !== null && (!Number.isInteger(padding) || padding < -numEmbeddings || padding >= numEmbeddings)) {
      throw new Error(`Embedding: paddingIdx ${padding} must be an integer in [−${numEmbeddings}, ${numEmbeddings})`);
    }
    this.paddingIdx = padding === null ? null : padding < 0 ? padding + numEmbeddings : padding;
    this.weight = emptyParameter([numEmbeddings, embeddingDim], checkDType("Embedding", options.dtype)); // (numEmbeddings, D)
    normal_(this.weight, 0, 1, generator);
    if (this.paddingIdx !== null) {
      mutableStorage(this.weight).data.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    }
    this.registerParameter("weight", this.weight);
  }

  /** indices: a Tensor of any shape, or a flat Int32Array / number[] with `shape` (default [n]). */
  forward(indices: IndexLike, shape?: readonly number[]): Tensor {
    const indexShape = shape ?? (indices instanceof Tensor ? indices.shape : [indices.length]);
    return forwardAs("Embedding", () => embedding(indices, this.weight, indexShape, this.paddingIdx)); // (…, D)
  }
}
