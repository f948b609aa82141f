/**
 * What a worker thread runs for a parallel GEMM (./gemm-parallel.ts): the one-thread kernel of
 * ./gemm.ts on its band of C's rows, in shared memory. Each worker imports this module (and so its
 * own copy of gemm.ts and its scratch buffers) the first time the pool sends it the task.
 *
 * @module
 */
import { gemm } from "./gemm.js";
import { runGemmRows } from "./gemm-parallel.js";

/** The pool's task body: rows [begin, end) of C (see gemmOnPool for the params and the shared memory layout). */
export function gemmRowsTask(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  runGemmRows(gemm, begin, end, params, memory);
}
