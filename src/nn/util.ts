/**
 * Small checks and conversions shared by the modules of src/nn.
 *
 * @module
 */
import type { DType, Tensor } from "../tensor/tensor.js";
import { shapeToString } from "../tensor/shape.js";

/** Sizes must be non-negative integers. */
export function checkFeatures(owner: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`${owner}: ${name} must be a non-negative integer, got ${value}`);
  }
}

/** The input must have the module's dtype (convert with .to(dtype) or build the module with { dtype }). */
export function checkDtype(owner: string, x: Tensor, like: Tensor): void {
  if (x.dtype !== like.dtype) {
    throw new Error(
      `${owner}: input is ${x.dtype} (shape ${
        shapeToString(x.shape)
      }) but the module's parameters are ${like.dtype}; convert with .to("${like.dtype}") or build the module with { dtype: "${x.dtype}" }`,
    );
  }
}

/**
 * A module's forward that hands its input to a functional op (LayerNorm → layerNorm): an error the
 * op throws is rethrown under the module's name, the op's own name taken off, so that the message
 * has one prefix, naming what the user called:
 *   LayerNorm: input of shape [2, 3] does not end in normalizedShape [4]
 * and not "LayerNorm: layerNorm: …". The op's error stays as the `cause`.
 */
export function forwardAs<T>(owner: string, forward: () => T): T {
  try {
    return forward();
  } catch (error) {
    throw renamedError(owner, error);
  }
}

/** `error` with its op name (`layerNorm: `, `Adam.loadStateDict: `) replaced by `owner`. */
export function renamedError(owner: string, error: unknown): Error {
  return new Error(`${owner}: ${withoutOpName(error instanceof Error ? error.message : String(error))}`, { cause: error });
}

/** The message without the op name it opens with: "layerNorm: input …" → "input …". */
export function withoutOpName(message: string): string {
  return message.replace(/^[A-Za-z][\w./]*: /, "");
}

/** A float64 accumulator (gradient sums are kept in doubles) as an array of the tensor dtype. */
export function castTo(dtype: DType, values: Float64Array): Float32Array | Float64Array {
  return dtype === "float64" ? values : Float32Array.from(values);
}
