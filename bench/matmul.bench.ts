/**
 * Matrix-multiply benchmark: this project's float32 GEMM (src/ops/gemm.ts) against
 * `tf.matMul` of @tensorflow/tfjs-backend-cpu (TensorFlow.js's plain-JavaScript backend),
 * on the shapes that dominate MNIST contrastive training.
 *
 *   GFLOP/s = 2·M·N·K / seconds     (one multiply and one add per term of Σ_k A[i,k]·B[k,j])
 *
 * Both run single-threaded on the same Float32 data in the same process. The machine may be
 * shared and noisy, so each shape is warmed up, then timed REPS times alternating ours / theirs
 * (a burst of background load hits both), and the median of each is reported. The speed-up is
 * the median of the REPS per-pair ratios tfjs time / our time: the two runs of a pair are
 * back to back, so they saw nearly the same background load.
 *
 * Run: npm run bench            (or: node build/bench/matmul.bench.js [reps])
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../src/node.js"; // Node's worker-thread platform for the pool (without it products run on one thread)
import { gemm, type MatrixView } from "../src/ops/gemm.js";
import { IMAGE_PIXELS } from "../src/data/mnist.js";

/** (M, K, N): batch×784 · 784×512 (MNIST input layer), a square 512³, a wide 1024×128 · 128×1024. */
const SHAPES: Array<[number, number, number]> = [
  [256, IMAGE_PIXELS, 512],
  [512, 512, 512],
  [1024, 128, 1024],
];
const REPS = Number(process.argv[2] ?? 9);
const WARMUP = 2;

/** Numerical Recipes LCG: deterministic values in [-1, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

function randomArray(length: number, seed: number): Float32Array {
  const next = lcg(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = next();
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function rowMajor(data: Float32Array, cols: number): MatrixView {
  return { data, offset: 0, rowStride: cols, colStride: 1 };
}

/** Run once on odd sizes, float64 and a transposed view, as a training step would, before timing. */
function warmUpGeneralPaths(): void {
  for (const [M, K, N] of [[7, 9, 5], [33, 301, 65]]) {
    const a = randomArray(M * K, 1), b = randomArray(K * N, 2);
    gemm(M, N, K, rowMajor(a, K), { data: b, offset: 0, rowStride: 1, colStride: K }, new Float32Array(M * N), 0, true);
    gemm(
      M,
      N,
      K,
      { data: Float64Array.from(a), offset: 0, rowStride: K, colStride: 1 },
      { data: Float64Array.from(b), offset: 0, rowStride: N, colStride: 1 },
      new Float64Array(M * N),
      0,
      false,
    );
  }
}

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  await tf.ready();
  const cpu = os.cpus();
  console.log(`matmul benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `machine: ${
      cpu[0]?.model ?? "unknown CPU"
    }, ${cpu.length} cores, ${os.platform()} ${os.arch()}, Node ${process.version}, tfjs ${tf.version_core} (backend ${tf.getBackend()})`,
  );
  console.log(
    `float32, single thread; GFLOP/s = median of ${REPS} runs, ours and tfjs interleaved; speed-up = median of per-pair ratios\n`,
  );

  warmUpGeneralPaths();
  const header = "      M      K      N | ours GFLOP/s | tfjs-cpu GFLOP/s |    speed-up | max |Δ| / Σ|a||b|";
  console.log(header);
  console.log("-".repeat(header.length));

  for (const [M, K, N] of SHAPES) {
    const flops = 2 * M * N * K;
    const a = randomArray(M * K, 11), b = randomArray(K * N, 12);
    const A = rowMajor(a, K), B = rowMajor(b, N);
    const C = new Float32Array(M * N);
    const ta = tf.tensor2d(a, [M, K]), tb = tf.tensor2d(b, [K, N]);

    const runOurs = (): number => {
      const start = performance.now();
      gemm(M, N, K, A, B, C, 0, false);
      return performance.now() - start;
    };
    let theirs: Float32Array = new Float32Array(0);
    const runTheirs = (): number => {
      const start = performance.now();
      const tc = tf.matMul(ta, tb);
      theirs = tc.dataSync() as Float32Array; // forces the computation to finish
      const ms = performance.now() - start;
      tc.dispose();
      return ms;
    };

    for (let i = 0; i < WARMUP; i++) {
      runOurs();
      runTheirs();
    }
    const oursMs: number[] = [];
    const theirsMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      // Alternate who goes first so neither always runs right after the other's cache traffic.
      if (r % 2 === 0) {
        oursMs.push(runOurs());
        theirsMs.push(runTheirs());
      } else {
        theirsMs.push(runTheirs());
        oursMs.push(runOurs());
      }
    }
    ta.dispose();
    tb.dispose();

    // Sanity: both computed the same product (error relative to Σ_k |a_ik||b_kj|, sampled rows).
    let worst = 0;
    for (let i = 0; i < M; i += 37) {
      for (let j = 0; j < N; j++) {
        let scale = 0;
        for (let k = 0; k < K; k++) scale += Math.abs(a[i * K + k] * b[k * N + j]);
        worst = Math.max(worst, Math.abs(C[i * N + j] - theirs[i * N + j]) / scale);
      }
    }

    const ours = flops / (median(oursMs) * 1e6);
    const tfjs = flops / (median(theirsMs) * 1e6);
    const speedup = median(oursMs.map((ms, r) => theirsMs[r] / ms));
    console.log(
      `${String(M).padStart(7)}${String(K).padStart(7)}${String(N).padStart(7)} |` +
        `${ours.toFixed(2).padStart(13)} |${tfjs.toFixed(2).padStart(17)} |${speedup.toFixed(1).padStart(11)}× |` +
        `${worst.toExponential(1).padStart(18)}`,
    );
  }
}

await main();
