/**
 * The engine of the tiled losses (./tiled-info-nce.ts): the work on one T × T block of logits, and
 * the schedule that runs the blocks on every core with the same bits whatever the thread count.
 *
 * Notation as in ./tiled-info-nce.ts: unit rows q_i, k_j, multiplier s, logits l_ij = s·q_i·k_j,
 * row and column log-sum-exps lse_i, lseᶜ_j, upstream gradients g_i, gᶜ_j. Blocks: rows of Q and K
 * are cut into P = ⌈N/T⌉ blocks of T (the last one ragged); block (I, J) is l[I·T…, J·T…].
 *
 * One exp per logit. The logits are bounded, |l_ij| ≤ |s| (unit rows: |q_i·k_j| ≤ 1), so one fixed
 * shift S = |s| serves every row and every column at once:
 *
 *   e_ij = exp(l_ij − S) ∈ [e^(−2S), 1]                         never overflows, no max pass
 *   forward:   lse_i  = S + log Σ_j e_ij,   lseᶜ_j = S + log Σ_i e_ij        (both from the same e_ij)
 *   backward:  p_ij = e_ij · exp(S − lse_i),   pᶜ_ij = e_ij · exp(S − lseᶜ_j)
 *              ∂L/∂l_ij = e_ij (w_i + wᶜ_j) − [i = j](g_i + gᶜ_i),   w_i = g_i e^(S − lse_i),  wᶜ_j = gᶜ_j e^(S − lseᶜ_j)
 *
 * so the backward computes one exp per logit where p and pᶜ directly would need two, and the
 * forward one where a max-shifted row and column pass would need two. The bound e^(−2S) must stay
 * a normal double: for S > MAX_SHARED_SHIFT (τ < 1/300) the blocks use the plain formulas instead,
 * each line shifted by its own block maximum, two exps per logit (the reference the spec checks the
 * shared shift against, through the dense loss).
 *
 * The block's similarities are computed in the input dtype (float32 GEMMs for float32 inputs, so
 * the GEMM's fastest kernel applies), and so are the gradient blocks that feed ∂Q and ∂K; the exps
 * and the per-row and per-column sums are float64 scalars.
 *
 * Threads, deterministically. Round t = 0 … P−1 runs the P jobs (I, (I + t) mod P), I = 0 … P−1,
 * in parallel: within a round every row block and every column block occurs exactly once, so job
 * (I, J) may update row block I's statistics (lse, ∂Q rows, the scale partial) and column block J's
 * (lseᶜ, ∂K rows) with no other thread touching them. Each row block receives its column blocks in
 * the order t = 0, 1, …, each column block its row blocks likewise: the order of every sum is fixed
 * by block indices, so 1, 2 or 3 threads give the same bits (spec/losses/tiled-blocks.spec.ts). The
 * workers read and write the operands in the pool's shared memory; one thread uses the caller's
 * arrays directly. Round 0 holds the diagonal blocks (I, I), where l_ii is read.
 *
 * @module
 */
import { gemm, getGemmKernel, setGemmKernel } from "../ops/gemm.js";
import { parallelFor, sharedMemory, threadsFor } from "../parallel/index.js";
import { registerBuiltinTask } from "../parallel/worker-loop.js";

type Floats = Float32Array | Float64Array;

/** The largest shift S = |s| for which e^(−2S) is a normal double with room (e^(−600) ≈ 10⁻²⁶¹). */
export const MAX_SHARED_SHIFT = 300;

/**
 * Everything a block job reads and writes. In one thread these are the caller's arrays; with
 * workers, views of the pool's shared memory (the same layout in every thread, from the params).
 */
export interface BlockWorkspace {
  /** Rows N, features D, block side T, number of blocks P = ⌈N/T⌉. */
  n: number;
  d: number;
  tile: number;
  blocks: number;
  /** The multiplier s of the similarities, and the shared shift S = |s| (NaN: per-line shifts, two exps). */
  scale: number;
  shift: number;
  /** Whether the column direction (CLIP's text → image) is computed too. */
  both: boolean;
  /** Unit rows (N, D) row-major from qOffset / kOffset, the input dtype. */
  q: Floats;
  qOffset: number;
  k: Floats;
  kOffset: number;
  /** (N) float64. Forward: running lse_i and lseᶜ_j (start −∞); backward: the final values. */
  rowLse: Float64Array;
  colLse: Float64Array | null;
  /** (N) float64, forward: l_ii. */
  diagonal: Float64Array | null;
  /** (N) float64, backward: g_i, gᶜ_j, and the weights w_i, wᶜ_j of the shared shift. */
  rowGrad: Float64Array | null;
  colGrad: Float64Array | null;
  rowWeight: Float64Array | null;
  colWeight: Float64Array | null;
  /** (P) float64, backward: Σ ∂L/∂l_ij (q_i·k_j) over row block I's logits, summed round by round. */
  scalePartial: Float64Array | null;
  /** (N, D) in the input dtype, backward: ∂L/∂Q and ∂L/∂K accumulated block by block (null: not wanted). */
  qGrad: Floats | null;
  kGrad: Floats | null;
}

/** The forward walk: running log-sum-exps and l_ii (`runWalk(ws, FORWARD)`). */
export const FORWARD = 0;
/** The backward walk: ∂Q, ∂K and the scale partials from the recomputed blocks (`runWalk(ws, BACKWARD)`). */
export const BACKWARD = 1;

/** 2·N²·D below this runs on one thread without copying into shared memory. For specs and benchmarks: setTiledParallelMinFlops. */
let parallelMinFlops = 2 ** 24;

/** For specs and benchmarks: the smallest 2·N²·D (one walk's GEMM flops) that runs on the pool. Returns the previous value. */
export function setTiledParallelMinFlops(flops: number): number {
  const previous = parallelMinFlops;
  parallelMinFlops = flops;
  return previous;
}

let lastThreads = 0;

/** For specs: how many threads the last walk asked for (1: on the caller's arrays, no shared memory). */
export function lastWalkThreads(): number {
  return lastThreads;
}

/** The worker-side task: tiledBlocksTask below, which each worker imports from this module (or has built in: ../parallel/web-worker.ts). */
const TASK = { moduleUrl: import.meta.url, exportName: "tiledBlocksTask", builtin: "tiledBlocks" };

/**
 * Run one walk (FORWARD or BACKWARD) over all P² blocks of `ws`: P rounds of P independent jobs,
 * on the pool when it is large enough and there are threads, else on this thread. The results are
 * in `ws`'s arrays afterwards (copied back from shared memory when workers ran).
 */
export function runWalk(ws: BlockWorkspace, phase: number): void {
  const threads = threadsFor(ws.blocks);
  lastThreads = threads < 2 || 2 * ws.n * ws.n * ws.d < parallelMinFlops ? 1 : threads;
  if (lastThreads === 1) {
    for (let round = 0; round < ws.blocks; round++) runJobs(ws, phase, round, 0, ws.blocks);
    return;
  }
  const { shared, params } = toSharedMemory(ws, phase);
  for (let round = 0; round < ws.blocks; round++) {
    params[ROUND] = round;
    parallelFor(TASK, ws.blocks, (begin, end) => runJobs(shared, phase, round, begin, end), { params });
  }
  copyBack(shared, ws, phase);
}

/** The pool's task body: jobs [begin, end) of one round, on the workspace the params describe. */
export function tiledBlocksTask(begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer): void {
  // The caller's GEMM kernel (setGemmKernel), so that every thread computes the blocks with the same arithmetic.
  const kernel = params[KERNEL] === 1 ? "wasm" : "scalar";
  if (getGemmKernel() !== kernel) setGemmKernel(kernel);
  runJobs(fromParams(params, memory), params[PHASE], params[ROUND], begin, end);
}
// The name TASK carries: a bundled worker finds the body here without importing a URL.
registerBuiltinTask("tiledBlocks", tiledBlocksTask);

/** Jobs (I, (I + round) mod P) for I in [begin, end). */
function runJobs(ws: BlockWorkspace, phase: number, round: number, begin: number, end: number): void {
  for (let rowBlock = begin; rowBlock < end; rowBlock++) {
    const colBlock = (rowBlock + round) % ws.blocks;
    if (phase === FORWARD) forwardBlock(ws, rowBlock, colBlock);
    else backwardBlock(ws, rowBlock, colBlock);
  }
}

// ---- one block ---------------------------------------------------------------------------------

/** This thread's block buffers, grown on demand: similarities (then logit gradients), and column sums. */
let block32 = new Float32Array(0);
let block64 = new Float64Array(0);
let columnSums = new Float64Array(0);
let lineMax = new Float64Array(0);

function blockBuffer(like: Floats, size: number): Floats {
  if (like instanceof Float32Array) {
    if (block32.length < size) block32 = new Float32Array(size);
    return block32;
  }
  if (block64.length < size) block64 = new Float64Array(size);
  return block64;
}

/** S_IJ = Q[I] K[J]ᵀ (rows × cols, row-major) into this thread's block buffer, in the input dtype. */
function similarityBlock(ws: BlockWorkspace, r0: number, rows: number, c0: number, cols: number): Floats {
  const block = blockBuffer(ws.q, rows * cols);
  gemm(
    rows,
    cols,
    ws.d,
    { data: ws.q, offset: ws.qOffset + r0 * ws.d, rowStride: ws.d, colStride: 1 }, // Q[r0:r0+rows]   (rows, D)
    { data: ws.k, offset: ws.kOffset + c0 * ws.d, rowStride: 1, colStride: ws.d }, // K[c0:c0+cols]ᵀ  (D, cols)
    block,
    0,
    false,
  );
  return block;
}

/**
 * Forward job (I, J): the block's row and column log-sum-exps, merged into the running ones,
 *   m_i ← logaddexp(m_i, log Σ_{j∈J} e^(l_ij)),   mᶜ_j ← logaddexp(mᶜ_j, log Σ_{i∈I} e^(l_ij))
 * and l_ii when the block is diagonal.
 */
function forwardBlock(ws: BlockWorkspace, rowBlock: number, colBlock: number): void {
  const { n, tile, scale: s, shift, rowLse, colLse } = ws;
  const r0 = rowBlock * tile, rows = Math.min(tile, n - r0);
  const c0 = colBlock * tile, cols = Math.min(tile, n - c0);
  const block = similarityBlock(ws, r0, rows, c0, cols); // (rows, cols) q_i·k_j
  if (ws.diagonal !== null && r0 === c0) { for (let i = 0; i < rows; i++) ws.diagonal[r0 + i] = s * block[i * cols + i]; // l_ii
   }
  if (columnSums.length < cols) columnSums = new Float64Array(cols);
  const colSum = columnSums;
  colSum.fill(0, 0, cols);

  if (!Number.isNaN(shift)) {
    // One exp per logit, e_ij = exp(l_ij − S), feeds both sums.
    for (let i = 0; i < rows; i++) {
      let rowSum = 0;
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const e = Math.exp(s * block[base + j] - shift);
        rowSum += e;
        colSum[j] += e;
      }
      rowLse[r0 + i] = logAddExp(rowLse[r0 + i], shift + Math.log(rowSum)); // Σ_j ≥ e^(l_ii − S) > 0
    }
    if (colLse !== null) { for (let j = 0; j < cols; j++) colLse[c0 + j] = logAddExp(colLse[c0 + j], shift + Math.log(colSum[j])); }
    return;
  }

  // The plain formulas: each row and each column of the block shifted by its own maximum, two exps per logit.
  if (lineMax.length < rows + cols) lineMax = new Float64Array(rows + cols);
  const maxima = lineMax; // [row maxima (rows) | column maxima (cols)]
  maxima.fill(-Infinity, 0, rows + cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const logit = s * block[i * cols + j];
      if (logit > maxima[i]) maxima[i] = logit;
      if (logit > maxima[rows + j]) maxima[rows + j] = logit;
    }
  }
  for (let i = 0; i < rows; i++) {
    let rowSum = 0;
    for (let j = 0; j < cols; j++) {
      const logit = s * block[i * cols + j];
      rowSum += Math.exp(logit - maxima[i]);
      colSum[j] += Math.exp(logit - maxima[rows + j]);
    }
    rowLse[r0 + i] = logAddExp(rowLse[r0 + i], maxima[i] + Math.log(rowSum));
  }
  if (colLse !== null) {
    for (let j = 0; j < cols; j++) {
      colLse[c0 + j] = logAddExp(colLse[c0 + j], maxima[rows + j] + Math.log(colSum[j]));
    }
  }
}

/**
 * Backward job (I, J): recompute the block, turn it in place into s·∂L/∂l (= ∂L/∂(q_i·k_j)), then
 *   ∂L/∂Q[I] += G K[J]     (rows, cols) @ (cols, D)
 *   ∂L/∂K[J] += Gᵀ Q[I]    (cols, rows) @ (rows, D)
 * both from the one recomputed block, and add Σ ∂L/∂l_ij (q_i·k_j) to row block I's scale partial.
 */
function backwardBlock(ws: BlockWorkspace, rowBlock: number, colBlock: number): void {
  const { n, d, tile, scale: s, shift, rowLse, colLse } = ws;
  const rowGrad = ws.rowGrad!, colGrad = ws.colGrad!, rowWeight = ws.rowWeight!, colWeight = ws.colWeight!;
  const r0 = rowBlock * tile, rows = Math.min(tile, n - r0);
  const c0 = colBlock * tile, cols = Math.min(tile, n - c0);
  const block = similarityBlock(ws, r0, rows, c0, cols); // (rows, cols) q_i·k_j
  const diagonalBlock = r0 === c0;
  let scaleSum = 0;
  for (let i = 0; i < rows; i++) {
    const row = r0 + i;
    const base = i * cols;
    const positive = diagonalBlock ? i : -1; // the column of l_ii in this block, if any
    const positiveGrad = rowGrad[row] + colGrad[row]; // g_i + gᶜ_i, the [i = j] term
    if (!Number.isNaN(shift)) {
      const w = rowWeight[row];
      for (let j = 0; j < cols; j++) {
        const similarity = block[base + j];
        const e = Math.exp(s * similarity - shift); // e_ij
        const gradLogit = e * (w + colWeight[c0 + j]) - (j === positive ? positiveGrad : 0); // ∂L/∂l_ij
        scaleSum += gradLogit * similarity;
        block[base + j] = s * gradLogit;
      }
    } else {
      const g = rowGrad[row], lse = rowLse[row];
      for (let j = 0; j < cols; j++) {
        const similarity = block[base + j];
        const logit = s * similarity;
        let gradLogit = g * Math.exp(logit - lse); // g_i p_ij
        if (colLse !== null) gradLogit += colGrad[c0 + j] * Math.exp(logit - colLse[c0 + j]); // + gᶜ_j pᶜ_ij
        if (j === positive) gradLogit -= positiveGrad;
        scaleSum += gradLogit * similarity;
        block[base + j] = s * gradLogit;
      }
    }
  }
  ws.scalePartial![rowBlock] += scaleSum;
  if (ws.qGrad !== null) {
    gemm(
      rows,
      d,
      cols,
      { data: block, offset: 0, rowStride: cols, colStride: 1 }, // G        (rows, cols)
      { data: ws.k, offset: ws.kOffset + c0 * d, rowStride: d, colStride: 1 }, // K[J] (cols, D)
      ws.qGrad,
      r0 * d,
      true,
    );
  }
  if (ws.kGrad !== null) {
    gemm(
      cols,
      d,
      rows,
      { data: block, offset: 0, rowStride: 1, colStride: cols }, // Gᵀ       (cols, rows)
      { data: ws.q, offset: ws.qOffset + r0 * d, rowStride: d, colStride: 1 }, // Q[I] (rows, D)
      ws.kGrad,
      c0 * d,
      true,
    );
  }
}

/** log(eᵃ + eᵇ) without overflow; −∞ is the identity (the empty running sum). */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

// ---- shared memory -----------------------------------------------------------------------------

/** params: [N, D, T, P, both, s, S, dtype, phase, round, the byte offset of each array (−1: absent), the GEMM kernel]. */
const PHASE = 8;
const ROUND = 9;
const KERNEL = 22; // after the 10 numbers above and the 12 offsets: 1 = "wasm", 0 = "scalar"
const ARRAYS = [
  "q",
  "k",
  "rowLse",
  "colLse",
  "diagonal",
  "rowGrad",
  "colGrad",
  "rowWeight",
  "colWeight",
  "scalePartial",
  "qGrad",
  "kGrad",
] as const;
type ArrayName = (typeof ARRAYS)[number];
/** Which arrays each walk reads or writes (the others stay out of shared memory). */
const USED: Record<number, ArrayName[]> = {
  [FORWARD]: ["q", "k", "rowLse", "colLse", "diagonal"],
  [BACKWARD]: ["q", "k", "rowLse", "colLse", "rowGrad", "colGrad", "rowWeight", "colWeight", "scalePartial", "qGrad", "kGrad"],
};
/** Which arrays a walk writes, copied back to the caller's after it. */
const WRITTEN: Record<number, ArrayName[]> = {
  [FORWARD]: ["rowLse", "colLse", "diagonal"],
  [BACKWARD]: ["scalePartial", "qGrad", "kGrad"],
};
const isInputDtype = (name: ArrayName): boolean => name === "q" || name === "k" || name === "qGrad" || name === "kGrad";

/** The length of array `name` of ws (null when absent). */
function lengthOf(ws: BlockWorkspace, name: ArrayName): number | null {
  if (ws[name] === null) return null;
  if (isInputDtype(name)) return ws.n * ws.d;
  return name === "scalePartial" ? ws.blocks : ws.n;
}

/** Copy the arrays a walk uses into the pool's shared memory; the shared workspace and the params describing it. */
function toSharedMemory(ws: BlockWorkspace, phase: number): { shared: BlockWorkspace; params: number[] } {
  const inputBytes = ws.q.BYTES_PER_ELEMENT;
  const offsets = new Map<ArrayName, number>();
  let bytes = 0;
  for (const name of USED[phase]) {
    const length = lengthOf(ws, name);
    if (length === null) continue;
    offsets.set(name, bytes);
    bytes = Math.ceil((bytes + length * (isInputDtype(name) ? inputBytes : 8)) / 8) * 8;
  }
  // Reserve the backward's size already in the forward (both ∂Q and ∂K, every statistic): the pool
  // then keeps one buffer for both walks instead of dropping the forward's for a larger one, and
  // pages never written cost no resident memory.
  const backwardBytes = 4 * ws.n * ws.d * inputBytes + 8 * (6 * ws.n + ws.blocks) + 8 * 16;
  const memory = sharedMemory(Math.max(bytes, backwardBytes));
  const params = [ws.n, ws.d, ws.tile, ws.blocks, ws.both ? 1 : 0, ws.scale, ws.shift, inputBytes * 8, phase, 0];
  for (const name of ARRAYS) params.push(offsets.get(name) ?? -1);
  params.push(getGemmKernel() === "wasm" ? 1 : 0); // params[KERNEL]
  const shared = fromParams(Float64Array.from(params), memory);
  // The caller's values: q and k from their offsets; the rest whole (∂Q, ∂K start as the caller's zeros).
  shared.q.set(ws.q.subarray(ws.qOffset, ws.qOffset + ws.n * ws.d));
  shared.k.set(ws.k.subarray(ws.kOffset, ws.kOffset + ws.n * ws.d));
  for (const name of USED[phase]) if (name !== "q" && name !== "k" && shared[name] !== null) shared[name]!.set(ws[name]!);
  return { shared, params };
}

/** The shared workspace the params describe (in a worker, or in the caller after toSharedMemory). */
function fromParams(p: Float64Array, memory: SharedArrayBuffer): BlockWorkspace {
  const [n, d, tile, blocks, both, scale, shift, dtype] = p;
  const view = (index: number, length: number, float32: boolean): Floats | null => {
    const byte = p[10 + index];
    if (byte < 0) return null;
    return float32 ? new Float32Array(memory, byte, length) : new Float64Array(memory, byte, length);
  };
  const input = (index: number) => view(index, n * d, dtype === 32);
  const stat = (index: number, length = n) => view(index, length, false) as Float64Array | null;
  return {
    n,
    d,
    tile,
    blocks,
    scale,
    shift,
    both: both === 1,
    q: input(0)!,
    qOffset: 0,
    k: input(1)!,
    kOffset: 0,
    rowLse: stat(2)!,
    colLse: stat(3),
    diagonal: stat(4),
    rowGrad: stat(5),
    colGrad: stat(6),
    rowWeight: stat(7),
    colWeight: stat(8),
    scalePartial: stat(9, blocks),
    qGrad: input(10),
    kGrad: input(11),
  };
}

function copyBack(shared: BlockWorkspace, ws: BlockWorkspace, phase: number): void {
  for (const name of WRITTEN[phase]) if (ws[name] !== null) ws[name]!.set(shared[name]!);
}
