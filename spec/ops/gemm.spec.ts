/**
 * The blocked GEMM kernel against the definition it optimises:
 *
 *   C[i, j] = Σ_k A[i, k] · B[k, j]        (plus the old C[i, j] when accumulating)
 *
 * computed by a naive triple loop in float64 straight from the strided views. Error bound: each
 * entry may differ from the exact sum by tol · (|C_old[i, j]| + Σ_k |A[i, k]| |B[k, j]|), with
 * tol = 1e-6 when C is float32 on the scalar kernel (it sums in doubles and rounds to float32 once
 * per 256-long K block: a few units of 2⁻²⁴ ≈ 6e-8), tol = max(1e-6, (K + 2)·2⁻²⁴) when A, B and C
 * are all float32 and `gemm` runs them on the WebAssembly kernel (a float32 running sum, K roundings:
 * spec/ops/gemm-wasm.spec.ts checks its exact bits), and tol = 1e-12 when C is float64. Scaling by
 * Σ|a||b| rather than |C| keeps the bound honest when the sum cancels. The property tests run on
 * `gemm` (the dispatch) and on `gemmScalar` (always the TypeScript kernel).
 *
 * Every random value comes from fast-check or from the seeded LCG below, never Math.random.
 */
import { expect } from "chai";
import fc from "fast-check";
import { gemm, gemmScalar, getGemmKernel, type MatrixView } from "../../src/ops/gemm.js";

type FloatArray = Float32Array | Float64Array;
type Dtype = "float32" | "float64";

/** Numerical Recipes LCG: deterministic uniform values in [-1, 1) from a 32-bit seed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

function makeArray(dtype: Dtype, length: number, seed: number): FloatArray {
  const next = lcg(seed);
  const out = dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = next();
  return out;
}

/** How a rows×cols matrix sits in its array. */
type Layout = "rowMajor" | "colMajor" | "padded" | "strided" | "broadcastRows" | "broadcastCols" | "flipped";
const LAYOUTS: Layout[] = ["rowMajor", "colMajor", "padded", "strided", "broadcastRows", "broadcastCols", "flipped"];

/**
 * A view of a rows×cols matrix with the given layout, starting `offset` elements into a fresh
 * seeded array that also has `tail` extra elements after the last one read. All other slots hold
 * random values too, so reading the wrong index shows up as a wrong result.
 */
function makeView(dtype: Dtype, rows: number, cols: number, layout: Layout, offset: number, tail: number, seed: number): MatrixView {
  let rowStride: number;
  let colStride: number;
  switch (layout) {
    case "rowMajor":
      [rowStride, colStride] = [cols, 1];
      break;
    case "colMajor":
      [rowStride, colStride] = [1, rows];
      break; // a transposed view
    case "padded":
      [rowStride, colStride] = [cols + 3, 1];
      break; // a slice of a wider matrix
    case "strided":
      [rowStride, colStride] = [1, 2 * rows + 1];
      break; // transposed and skipping
    case "broadcastRows":
      [rowStride, colStride] = [0, 1];
      break; // every row is the same
    case "broadcastCols":
      [rowStride, colStride] = [1, 0];
      break; // every column is the same
    case "flipped":
      [rowStride, colStride] = [-cols, 1];
      break; // rows in reverse order
  }
  // Smallest and largest index the view reads (rows, cols ≥ 1 here).
  const rowSpan = (rows - 1) * rowStride;
  const colSpan = (cols - 1) * colStride;
  const lowest = Math.min(0, rowSpan) + Math.min(0, colSpan);
  const highest = Math.max(0, rowSpan) + Math.max(0, colSpan);
  const start = offset - lowest; // so the lowest index read is `offset`
  return { data: makeArray(dtype, offset + (highest - lowest) + 1 + tail, seed), offset: start, rowStride, colStride };
}

const at = (v: MatrixView, r: number, c: number): number => v.data[v.offset + r * v.rowStride + c * v.colStride];

/** The definition, in float64: returns C_old + A·B (or A·B) and the error scale of each entry. */
function naive(M: number, N: number, K: number, A: MatrixView, B: MatrixView, cOld: ArrayLike<number>, accumulate: boolean) {
  const value = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = accumulate ? cOld[i * N + j] : 0;
      let size = accumulate ? Math.abs(cOld[i * N + j]) : 0;
      for (let k = 0; k < K; k++) {
        const product = at(A, i, k) * at(B, k, j);
        sum += product;
        size += Math.abs(product);
      }
      value[i * N + j] = sum;
      scale[i * N + j] = size;
    }
  }
  return { value, scale };
}

interface Case {
  M: number;
  N: number;
  K: number;
  dtypeA: Dtype;
  dtypeB: Dtype;
  dtypeC: Dtype;
  layoutA: Layout;
  layoutB: Layout;
  offsetA: number;
  offsetB: number;
  offsetC: number;
  accumulate: boolean;
  seed: number;
  /** Put +∞ at A[M-1, K-1] and -∞ at B[K-1, N-1] (the bottom/right edge tiles, the last K step). */
  poison: boolean;
}

type Kernel = typeof gemm;

/**
 * Runs `kernel` on the case and returns a description of the first wrong entry (or of a write
 * outside C's M×N window), or null when everything is within the error bound.
 */
function firstMismatch(c: Case, kernel: Kernel = gemm): string | null {
  const { M, N, K } = c;
  const A = makeView(c.dtypeA, Math.max(M, 1), Math.max(K, 1), c.layoutA, c.offsetA, 2, c.seed);
  const B = makeView(c.dtypeB, Math.max(K, 1), Math.max(N, 1), c.layoutB, c.offsetB, 2, c.seed + 1);
  if (c.poison && M > 0 && N > 0 && K > 0) {
    // The zero padding of edge tiles must never meet these: 0·∞ = NaN would leak into C.
    A.data[A.offset + (M - 1) * A.rowStride + (K - 1) * A.colStride] = Infinity;
    B.data[B.offset + (K - 1) * B.rowStride + (N - 1) * B.colStride] = -Infinity;
  }
  const tailC = 3;
  const C = makeArray(c.dtypeC, c.offsetC + M * N + tailC, c.seed + 2);
  const before = C.slice();
  const cOld = Array.from(C.subarray(c.offsetC, c.offsetC + M * N));
  const { value, scale } = naive(M, N, K, A, B, cOld, c.accumulate);

  kernel(M, N, K, A, B, C, c.offsetC, c.accumulate);

  const allFloat32 = c.dtypeA === "float32" && c.dtypeB === "float32" && c.dtypeC === "float32";
  const wasm = kernel === gemm && getGemmKernel() === "wasm" && allFloat32;
  const tol = c.dtypeC === "float32" ? (wasm ? Math.max(1e-6, (K + 2) * 2 ** -24) : 1e-6) : 1e-12;
  for (let e = 0; e < M * N; e++) {
    const got = C[c.offsetC + e];
    if (!Number.isFinite(value[e])) {
      // ±∞ or NaN does not depend on summation order: demand the same one.
      if (!Object.is(got, value[e])) return `C[${Math.floor(e / N)}, ${e % N}] = ${got}, expected ${value[e]}`;
      continue;
    }
    const err = Math.abs(got - value[e]);
    // The +1e-30 only matters for an exactly-zero scale (all products 0), where err must be 0.
    if (!(err <= tol * scale[e] + 1e-30)) {
      return `C[${Math.floor(e / N)}, ${e % N}] = ${got}, expected ${value[e]} (error ${err.toExponential(2)} > ${tol} × ${
        scale[e].toExponential(2)
      })`;
    }
  }
  for (let e = 0; e < C.length; e++) {
    const inside = e >= c.offsetC && e < c.offsetC + M * N;
    if (!inside && !Object.is(C[e], before[e])) return `wrote C[${e}] outside the ${M}×${N} window at offset ${c.offsetC}`;
  }
  return null;
}

function caseArb(sizes: { M: fc.Arbitrary<number>; N: fc.Arbitrary<number>; K: fc.Arbitrary<number> }): fc.Arbitrary<Case> {
  const dtype = fc.constantFrom<Dtype>("float32", "float64");
  const layout = fc.constantFrom(...LAYOUTS);
  const offset = fc.integer({ min: 0, max: 5 });
  return fc.record({
    M: sizes.M,
    N: sizes.N,
    K: sizes.K,
    dtypeA: dtype,
    dtypeB: dtype,
    dtypeC: dtype,
    layoutA: layout,
    layoutB: layout,
    offsetA: offset,
    offsetB: offset,
    offsetC: offset,
    accumulate: fc.boolean(),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    poison: fc.integer({ min: 0, max: 4 }).map((n) => n === 0), // one run in five
  });
}

/** Sizes weighted toward the edge cases: 0, 1, 2, 3 and odd numbers around the 2×2 tile. */
const smallSize = fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 37 }));

describe("gemm (blocked, register-tiled matrix multiply)", () => {
  it("gives the hand-computed product of two small rectangular matrices", () => {
    // [1 2 3]   [ 7  8]   [ 58  64]
    // [4 5 6] · [ 9 10] = [139 154]
    //           [11 12]
    for (const dtype of ["float32", "float64"] as const) {
      const Ctor = dtype === "float32" ? Float32Array : Float64Array;
      const A = { data: Ctor.from([1, 2, 3, 4, 5, 6]), offset: 0, rowStride: 3, colStride: 1 };
      const B = { data: Ctor.from([7, 8, 9, 10, 11, 12]), offset: 0, rowStride: 2, colStride: 1 };
      const C = new Ctor(4);
      gemm(2, 2, 3, A, B, C, 0, false);
      expect(Array.from(C)).to.deep.equal([58, 64, 139, 154]);
      // accumulate adds the product onto what C holds
      gemm(2, 2, 3, A, B, C, 0, true);
      expect(Array.from(C)).to.deep.equal([116, 128, 278, 308]);
    }
  });

  it("is exact on small-integer matrices that cross every block and tile edge", () => {
    // Integer products and sums stay exact in float32 (< 2^24), so any index mix-up changes bits.
    const M = 35, N = 259, K = 261; // > MC = 32, > NC = 256, > KC = 256, all odd
    const next = lcg(7);
    const a = Float32Array.from({ length: M * K }, () => Math.round(next() * 3));
    const b = Float32Array.from({ length: K * N }, () => Math.round(next() * 3));
    const C = new Float32Array(M * N);
    gemm(M, N, K, { data: a, offset: 0, rowStride: K, colStride: 1 }, { data: b, offset: 0, rowStride: N, colStride: 1 }, C, 0, false);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[i * K + k] * b[k * N + j];
        if (C[i * N + j] !== sum) expect.fail(`C[${i}, ${j}] = ${C[i * N + j]}, expected ${sum}`);
      }
    }
  });

  it("has a checker that catches a kernel with a swapped index", () => {
    // Guards the property tests below: a kernel that reads B[j, k] instead of B[k, j] (a classic
    // transposition slip; same shapes when K = N) or fills C column-major must be rejected.
    const base: Case = {
      M: 5,
      N: 4,
      K: 4,
      dtypeA: "float64",
      dtypeB: "float64",
      dtypeC: "float64",
      layoutA: "rowMajor",
      layoutB: "rowMajor",
      offsetA: 1,
      offsetB: 2,
      offsetC: 0,
      accumulate: false,
      seed: 42,
      poison: false,
    };
    const swappedB: Kernel = (M, N, K, A, B, C, cOffset, accumulate) =>
      gemm(M, N, K, A, { ...B, rowStride: B.colStride, colStride: B.rowStride }, C, cOffset, accumulate);
    const columnMajorC: Kernel = (M, N, K, A, B, C, cOffset, accumulate) => {
      const tmp = new Float64Array(M * N);
      gemm(M, N, K, A, B, tmp, 0, false);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) C[cOffset + j * M + i] = (accumulate ? C[cOffset + j * M + i] : 0) + tmp[i * N + j];
      }
    };
    expect(firstMismatch(base)).to.equal(null);
    expect(firstMismatch(base, swappedB)).to.be.a("string");
    expect(firstMismatch(base, columnMajorC)).to.be.a("string");
  });

  for (const [name, kernel] of [["gemm", gemm], ["gemmScalar", gemmScalar]] as const) {
    it(`${name}: matches the naive triple loop for small sizes, any strides, both dtypes, accumulate`, () => {
      fc.assert(
        fc.property(caseArb({ M: smallSize, N: smallSize, K: smallSize }), (c) => {
          const problem = firstMismatch(c, kernel);
          if (problem !== null) throw new Error(problem);
        }),
        { numRuns: 300 },
      );
    });

    it(`${name}: matches the naive triple loop for sizes larger than the cache blocks`, () => {
      // M up to 2·MC + 3, N up to NC + 9, K up to 2·KC + 9: several blocks, ragged last ones.
      fc.assert(
        fc.property(
          caseArb({
            M: fc.integer({ min: 1, max: 67 }),
            N: fc.integer({ min: 1, max: 265 }),
            K: fc.integer({ min: 250, max: 521 }),
          }),
          (c) => {
            const problem = firstMismatch(c, kernel);
            if (problem !== null) throw new Error(problem);
          },
        ),
        { numRuns: 12 },
      );
    });
  }

  it("treats K = 0 as the empty sum and M = 0 or N = 0 as nothing to do", () => {
    const A = { data: new Float64Array(1), offset: 0, rowStride: 0, colStride: 0 };
    const C = Float32Array.from([5, 6, 7, 8]);
    gemm(2, 2, 0, A, A, C, 0, true);
    expect(Array.from(C)).to.deep.equal([5, 6, 7, 8]); // C + 0
    gemm(1, 2, 0, A, A, C, 1, false);
    expect(Array.from(C)).to.deep.equal([5, 0, 0, 8]); // C[1:3] = 0
    gemm(0, 3, 4, A, A, C, 0, false);
    gemm(3, 0, 4, A, A, C, 4, false);
    expect(Array.from(C)).to.deep.equal([5, 0, 0, 8]);
  });

  it("reuses its scratch buffers without leaking values from an earlier, larger call", () => {
    // A big product fills the packed panels; a following 1×3 · 3×1 must not see leftovers.
    const big = makeArray("float64", 300 * 300, 3);
    const view = { data: big, offset: 0, rowStride: 300, colStride: 1 };
    gemm(300, 300, 300, view, view, new Float64Array(300 * 300), 0, false);
    const C = new Float64Array(1);
    gemm(
      1,
      1,
      3,
      { data: Float64Array.from([1, 2, 3]), offset: 0, rowStride: 3, colStride: 1 },
      { data: Float64Array.from([4, 5, 6]), offset: 0, rowStride: 1, colStride: 1 },
      C,
      0,
      false,
    );
    expect(C[0]).to.equal(32);
  });

  it("rejects views that read outside their arrays and C windows that do not fit", () => {
    const data = new Float32Array(6);
    const ok = { data, offset: 0, rowStride: 3, colStride: 1 }; // 2×3
    const C = new Float32Array(4);
    expect(() => gemm(2, 2, 3, { ...ok, offset: 1 }, { data, offset: 0, rowStride: 2, colStride: 1 }, C, 0, false)).to.throw(
      RangeError,
      /A view/,
    );
    expect(() => gemm(2, 2, 3, ok, { data, offset: 0, rowStride: -2, colStride: 1 }, C, 0, false)).to.throw(RangeError, /B view/);
    expect(() => gemm(2, 2, 3, ok, { data, offset: 0, rowStride: 2, colStride: 1 }, C, 1, false)).to.throw(RangeError, /C/);
    expect(() => gemm(2.5, 2, 3, ok, ok, C, 0, false)).to.throw(RangeError, /M must be/);
  });
});
