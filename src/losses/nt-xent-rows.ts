/**
 * The row loops of NT-Xent's fused op (`ntXentFromSimilarities`, ./nt-xent.ts), and the same loops
 * split over the worker pool (../parallel/pool.ts) by rows.
 *
 *   forward, row i:   x_ik = S_ik / τ (k ≠ i),  lse_i = m_i + log Σ_{k ≠ i} exp(x_ik − m_i),  ℓ_i = lse_i − x_{i,pos(i)}
 *   backward, row i:  ∂S_ik = (ḡ/2N) · (p_ik − [k = pos(i)]) / τ,  p_ik = exp(x_ik − lse_i),  ∂S_ii = 0
 *
 * Every row is independent of the others: its lse_i, ℓ_i and its row of ∂S depend on row i of S only.
 * So rows [0, r₁) can run on the caller and [r₁, 2N) on a worker with the same arithmetic per row, and
 * the loss Σ_i ℓ_i is summed afterwards by the caller, in row order: the same bits for any thread count
 * (spec/losses/fused.spec.ts checks 1, 2 and 3 threads bit for bit).
 *
 * Why: the 2N × 2N exps of the forward and the 2N × 2N of the backward were ~11% of the SimCLR step on
 * the calling thread while the GEMM worker sat idle (docs/performance.md, "The step's serial passes").
 * With workers, S is copied once into the pool's shared memory (a memcpy of 4·(2N)² bytes, against
 * (2N)² exps), and the workers' rows of ∂S are copied back. Below ROWS_PARALLEL_MIN_VIEWS rows it all
 * stays on the caller's arrays.
 *
 * @module
 */
import { parallelFor, sharedMemory, splitRange, threadsFor } from "../parallel/index.js";
import { registerBuiltinTask } from "../parallel/worker-loop.js";

type Floats = Float32Array | Float64Array;

/**
 * Rows [begin, end) of the forward: lse_i into `logSumExps[i]`, ℓ_i into `rowLosses[i]`.
 * S_ik is `data[offset + i·views + k]`; `logits` is a scratch row of `views` doubles. When `float32`, each
 * logit is rounded to float32 as S.div(τ) would store it.
 */
export function ntXentForwardRows(
  data: Floats,
  offset: number,
  views: number,
  tau: number,
  float32: boolean,
  begin: number,
  end: number,
  logSumExps: Float64Array,
  rowLosses: Float64Array,
  logits: Float64Array,
): void {
  const batchSize = views / 2;
  for (let i = begin; i < end; i++) {
    const row = offset + i * views;
    let m = -Infinity; // m_i = max_{k ≠ i} x_ik (a NaN wins, as in logSumExpOf)
    for (let k = 0; k < views; k++) {
      if (k === i) continue;
      const x = float32 ? Math.fround(data[row + k] / tau) : data[row + k] / tau;
      logits[k] = x;
      if (x > m || Number.isNaN(x)) m = x;
    }
    let lse = m;
    if (m !== Infinity && m !== -Infinity && !Number.isNaN(m)) {
      let sumExp = 0;
      for (let k = 0; k < views; k++) if (k !== i) sumExp += Math.exp(logits[k] - m);
      lse = m + Math.log(sumExp);
    }
    logSumExps[i] = lse;
    rowLosses[i] = -(logits[(i + batchSize) % views] - lse); // ℓ_i = −log p_{i,pos(i)}
  }
}

/**
 * Rows [begin, end) of the backward: row i of ∂S into `grad[gradOffset + i·views + k]`, from row i of S
 * (as in the forward) and the saved lse_i. `rowWeight` is ḡ / 2N.
 */
export function ntXentBackwardRows(
  data: Floats,
  offset: number,
  views: number,
  tau: number,
  float32: boolean,
  logSumExps: Float64Array,
  rowWeight: number,
  begin: number,
  end: number,
  grad: Floats,
  gradOffset: number,
): void {
  const batchSize = views / 2;
  for (let i = begin; i < end; i++) {
    const row = offset + i * views;
    const out = gradOffset + i * views;
    const positive = (i + batchSize) % views;
    const lse = logSumExps[i];
    for (let k = 0; k < views; k++) {
      if (k === i) {
        // the masked diagonal: p_ii = exp(−∞ − lse_i) = 0, times the mask's 0 (±0, or NaN for a NaN row, as g · 0)
        grad[out + k] = (rowWeight * Math.exp(-Infinity - lse) * 0) / tau;
        continue;
      }
      const x = float32 ? Math.fround(data[row + k] / tau) : data[row + k] / tau;
      const p = Math.exp(x - lse); // p_ik = softmax over k ≠ i
      grad[out + k] = (rowWeight * (k === positive ? p - 1 : p)) / tau;
    }
  }
}

/** Fewer rows (2N) than this stay on the calling thread: copying S and waking a worker would cost more than its rows. */
const ROWS_PARALLEL_MIN_VIEWS = 128;
/** Row boundaries between threads are multiples of this. */
const GRAIN = 8;

/** The worker-side task: ntXentRowsTask below, which each worker imports from this module (or has built in: ../parallel/web-worker.ts). */
const TASK = { moduleUrl: import.meta.url, exportName: "ntXentRowsTask", builtin: "ntXentRows" };
const FORWARD = 0;
const BACKWARD = 1;

let lastThreads = 0;

/** For specs: how many threads the last forward or backward of the fused NT-Xent used (1: no shared memory). */
export function lastNtXentThreads(): number {
  return lastThreads;
}

/**
 * The forward over all 2N rows, on the pool when there are threads and enough rows: fills `logSumExps`
 * and `rowLosses` (2N each).
 */
export function ntXentForward(
  data: Floats,
  offset: number,
  views: number,
  tau: number,
  float32: boolean,
  logSumExps: Float64Array,
  rowLosses: Float64Array,
): void {
  const threads = views < ROWS_PARALLEL_MIN_VIEWS ? 1 : threadsFor(views, { grain: GRAIN });
  lastThreads = threads;
  if (threads < 2) {
    ntXentForwardRows(data, offset, views, tau, float32, 0, views, logSumExps, rowLosses, new Float64Array(views));
    return;
  }
  // Shared memory: [S (views², S's dtype)][lse (views, f64)][ℓ (views, f64)][∂S, backward only]. The workers'
  // scratch logits are their own.
  const layout = sharedLayout(data, views);
  const memory = sharedMemory(layout.lossByte + views * 8);
  copyIn(data, offset, views, memory);
  const lseShared = new Float64Array(memory, layout.lseByte, views);
  const lossShared = new Float64Array(memory, layout.lossByte, views);
  const params = [FORWARD, views, tau, float32 ? 1 : 0, data instanceof Float32Array ? 32 : 64, layout.lseByte, layout.lossByte, 0, 0];
  const logits = new Float64Array(views);
  parallelFor(
    TASK,
    views,
    (begin, end) => ntXentForwardRows(data, offset, views, tau, float32, begin, end, logSumExps, rowLosses, logits),
    {
      grain: GRAIN,
      params,
    },
  );
  const workerRows = splitRange(views, threads, GRAIN)[1]; // rows [workerRows, views) came from the workers
  logSumExps.set(lseShared.subarray(workerRows), workerRows);
  rowLosses.set(lossShared.subarray(workerRows), workerRows);
}

/** The backward over all 2N rows into `grad` (views², contiguous from 0), on the pool as the forward. */
export function ntXentBackward(
  data: Floats,
  offset: number,
  views: number,
  tau: number,
  float32: boolean,
  logSumExps: Float64Array,
  rowWeight: number,
  grad: Floats,
): void {
  const threads = views < ROWS_PARALLEL_MIN_VIEWS ? 1 : threadsFor(views, { grain: GRAIN });
  lastThreads = threads;
  if (threads < 2) {
    ntXentBackwardRows(data, offset, views, tau, float32, logSumExps, rowWeight, 0, views, grad, 0);
    return;
  }
  const layout = sharedLayout(data, views);
  const gradByte = align8(layout.lossByte + views * 8);
  const memory = sharedMemory(gradByte + views * views * grad.BYTES_PER_ELEMENT);
  copyIn(data, offset, views, memory);
  new Float64Array(memory, layout.lseByte, views).set(logSumExps);
  const params = [
    BACKWARD,
    views,
    tau,
    float32 ? 1 : 0,
    data instanceof Float32Array ? 32 : 64,
    layout.lseByte,
    gradByte,
    rowWeight,
    grad instanceof Float32Array ? 32 : 64,
  ];
  parallelFor(
    TASK,
    views,
    (begin, end) => ntXentBackwardRows(data, offset, views, tau, float32, logSumExps, rowWeight, begin, end, grad, 0),
    {
      grain: GRAIN,
      params,
    },
  );
  const workerRows = splitRange(views, threads, GRAIN)[1];
  const gradShared = typedArray(grad instanceof Float32Array ? 32 : 64, memory, gradByte, views * views);
  grad.set(gradShared.subarray(workerRows * views), workerRows * views);
}

/**
 * The pool's task body: rows [begin, end) of the forward or the backward, from the shared copy of S.
 * params: [phase, views, τ, float32, S's dtype (32|64), lse byte, ℓ byte (forward) or ∂S byte (backward),
 * ḡ/2N (backward), ∂S's dtype (backward)].
 */
export function ntXentRowsTask(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  const [phase, views, tau, float32Flag, dataType, lseByte, outByte, rowWeight, gradType] = params;
  const data = typedArray(dataType, memory, 0, views * views);
  const logSumExps = new Float64Array(memory, lseByte, views);
  const float32 = float32Flag === 1;
  if (phase === FORWARD) {
    const rowLosses = new Float64Array(memory, outByte, views);
    ntXentForwardRows(data, 0, views, tau, float32, begin, end, logSumExps, rowLosses, new Float64Array(views));
  } else {
    const grad = typedArray(gradType, memory, outByte, views * views);
    ntXentBackwardRows(data, 0, views, tau, float32, logSumExps, rowWeight, begin, end, grad, 0);
  }
}

/** Byte offsets in shared memory: S at 0, then lse and ℓ (2N doubles each). */
function sharedLayout(data: Floats, views: number): { lseByte: number; lossByte: number } {
  const lseByte = align8(views * views * data.BYTES_PER_ELEMENT);
  return { lseByte, lossByte: lseByte + views * 8 };
}

/** S (views², contiguous from offset) → the start of shared memory, one memcpy. */
function copyIn(data: Floats, offset: number, views: number, memory: SharedArrayBuffer): void {
  typedArray(data instanceof Float32Array ? 32 : 64, memory, 0, views * views).set(data.subarray(offset, offset + views * views));
}

function typedArray(type: number, memory: SharedArrayBuffer, byte: number, length: number): Floats {
  return type === 32 ? new Float32Array(memory, byte, length) : new Float64Array(memory, byte, length);
}

const align8 = (byte: number): number => Math.ceil(byte / 8) * 8;
// The name TASK carries: a bundled worker finds the body here without importing a URL.
registerBuiltinTask("ntXentRows", ntXentRowsTask);
