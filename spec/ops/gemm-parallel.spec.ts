/**
 * The GEMM on the worker pool (src/ops/gemm-parallel.ts): for random shapes, layouts (row-major,
 * transposed, broadcast stride 0, offsets), both dtypes and both accumulate modes, 1, 2 and 3
 * threads give the same bits as each other and as the one-thread kernel. The flop threshold is set to
 * 0 here so that even small products take the pool path.
 */
import { expect } from "chai";
import fc from "fast-check";
import { gemm, type MatrixView } from "../../src/ops/gemm.js";
import { setParallelGemmMinFlops } from "../../src/ops/gemm-parallel.js";
import { getNumThreads, setNumThreads } from "../../src/parallel/index.js";
import "../../src/node.js"; // installs Node's worker-thread platform (without it every product runs on one thread)

type Layout = "rowMajor" | "transposed" | "broadcastRows" | "offset";

/** A rows×cols view of random integers/8 (exact in float32) laid out as `layout`. */
function makeView(rows: number, cols: number, layout: Layout, dtype: "float32" | "float64", seed: number): MatrixView {
  let state = seed >>> 0 || 1;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 17) / 8 - 1;
  const fill = (length: number, value: (i: number) => number) => {
    const out = dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
    for (let i = 0; i < length; i++) out[i] = value(i);
    return out;
  };
  if (layout === "broadcastRows") {
    const data = fill(cols, next); // every row is the same row
    return { data, offset: 0, rowStride: 0, colStride: 1 };
  }
  const pad = layout === "offset" ? 5 : 0;
  const data = fill(rows * cols + pad, next);
  if (layout === "transposed") return { data, offset: 0, rowStride: 1, colStride: rows };
  return { data, offset: pad, rowStride: cols, colStride: 1 };
}

function product(
  threads: number,
  M: number,
  N: number,
  K: number,
  A: MatrixView,
  B: MatrixView,
  C0: Float32Array | Float64Array,
  acc: boolean,
) {
  setNumThreads(threads);
  const C = C0.slice();
  gemm(M, N, K, A, B, C, 0, acc);
  return C;
}

describe("gemm on the worker pool: the same bits for 1, 2 and 3 threads", () => {
  const threadsBefore = getNumThreads();
  let minFlopsBefore = 0;
  before(() => (minFlopsBefore = setParallelGemmMinFlops(0)));
  after(() => {
    setParallelGemmMinFlops(minFlopsBefore);
    setNumThreads(threadsBefore);
  });

  it("random shapes, layouts, dtypes and accumulate: bit for bit", () => {
    const layout = fc.constantFrom<Layout>("rowMajor", "transposed", "broadcastRows", "offset");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 300 }),
        layout,
        layout,
        fc.constantFrom<"float32" | "float64">("float32", "float64"),
        fc.boolean(),
        fc.integer(),
        (M, N, K, layoutA, layoutB, dtype, accumulate, seed) => {
          const A = makeView(M, K, layoutA, dtype, seed);
          const B = makeView(K, N, layoutB, dtype, seed ^ 0x5bd1e995);
          const C0 = dtype === "float32" ? new Float32Array(M * N) : new Float64Array(M * N);
          for (let i = 0; i < M * N; i++) C0[i] = (i % 7) / 4;
          const one = product(1, M, N, K, A, B, C0, accumulate);
          for (const threads of [2, 3]) {
            const many = product(threads, M, N, K, A, B, C0, accumulate);
            expect(Buffer.from(many.buffer).equals(Buffer.from(one.buffer)), `${threads} threads, ${M}×${K}·${K}×${N}`).to.equal(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a product above the default threshold (256×784 · 784×512, float32, transposed B) is bit-identical on 1 and 2 threads", () => {
    setParallelGemmMinFlops(minFlopsBefore);
    const A = makeView(256, 784, "rowMajor", "float32", 1);
    const B = makeView(784, 512, "transposed", "float32", 2);
    const C0 = new Float32Array(256 * 512);
    const one = product(1, 256, 512, 784, A, B, C0, false);
    const two = product(2, 256, 512, 784, A, B, C0, false);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).to.equal(true);
    setParallelGemmMinFlops(0);
  });
});
