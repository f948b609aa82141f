/**
 * The strided array and its plain loops (src/tensor/strided.ts) against the scijs packages they
 * replace, `ndarray` (the view) and `ndarray-ops` (the kernels, generated at run time):
 *
 *   for every kernel k and random views out, a, b:   loops.k(out, a, b)  ≡  ops.k(out, a, b)   bit for bit
 *
 * Views are drawn at random: rank 0–4, axes of length 0–4, any axis order in memory, gaps between
 * elements, reversed axes (negative strides), an offset, and for operands stride-0 (broadcast) axes;
 * values include ±0, ±∞ and NaN; both dtypes. The whole output buffer is compared, so a loop that
 * writes outside the view, or misses an element, fails. The view API (get, set, lo, hi, step,
 * transpose, pick, size, order) is compared with ndarray's the same way.
 */
import { expect } from "chai";
import fc from "fast-check";
import ndarray, { type NdArray } from "ndarray";
import ops from "ndarray-ops";
import { loops, StridedArray, stridedArray } from "../../src/tensor/strided.js";
import { Tensor, type TypedArray } from "../../src/tensor/tensor.js";

type Dtype = "float32" | "float64";

/** How one view lies in its buffer: per axis (in memory order, innermost first) a gap, a flip, a broadcast. */
interface Layout {
  dtype: Dtype;
  shape: number[];
  memoryOrder: number[];
  gaps: number[];
  flips: boolean[];
  broadcasts: boolean[];
  pad: number;
  values: number[];
}

const special = fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5);
const value = fc.oneof(fc.double({ min: -50, max: 50, noNaN: true }), special);

/** A random layout for `shape` (broadcast axes only when `canBroadcast`: an output is never broadcast). */
function layoutOf(shape: number[], dtype: Dtype, canBroadcast: boolean): fc.Arbitrary<Layout> {
  const rank = shape.length;
  return fc.record({
    dtype: fc.constant(dtype),
    shape: fc.constant(shape),
    memoryOrder: fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
    gaps: fc.array(fc.constantFrom(1, 1, 2, 3), { minLength: rank, maxLength: rank }),
    flips: fc.array(fc.boolean(), { minLength: rank, maxLength: rank }),
    broadcasts: fc.array(canBroadcast ? fc.boolean() : fc.constant(false), { minLength: rank, maxLength: rank }),
    pad: fc.integer({ min: 0, max: 3 }),
    values: fc.array(value, { minLength: 1, maxLength: 40 }),
  });
}

/** The buffer, strides and offset a layout describes (gaps filled too: a stray write shows). */
function materialize(layout: Layout): { data: TypedArray; stride: number[]; offset: number } {
  const { shape, memoryOrder, gaps, flips, broadcasts, pad } = layout;
  const stride = new Array<number>(shape.length).fill(0);
  let step = 1;
  for (let k = memoryOrder.length - 1; k >= 0; k--) {
    const axis = memoryOrder[k];
    if (broadcasts[axis]) continue;
    stride[axis] = step * gaps[axis];
    step = stride[axis] * Math.max(shape[axis], 1);
  }
  let offset = pad;
  shape.forEach((d, axis) => {
    if (flips[axis] && stride[axis] !== 0) {
      offset += stride[axis] * Math.max(d - 1, 0);
      stride[axis] = -stride[axis];
    }
  });
  const size = pad + step + 2;
  const data = layout.dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = layout.values[i % layout.values.length];
  return { data, stride, offset };
}

function copyOf(data: TypedArray): TypedArray {
  return data instanceof Float32Array ? new Float32Array(data) : new Float64Array(data);
}

function expectSameBits(actual: TypedArray, expected: TypedArray, what: string): void {
  expect(actual.length, what).to.equal(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const same = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : Object.is(actual[i], expected[i]);
    if (!same) expect.fail(`${what}: element ${i} is ${actual[i]}, ndarray-ops gives ${expected[i]}`);
  }
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }).map((s) =>
  s.map((d, i) => (d === 0 && i % 2 === 1 ? 1 : d)) // empty axes now and then, more often length-1 ones
);

/** (out, operands…) layouts of one shape and dtype. */
function viewsArb(operands: number): fc.Arbitrary<Layout[]> {
  return fc.tuple(shapeArb, fc.constantFrom<Dtype>("float32", "float64")).chain(([shape, dtype]) =>
    fc.tuple(layoutOf(shape, dtype, false), ...Array.from({ length: operands }, () => layoutOf(shape, dtype, true)))
  );
}

const BINARY = ["add", "sub", "mul", "div", "max", "min", "pow"] as const;
const UNARY = ["assign", "addeq", "neg", "exp", "log", "sqrt", "abs"] as const;
const SCALAR = ["pows"] as const;

describe("strided loops (src/tensor/strided.ts) against ndarray-ops", () => {
  for (const name of BINARY) {
    it(`${name}(out, a, b): the same bits for random views (broadcast, reversed, gapped, offset), both dtypes`, () => {
      fc.assert(
        fc.property(viewsArb(2), ([outLayout, aLayout, bLayout]) => {
          const out = materialize(outLayout);
          const a = materialize(aLayout);
          const b = materialize(bLayout);
          const shape = outLayout.shape;
          const expected = copyOf(out.data);
          const actual = copyOf(out.data);
          ops[name](
            ndarray(expected, shape, out.stride, out.offset),
            ndarray(a.data, shape, a.stride, a.offset),
            ndarray(b.data, shape, b.stride, b.offset),
          );
          loops[name](
            stridedArray(actual, shape, out.stride, out.offset),
            stridedArray(a.data, shape, a.stride, a.offset),
            stridedArray(b.data, shape, b.stride, b.offset),
          );
          expectSameBits(actual, expected, `${name} shape [${shape}]`);
        }),
        { numRuns: 150 },
      );
    });
  }
  for (const name of UNARY) {
    it(`${name}(out, a): the same bits for random views, both dtypes`, () => {
      fc.assert(
        fc.property(viewsArb(1), ([outLayout, aLayout]) => {
          const out = materialize(outLayout);
          const a = materialize(aLayout);
          const shape = outLayout.shape;
          const expected = copyOf(out.data);
          const actual = copyOf(out.data);
          ops[name](ndarray(expected, shape, out.stride, out.offset), ndarray(a.data, shape, a.stride, a.offset));
          loops[name](stridedArray(actual, shape, out.stride, out.offset), stridedArray(a.data, shape, a.stride, a.offset));
          expectSameBits(actual, expected, `${name} shape [${shape}]`);
        }),
        { numRuns: 150 },
      );
    });
  }
  for (const name of SCALAR) {
    it(`${name}(out, a, s): the same bits for random views and scalars, both dtypes`, () => {
      fc.assert(
        fc.property(viewsArb(1), value, ([outLayout, aLayout], s) => {
          const out = materialize(outLayout);
          const a = materialize(aLayout);
          const shape = outLayout.shape;
          const expected = copyOf(out.data);
          const actual = copyOf(out.data);
          ops[name](ndarray(expected, shape, out.stride, out.offset), ndarray(a.data, shape, a.stride, a.offset), s);
          loops[name](stridedArray(actual, shape, out.stride, out.offset), stridedArray(a.data, shape, a.stride, a.offset), s);
          expectSameBits(actual, expected, `${name} shape [${shape}] s=${s}`);
        }),
        { numRuns: 150 },
      );
    });
  }
  it("mulseq(out, s): the same bits in place, for random views and scalars", () => {
    fc.assert(
      fc.property(viewsArb(0), value, ([outLayout], s) => {
        const out = materialize(outLayout);
        const expected = copyOf(out.data);
        const actual = copyOf(out.data);
        ops.mulseq(ndarray(expected, outLayout.shape, out.stride, out.offset), s);
        loops.mulseq(stridedArray(actual, outLayout.shape, out.stride, out.offset), s);
        expectSameBits(actual, expected, `mulseq shape [${outLayout.shape}] s=${s}`);
      }),
      { numRuns: 150 },
    );
  });
  it("a kernel that skipped an element or wrote a gap would be caught (the comparison can fail)", () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const expected = new Float64Array(6);
    const actual = new Float64Array(6);
    ops.assign(ndarray(expected, [2, 2], [3, 1], 1), ndarray(data, [2, 2], [2, 1], 0));
    loops.assign(stridedArray(actual, [2, 1], [3, 1], 1), stridedArray(data, [2, 1], [2, 1], 0)); // one column short
    expect(() => expectSameBits(actual, expected, "short")).to.throw(/element 2/);
  });
});

describe("StridedArray: the view API of scijs ndarray", () => {
  it("get, index, size, dimension, dtype and order agree with ndarray for random views", () => {
    fc.assert(
      fc.property(viewsArb(0), ([layout]) => {
        const { data, stride, offset } = materialize(layout);
        const shape = layout.shape;
        const mine = stridedArray(data, shape, stride, offset);
        const theirs = ndarray(data, shape, stride, offset);
        expect(mine.size).to.equal(theirs.size);
        expect(mine.dimension).to.equal(theirs.dimension);
        expect(mine.dtype).to.equal(theirs.dtype);
        const absolute = stride.map(Math.abs);
        if (new Set(absolute).size === absolute.length) expect(mine.order).to.deep.equal(theirs.order);
        forEachIndex(shape, (index) => {
          expect(mine.index(...index)).to.equal(theirs.index(...index));
          expect(Object.is(mine.get(...index), theirs.get(...index)) || Number.isNaN(theirs.get(...index))).to.equal(true);
        });
      }),
      { numRuns: 100 },
    );
  });
  it("lo, hi, step, transpose, pick and T give the same views as ndarray", () => {
    const arb = viewsArb(0).chain(([layout]) => {
      const rank = layout.shape.length;
      const perAxis = (g: fc.Arbitrary<number>) => fc.array(g, { minLength: rank, maxLength: rank });
      return fc.tuple(
        fc.constant(layout),
        perAxis(fc.integer({ min: -1, max: 2 })),
        perAxis(fc.integer({ min: -1, max: 3 })),
        perAxis(fc.integer({ min: -3, max: 3 }).filter((k) => k !== 0)), // ndarray turns step 0 into an infinite axis
        fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
        perAxis(fc.integer({ min: -1, max: 0 })),
      );
    });
    fc.assert(
      fc.property(arb, ([layout, lo, hi, step, order, pick]) => {
        const shape = layout.shape;
        if (shape.length === 0) return; // ndarray's 0-d view has no lo/hi/…; ours returns itself
        const { data, stride, offset } = materialize(layout);
        const mine = stridedArray(data, shape, stride, offset);
        const theirs = ndarray(data, shape, stride, offset);
        const same = (a: StridedArray, b: NdArray<TypedArray>) => {
          expect([a.shape, a.stride, a.offset]).to.deep.equal([b.shape, b.stride, b.offset]);
        };
        const fits = lo.map((l, axis) => Math.min(l, shape[axis])); // ndarray does not check bounds either; stay inside
        same(mine.lo(...fits), theirs.lo(...fits));
        same(mine.hi(...hi.map((h, axis) => Math.min(h, shape[axis]))), theirs.hi(...hi.map((h, axis) => Math.min(h, shape[axis]))));
        same(mine.step(...step), theirs.step(...step));
        same(mine.transpose(...order), theirs.transpose(...order));
        same(mine.T, theirs.transpose(...shape.map((_, axis) => shape.length - 1 - axis))); // ndarray 1.0.19 has no T
        const picks = pick.map((p, axis) => (shape[axis] > 0 ? p : -1));
        same(mine.pick(...picks), theirs.pick(...picks));
      }),
      { numRuns: 150 },
    );
  });
  it("set writes the element and returns the value, as ndarray's set", () => {
    const view = stridedArray(new Float32Array(6), [2, 3]).transpose(1, 0);
    expect(view.set(2, 1, 7.5)).to.equal(7.5);
    expect(Array.from(view.data)).to.deep.equal([0, 0, 0, 0, 0, 7.5]);
    expect(view.get(2, 1)).to.equal(7.5);
  });
  it("a tensor built from a scijs ndarray stores it as a StridedArray; its storage type-checks as an NdArray", () => {
    const t = new Tensor(ndarray(new Float64Array([1, 2, 3, 4]), [2, 2], [1, 2], 0));
    expect(t.storage).to.be.instanceOf(StridedArray);
    expect(t.toArray()).to.deep.equal([[1, 3], [2, 4]]);
    const asNdarray: NdArray<Float32Array | Float64Array> = t.storage; // compile-time: still usable by scijs code
    ops.addeq(asNdarray, ndarray(new Float64Array([10, 20, 30, 40]), [2, 2]));
    expect(t.toArray()).to.deep.equal([[11, 23], [32, 44]]);
  });
});

function forEachIndex(shape: number[], visit: (index: number[]) => void): void {
  if (shape.some((d) => d === 0)) return;
  const index = new Array<number>(shape.length).fill(0);
  for (;;) {
    visit(index);
    let axis = shape.length - 1;
    for (; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}
