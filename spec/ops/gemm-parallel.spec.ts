/**
 * The GEMM on the worker pool (src/ops/gemm-parallel.ts): for random shapes, layouts (row-major,
 * transposed, broadcast stride 0, offsets), both dtypes and both accumulate modes, 1, 2 and 3
 * threads give the same bits as each other and as the one-thread kernel, for both kernels (scalar and
 * WebAssembly SIMD; the workers run the kernel the caller is set to). The flop threshold is set to
 * 0 here so that even small products take the pool path.
 */
import { expect } from "chai";
import fc from "fast-check";
import { gemm, gemmScalar, getGemmKernel, type GemmKernelName, type MatrixView, setGemmKernel } from "../../src/ops/gemm.js";
import { wasmGemmAvailable } from "../../src/ops/gemm-wasm.js";
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

  const kernels: GemmKernelName[] = wasmGemmAvailable ? ["scalar", "wasm"] : ["scalar"];
  const kernelBefore = getGemmKernel();
  afterEach(() => setGemmKernel(kernelBefore));

  for (const kernel of kernels) {
    it(`random shapes, layouts, dtypes and accumulate on the ${kernel} kernel: bit for bit`, () => {
      setGemmKernel(kernel);
      randomShapesBitForBit();
    });
  }

  it("the workers run the caller's kernel: inexact float32 sums, 1, 2 and 3 threads, each kernel's own bits", () => {
    // Values that do not sum exactly in float32, so the two kernels round differently (checked
    // below): a worker running the other kernel than the caller would change its band's bits.
    const [M, N, K] = [43, 21, 130];
    const next = ((state: number) => () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1))(77);
    const A: MatrixView = { data: Float32Array.from({ length: M * K }, next), offset: 0, rowStride: K, colStride: 1 };
    const B: MatrixView = { data: Float32Array.from({ length: K * N }, next), offset: 0, rowStride: 1, colStride: K };
    const results = kernels.map((kernel) => {
      setGemmKernel(kernel);
      const one = product(1, M, N, K, A, B, new Float32Array(M * N), false);
      for (const threads of [2, 3]) {
        const many = product(threads, M, N, K, A, B, new Float32Array(M * N), false);
        expect(Buffer.from(many.buffer).equals(Buffer.from(one.buffer)), `${kernel}, ${threads} threads`).to.equal(true);
      }
      return one;
    });
    const scalar = new Float32Array(M * N);
    setNumThreads(1);
    gemmScalar(M, N, K, A, B, scalar, 0, false);
    expect(Buffer.from(results[0].buffer).equals(Buffer.from(scalar.buffer))).to.equal(true);
    if (results.length === 2) expect(Buffer.from(results[1].buffer).equals(Buffer.from(scalar.buffer))).to.equal(false);
  });

  it("a product just above the wasm kernel's size rule, split into bands below it: the same bits on 1, 2 and 3 threads", function() {
    // 16×8·100: M·N·K = 12800 runs on the wasm kernel; a band of 8 rows (6400) alone would not. The
    // kernel is chosen from the whole product, so every band runs the wasm kernel too.
    if (!wasmGemmAvailable) this.skip();
    setGemmKernel("wasm");
    const [M, N, K] = [16, 8, 100];
    const next = ((state: number) => () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1))(5);
    const A: MatrixView = { data: Float32Array.from({ length: M * K }, next), offset: 0, rowStride: K, colStride: 1 };
    const B: MatrixView = { data: Float32Array.from({ length: K * N }, next), offset: 0, rowStride: N, colStride: 1 };
    const one = product(1, M, N, K, A, B, new Float32Array(M * N), false);
    for (const threads of [2, 3]) {
      const many = product(threads, M, N, K, A, B, new Float32Array(M * N), false);
      expect(Buffer.from(many.buffer).equals(Buffer.from(one.buffer)), `${threads} threads`).to.equal(true);
    }
  });

  function randomShapesBitForBit(): void {
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
  }

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
