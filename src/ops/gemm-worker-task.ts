/**
 * What a worker thread runs for a parallel GEMM (./gemm-parallel.ts): the one-thread kernel of
 * ./gemm.ts on its band of C's rows, in shared memory. Each worker imports this module (and so its
 * own copy of gemm.ts and its scratch buffers) the first time the pool sends it the task.
 *
 * @module
 */
import { registerBuiltinTask } from "../parallel/worker-loop.js";
import { KERNEL_PARAM, runGemmRows } from "./gemm-parallel.js";
import { gemmUsing, type MatrixView } from "./gemm.js";

/**
 * The pool's task body: rows [begin, end) of C (see gemmOnPool for the params and the shared memory
 * layout), on the kernel the caller uses (params[KERNEL_PARAM]: a worker's own `setGemmKernel` setting
 * is never consulted). The wasm kernel runs over this worker's own module instance and memory.
 */
export function gemmRowsTask(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  const kernel = params[KERNEL_PARAM] === 1 ? "wasm" : "scalar";
  runGemmRows(
    (M: number, N: number, K: number, A: MatrixView, B: MatrixView, C: Float32Array | Float64Array, cOffset: number, acc: boolean) =>
      gemmUsing(kernel, M, N, K, A, B, C, cOffset, acc),
    begin,
    end,
    params,
    memory,
  );
}

// The name gemm-parallel.ts's task carries: a bundled worker finds the body here without importing a URL.
registerBuiltinTask("gemmRows", gemmRowsTask);
