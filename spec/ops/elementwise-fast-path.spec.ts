/**
 * The flat loops of add / sub / mul / div (src/ops/elementwise.ts) against the ndarray-ops kernels
 * they stand in for, which remain the path for every other layout:
 *
 *   out[i] = a[i] ∘ b[i]   over the broadcast shape,   ∘ ∈ {+, −, ·, /}
 *
 * Both compute each element in doubles and store it once into the output's dtype, so the results
 * must agree bit for bit (NaN with NaN) for any layout of either operand: contiguous, one-element
 * (a broadcast scalar), transposed, sliced with an offset, or broadcast along an axis. Shapes and
 * values come from fast-check (seeded by spec/support/fast-check-seed.mjs), both dtypes.
 */
import { expect } from "chai";
import fc from "fast-check";
import ndarray from "ndarray";
import { Tensor } from "../../src/tensor/tensor.js";
import { add, div, mul, stridedBinaryKernels, sub } from "../../src/ops/elementwise.js";
import { broadcastShapes, contiguousStrides } from "../../src/tensor/shape.js";
import { broadcastView } from "../../src/ops/util.js";

type Dtype = "float32" | "float64";
type Layout = "contiguous" | "scalar" | "transposed" | "sliced" | "broadcastRow";
const LAYOUTS: Layout[] = ["contiguous", "scalar", "transposed", "sliced", "broadcastRow"];
const OPS = { add, sub, mul, div } as const;

/** A rows×cols operand (or one element, or one row) in the given layout, values from `values` cycled. */
function operand(layout: Layout, rows: number, cols: number, dtype: Dtype, values: number[]): Tensor {
  const fill = (n: number) => {
    const data = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = values[i % values.length];
    return data;
  };
  switch (layout) {
    case "contiguous":
      return Tensor.fromTypedArray(fill(rows * cols), [rows, cols]);
    case "scalar":
      return Tensor.fromTypedArray(fill(1), [1, 1]);
    case "broadcastRow":
      return Tensor.fromTypedArray(fill(cols), [cols]);
    case "transposed": // (cols, rows) storage read as its transpose: strides (1, rows)
      return new Tensor(ndarray(fill(rows * cols), [rows, cols], [1, rows], 0));
    case "sliced": // every other column of a wider array, from offset 3
      return new Tensor(ndarray(fill(3 + rows * cols * 2), [rows, cols], [2 * cols, 2], 3));
  }
}

function sameBits(actual: Tensor, expected: Float32Array | Float64Array): void {
  const got = actual.toTypedArray();
  expect(got.length).to.equal(expected.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(expected[i])) expect(Number.isNaN(got[i]), `element ${i}`).to.equal(true);
    else expect(Object.is(got[i], expected[i]), `element ${i}: ${got[i]} vs ${expected[i]}`).to.equal(true);
  }
}

describe("elementwise flat fast path", () => {
  for (const name of Object.keys(OPS) as (keyof typeof OPS)[]) {
    for (const dtype of ["float32", "float64"] as Dtype[]) {
      it(`${name} (${dtype}) matches the ndarray-ops kernel bit for bit, any layout of either operand`, () => {
        const value = fc.oneof(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.constantFrom(0, -0, Infinity, -Infinity, NaN));
        fc.assert(
          fc.property(
            fc.integer({ min: 1, max: 7 }),
            fc.integer({ min: 1, max: 7 }),
            fc.constantFrom(...LAYOUTS),
            fc.constantFrom(...LAYOUTS),
            fc.array(value, { minLength: 1, maxLength: 20 }),
            fc.array(value, { minLength: 1, maxLength: 20 }),
            (rows, cols, leftLayout, rightLayout, leftValues, rightValues) => {
              const a = operand(leftLayout, rows, cols, dtype, leftValues);
              const b = operand(rightLayout, rows, cols, dtype, rightValues);
              const shape = broadcastShapes(name, a.shape, b.shape);
              const size = shape.reduce((p, d) => p * d, 1);
              const reference = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
              stridedBinaryKernels[name](
                ndarray(reference, shape, contiguousStrides(shape), 0),
                broadcastView(a, shape),
                broadcastView(b, shape),
              );
              sameBits(OPS[name](a, b), reference);
            },
          ),
          { numRuns: 300 },
        );
      });
    }
  }

  it("a plain number on either side takes the flat path and matches too", () => {
    const x = Tensor.fromTypedArray(new Float32Array([1.5, -2, 0, 3e-8]), [2, 2]);
    const reference = new Float32Array(4);
    const two = Tensor.fromTypedArray(new Float32Array([2]), [1]);
    stridedBinaryKernels.sub(ndarray(reference, [2, 2], [2, 1], 0), broadcastView(two, [2, 2]), x.storage);
    sameBits(sub(2, x), reference);
    stridedBinaryKernels.div(ndarray(reference, [2, 2], [2, 1], 0), x.storage, broadcastView(two, [2, 2]));
    sameBits(div(x, 2), reference);
  });
});
