/**
 * The WebAssembly SIMD GEMM (src/wasm/gemm-kernel.ts, src/ops/gemm-wasm.ts) against three references:
 *
 *  1. the float32 running sum it is built to compute, bit for bit:
 *       c ← C_old (or +0);  for k = 0 … K−1:  c ← fl32(c + fl32(A[i,k] · B[k,j]))
 *     (Math.fround after each op; ±0, ±∞ and NaN included, compared with Object.is);
 *  2. the exact sum (a float64 triple loop) within the float32 bound of a K-term running sum,
 *       |C − exact| ≤ (K + 2) · 2⁻²⁴ · (|C_old| + Σ_k |A[i,k]| |B[k,j]|);
 *  3. the plain TypeScript kernel `gemmScalar`, within the sum of both kernels' bounds.
 *
 * Shapes are random (0, 1, odd, larger than the cache blocks), A and B any strided views (row-major,
 * transposed, stride-0 broadcasts, negative strides, offsets), accumulate on or off. Small blocking
 * configurations make small shapes cross every block edge; several tiles and K unrollings are built
 * so the tail paths run. The checker itself is shown to reject a kernel that drops the last k step
 * or reads B transposed. Every random number comes from fast-check or a seeded LCG.
 */
import { expect } from "chai";
import fc from "fast-check";
import { gemm, gemmScalar, getGemmKernel, type MatrixView, setGemmKernel } from "../../src/ops/gemm.js";
import { createWasmGemm, type Float32View, WASM_GEMM_CONFIG, type WasmGemm, wasmGemmAvailable } from "../../src/ops/gemm-wasm.js";
import { emitGemmModule, GEMM_TILE, instantiateGemmKernel } from "../../src/wasm/gemm-kernel.js";

/** Numerical Recipes LCG: uniform values in [-1, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 3e38, -3e38, 1e-40];

/** Random float32 values; with `specials`, about one in 40 is ±0, ±∞, NaN, huge (overflows when multiplied) or subnormal. */
function makeArray(length: number, seed: number, specials: boolean): Float32Array {
  const next = lcg(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u = next();
    out[i] = specials && u > 0.95 ? SPECIALS[Math.floor((u - 0.95) * 20 * SPECIALS.length) % SPECIALS.length] : next() * 2;
  }
  return out;
}

type Layout = "rowMajor" | "transposed" | "padded" | "broadcastRows" | "broadcastCols" | "flipped";
const LAYOUTS: Layout[] = ["rowMajor", "transposed", "padded", "broadcastRows", "broadcastCols", "flipped"];

/** A rows×cols view laid out as `layout`, starting `offset` into a fresh array with random values around it too. */
function makeView(rows: number, cols: number, layout: Layout, offset: number, seed: number, specials: boolean): Float32View {
  const strides: Record<Layout, [number, number]> = {
    rowMajor: [cols, 1],
    transposed: [1, rows],
    padded: [cols + 3, 1],
    broadcastRows: [0, 1],
    broadcastCols: [1, 0],
    flipped: [-cols, 1],
  };
  const [rowStride, colStride] = strides[layout];
  const rowSpan = (Math.max(rows, 1) - 1) * rowStride;
  const colSpan = (Math.max(cols, 1) - 1) * colStride;
  const lowest = Math.min(0, rowSpan) + Math.min(0, colSpan);
  const highest = Math.max(0, rowSpan) + Math.max(0, colSpan);
  const data = makeArray(offset + highest - lowest + 3, seed, specials);
  return { data, offset: offset - lowest, rowStride, colStride };
}

const at = (v: Float32View, r: number, c: number): number => v.data[v.offset + r * v.rowStride + c * v.colStride];

/** Reference 1: the float32 running sum in k order (what the kernel computes, rounding for rounding). */
function runningSum32(M: number, N: number, K: number, A: Float32View, B: Float32View, cOld: Float32Array, accumulate: boolean) {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let c = accumulate ? cOld[i * N + j] : 0;
      for (let k = 0; k < K; k++) c = Math.fround(c + Math.fround(at(A, i, k) * at(B, k, j)));
      out[i * N + j] = c;
    }
  }
  return out;
}

/** Reference 2: the sum in float64 and its error scale |C_old| + Σ|a||b|. */
function exactSum(M: number, N: number, K: number, A: Float32View, B: Float32View, cOld: Float32Array, accumulate: boolean) {
  const value = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = accumulate ? cOld[i * N + j] : 0;
      let size = Math.abs(sum);
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
  layoutA: Layout;
  layoutB: Layout;
  offsetA: number;
  offsetB: number;
  offsetC: number;
  accumulate: boolean;
  specials: boolean;
  seed: number;
}

function caseArb(size: { M: fc.Arbitrary<number>; N: fc.Arbitrary<number>; K: fc.Arbitrary<number> }): fc.Arbitrary<Case> {
  const layout = fc.constantFrom(...LAYOUTS);
  const offset = fc.integer({ min: 0, max: 5 });
  return fc.record({
    ...size,
    layoutA: layout,
    layoutB: layout,
    offsetA: offset,
    offsetB: offset,
    offsetC: offset,
    accumulate: fc.boolean(),
    specials: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), // one run in four
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  });
}

/** C += A·B, as `createWasmGemm`'s functions and `gemm` (after its zeroing) both compute it. */
type Product = (M: number, N: number, K: number, A: Float32View, B: Float32View, C: Float32Array, cOffset: number) => void;

/**
 * Run `product` on the case; return the first disagreement with the three references (or a write
 * outside C's window), or null. With specials only reference 1 applies (overflow and ∞ − ∞ make the others moot).
 */
function firstMismatch(c: Case, product: Product): string | null {
  const { M, N, K } = c;
  const A = makeView(M, K, c.layoutA, c.offsetA, c.seed, c.specials);
  const B = makeView(K, N, c.layoutB, c.offsetB, c.seed + 1, c.specials);
  const C = makeArray(c.offsetC + M * N + 3, c.seed + 2, false);
  const before = C.slice();
  const cOld = C.slice(c.offsetC, c.offsetC + M * N);
  if (!c.accumulate) C.fill(0, c.offsetC, c.offsetC + M * N);
  product(M, N, K, A, B, C, c.offsetC);
  const got = C.subarray(c.offsetC, c.offsetC + M * N);
  const where = (e: number) => `C[${Math.floor(e / N)}, ${e % N}] (${M}×${K}·${K}×${N}, ${c.layoutA}/${c.layoutB})`;

  const model = runningSum32(M, N, K, A, B, cOld, c.accumulate);
  for (let e = 0; e < M * N; e++) {
    if (!Object.is(got[e], model[e])) return `${where(e)} = ${got[e]}, the float32 running sum is ${model[e]}`;
  }
  for (let e = 0; e < C.length; e++) {
    const inside = e >= c.offsetC && e < c.offsetC + M * N;
    if (!inside && !Object.is(C[e], before[e])) return `wrote C[${e}] outside the ${M}×${N} window at offset ${c.offsetC}`;
  }
  if (c.specials) return null; // overflow and ∞ − ∞ make the float64 sum a different kind of number; reference 1 covered it

  const bound = (K + 2) * 2 ** -24;
  const { value, scale } = exactSum(M, N, K, A, B, cOld, c.accumulate);
  const scalar = cOld.slice();
  gemmScalar(M, N, K, A, B, scalar, 0, c.accumulate);
  for (let e = 0; e < M * N; e++) {
    const err = Math.abs(got[e] - value[e]);
    if (!(err <= bound * scale[e])) return `${where(e)} = ${got[e]}, exact ${value[e]}: error ${err} > ${bound} × ${scale[e]}`;
    // gemmScalar's own bound is smaller (double sums, ⌈K/256⌉ + 1 float32 roundings): 2·bound covers both.
    const gap = Math.abs(got[e] - scalar[e]);
    if (!(gap <= 2 * bound * scale[e])) return `${where(e)} = ${got[e]}, gemmScalar ${scalar[e]}: gap ${gap}`;
  }
  return null;
}

const check = (product: Product) => (c: Case) => {
  const problem = firstMismatch(c, product);
  if (problem !== null) throw new Error(problem);
};

/** gemm itself (the dispatch), set to the wasm kernel. C was zeroed by firstMismatch unless accumulating. */
const viaGemm: Product = (M, N, K, A, B, C, cOffset) => gemm(M, N, K, A, B, C, cOffset, true);

const small = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9), fc.integer({ min: 0, max: 40 }));

describe("gemm on the WebAssembly SIMD kernel", function() {
  before(function() {
    if (!wasmGemmAvailable) this.skip(); // an engine without WebAssembly SIMD runs the scalar kernel only
  });
  let kernelBefore: ReturnType<typeof getGemmKernel>;
  before(() => (kernelBefore = setGemmKernel("wasm")));
  after(() => setGemmKernel(kernelBefore));

  it("emits a valid module well under 4 KB for the chosen tile and the others measured", () => {
    for (const tile of [GEMM_TILE, { mr: 1, nr: 4, ku: 1 }, { mr: 6, nr: 8, ku: 4 }, { mr: 4, nr: 16, ku: 2 }, { mr: 3, nr: 12, ku: 3 }]) {
      const bytes = emitGemmModule(tile, { module: "env", field: "memory", minPages: 1 });
      expect(WebAssembly.validate(bytes), `${tile.mr}×${tile.nr} ku ${tile.ku}`).to.equal(true);
      expect(bytes.length).to.be.below(4096);
    }
    const sharedBytes = emitGemmModule(GEMM_TILE, { module: "env", field: "memory", minPages: 1, maxPages: 16, shared: true });
    expect(WebAssembly.validate(sharedBytes)).to.equal(true);
    expect(() => emitGemmModule({ mr: 4, nr: 6, ku: 1 }, { module: "env", field: "memory", minPages: 1 })).to.throw(
      /emitGemmModule: unsupported tile 4×6/,
    );
  });

  it("computes the hand-computed product and the float32 running sum of a known case", () => {
    // [1 2 3]   [ 7  8]   [ 58  64]
    // [4 5 6] · [ 9 10] = [139 154]      then, accumulating, once more onto it
    //           [11 12]
    const f = createWasmGemm({ tile: GEMM_TILE, kc: 2, mc: 4, nc: 8, mChunk: 4 });
    const A = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), offset: 0, rowStride: 3, colStride: 1 };
    const B = { data: Float32Array.from([7, 8, 9, 10, 11, 12]), offset: 0, rowStride: 2, colStride: 1 };
    const C = new Float32Array(4);
    f(2, 2, 3, A, B, C, 0);
    expect([...C]).to.deep.equal([58, 64, 139, 154]);
    f(2, 2, 3, A, B, C, 0);
    expect([...C]).to.deep.equal([116, 128, 278, 308]);
    // 1 + 2⁻²⁴ + 2⁻²⁴: summed left to right in float32 each 2⁻²⁴ rounds away (ties to even); in doubles it would not.
    const ones = { data: Float32Array.from([1, 2 ** -24, 2 ** -24]), offset: 0, rowStride: 3, colStride: 1 };
    const unit = { data: Float32Array.from([1, 1, 1, 1]), offset: 0, rowStride: 1, colStride: 0 }; // 3×4 of ones (stride 0)
    const row = new Float32Array(4);
    f(1, 4, 3, ones, unit, row, 0);
    expect([...row]).to.deep.equal([1, 1, 1, 1]);
  });

  it("small shapes with tiny blocks (every block and tile edge): bit for bit the float32 running sum, within the bounds", () => {
    // KC = 3, MC = 8, NC = 16, 16 staged rows: a 40×40×40 product crosses each block edge several times.
    const tiny = createWasmGemm({ tile: GEMM_TILE, kc: 3, mc: 8, nc: 16, mChunk: 16 });
    fc.assert(fc.property(caseArb({ M: small, N: small, K: small }), check(tiny)), { numRuns: 250 });
  });

  it("other tiles and K unrollings (the kc mod KU tail loop): bit for bit", () => {
    for (const tile of [{ mr: 6, nr: 8, ku: 4 }, { mr: 3, nr: 12, ku: 3 }, { mr: 1, nr: 4, ku: 2 }]) {
      const f = createWasmGemm({ tile, kc: 7, mc: 2 * tile.mr, nc: 2 * tile.nr, mChunk: 4 * tile.mr });
      fc.assert(fc.property(caseArb({ M: small, N: small, K: small }), check(f)), { numRuns: 40 });
    }
  });

  it("through gemm (the dispatch) with the default blocks, sizes past KC, MC and NC", () => {
    // Every shape here is large enough for gemm to pick the wasm kernel (wasmGemmWorthIt).
    const { kc, mc, nc } = WASM_GEMM_CONFIG;
    fc.assert(
      fc.property(
        caseArb({
          M: fc.integer({ min: 8, max: mc + 9 }),
          N: fc.integer({ min: 8, max: nc + 9 }),
          K: fc.integer({ min: kc - 5, max: kc + 40 }),
        }),
        check(viaGemm),
      ),
      { numRuns: 6 },
    );
    // More rows than one staged band (mChunk): the band loop.
    check(viaGemm)({
      M: WASM_GEMM_CONFIG.mChunk + 13,
      N: 9,
      K: 5,
      layoutA: "transposed",
      layoutB: "rowMajor",
      offsetA: 1,
      offsetB: 0,
      offsetC: 2,
      accumulate: true,
      specials: false,
      seed: 5,
    });
  });

  it("rows computed in separate calls give the same bits as one call (row-split independence)", () => {
    const [M, N, K] = [37, 29, 300];
    const A = makeView(M, K, "rowMajor", 0, 11, false);
    const B = makeView(K, N, "transposed", 0, 12, false);
    const whole = new Float32Array(M * N);
    gemm(M, N, K, A, B, whole, 0, false);
    const pieces = new Float32Array(M * N);
    for (const [r0, r1] of [[0, 5], [5, 6], [6, 24], [24, 37]]) {
      gemm(r1 - r0, N, K, { ...A, offset: A.offset + r0 * A.rowStride }, B, pieces, r0 * N, false);
    }
    expect(Buffer.from(pieces.buffer).equals(Buffer.from(whole.buffer))).to.equal(true);
  });

  it("has a checker that rejects a kernel dropping the last k step or reading B transposed", () => {
    const base: Case = {
      M: 9,
      N: 12,
      K: 12,
      layoutA: "rowMajor",
      layoutB: "rowMajor",
      offsetA: 0,
      offsetB: 0,
      offsetC: 1,
      accumulate: false,
      specials: false,
      seed: 3,
    };
    const f = createWasmGemm({ tile: GEMM_TILE, kc: 5, mc: 8, nc: 8, mChunk: 8 });
    const droppedTail: Product = (M, N, K, A, B, C, o) => f(M, N, K - 1, A, B, C, o);
    const swappedB: Product = (M, N, K, A, B, C, o) => f(M, N, K, A, { ...B, rowStride: B.colStride, colStride: B.rowStride }, C, o);
    expect(firstMismatch(base, f)).to.equal(null);
    expect(firstMismatch(base, droppedTail)).to.match(/float32 running sum/);
    expect(firstMismatch(base, swappedB)).to.match(/float32 running sum/);
  });

  it("keeps float64 products on the scalar kernel (bit-identical to gemmScalar) and switches kernels explicitly", () => {
    const next = lcg(9);
    const a = Float64Array.from({ length: 30 * 40 }, next);
    const b = Float32Array.from({ length: 40 * 20 }, next);
    const A: MatrixView = { data: a, offset: 0, rowStride: 40, colStride: 1 };
    const B: MatrixView = { data: b, offset: 0, rowStride: 20, colStride: 1 };
    for (const C of [new Float64Array(600), new Float32Array(600)]) {
      const reference = C.slice();
      gemm(30, 20, 40, A, B, C, 0, false);
      gemmScalar(30, 20, 40, A, B, reference, 0, false);
      expect(Buffer.from(C.buffer).equals(Buffer.from(reference.buffer))).to.equal(true);
    }
    // All float32: "wasm" gives the running sum, "scalar" gemmScalar's bits; the two differ here.
    const A32 = { data: Float32Array.from(a), offset: 0, rowStride: 40, colStride: 1 };
    const wasmC = new Float32Array(600), scalarC = new Float32Array(600), reference = new Float32Array(600);
    gemm(30, 20, 40, A32, B, wasmC, 0, false);
    expect(setGemmKernel("scalar")).to.equal("wasm");
    gemm(30, 20, 40, A32, B, scalarC, 0, false);
    expect(getGemmKernel()).to.equal("scalar");
    expect(setGemmKernel("wasm")).to.equal("scalar");
    gemmScalar(30, 20, 40, A32, B, reference, 0, false);
    expect(Buffer.from(scalarC.buffer).equals(Buffer.from(reference.buffer))).to.equal(true);
    expect([...wasmC]).to.deep.equal([...runningSum32(30, 20, 40, A32, B as Float32View, new Float32Array(600), false)]);
    expect(Buffer.from(wasmC.buffer).equals(Buffer.from(scalarC.buffer))).to.equal(false);
    expect(() => setGemmKernel("simd" as "wasm")).to.throw(RangeError, /setGemmKernel: unknown kernel "simd"/);
  });

  it("refreshes its float32 view of the memory when the memory grows", () => {
    const instance = instantiateGemmKernel(GEMM_TILE, 1000);
    const before = instance.heap;
    expect(before.length).to.equal(65536 / 4);
    instance.ensureBytes(70000);
    expect(instance.heap).to.not.equal(before);
    expect(instance.heap.length).to.equal(2 * 65536 / 4);
    instance.heap[20000] = 1.5; // past the old end: only the new view reaches it
    expect(new Float32Array(instance.memory.buffer)[20000]).to.equal(1.5);
  });
});
