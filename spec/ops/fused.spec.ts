/**
 * The fused linear op (linearRows in src/ops/functional.ts, behind linear, linearRelu, nn.Linear
 * and MLP) against the composed ops it replaces:
 *
 *   reference: relu(add(matmul(x, transpose(W, 0, 1)), b))        (relu only for linearRelu)
 *
 * Random sizes (K past one gemm block of 256 too), x and W contiguous, transposed, sliced or
 * broadcast, b contiguous or strided or absent, upstream gradients in any layout, both dtypes.
 *  - Integer inputs: every sum is exact, so y is bit for bit the composed one, exact zeros
 *    included (the ReLU kink: no gradient at y = 0), and so are ∂x, ∂W and ∂b.
 *  - Real inputs: ∂x and ∂W bit for bit (the same gemm on the same numbers); y within float
 *    rounding of a float64 reference (b is added first, not last); ∂b bit for bit in float64 and
 *    within one rounding of the exact sum in float32 (float64 accumulation).
 *  - ±∞ and NaN: the same non-finite entries as the composed ops, forward and backward.
 * And normalize's p = 2 path (x·x and Math.sqrt) against the Math.pow form it replaced, bit for bit.
 */
import { expect } from "chai";
import fc from "fast-check";
import ndarray from "ndarray";
import { Tensor } from "../../src/tensor/tensor.js";
import { linear, linearRelu, normalize } from "../../src/ops/functional.js";
import { add, mul } from "../../src/ops/elementwise.js";
import { matmul } from "../../src/ops/matmul.js";
import { relu } from "../../src/ops/activations.js";
import { transpose } from "../../src/ops/views.js";
import { sum } from "../../src/ops/reduce.js";
import { MLP } from "../../src/nn/mlp.js";
import { Linear } from "../../src/nn/linear.js";
import { ReLU } from "../../src/nn/activation.js";
import { Sequential } from "../../src/nn/container.js";
import { manualSeed } from "../../src/tensor/random.js";
import { randn } from "../../src/tensor/creation.js";
import { filled, laidOut, type Dtype, type Layout } from "../helpers/layouts.js";

const layouts: Layout[] = ["contiguous", "transposed", "sliced", "broadcast"];

function vector(strided: boolean, n: number, dtype: Dtype, values: number[]): Tensor {
  return strided
    ? new Tensor(ndarray(filled(dtype, 1 + 3 * n, values), [n], [3], 1))
    : Tensor.fromTypedArray(filled(dtype, n, values), [n]);
}

const sameBits = (a: number, e: number) => Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));

function expectSameBits(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape, what).to.deep.equal(expected.shape);
  const a = actual.toTypedArray(), e = expected.toTypedArray();
  for (let i = 0; i < e.length; i++) expect(sameBits(a[i], e[i]), `${what}[${i}]: ${a[i]} vs ${e[i]}`).to.equal(true);
}

interface Case {
  dtype: Dtype;
  relu: boolean;
  withBias: boolean;
  m: number;
  k: number;
  n: number;
  xLayout: Layout;
  wLayout: Layout;
  gLayout: Layout;
  stridedBias: boolean;
  values: number[];
}

/** Run the fused op and the composed reference on fresh leaves of one case: outputs and gradients. */
function runBoth(c: Case) {
  const run = (fused: boolean) => {
    const x = laidOut(c.xLayout, c.m, c.k, c.dtype, c.values).requiresGrad_();
    const w = laidOut(c.wLayout, c.n, c.k, c.dtype, c.values.slice(3).concat(c.values.slice(0, 3))).requiresGrad_();
    const b = c.withBias ? vector(c.stridedBias, c.n, c.dtype, c.values.slice(1)).requiresGrad_() : null;
    let y: Tensor;
    if (fused) y = c.relu ? linearRelu(x, w, b) : linear(x, w, b);
    else {
      const product = matmul(x, transpose(w, 0, 1));
      const affine = b ? add(product, b) : product;
      y = c.relu ? relu(affine) : affine;
    }
    const upstream = laidOut(c.gLayout, c.m, c.n, c.dtype, c.values.slice(2).concat([0.5, -1.25]));
    sum(mul(y, upstream)).backward(); // ∂/∂y = upstream, in its layout
    return { y, upstream, dx: x.grad as Tensor, dw: w.grad as Tensor, db: b ? (b.grad as Tensor) : null };
  };
  return { fused: run(true), composed: run(false) };
}

const caseArb = (value: fc.Arbitrary<number>, maxK = 9) =>
  fc.record({
    dtype: fc.constantFrom<Dtype>("float32", "float64"),
    relu: fc.boolean(),
    withBias: fc.boolean(),
    m: fc.integer({ min: 1, max: 7 }),
    k: fc.oneof(fc.integer({ min: 1, max: maxK }), fc.constant(300)),
    n: fc.integer({ min: 1, max: 7 }),
    xLayout: fc.constantFrom(...layouts),
    wLayout: fc.constantFrom(...layouts),
    gLayout: fc.constantFrom(...layouts),
    stridedBias: fc.boolean(),
    values: fc.array(value, { minLength: 7, maxLength: 40 }),
  });

describe("fused linear (+ ReLU) against the composed ops", () => {
  it("integer inputs (exact sums): y, ∂x, ∂W, ∂b bit for bit, exact zeros at the ReLU kink included", () => {
    fc.assert(
      fc.property(caseArb(fc.integer({ min: -3, max: 3 })), (c) => {
        const { fused, composed } = runBoth(c);
        expectSameBits(fused.y, composed.y, "y");
        expectSameBits(fused.dx, composed.dx, "∂x");
        expectSameBits(fused.dw, composed.dw, "∂W");
        if (c.withBias) expectSameBits(fused.db as Tensor, composed.db as Tensor, "∂b");
      }),
      { numRuns: 150 },
    );
  });

  it("real inputs: ∂x, ∂W bit for bit; y within rounding of float64; ∂b exact in float64, one rounding in float32", () => {
    fc.assert(
      fc.property(caseArb(fc.double({ min: -2, max: 2, noNaN: true })), (c) => {
        const { fused, composed } = runBoth(c);
        expectSameBits(fused.dx, composed.dx, "∂x");
        expectSameBits(fused.dw, composed.dw, "∂W");
        // y against the float64 product of the same (rounded) inputs, on the scale Σ_k |x||w| + |b|
        const truth = runBoth({ ...c, dtype: "float64", values: Array.from(filled(c.dtype, c.values.length, c.values)) }).composed;
        const y = fused.y.toTypedArray(), t = truth.y.toTypedArray();
        const scale = c.k * 4 + 2;
        const unit = c.dtype === "float32" ? 2 ** -24 : 2 ** -53;
        for (let i = 0; i < t.length; i++) expect(Math.abs(y[i] - t[i]), `y[${i}]`).to.be.at.most(4 * unit * scale);
        if (c.withBias) {
          const db = (fused.db as Tensor).toTypedArray();
          if (c.dtype === "float64") expectSameBits(fused.db as Tensor, composed.db as Tensor, "∂b");
          // float32: the exact column sums of ĝ (the upstream gradient where the fused y passes the ReLU),
          // summed in float64 (exact for ≤ 7 terms of 24 bits within a factor 2⁷), rounded once
          else {
            const yFused = fused.y.toTypedArray(), g = fused.upstream.toTypedArray();
            for (let j = 0; j < c.n; j++) {
              let exact = 0;
              for (let i = 0; i < c.m; i++) exact += c.relu && yFused[i * c.n + j] <= 0 ? 0 : g[i * c.n + j];
              expect(db[j], `∂b[${j}]`).to.equal(Math.fround(exact));
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("±∞ and NaN: the same non-finite entries as the composed ops, forward and backward", () => {
    const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(Infinity, -Infinity, NaN, -0));
    fc.assert(
      fc.property(caseArb(value), (c) => {
        const { fused, composed } = runBoth(c);
        for (const key of ["y", "dx", "dw", "db"] as const) {
          const a = fused[key], e = composed[key];
          if (a === null || e === null) continue;
          const av = a.toTypedArray(), ev = e.toTypedArray();
          for (let i = 0; i < ev.length; i++) {
            if (Number.isFinite(ev[i]) && Number.isFinite(av[i])) continue;
            expect(sameBits(av[i], ev[i]), `${key}[${i}]: ${av[i]} vs ${ev[i]}`).to.equal(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("leading dims fold into rows, a 1-D input gives a 1-D output, and bad arguments name the op", () => {
    const generator = manualSeed(3);
    const x = randn([2, 3, 4], generator, { dtype: "float64" });
    const w = randn([5, 4], generator, { dtype: "float64" });
    const b = randn([5], generator, { dtype: "float64" });
    expect(linear(x, w, b).shape).to.deep.equal([2, 3, 5]);
    expectSameBits(linear(x, w, b).reshape([6, 5]), linear(x.reshape([6, 4]), w, b), "folded");
    expect(linearRelu(x.select(0, 0).select(0, 1), w, b).shape).to.deep.equal([5]);
    expect(() => linear(x, w.t(), b)).to.throw(/linear: input of shape \[2, 3, 4\] does not end in in = 5/);
    expect(() => linearRelu(x, w, randn([4], generator, { dtype: "float64" }))).to.throw(/linearRelu: bias must be \(out\) = \(5\)/);
    expect(() => linear(x, w.to("float32"), b)).to.throw(/linear: input is float64 .* but weight is float32/);
  });

  it("MLP runs Linear + ReLU fused: the same numbers as the modules one by one; overridden forwards run as written", () => {
    for (const dtype of ["float32", "float64"] as Dtype[]) {
      const mlp = new MLP([6, 5, 4, 3], { generator: manualSeed(1), dtype });
      const input = randn([7, 6], manualSeed(2), { dtype });
      const fused = mlp.forward(input);
      let unfused = input;
      for (const module of mlp) unfused = (module as Linear | ReLU).forward(unfused);
      const [a, e] = [fused.toTypedArray(), unfused.toTypedArray()];
      for (let i = 0; i < e.length; i++) expect(a[i]).to.equal(e[i]); // the fused op is the same op both ways
      expect([...mlp.stateDict().keys()]).to.deep.equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
    }
    // a ReLU subclass that overrides forward is not bypassed
    class Leakyish extends ReLU {
      override forward(x: Tensor): Tensor {
        return x.mul(2);
      }
    }
    const mlp = new MLP([3, 2], { generator: manualSeed(4), dtype: "float64" });
    mlp.append(new Leakyish());
    const input = randn([2, 3], manualSeed(5), { dtype: "float64" });
    const expected = new Sequential(...mlp).forward(input);
    expectSameBits(mlp.forward(input), expected, "MLP with an overridden ReLU");
  });
});

describe("normalize's p = 2 path", () => {
  it("squares and takes a square root: bit for bit the Math.pow form it replaced, ±0, ±∞, NaN and extreme magnitudes included", () => {
    // the reference: x / max(largest · (Σ (|x|/largest)^p)^(1/p), eps) written with Math.pow, row by row
    const reference = (values: number[], cols: number, dtype: Dtype) => {
      const rounded = Array.from(filled(dtype, values.length, values));
      const out = filled(dtype, rounded.length, [0]);
      for (let r = 0; r * cols < rounded.length; r++) {
        const row = rounded.slice(r * cols, (r + 1) * cols);
        const largest = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let total = 0;
        if (largest > 0 && Number.isFinite(largest)) { for (const v of row) total += Math.pow(Math.abs(v) / largest, 2); }
        const norm = largest > 0 && Number.isFinite(largest) ? largest * Math.pow(total, 1 / 2) : largest;
        row.forEach((v, i) => (out[r * cols + i] = v / Math.max(norm, 1e-12)));
      }
      return Array.from(out);
    };
    const value = fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-300, 1e300) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom<Dtype>("float32", "float64"),
        fc.array(value, { minLength: 1, maxLength: 45 }),
        (rows, cols, dtype, values) => {
          const x = Tensor.fromTypedArray(filled(dtype, rows * cols, values), [rows, cols]);
          const actual = Array.from(normalize(x).toTypedArray());
          const expected = reference(Array.from(filled(dtype, rows * cols, values)), cols, dtype);
          for (let i = 0; i < expected.length; i++) {
            expect(sameBits(actual[i], expected[i]), `[${i}]: ${actual[i]} vs ${expected[i]}`).to
              .equal(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("float32 sums accumulate in float64", () => {
  it("sum and mean of float32 round the float64 sum once (a float32 accumulator drifts with n)", () => {
    const n = 100_000;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = 0.1 + ((i * 7919) % 1000) / 3000; // not exactly representable: every float32 add rounds
    let exact = 0;
    for (let i = 0; i < n; i++) exact += data[i];
    const x = Tensor.fromTypedArray(data, [n]);
    expect(sum(x).item()).to.equal(Math.fround(exact));
    expect(x.mean().item()).to.equal(Math.fround(Math.fround(exact) / n));
    const rows = Tensor.fromTypedArray(data, [4, n / 4]);
    const perRow = sum(rows, 1).toTypedArray();
    for (let r = 0; r < 4; r++) {
      let rowExact = 0;
      for (let i = 0; i < n / 4; i++) rowExact += data[r * (n / 4) + i];
      expect(perRow[r]).to.equal(Math.fround(rowExact));
    }
  });
});
