/**
 * Input checks shared by the losses. Every loss runs them before it computes anything, so that a
 * bad batch fails at the loss with its name and the shapes involved, e.g.
 *
 *   ntXent: z1 has shape [4, 8] but z2 has shape [3, 8]
 *
 * rather than deep inside a matmul, or, worse, silently returns NaN. The dtype check is the ops'
 * own (checkSameDtype in ../ops/util.ts), and so is the reduction check (checkReduction in
 * ../ops/functional.ts).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";
import { assertNoNaN, contiguousData, requireTensor, NonFiniteError } from "../ops/util.js";

/** An (N, D) batch of embeddings with N ≥ 1, D ≥ 1 and only finite values. */
export function checkEmbeddings(loss: string, name: string, value: unknown): Tensor {
  const t = requireTensor(loss, value, name);
  if (t.ndim !== 2) {
    throw new Error(`${loss}: ${name} must be a batch of embeddings of shape (N, D), got shape ${shapeToString(t.shape)}`);
  }
  if (t.shape[0] === 0) throw new Error(`${loss}: ${name} is an empty batch (shape ${shapeToString(t.shape)})`);
  if (t.shape[1] === 0) throw new Error(`${loss}: ${name} has embedding dim 0 (shape ${shapeToString(t.shape)})`);
  checkFinite(loss, name, t);
  return t;
}

/** NaN gets assertNoNaN's message; ±Infinity its own (normalize would turn it into NaN). */
export function checkFinite(loss: string, name: string, t: Tensor): void {
  assertNoNaN(loss, t, name);
  const { data, offset } = contiguousData(t);
  const n = t.numel();
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data[offset + i])) {
      throw new NonFiniteError(`${loss}: ${name} (shape ${shapeToString(t.shape)}) contains ${data[offset + i]} at flat index ${i}`);
    }
  }
}

/** Two inputs that pair row by row: same batch size and same embedding dim. */
export function checkSameShape(loss: string, nameA: string, a: Tensor, nameB: string, b: Tensor): void {
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) {
    throw new Error(`${loss}: ${nameA} has shape ${shapeToString(a.shape)} but ${nameB} has shape ${shapeToString(b.shape)}`);
  }
}

/** A set of keys (any count) compared with queries: the embedding dims (shape[1]) must agree. */
export function checkSameEmbeddingDim(loss: string, nameA: string, a: Tensor, nameB: string, b: Tensor): void {
  if (a.shape[1] !== b.shape[1]) {
    throw new Error(
      `${loss}: ${nameA} has shape ${shapeToString(a.shape)} but ${nameB} has shape ${shapeToString(b.shape)}: ` +
        `the embedding dims (${a.shape[1]} and ${b.shape[1]}) must match`,
    );
  }
}

/** The largest finite float32, (2 − 2⁻²³)·2¹²⁷ ≈ 3.4028235e38. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * τ must be a finite number > 0: τ = 0 divides by zero, τ < 0 turns the loss upside down. And
 * 1/τ must fit float32: a cosine logit sim/τ reaches 1/τ, and an infinite logit makes the loss
 * NaN. (Checked against float32 whatever the dtype, so a loss that runs in float64 runs in float32.)
 */
export function checkTemperature(loss: string, temperature: unknown): number {
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || !(temperature > 0)) {
    throw new Error(`${loss}: temperature must be a finite number > 0, got ${String(temperature)}`);
  }
  if (1 / temperature > FLOAT32_MAX) {
    throw new NonFiniteError(
      `${loss}: temperature ${temperature} is too small: 1/τ = ${
        1 / temperature
      } overflows float32 (max ${FLOAT32_MAX}), the logits would be infinite`,
    );
  }
  return temperature;
}

/** Class labels 0, 1, …, n − 1 (row i's positive is column i). */
export function arangeLabels(n: number): Int32Array {
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i;
  return labels;
}
