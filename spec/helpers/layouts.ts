/**
 * Tensors of the same values in different memory layouts, for the specs that compare a fast path
 * with its plain reference over every layout an op may receive.
 */
import ndarray from "ndarray";
import { Tensor } from "../../src/tensor/tensor.js";

/** float32 or float64. */
export type Dtype = "float32" | "float64";
/** contiguous row-major, a transposed view, every other element of a larger buffer at an offset, or one row repeated (stride 0). */
export type Layout = "contiguous" | "transposed" | "sliced" | "broadcast";

/** A typed array of length n holding `values` cycled. */
export function filled(dtype: Dtype, n: number, values: number[]): Float32Array | Float64Array {
  const data = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = values[i % values.length];
  return data;
}

/** A rows×cols tensor in `layout`, values from `values` cycled (a broadcast one repeats its first row). */
export function laidOut(layout: Layout, rows: number, cols: number, dtype: Dtype, values: number[]): Tensor {
  switch (layout) {
    case "contiguous":
      return Tensor.fromTypedArray(filled(dtype, rows * cols, values), [rows, cols]);
    case "transposed":
      return new Tensor(ndarray(filled(dtype, rows * cols, values), [rows, cols], [1, rows], 0));
    case "sliced":
      return new Tensor(ndarray(filled(dtype, 2 + rows * cols * 2, values), [rows, cols], [2 * cols, 2], 2));
    case "broadcast":
      return new Tensor(ndarray(filled(dtype, cols, values), [rows, cols], [0, 1], 0));
  }
}
