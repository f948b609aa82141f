/**
 * Task bodies for spec/parallel/pool.spec.ts, imported by the pool's workers: each one writes
 * something checkable into shared memory, or fails in one of the ways a worker can fail.
 */
import { gemm } from "../../src/ops/gemm.js";
import { getNumThreads } from "../../src/parallel/index.js";
import { registerBuiltinTask } from "../../src/parallel/worker-loop.js";

/** out[i] = i² + params[0] for i in [begin, end), out = Float64Array over the whole memory. */
export function squares(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  const out = new Float64Array(memory);
  for (let i = begin; i < end; i++) out[i] = i * i + params[0];
}

/** Records, at out[i], the threads a nested parallel call would get inside a worker (must be 1). */
export function nestedThreads(begin: number, end: number, _params: Float64Array, memory: SharedArrayBuffer): void {
  const out = new Float64Array(memory);
  for (let i = begin; i < end; i++) out[i] = getNumThreads();
}

export function throws(begin: number): void {
  throw new RangeError(`boom at ${begin}`);
}

/** Ends the worker thread in the middle of a job (process.exit in a worker stops only that thread). */
export function exits(): void {
  process.exit(3);
}

/** Not a function: the pool must refuse it with a clear error. */
export const notAFunction = 42;

/** Keeps gemm imported here, so a worker that loads this module also loads the kernel (a larger start-up). */
export const kernel = gemm;

/** Registered under a built-in name: a task naming "spec-squares" runs this without importing its moduleUrl. */
export function builtinSquares(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  const out = new Float64Array(memory);
  for (let i = begin; i < end; i++) out[i] = -(i * i) - params[0];
}
registerBuiltinTask("spec-squares", builtinSquares);
