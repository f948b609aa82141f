/**
 * maskedFill's one-pass backward (maskedFillGrad in src/ops/indexing.ts) against the composed rule
 * it replaces, and its mask read in place against the copied one:
 *
 *   ∂L/∂x = g · (1 − mask)        reference: mul(g, sub(1, mask))
 *
 * Bit for bit (−0 and NaN included) for upstream gradients in any layout (contiguous, transposed,
 * sliced, broadcast) and values with ±0, ±∞ and NaN, both dtypes; shapes and values from fast-check.
 */
import { expect } from "chai";
import fc from "fast-check";
import ndarray from "ndarray";
import { Tensor } from "../../src/tensor/tensor.js";
import { maskedFill, maskedFillGrad } from "../../src/ops/indexing.js";
import { mul, sub } from "../../src/ops/elementwise.js";
import { filled, laidOut, type Dtype, type Layout } from "../helpers/layouts.js";

function expectSameBits(actual: Tensor, expected: Tensor): void {
  const a = actual.toTypedArray(), e = expected.toTypedArray();
  expect(actual.shape).to.deep.equal(expected.shape);
  for (let i = 0; i < e.length; i++) {
    expect(Object.is(a[i], e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i])), `element ${i}: ${a[i]} vs ${e[i]}`).to.equal(true);
  }
}

const value = fc.oneof(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.constantFrom(0, -0, Infinity, -Infinity, NaN));
const layouts: Layout[] = ["contiguous", "transposed", "sliced", "broadcast"];

describe("maskedFill fast paths", () => {
  for (const dtype of ["float32", "float64"] as Dtype[]) {
    it(`the one-pass backward equals mul(g, sub(1, mask)) bit for bit, any layout of g (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 7 }),
          fc.constantFrom(...layouts),
          fc.array(value, { minLength: 1, maxLength: 20 }),
          fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 20 }),
          (rows, cols, layout, gValues, maskValues) => {
            const g = laidOut(layout, rows, cols, dtype, gValues);
            const mask = Tensor.fromTypedArray(filled(dtype, rows * cols, maskValues), [rows, cols]);
            expectSameBits(maskedFillGrad(g, mask), mul(g, sub(1, mask)));
          },
        ),
        { numRuns: 300 },
      );
    });

    it(`a contiguous mask read in place gives what a strided copy of it gives (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 7 }),
          fc.constantFrom(...layouts),
          fc.array(value, { minLength: 1, maxLength: 20 }),
          fc.array(fc.constantFrom(0, 1, -2, 0.5), { minLength: 1, maxLength: 20 }),
          (rows, cols, maskLayout, xValues, maskValues) => {
            const x = laidOut("contiguous", rows, cols, dtype, xValues);
            const strided = laidOut(maskLayout, rows, cols, dtype, maskValues);
            const contiguous = Tensor.fromTypedArray(strided.toTypedArray(), [rows, cols]);
            expectSameBits(maskedFill(x, contiguous, -Infinity), maskedFill(x, strided, -Infinity));
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
