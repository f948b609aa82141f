/**
 * The float32 GEMM on the WebAssembly SIMD kernel (src/wasm/gemm-kernel.ts): blocking and packing in
 * TypeScript, the multiply-adds in wasm. Called by `gemm` (./gemm.ts) when A, B and C are Float32Arrays.
 *
 *   C (M×N, row-major from cOffset) += A (M×K, any strides) · B (K×N, any strides)
 *
 * The same BLIS loop nest as the scalar kernel of ./gemm.ts, with C staged in wasm memory:
 *
 *   for i1 in 0..M step M_CHUNK                   a band of rows (bounds the staged C block)
 *     for j0 in 0..N step NC
 *       copy C[i1:, j0:j0+NC] → C block in wasm memory (rows padded to MR, columns to NR); zeros when overwriting
 *       for k0 in 0..K step KC
 *         pack B[k0:k0+KC, j0:j0+NC] → packed B   (panels of NR columns, zero-padded)
 *         for i0 in 0..rows step MC
 *           pack A[i1+i0 : +MC, k0:k0+KC] → packed A   (panels of MR rows, zero-padded)
 *           macroKernel: every MR×NR tile of the C block += A panel · B panel
 *       copy the C block back (only the M×N cells that exist)
 *
 * Packing reads A and B through their strides (transposed, stride-0 broadcast, offset views all alike),
 * so the wasm code only ever sees stride-1 panels. Padding rows/columns hold zeros in A and B and
 * garbage in the C block; they are never copied back, so the kernel needs no edge cases in M or N.
 *
 * Precision: each C element is a float32 running sum in k order, starting from C (see the kernel's
 * header): the naive float32 loop's bits, independent of the blocking and of how rows are split over
 * threads. Error ≤ K·2⁻²⁴·Σ_k|a||b| (to first order), as float32 BLAS without FMA.
 *
 * Memory: the three buffers have fixed sizes (the blocks bound them), so the memory is allocated
 * once, on the first call, and never grows: the Float32Array view of it stays valid.
 *
 * @module
 */
import { GEMM_TILE, type GemmInstance, type GemmTile, instantiateGemmKernel, wasmSimdSupported } from "../wasm/gemm-kernel.js";

/** A strided float32 view: element (r, c) is data[offset + r·rowStride + c·colStride]. */
export interface Float32View {
  data: Float32Array;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** The tile and the cache blocks (KC: shared dimension; MC, NC: rows of A / columns of B per packed block). */
export interface WasmGemmConfig {
  /** The register tile the module is emitted for. */
  tile: GemmTile;
  /** Steps of k per packed block (the length of every panel). */
  kc: number;
  /** Rows of A per packed block (a multiple of the tile's MR). */
  mc: number;
  /** Columns of B per packed block (a multiple of the tile's NR). */
  nc: number;
  /** Rows of C staged at once (a multiple of mc); larger M is done in bands of this many rows. */
  mChunk: number;
}

/** packed A 64 KiB (L1/L2), packed B KC×NC = 512 KiB (L2), C block ≤ 2 MiB. Measured: docs/performance.md. */
export const WASM_GEMM_CONFIG: WasmGemmConfig = { tile: GEMM_TILE, kc: 256, mc: 64, nc: 512, mChunk: 1024 };

/**
 * C += A·B on one thread with the wasm kernel (arguments already checked by `gemm`); with `overwrite`, C = A·B:
 * the staged C blocks start from zeros instead of C's values, so C is only written, never read.
 */
export type WasmGemm = (
  M: number,
  N: number,
  K: number,
  A: Float32View,
  B: Float32View,
  C: Float32Array,
  cOffset: number,
  overwrite?: boolean,
) => void;

/**
 * Build a GEMM for `config`: compiles the kernel module and allocates its memory on the first call.
 * `gemm` uses one made from WASM_GEMM_CONFIG; benchmarks make others to compare tiles and blocks.
 */
export function createWasmGemm(config: WasmGemmConfig): WasmGemm {
  const { kc: KC, mc: MC, nc: NC, mChunk: M_CHUNK } = config;
  const { mr: MR, nr: NR } = config.tile;
  if (MC % MR !== 0 || NC % NR !== 0 || M_CHUNK % MC !== 0) {
    throw new RangeError(`createWasmGemm: MC, NC, mChunk must be multiples of MR, NR, MC (got ${MC}, ${NC}, ${M_CHUNK})`);
  }
  // Byte layout of the memory: [packed A: MC×KC][packed B: KC×NC][C block: M_CHUNK×NC], all 16-byte aligned.
  const aByte = 0;
  const bByte = aByte + MC * KC * 4;
  const cByte = bByte + KC * NC * 4;
  const totalBytes = cByte + M_CHUNK * NC * 4;
  let kernel: GemmInstance | null = null;

  return (M, N, K, A, B, C, cOffset, overwrite = false) => {
    kernel ??= instantiateGemmKernel(config.tile, totalBytes);
    const heap = kernel.heap;
    const macroKernel = kernel.macroKernel;
    for (let i1 = 0; i1 < M; i1 += M_CHUNK) {
      const rows = Math.min(M_CHUNK, M - i1);
      for (let j0 = 0; j0 < N; j0 += NC) {
        const nc = Math.min(NC, N - j0);
        const ldc = Math.ceil(nc / NR) * NR; // the C block's row length in floats
        // The C block: C's values to add onto, or +0 (what a zeroed C would give: the same bits, without reading C).
        if (overwrite) heap.fill(0, cByte >> 2, (cByte >> 2) + Math.ceil(rows / MR) * MR * ldc);
        else copyRows(heap, cByte >> 2, ldc, C, cOffset + i1 * N + j0, N, rows, nc);
        for (let k0 = 0; k0 < K; k0 += KC) {
          const kc = Math.min(KC, K - k0);
          packPanels(heap, bByte >> 2, NR, B.data, B.offset + k0 * B.rowStride + j0 * B.colStride, B.colStride, B.rowStride, nc, kc);
          for (let i0 = 0; i0 < rows; i0 += MC) {
            const mc = Math.min(MC, rows - i0);
            const aBase = A.offset + (i1 + i0) * A.rowStride + k0 * A.colStride;
            packPanels(heap, aByte >> 2, MR, A.data, aBase, A.rowStride, A.colStride, mc, kc);
            macroKernel(kc, Math.ceil(mc / MR), ldc / NR, aByte, bByte, cByte + i0 * ldc * 4, ldc * 4);
          }
        }
        copyRows(C, cOffset + i1 * N + j0, N, heap, cByte >> 2, ldc, rows, nc);
      }
    }
  };
}

/**
 * Pack `count` lines (rows of A, or columns of B) of length kc into panels of `width` lines:
 *
 *   source (line l, step k) = src[base + l·lineStride + k·kStride]
 *   dst[start + p·kc·width + k·width + w] = line p·width + w at step k   (zero past the last line)
 *
 * The panel's k-th group of `width` floats is what one k step of the kernel reads.
 */
function packPanels(
  dst: Float32Array,
  start: number,
  width: number,
  src: Float32Array,
  base: number,
  lineStride: number,
  kStride: number,
  count: number,
  kc: number,
): void {
  let p = start;
  for (let l0 = 0; l0 < count; l0 += width) {
    const lines = Math.min(width, count - l0);
    const panelBase = base + l0 * lineStride;
    if (lines === 8 && width === 8) {
      p = packFull8(dst, p, src, panelBase, lineStride, kStride, kc);
    } else if (lines === 4 && width === 4) {
      p = packFull4(dst, p, src, panelBase, lineStride, kStride, kc);
    } else if (lines === width && lineStride === 1) {
      // Lines adjacent in memory (B row-major, or A transposed): each k step is `width` consecutive floats.
      for (let k = 0, s = panelBase; k < kc; k++, s += kStride, p += width) {
        for (let w = 0; w < width; w++) dst[p + w] = src[s + w];
      }
    } else {
      for (let k = 0, s = panelBase; k < kc; k++, s += kStride, p += width) {
        for (let w = 0; w < lines; w++) dst[p + w] = src[s + w * lineStride];
        for (let w = lines; w < width; w++) dst[p + w] = 0;
      }
    }
  }
}

/**
 * One full panel of 8 lines (the B panels of the 4×8 tile), unrolled: 8 loads and stores per k step with
 * the line offsets in locals. Profiled: the generic loop above spent ~8% of the SimCLR step packing.
 * Returns the next dst index.
 */
function packFull8(dst: Float32Array, p: number, src: Float32Array, s: number, ls: number, kStride: number, kc: number): number {
  const l1 = ls, l2 = 2 * ls, l3 = 3 * ls, l4 = 4 * ls, l5 = 5 * ls, l6 = 6 * ls, l7 = 7 * ls;
  for (let k = 0; k < kc; k++, s += kStride, p += 8) {
    dst[p] = src[s];
    dst[p + 1] = src[s + l1];
    dst[p + 2] = src[s + l2];
    dst[p + 3] = src[s + l3];
    dst[p + 4] = src[s + l4];
    dst[p + 5] = src[s + l5];
    dst[p + 6] = src[s + l6];
    dst[p + 7] = src[s + l7];
  }
  return p;
}

/** One full panel of 4 lines (the A panels of the 4×8 tile), unrolled as packFull8. */
function packFull4(dst: Float32Array, p: number, src: Float32Array, s: number, ls: number, kStride: number, kc: number): number {
  const l1 = ls, l2 = 2 * ls, l3 = 3 * ls;
  for (let k = 0; k < kc; k++, s += kStride, p += 4) {
    dst[p] = src[s];
    dst[p + 1] = src[s + l1];
    dst[p + 2] = src[s + l2];
    dst[p + 3] = src[s + l3];
  }
  return p;
}

/**
 * dst[to + r·dstStride + j] ← src[from + r·srcStride + j] for r < rows, j < cols: C's block into the
 * wasm heap (stride ldc) before the kernel, and back into C (stride N) after it. Long rows are one
 * `set` (a memcpy) each; short ones a plain loop, cheaper than making a subarray per row.
 */
function copyRows(
  dst: Float32Array,
  to: number,
  dstStride: number,
  src: Float32Array,
  from: number,
  srcStride: number,
  rows: number,
  cols: number,
) {
  for (let r = 0; r < rows; r++) {
    const s = from + r * srcStride, d = to + r * dstStride;
    if (cols >= 64) dst.set(src.subarray(s, s + cols), d);
    else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j];
  }
}

/**
 * Whether an M×K · K×N float32 product goes to the wasm kernel: by shape only (never by load or timing).
 * Below M·N·K = 8192 the fixed cost of a call (staging C, packing, entering wasm: about a microsecond)
 * outweighs the faster multiply-adds, and with N < 4 most of each 8-wide B panel would be padding;
 * there the scalar kernel was measured faster (docs/performance.md, "The WebAssembly kernel").
 */
export function wasmGemmWorthIt(M: number, N: number, K: number): boolean {
  return N >= 4 && M * N * K >= 8192;
}

/** Whether the wasm kernel can run here (WebAssembly with SIMD); decided once. */
export const wasmGemmAvailable: boolean = wasmSimdSupported();

/** The wasm GEMM `gemm` dispatches to (WASM_GEMM_CONFIG). */
export const gemmWasmKernel: WasmGemm = createWasmGemm(WASM_GEMM_CONFIG);
