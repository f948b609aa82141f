/**
 * GEMM — the general matrix multiply that carries almost all of the training cost.
 *
 *   C = A · B   (or C += A · B when `accumulate`),    C[i, j] = Σ_k A[i, k] · B[k, j]
 *   A: M×K (any strides),  B: K×N (any strides),  C: M×N row-major, contiguous from `cOffset`.
 *
 * Two kernels behind one `gemm`: this file's scalar TypeScript kernel (described below; every product
 * with a Float64Array, and the reference and fallback as `gemmScalar`), and, when A, B and C are all
 * Float32Array, the WebAssembly SIMD kernel of ./gemm-wasm.ts (float32 sums in k order, 4×8 f32x4
 * tile; docs/performance.md, "The WebAssembly SIMD kernel"). `setGemmKernel` chooses explicitly.
 *
 * A naive triple loop does 2·M·N·K flops but also about that many array loads, most of them with
 * a large stride (B[k, j] walks down a column). This file arranges the same arithmetic so that
 * almost every load hits L1 cache and every loaded number is used several times. Three ideas,
 * from the outside in (the GotoBLAS / BLIS scheme):
 *
 * 1. Cache blocking. Split the problem into blocks that fit in cache:
 *
 *        for j0 in 0..N step NC            columns of C and B           (block of B: KC×NC)
 *          for k0 in 0..K step KC          the shared dimension         (partial sums over k)
 *            pack B[k0:k0+KC, j0:j0+NC]    → packedB   (512 KiB, stays in L2)
 *            for i0 in 0..M step MC        rows of C and A              (block of A: MC×KC)
 *              pack A[i0:i0+MC, k0:k0+KC]  → packedA   (64 KiB, stays in L1/L2)
 *              for each 2×2 tile (jr, ir) of C[i0:i0+MC, j0:j0+NC]:
 *                C tile (+)= packedA rows ir..ir+1 · packedB cols jr..jr+1    (the micro-kernel)
 *
 *    The K loop is blocked too: a tile is finished in ⌈K/KC⌉ passes, each adding into C, so the
 *    packed panels one micro-kernel call reads (2×KC of A, KC×2 of B) stay small and hot.
 *
 * 2. Packing. Before the loops touch a block, its numbers are copied into a contiguous scratch
 *    buffer in exactly the order the micro-kernel will read them:
 *
 *        packedA, one panel per 2 rows:     a[i,k] a[i+1,k] a[i,k+1] a[i+1,k+1] …
 *        packedB, one panel per 2 columns:  b[k,j] b[k,j+1] b[k+1,j] b[k+1,j+1] …
 *
 *    So the hot loop walks two arrays with stride 1 whatever the strides of A and B were —
 *    transposed views (colStride ≠ 1) and broadcasts (stride 0) cost nothing extra. The copy
 *    also converts float32 to float64, so one micro-kernel serves both dtypes. Edge panels
 *    (M or N not a multiple of 2, K not a multiple of 2) are padded with zeros, so the
 *    micro-kernel never needs a bounds branch; only the store skips the padded cells.
 *    Packing costs O(M·K·⌈N/NC⌉ + K·N) copies against O(M·N·K) multiply-adds.
 *
 * 3. Register tiling. The micro-kernel keeps a 2×2 tile of C in four local variables and
 *    walks k two steps at a time:
 *
 *        c00 += a0·b0 + a2·b2     (a0,a1 = A[i,k],A[i+1,k];  a2,a3 = A[i,k+1],A[i+1,k+1])
 *        c01 += a0·b1 + a2·b3     (b0,b1 = B[k,j],B[k,j+1];  b2,b3 = B[k+1,j],B[k+1,j+1])
 *        c10 += a1·b0 + a3·b2
 *        c11 += a1·b1 + a3·b3
 *
 *    8 loads feed 16 flops and the four sums never leave registers. Why 2×2 and not the
 *    4×4 or 4×8 tiles of C BLAS libraries: JavaScript numbers are scalar doubles, x86-64 has 16
 *    registers for them, and V8 tends to compute all products of an iteration before the adds,
 *    so a 4×4 tile (16 sums + 16 products + 8 inputs) spills to the stack on every iteration.
 *    docs/performance.md ("Why these choices") has the GFLOP/s of each tile shape tried.
 *
 * Precision. All arithmetic is in JS doubles. Float32 inputs are widened exactly when packed,
 * a tile's sum over one K block is accumulated in doubles, and it is rounded to float32 when
 * added into C (⌈K/KC⌉ roundings in all) — within the usual float32 tolerance of torch.
 * Float64 inputs and output give float64 results (the gradchecks rely on this).
 *
 * V8 notes (why the code looks the way it does):
 *  - The scratch buffers are module-level `const`s of a fixed size (the blocks bound what they
 *    ever hold, so they never need to grow) and are allocated once; nothing is allocated per
 *    call. When V8 inlines `microKernel` into `gemm` it knows these exact arrays, so it drops
 *    their type checks and bounds loads from the hot loop: faster than passing the buffers as
 *    arguments or keeping them in a growable `let` (docs/performance.md, "Constant scratch
 *    arrays", has the measurement).
 *  - Every store is `C += tile` (C is zeroed first unless accumulating): one code path, so a
 *    call that needs a branch never taken before cannot throw away V8's optimized code.
 *  - Every function that reads or writes a caller's array comes in a Float32Array and a
 *    Float64Array version: a function that sees both kinds of typed array gets slower
 *    "polymorphic" element access. Only the packing and the final store touch those arrays.
 *  - `(x + 1) | 0` tells V8 the index is a 32-bit integer, which removes an overflow check
 *    per load.
 *
 * @module
 */
import { gemmOnPool } from "./gemm-parallel.js";
import { type Float32View, gemmWasmKernel, wasmGemmAvailable, wasmGemmWorthIt } from "./gemm-wasm.js";

/** A strided 2-D view: element (r, c) is data[offset + r·rowStride + c·colStride]. */
export interface MatrixView {
  data: Float32Array | Float64Array;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** Register tile: MR rows × NR columns of C live in local variables. */
const MR = 2;
const NR = 2;
/** The micro-kernel consumes k in steps of KU; packed panels are zero-padded to a multiple of it. */
const KU = 2;
/** Cache blocks (multiples of MR / NR / KU). packedA = MC×KC doubles (64 KiB), packedB = KC×NC (512 KiB). */
const KC = 256;
const MC = 32;
const NC = 256;

/** Packed block of A: ⌈mc/MR⌉ panels, each kcPadded × MR, k-major (see header). */
const packedA = new Float64Array(MC * KC);
/** Packed block of B: ⌈nc/NR⌉ panels, each kcPadded × NR, k-major. */
const packedB = new Float64Array(KC * NC);
/** The micro-kernel's result: an MR×NR tile, row-major. */
const tile = new Float64Array(MR * NR);

/**
 * C (M×N, row-major contiguous starting at cOffset) = A (M×K) · B (K×N)   (+ C when accumulate)
 *
 * A and B may be any strided views (transposed, stride-0 broadcast, offset into a larger array)
 * and may be Float32Array or Float64Array independently of C. C must not overlap A or B.
 * With K = 0 the product is the zero matrix (C is zeroed, or left as is when accumulating).
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  A: MatrixView,
  B: MatrixView,
  C: Float32Array | Float64Array,
  cOffset: number,
  accumulate: boolean,
): void {
  // The kernel is chosen once, from the whole product's shape: the pool's bands (some rows each) then
  // all run that kernel, so the bits cannot depend on how the rows were split.
  const kernel = kernelSetting === "wasm" && wasmGemmWorthIt(M, N, K) ? "wasm" : "scalar";
  gemmUsing(kernel, M, N, K, A, B, C, cOffset, accumulate);
}

/**
 * The same product always on the plain TypeScript kernel of this file, whatever `setGemmKernel` says:
 * the reference the WebAssembly kernel is checked against, and its fallback (also on the pool).
 */
export function gemmScalar(
  M: number,
  N: number,
  K: number,
  A: MatrixView,
  B: MatrixView,
  C: Float32Array | Float64Array,
  cOffset: number,
  accumulate: boolean,
): void {
  gemmUsing("scalar", M, N, K, A, B, C, cOffset, accumulate);
}

/** The GEMM kernels: "scalar" (this file, doubles) and "wasm" (./gemm-wasm.ts, float32 SIMD; float32 operands only). */
export type GemmKernelName = "scalar" | "wasm";

/** The setting `gemm` follows: the wasm kernel wherever WebAssembly SIMD runs. */
let kernelSetting: GemmKernelName = wasmGemmAvailable ? "wasm" : "scalar";

/**
 * Choose the kernel `gemm` (and so matmul, linear, conv2d …) uses for float32 products; returns the previous
 * setting. "wasm" (the default where WebAssembly SIMD is available): A, B and C all Float32Array run on
 * the WebAssembly SIMD kernel, float32 sums in k order; anything with a Float64Array stays on the scalar
 * kernel. "scalar": every product on the TypeScript kernel of this file (double sums, rounded to float32
 * once per K block). Throws on an unknown name, and on "wasm" where WebAssembly SIMD is unavailable.
 */
export function setGemmKernel(name: GemmKernelName): GemmKernelName {
  if (name !== "scalar" && name !== "wasm") {
    throw new RangeError(`setGemmKernel: unknown kernel ${JSON.stringify(name)} (expected "scalar" or "wasm")`);
  }
  if (name === "wasm" && !wasmGemmAvailable) {
    throw new Error(`setGemmKernel: "wasm" needs WebAssembly with SIMD, which this engine does not run`);
  }
  const previous = kernelSetting;
  kernelSetting = name;
  return previous;
}

/** The kernel `gemm` uses now (see `setGemmKernel`). */
export function getGemmKernel(): GemmKernelName {
  return kernelSetting;
}

/**
 * `gemm` with an explicit kernel and no shape rule: "wasm" runs every all-float32 product on the wasm
 * kernel, whatever its size (anything with a Float64Array still runs on the scalar kernel). What
 * `gemm`, `gemmScalar` and the pool's bands (in the caller and in the workers) call.
 */
export function gemmUsing(
  kernel: GemmKernelName,
  M: number,
  N: number,
  K: number,
  A: MatrixView,
  B: MatrixView,
  C: Float32Array | Float64Array,
  cOffset: number,
  accumulate: boolean,
): void {
  checkSize("M", M);
  checkSize("N", N);
  checkSize("K", K);
  if (!Number.isInteger(cOffset) || cOffset < 0 || cOffset + M * N > C.length) {
    throw new RangeError(`gemm: C (length ${C.length}) cannot hold ${M}×${N} values from offset ${cOffset}`);
  }
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) C.fill(0, cOffset, cOffset + M * N); // the empty sum: the zero matrix
    return;
  }
  checkView("A", A, M, K);
  checkView("B", B, K, N);
  // A large product is split into bands of rows over the worker pool; each band runs this same
  // function on one thread, with the same `accumulate` (./gemm-parallel.ts, where the same-bits argument is).
  const band = (m: number, n: number, k: number, a: MatrixView, b: MatrixView, c: typeof C, offset: number, acc: boolean) =>
    gemmUsing(kernel, m, n, k, a, b, c, offset, acc);
  if (gemmOnPool(M, N, K, A, B, C, cOffset, band, kernel === "wasm" ? 1 : 0, accumulate)) return;
  const c32 = C instanceof Float32Array;
  if (kernel === "wasm" && c32 && A.data instanceof Float32Array && B.data instanceof Float32Array) {
    // C = A·B: the kernel starts its staged C block from zeros instead of copying C in (it writes every cell back),
    // so C itself is neither zeroed nor read: no pass over a fresh output before the one that stores the result.
    gemmWasmKernel(M, N, K, A as Float32View, B as Float32View, C as Float32Array, cOffset, !accumulate);
    return;
  }
  // C = A·B is computed as C = 0, then C += (one K block of A·B) for each block. Zeroing once up
  // front (M·N writes against M·N·K multiply-adds) lets every store be a plain `+=`, with no
  // first-block branch.
  if (!accumulate) C.fill(0, cOffset, cOffset + M * N);

  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      const kcPadded = Math.ceil(kc / KU) * KU;
      // B block (kc×nc) → panels of NR columns: along the panel we step by B's colStride.
      const bBase = B.offset + k0 * B.rowStride + j0 * B.colStride;
      if (B.data instanceof Float32Array) packPanels32(packedB, B.data, bBase, B.colStride, B.rowStride, nc, kc, kcPadded);
      else packPanels64(packedB, B.data, bBase, B.colStride, B.rowStride, nc, kc, kcPadded);

      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        // A block (mc×kc) → panels of MR rows: along the panel we step by A's rowStride.
        const aBase = A.offset + i0 * A.rowStride + k0 * A.colStride;
        if (A.data instanceof Float32Array) packPanels32(packedA, A.data, aBase, A.rowStride, A.colStride, mc, kc, kcPadded);
        else packPanels64(packedA, A.data, aBase, A.rowStride, A.colStride, mc, kc, kcPadded);

        // Sweep the 2×2 tiles: one B panel (kcPadded×2, 4 KiB) stays in L1 while the A block passes by.
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = Math.min(MR, mc - ir);
            microKernel(kcPadded, ir * kcPadded, jr * kcPadded);
            const cIndex = cOffset + (i0 + ir) * N + j0 + jr;
            if (c32) storeTile32(C as Float32Array, cIndex, N, rows, cols);
            else storeTile64(C as Float64Array, cIndex, N, rows, cols);
          }
        }
      }
    }
  }
}

/**
 * tile (2×2) = packedA panel (2 rows × kcPadded) · packedB panel (kcPadded × 2).
 *
 * aStart / bStart index the first element of the two panels; kcPadded is even.
 * Each iteration takes two k steps: 8 loads, 8 multiplies, 8 adds.
 */
function microKernel(kcPadded: number, aStart: number, bStart: number): void {
  let c00 = 0, c01 = 0, c10 = 0, c11 = 0;
  let ap = aStart;
  let bp = bStart;
  const aEnd = (aStart + MR * kcPadded) | 0;
  for (; ap < aEnd; ap = (ap + MR * KU) | 0, bp = (bp + NR * KU) | 0) {
    const a0 = packedA[ap], a1 = packedA[(ap + 1) | 0], a2 = packedA[(ap + 2) | 0], a3 = packedA[(ap + 3) | 0];
    const b0 = packedB[bp], b1 = packedB[(bp + 1) | 0], b2 = packedB[(bp + 2) | 0], b3 = packedB[(bp + 3) | 0];
    c00 += a0 * b0 + a2 * b2;
    c01 += a0 * b1 + a2 * b3;
    c10 += a1 * b0 + a3 * b2;
    c11 += a1 * b1 + a3 * b3;
  }
  tile[0] = c00;
  tile[1] = c01;
  tile[2] = c10;
  tile[3] = c11;
}

/*
 * Packing: copy `count` lines (rows of A, or columns of B) of length kc into panels of 2 lines.
 *
 *   source element (line l, step k) = src[base + l·lineStride + k·kStride]
 *   dst = [panel 0: (l0,k0) (l1,k0) (l0,k1) (l1,k1) … (l0,k_{kc-1}) (l1,k_{kc-1}) zero-pad to kcPadded]
 *         [panel 1: lines 2,3 …] …
 *
 * A missing second line (odd count) and the padding steps k ≥ kc are zeros: they add 0 to the
 * tile, so the micro-kernel runs unchanged on edge panels. MR = NR = 2, so A and B share it.
 * The two versions differ only in the type of `src` (see the V8 note in the header).
 */
function packPanels32(
  dst: Float64Array,
  src: Float32Array,
  base: number,
  lineStride: number,
  kStride: number,
  count: number,
  kc: number,
  kcPadded: number,
): void {
  let p = 0;
  for (let l = 0; l < count; l += 2) {
    let s = base + l * lineStride;
    if (l + 1 < count) {
      for (let k = 0; k < kc; k++, s += kStride, p += 2) {
        dst[p] = src[s];
        dst[p + 1] = src[s + lineStride];
      }
    } else {
      for (let k = 0; k < kc; k++, s += kStride, p += 2) {
        dst[p] = src[s];
        dst[p + 1] = 0;
      }
    }
    for (let k = kc; k < kcPadded; k++, p += 2) {
      dst[p] = 0;
      dst[p + 1] = 0;
    }
  }
}

function packPanels64(
  dst: Float64Array,
  src: Float64Array,
  base: number,
  lineStride: number,
  kStride: number,
  count: number,
  kc: number,
  kcPadded: number,
): void {
  let p = 0;
  for (let l = 0; l < count; l += 2) {
    let s = base + l * lineStride;
    if (l + 1 < count) {
      for (let k = 0; k < kc; k++, s += kStride, p += 2) {
        dst[p] = src[s];
        dst[p + 1] = src[s + lineStride];
      }
    } else {
      for (let k = 0; k < kc; k++, s += kStride, p += 2) {
        dst[p] = src[s];
        dst[p + 1] = 0;
      }
    }
    for (let k = kc; k < kcPadded; k++, p += 2) {
      dst[p] = 0;
      dst[p + 1] = 0;
    }
  }
}

/*
 * C[c + r·ldc + j] += tile[r, j] for the rows×cols cells that exist (fewer than 2×2 on the
 * bottom and right edges; the rest of the tile is zero padding). C was zeroed by gemm unless
 * accumulating, so `+=` serves the first K block and the later ones alike. Writing into a
 * Float32Array rounds the double sum to the nearest float32.
 */
function storeTile32(C: Float32Array, c: number, ldc: number, rows: number, cols: number): void {
  if (rows === 2 && cols === 2) {
    const c2 = c + ldc;
    C[c] += tile[0];
    C[c + 1] += tile[1];
    C[c2] += tile[2];
    C[c2 + 1] += tile[3];
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) C[c + r * ldc + j] += tile[r * NR + j];
  }
}

function storeTile64(C: Float64Array, c: number, ldc: number, rows: number, cols: number): void {
  if (rows === 2 && cols === 2) {
    const c2 = c + ldc;
    C[c] += tile[0];
    C[c + 1] += tile[1];
    C[c2] += tile[2];
    C[c2 + 1] += tile[3];
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) C[c + r * ldc + j] += tile[r * NR + j];
  }
}

function checkSize(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`gemm: ${name} must be a non-negative integer, got ${n}`);
}

/**
 * A rows×cols view must stay inside its array: with any-sign strides the extreme indices are
 * offset + min/max(0, (rows-1)·rowStride) + min/max(0, (cols-1)·colStride). An out-of-range
 * typed-array read would silently give NaN, so we refuse up front (O(1), outside all loops).
 */
function checkView(name: string, v: MatrixView, rows: number, cols: number): void {
  if (!Number.isInteger(v.offset) || !Number.isInteger(v.rowStride) || !Number.isInteger(v.colStride)) {
    throw new RangeError(
      `gemm: ${name} offset and strides must be integers, got offset ${v.offset}, strides [${v.rowStride}, ${v.colStride}]`,
    );
  }
  const rowSpan = (rows - 1) * v.rowStride;
  const colSpan = (cols - 1) * v.colStride;
  const lo = v.offset + Math.min(0, rowSpan) + Math.min(0, colSpan);
  const hi = v.offset + Math.max(0, rowSpan) + Math.max(0, colSpan);
  if (lo < 0 || hi >= v.data.length) {
    throw new RangeError(
      `gemm: ${name} view (${rows}×${cols}, offset ${v.offset}, strides [${v.rowStride}, ${v.colStride}]) ` +
        `reads indices ${lo}..${hi} outside its array of length ${v.data.length}`,
    );
  }
}
