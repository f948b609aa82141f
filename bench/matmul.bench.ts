/**
 * Matrix-multiply benchmark: this project's float32 GEMM on both kernels (src/ops/gemm.ts: the scalar
 * TypeScript one, `gemmScalar`, and the WebAssembly SIMD one of src/ops/gemm-wasm.ts) against
 * `tf.matMul` of @tensorflow/tfjs-backend-cpu (TensorFlow.js's plain-JavaScript backend),
 * on the shapes that dominate MNIST contrastive training, plain and with either operand transposed.
 *
 *   GFLOP/s = 2·M·N·K / seconds     (one multiply and one add per term of Σ_k A[i,k]·B[k,j])
 *
 * All run single-threaded on the same Float32 data in the same process. The machine may be
 * shared and noisy, so each shape is warmed up, then timed REPS rounds, each running the three
 * back to back in a rotating order (a burst of background load hits all), and the median of each
 * is reported. A ratio is the median of the REPS per-round time ratios: the runs of a round saw
 * nearly the same background load. (Both cores and tfjs-wasm: bench/peers.bench.ts.)
 *
 * Run: npm run bench            (or: node build/bench/matmul.bench.js [reps])
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../src/node.js"; // Node's worker-thread platform for the pool (without it products run on one thread)
import { gemm, gemmScalar, type MatrixView, setGemmKernel } from "../src/ops/gemm.js";
import { setNumThreads } from "../src/parallel/index.js";
import { IMAGE_PIXELS } from "../src/data/mnist.js";

/** (M, K, N): batch×784 · 784×512 (MNIST input layer), a square 512³, a wide 1024×128 · 128×1024. */
const SHAPES: Array<[number, number, number]> = [
  [256, IMAGE_PIXELS, 512],
  [512, 512, 512],
  [1024, 128, 1024],
];
/** A·B, and the two transposed products a Linear layer's backward runs (operand stored transposed, read as a strided view). */
const OPS = ["A·B", "A·Bᵀ", "Aᵀ·B"] as const;
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
  setNumThreads(1);
  const cpu = os.cpus();
  console.log(
    `matmul benchmark — ${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(", ")}`,
  );
  console.log(
    `machine: ${
      cpu[0]?.model ?? "unknown CPU"
    }, ${cpu.length} cores, ${os.platform()} ${os.arch()}, Node ${process.version}, tfjs ${tf.version_core} (backend ${tf.getBackend()})`,
  );
  console.log(
    `float32, single thread; GFLOP/s = median of ${REPS} runs, the three interleaved; ratio = median of per-round time ratios\n`,
  );

  warmUpGeneralPaths();
  const header = "      M      K      N  op    | scalar GFLOP/s | wasm GFLOP/s | tfjs-cpu GFLOP/s | wasm / scalar | wasm / tfjs-cpu | " +
    "max |Δ| / Σ|a||b|";
  console.log(header);
  console.log("-".repeat(header.length));

  for (const [M, K, N] of SHAPES) {
    for (const op of OPS) {
      const flops = 2 * M * N * K;
      const transA = op === "Aᵀ·B", transB = op === "A·Bᵀ";
      const a = randomArray(M * K, 11), b = randomArray(K * N, 12);
      // A stored (K, M) when transposed: A[i, k] = a[k·M + i]; B stored (N, K) when transposed.
      const A: MatrixView = transA ? { data: a, offset: 0, rowStride: 1, colStride: M } : rowMajor(a, K);
      const B: MatrixView = transB ? { data: b, offset: 0, rowStride: 1, colStride: K } : rowMajor(b, N);
      const ta = tf.tensor2d(a, transA ? [K, M] : [M, K]), tb = tf.tensor2d(b, transB ? [N, K] : [K, N]);
      const results: Float32Array[] = [new Float32Array(M * N), new Float32Array(M * N), new Float32Array(0)];
      const runs = [
        () => gemmScalar(M, N, K, A, B, results[0], 0, false),
        () => gemm(M, N, K, A, B, results[1], 0, false), // the wasm kernel (setGemmKernel("wasm") below)
        () => {
          const tc = tf.matMul(ta, tb, transA, transB);
          results[2] = tc.dataSync() as Float32Array; // forces the computation to finish
          tc.dispose();
        },
      ];
      const ms: number[][] = runs.map(() => []);
      for (let r = -WARMUP; r < REPS; r++) {
        for (let j = 0; j < runs.length; j++) {
          const i = (j + Math.max(r, 0)) % runs.length; // rotate who goes first
          const start = performance.now();
          runs[i]();
          if (r >= 0) ms[i].push(performance.now() - start);
        }
      }
      ta.dispose();
      tb.dispose();

      // Sanity: all three computed the same product (error relative to Σ_k |a_ik||b_kj|, sampled rows).
      let worst = 0;
      for (let i = 0; i < M; i += 37) {
        for (let j = 0; j < N; j++) {
          let scale = 0;
          for (let k = 0; k < K; k++) {
            scale += Math.abs(A.data[A.offset + i * A.rowStride + k * A.colStride] * B.data[B.offset + k * B.rowStride + j * B.colStride]);
          }
          for (const r of results) worst = Math.max(worst, Math.abs(r[i * N + j] - results[2][i * N + j]) / scale);
        }
      }

      const gflops = ms.map((t) => flops / (median(t) * 1e6));
      const ratio = (slow: number, fast: number) => median(ms[fast].map((t, r) => ms[slow][r] / t));
      console.log(
        `${String(M).padStart(7)}${String(K).padStart(7)}${String(N).padStart(7)}  ${op.padEnd(5)} |` +
          `${gflops[0].toFixed(2).padStart(15)} |${gflops[1].toFixed(2).padStart(13)} |${gflops[2].toFixed(2).padStart(17)} |` +
          `${ratio(0, 1).toFixed(2).padStart(13)}× |${ratio(2, 1).toFixed(2).padStart(15)}× |${worst.toExponential(1).padStart(18)}`,
      );
    }
  }
}

setGemmKernel("wasm");
await main();
