/**
 * The table-driven gradient check: one row per differentiable op, each run on random float64
 * inputs (fast-check), with shapes that exercise broadcasting. Central differences against the
 * tape's backward. A wrong rule in any op turns its row red (see the last describe block).
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../src/index.js";
import { Tensor, gradcheck } from "../../src/index.js";
import { record } from "../../src/autograd/tape.js";
import { broadcastPairArb, shapeArb, tensorArb, dimSize, type ValueRange } from "../helpers/arbitraries.js";

interface Row {
  /** The name the op records on the tape (record("name", …)). */
  op: string;
  inputs: fc.Arbitrary<Tensor[]>;
  fn: (...inputs: Tensor[]) => Tensor;
  runs?: number;
  /** Tolerances when the default (eps 1e-6, atol 1e-6, rtol 1e-5) does not fit the op. */
  tolerance?: { eps: number; atol: number; rtol: number };
}

/** Add distinct constant offsets, so that no two elements tie (max, min, std have kinks at ties). */
const spread = (x: Tensor): Tensor =>
  x.add(T.arange(x.numel(), undefined, 1, { dtype: "float64" }).mul(0.37).reshape(x.shape));

const unary = (op: string, fn: (x: Tensor) => Tensor, range: ValueRange = {}): Row => ({
  op,
  inputs: shapeArb(0, 3).chain((shape) => tensorArb(shape, range).map((x) => [x])),
  fn,
});

const binary = (op: string, fn: (a: Tensor, b: Tensor) => Tensor, rangeA: ValueRange = {}, rangeB: ValueRange = {}): Row => ({
  op,
  inputs: broadcastPairArb(0, 3).chain(([sa, sb]) => fc.tuple(tensorArb(sa, rangeA), tensorArb(sb, rangeB))),
  fn,
});

const matrix = (rangeValues: ValueRange = {}) =>
  fc.tuple(dimSize, dimSize).chain(([rows, cols]) => tensorArb([rows, cols], rangeValues));

/** Row-wise ops on a (rows, cols) input along a random dim. */
const alongDim = (op: string, fn: (x: Tensor, dim: number) => Tensor, range: ValueRange = {}): Row => ({
  op,
  inputs: shapeArb(1, 3).chain((shape) =>
    fc.tuple(tensorArb(shape, range), fc.integer({ min: -shape.length, max: shape.length - 1 })).map(([x, d]) => [x, T.tensor(d, { dtype: "float64" })]),
  ),
  fn: (x, d) => fn(x, d.item()),
});

const table: Row[] = [
  binary("add", (a, b) => a.add(b)),
  binary("sub", (a, b) => a.sub(b)),
  binary("mul", (a, b) => a.mul(b)),
  binary("div", (a, b) => a.div(b), {}, { awayFromZero: 0.5 }),
  binary("pow", (a, b) => a.pow(b), { min: 0.5, max: 2 }, { min: -2, max: 2 }),
  unary("pow", (x) => x.pow(3)),
  binary("maximum", (a, b) => a.maximum(b.add(0.37))),
  binary("minimum", (a, b) => a.minimum(b.add(0.37))),
  unary("neg", (x) => x.neg()),
  unary("exp", (x) => x.exp()),
  unary("log", (x) => x.log(), { min: 0.2, max: 3 }),
  unary("sqrt", (x) => x.sqrt(), { min: 0.2, max: 3 }),
  unary("abs", (x) => x.abs(), { awayFromZero: 0.05 }),
  unary("square", (x) => x.square()),
  unary("tanh", (x) => x.tanh()),
  unary("sigmoid", (x) => x.sigmoid(), { min: -6, max: 6 }),
  unary("relu", (x) => x.relu(), { awayFromZero: 0.05 }),
  unary("gelu", (x) => x.gelu(), { min: -4, max: 4 }),
  unary("clamp", (x) => x.clamp(-0.75, 0.8), { awayFromZero: 0.01 }),
  unary("clone", (x) => x.clone()),
  // The float32 round trip rounds to ~1e-7, so this row needs a large step.
  { ...unary("to", (x) => x.to("float32").mul(3).to("float64").add(x)), tolerance: { eps: 1e-2, atol: 1e-4, rtol: 1e-4 } },
  unary("sum", (x) => x.sum()),
  alongDim("sum", (x, d) => x.sum(d, true)),
  alongDim("sum", (x, d) => x.mean(d)),
  unary("max", (x) => spread(x).max()),
  alongDim("max", (x, d) => spread(x).max(d)),
  alongDim("min", (x, d) => spread(x).min(d, true)),
  alongDim("sum", (x, d) => (x.size(d) > 1 ? x.var(d) : x.sum(d))),
  alongDim("sum", (x, d) => (x.size(d) > 1 ? spread(x).std(d, { unbiased: false }) : x.sum(d))),
  unary("sqrt", (x) => (x.numel() > 0 ? x.norm() : x.sum()), { awayFromZero: 0.1 }),
  alongDim("logsumexp", (x, d) => x.logsumexp(d)),
  alongDim("softmax", (x, d) => x.softmax(d)),
  alongDim("logSoftmax", (x, d) => x.logSoftmax(d)),
  alongDim("normalize", (x, d) => T.normalize(x, { dim: d }), { awayFromZero: 0.1 }),
  alongDim("normalize", (x, d) => T.normalize(x, { dim: d, p: 3 }), { awayFromZero: 0.1 }),
  {
    op: "matmul",
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([m, k, n]) => fc.tuple(tensorArb([m, k]), tensorArb([k, n]))),
    fn: (a, b) => a.matmul(b),
  },
  {
    op: "matmul",
    // batched with a broadcast batch dim, and a transposed (strided) right operand
    inputs: fc.tuple(dimSize, dimSize, dimSize, dimSize).chain(([batch, m, k, n]) => fc.tuple(tensorArb([batch, m, k]), tensorArb([1, n, k]))),
    fn: (a, b) => a.matmul(b.transpose(1, 2)),
  },
  {
    op: "matmul",
    inputs: fc.tuple(dimSize, dimSize).chain(([m, k]) => fc.tuple(tensorArb([m, k]), tensorArb([k]))),
    fn: (a, v) => a.matmul(v),
  },
  unary("permute", (x) => (x.ndim >= 2 ? x.transpose(0, -1).mul(x.transpose(0, -1)) : x.mul(2))),
  unary("permute", (x) => x.permute(x.shape.map((_, i) => x.ndim - 1 - i))),
  unary("reshape", (x) => x.reshape(-1)),
  unary("reshape", (x) => (x.ndim >= 2 ? x.transpose(0, 1).reshape(-1) : x.reshape(-1))),
  unary("reshape", (x) => x.unsqueeze(0).flatten()),
  unary("expand", (x) => x.unsqueeze(0).expand([3, ...x.shape])),
  alongDim("slice", (x, d) => x.narrow(d, 0, Math.max(1, x.size(d) - 1))),
  alongDim("slice", (x, d) => x.slice(d, 1, undefined, 2)),
  alongDim("slice", (x, d) => x.select(d, -1)),
  {
    op: "cat",
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([r1, r2, c]) => fc.tuple(tensorArb([r1, c]), tensorArb([r2, c]))),
    fn: (a, b) => T.cat([a, b.mul(2), a], 0),
  },
  {
    op: "cat",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) => fc.tuple(tensorArb([r, c]), tensorArb([r, c]))),
    fn: (a, b) => T.stack([a, b], 1),
  },
  {
    op: "indexSelect",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) => tensorArb([r, c]).map((x) => [x])),
    fn: (x) => x.indexSelect(0, [x.shape[0] - 1, 0, x.shape[0] - 1]),
  },
  {
    op: "gather",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) =>
      fc.tuple(tensorArb([r, c]), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: r * 2, maxLength: r * 2 })).map(([x, idx]) => [
        x,
        T.tensor(idx, { shape: [r, 2], dtype: "float64" }),
      ]),
    ),
    fn: (x, idx) => x.gather(1, idx),
  },
  {
    op: "where",
    inputs: broadcastPairArb(1, 3).chain(([sa, sb]) => fc.tuple(tensorArb(sa), tensorArb(sb))),
    fn: (a, b) => T.where(a.detach().sub(0.1).relu(), a, b),
  },
  {
    op: "maskedFill",
    inputs: matrix().map((x) => [x]),
    fn: (x) => x.maskedFill(x.detach().sub(0.3).relu(), -5),
  },
  {
    op: "crossEntropy",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 5 })).chain(([n, c]) =>
      fc.tuple(tensorArb([n, c], { min: -3, max: 3 }), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }), fc.constantFrom(0, 0.1)).map(
        ([x, labels, smoothing]) => [x, T.tensor(labels, { dtype: "float64" }), T.tensor(smoothing, { dtype: "float64" })],
      ),
    ),
    fn: (x, labels, smoothing) => T.crossEntropy(x, labels, { labelSmoothing: smoothing.item(), reduction: "none" }),
  },
  {
    op: "crossEntropy",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 5 })).chain(([n, c]) =>
      fc.tuple(tensorArb([n, c]), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n })).map(([x, labels]) => [x, T.tensor(labels, { dtype: "float64" })]),
    ),
    fn: (x, labels) => T.crossEntropy(x, labels),
  },
  {
    op: "mseLoss",
    inputs: shapeArb(1, 3).chain((shape) => fc.tuple(tensorArb(shape), tensorArb(shape))),
    fn: (a, b) => T.mseLoss(a, b),
  },
];

describe("gradient check table (float64, central differences)", () => {
  for (const row of table) {
    it(`${row.op}: ${row.fn.toString().replace(/\s+/g, " ").slice(0, 70)}`, () => {
      fc.assert(
        fc.property(row.inputs, (inputs) => {
          gradcheck(row.fn, inputs, row.tolerance ?? { eps: 1e-6, atol: 1e-6, rtol: 1e-5 });
        }),
        { numRuns: row.runs ?? 12 },
      );
    });
  }

  it("covers every op that records on the tape", () => {
    const recorded = new Set<string>();
    const opsDir = new URL("../../../src/ops/", import.meta.url).pathname;
    for (const file of readdirSync(opsDir).filter((f) => f.endsWith(".ts"))) {
      const source = readFileSync(join(opsDir, file), "utf8");
      for (const match of source.matchAll(/record\("([A-Za-z]+)"/g)) recorded.add(match[1]);
    }
    const checked = new Set(table.map((row) => row.op));
    const missing = [...recorded].filter((op) => !checked.has(op));
    expect(missing, `ops without a gradcheck row: ${missing.join(", ")}`).to.deep.equal([]);
    expect(recorded.size).to.be.greaterThan(25);
  });
});

describe("gradcheck itself", () => {
  it("rejects a wrong rule (a gradient off by a factor of 2)", () => {
    const badSquare = (x: Tensor) => record("badSquare", [x], T.noGrad(() => x.mul(x)), (g) => [g.mul(x)]);
    const x = T.tensor([0.3, -1.2, 2], { dtype: "float64", requiresGrad: true });
    expect(() => gradcheck(badSquare, [x])).to.throw(/gradcheck: 3 gradient element\(s\) differ/);
  });

  it("rejects a rule that mixes up elements (a transposed gradient)", () => {
    const badTranspose = (x: Tensor) => record("badTranspose", [x], T.noGrad(() => x.mul(1)), (g) => [g.t().contiguous().reshape(x.shape)]);
    const x = T.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float64", requiresGrad: true });
    expect(() => gradcheck(badTranspose, [x])).to.throw(/gradcheck/);
  });

  it("refuses float32 inputs", () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    expect(() => gradcheck((t) => t.mul(t), [x])).to.throw(/float64/);
  });
});
