/**
 * The GEMM on several threads: C's rows are cut into bands, one per thread (../parallel/pool.ts).
 *
 *   C[r0:r1, :] (+)= A[r0:r1, :] · B          band t of rows [r_t, r_{t+1}), boundaries multiples of GRAIN
 *
 * Each band is computed by the single-thread kernel of ./gemm.ts itself (the caller's band straight
 * from the caller's arrays; a worker's band from copies in shared memory), so every element of C
 * goes through exactly the same operations in the same order as in a one-thread call: the kernel's
 * arithmetic for C[i, j] depends on K's blocking only, never on which rows surround row i. Hence the
 * same bits for any number of threads.
 *
 * Tensors live in ordinary ArrayBuffers, which other threads cannot see, so before the fork the
 * caller copies into the pool's shared memory the part of each array the workers read (the span of
 * A's and B's views: one `set`, a memcpy, whatever the strides) and the workers' rows of C; after
 * the join it copies those rows of C back. That is O(M·K + K·N + M·N) copies against M·N·K
 * multiply-adds; the threshold below keeps it a few percent. Each worker packs its operands from the
 * shared copies into its own cache-sized blocks, as the one-thread kernel does.
 *
 * @module
 */
import { parallelFor, sharedMemory, splitRange, threadsFor } from "../parallel/index.js";

/** A strided view (the MatrixView of ./gemm.ts; restated here so this file does not import gemm.ts). */
interface StridedMatrix {
  data: Float32Array | Float64Array;
  offset: number;
  rowStride: number;
  colStride: number;
}
type Kernel = (
  M: number,
  N: number,
  K: number,
  A: StridedMatrix,
  B: StridedMatrix,
  C: Float32Array | Float64Array,
  cOffset: number,
  accumulate: boolean,
) => void;

/** Products with fewer flops (2·M·N·K) stay on one thread: below this, copying and waking a worker cost more than they save. */
let parallelMinFlops = 2 ** 22;
/** Band boundaries are multiples of this (a multiple of the micro-kernel's 2 rows, and of a SIMD kernel's 4 or 8). */
const GRAIN = 8;

/** For benchmarks and specs: the smallest 2·M·N·K that runs on the pool. Returns the previous value. */
export function setParallelGemmMinFlops(flops: number): number {
  const previous = parallelMinFlops;
  parallelMinFlops = flops;
  return previous;
}

/** The worker-side task: ./gemm-worker-task.ts, which each worker imports itself (or has built in: ../parallel/web-worker.ts). */
const TASK = { moduleUrl: new URL("./gemm-worker-task.js", import.meta.url).href, exportName: "gemmRowsTask", builtin: "gemmRows" };

/**
 * Compute C (+)= A·B split over the pool when it is large enough and there are threads; returns
 * false (and does nothing) otherwise, and the caller runs the one-thread kernel. `kernel` computes the
 * caller's band; `kernelCode` tells the workers which kernel to run on theirs (the same one). Called by `gemm`
 * after it has checked the arguments and zeroed C (unless accumulating), so every band accumulates.
 */
export function gemmOnPool(
  M: number,
  N: number,
  K: number,
  A: StridedMatrix,
  B: StridedMatrix,
  C: Float32Array | Float64Array,
  cOffset: number,
  kernel: Kernel,
  kernelCode: number,
): boolean {
  if (2 * M * N * K < parallelMinFlops) return false;
  const threads = threadsFor(M, { grain: GRAIN });
  if (threads < 2) return false;
  const bounds = splitRange(M, threads, GRAIN);
  const workerRows = bounds[1]; // rows [workerRows, M) are computed by workers, in shared memory

  // Shared memory layout: [A's span][B's span][C rows workerRows..M−1], each 8-byte aligned.
  const a = span(A, M, K);
  const b = span(B, K, N);
  const aByte = 0;
  const bByte = align8(aByte + a.length * A.data.BYTES_PER_ELEMENT);
  const cByte = align8(bByte + b.length * B.data.BYTES_PER_ELEMENT);
  const cLength = (M - workerRows) * N;
  const memory = sharedMemory(cByte + cLength * C.BYTES_PER_ELEMENT);
  const aShared = typedView(A.data, memory, aByte, a.length);
  const bShared = typedView(B.data, memory, bByte, b.length);
  const cShared = typedView(C, memory, cByte, cLength);
  aShared.set(A.data.subarray(a.lo, a.lo + a.length));
  bShared.set(B.data.subarray(b.lo, b.lo + b.length));
  cShared.set(C.subarray(cOffset + workerRows * N, cOffset + M * N)); // zeros, or the values to accumulate onto

  const params = [
    M,
    N,
    K,
    workerRows,
    ...operandParams(A, a, aByte),
    ...operandParams(B, b, bByte),
    C instanceof Float32Array ? 32 : 64,
    cByte,
    kernelCode, // params[KERNEL_PARAM]: which kernel the workers run, the caller's (see gemmRowsTask)
  ];
  parallelFor(TASK, M, (begin, end) => kernel(end - begin, N, K, shiftRows(A, begin), B, C, cOffset + begin * N, true), {
    grain: GRAIN,
    params,
  });
  C.set(cShared, cOffset + workerRows * N);
  return true;
}

/** The index in the job's params of the kernel code the caller passed to gemmOnPool (0 scalar, 1 wasm). */
export const KERNEL_PARAM = 18;

/** The worker's share: rows [begin, end) of C, from the shared copies the caller made (see gemmOnPool for the layout). */
export function runGemmRows(kernel: Kernel, begin: number, end: number, p: Float64Array, memory: SharedArrayBuffer): void {
  const [M, N, K, workerRows] = p;
  const A = sharedOperand(p, 4, memory, M, K);
  const B = sharedOperand(p, 10, memory, K, N);
  const cLength = (M - workerRows) * N;
  const C = p[16] === 32 ? new Float32Array(memory, p[17], cLength) : new Float64Array(memory, p[17], cLength);
  kernel(end - begin, N, K, shiftRows(A, begin), B, C, (begin - workerRows) * N, true);
}

/** The index span [lo, lo + length) of a rows×cols view (strides may be negative or zero). */
function span(v: StridedMatrix, rows: number, cols: number): { lo: number; length: number } {
  const rowSpan = (rows - 1) * v.rowStride;
  const colSpan = (cols - 1) * v.colStride;
  const lo = v.offset + Math.min(0, rowSpan) + Math.min(0, colSpan);
  const hi = v.offset + Math.max(0, rowSpan) + Math.max(0, colSpan);
  return { lo, length: hi - lo + 1 };
}

/** [dtype, byte offset, length, view offset inside the copy, rowStride, colStride]: 6 params. */
function operandParams(v: StridedMatrix, s: { lo: number; length: number }, byte: number): number[] {
  return [v.data instanceof Float32Array ? 32 : 64, byte, s.length, v.offset - s.lo, v.rowStride, v.colStride];
}

function sharedOperand(p: Float64Array, at: number, memory: SharedArrayBuffer, _rows: number, _cols: number): StridedMatrix {
  const data = p[at] === 32 ? new Float32Array(memory, p[at + 1], p[at + 2]) : new Float64Array(memory, p[at + 1], p[at + 2]);
  return { data, offset: p[at + 3], rowStride: p[at + 4], colStride: p[at + 5] };
}

const shiftRows = (v: StridedMatrix, rows: number): StridedMatrix => ({ ...v, offset: v.offset + rows * v.rowStride });
const align8 = (byte: number): number => Math.ceil(byte / 8) * 8;

function typedView(like: Float32Array | Float64Array, memory: SharedArrayBuffer, byte: number, length: number) {
  return like instanceof Float32Array ? new Float32Array(memory, byte, length) : new Float64Array(memory, byte, length);
}
