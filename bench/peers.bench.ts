/**
 * Peers, side by side: this project against TensorFlow.js (tfjs-backend-cpu, plain JavaScript, and
 * tfjs-backend-wasm, WebAssembly SIMD) in one process, on
 *
 *   1. the SimCLR step of docs/performance.md: MLP 784 → 512 → ReLU → 128, batch 256 × 2 views,
 *      NT-Xent τ 0.5, Adam (lr 1e-3, β (0.9, 0.999), ε 1e-8), float32;
 *   2. the GEMM shapes of that step, plain and with the transposes its backward uses.
 *
 *   npm run bench                      (or: node build/bench/peers.bench.js [steps = 20] [rounds = 3] [gemmReps = 7])
 *
 * Fairness: the tfjs model starts from OUR MLP's initial weights (copied over), sees the same two
 * views, and its NT-Xent is written in tfjs exactly as ours (normalize, z·zᵀ/τ, diagonal masked with
 * −∞, cross-entropy at the positive index, mean over the 2N rows). Before timing, every contender
 * runs a few steps from the same start and the losses must agree to float32 tolerance (else exit 1).
 * Timing: `rounds` rounds, each running every contender for 3 warm-up + `steps` steps in turn (the
 * order rotates per round), so a burst of background load spreads over all; a contender's time is
 * the median over all its timed steps, and a ratio is the median over rounds of the per-round ratio.
 * Ours runs with each GEMM kernel (setGemmKernel: the scalar TypeScript one and the WebAssembly SIMD one)
 * and with 1 and with 2 threads (setNumThreads, src/parallel). tfjs-wasm runs single-threaded:
 * in Node it reports no multithread support (printed), so it loads the SIMD binary without threads.
 */
import { createRequire, register } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { Adam, MLP, manualSeed, ntXent, randn, type Tensor, tensor } from "../src/index.js";
import { type GemmKernelName, setGemmKernel } from "../src/ops/gemm.js";
import { setNumThreads, shutdownPool } from "../src/parallel/index.js";
import { tfjsNtXent } from "./tfjs-nt-xent.js";

// tfjs-core's gradients (tf.train needs them): see ./tfjs-esm-resolve.ts for why the hook.
register("./tfjs-esm-resolve.js", import.meta.url);
await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");

const STEPS = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const GEMM_REPS = Number(process.argv[4] ?? 7);
const WARMUP = 3;
const CHECK_STEPS = 5;
const BATCH = 256;
const SIZES = [784, 512, 128];
const TEMPERATURE = 0.5;

// The .wasm files ship inside the package: point tfjs at its dist folder (a file path, so no network).
const require = createRequire(import.meta.url);
setWasmPaths(path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(", ");

/** One contender of the SimCLR step: `step()` runs zeroGrad, forward, loss, backward, optimizer step and returns the loss. */
interface Contender {
  name: string;
  prepare(): Promise<void>; // switch backend / thread count before its turn
  step(): number;
}

/** Our initial weights and views, from a fixed seed (shared by every contender). */
function initialState(): { model: MLP; weights: Float32Array[]; shapes: number[][]; view1: Tensor; view2: Tensor } {
  const generator = manualSeed(0);
  const model = new MLP(SIZES, { generator });
  const view1 = randn([BATCH, SIZES[0]], generator); // (N, 784)
  const view2 = randn([BATCH, SIZES[0]], generator); // (N, 784)
  const parameters = model.parameters(); // [W₁ (512, 784), b₁ (512), W₂ (128, 512), b₂ (128)]
  return {
    model,
    weights: parameters.map((p) => p.toTypedArray() as Float32Array), // copies
    shapes: parameters.map((p) => p.shape),
    view1,
    view2,
  };
}

/** Ours, through the public API, from the shared initial weights; `threads` workers for the kernels, GEMM on `kernel`. */
function oursContender(kernel: GemmKernelName, threads: number): Contender {
  const { model, view1, view2 } = initialState(); // the tfjs contenders copy this model's initial weights
  const optimizer = new Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8 });
  return {
    name: `ours ${kernel}, ${threads} thr`,
    async prepare() {
      setNumThreads(threads);
      setGemmKernel(kernel);
    },
    step() {
      optimizer.zeroGrad();
      const loss = ntXent(model.forward(view1), model.forward(view2), { temperature: TEMPERATURE });
      loss.backward();
      optimizer.step();
      return loss.item();
    },
  };
}

/** The same step in tfjs on `backend`, from the shared initial weights. */
function tfjsContender(backend: "cpu" | "wasm"): Contender {
  const state = initialState();
  let variables: tf.Variable[] = [];
  let view1: tf.Tensor2D, view2: tf.Tensor2D, optimizer: tf.AdamOptimizer;
  let created = false;
  const forward = (x: tf.Tensor2D): tf.Tensor2D => {
    const [w1, b1, w2, b2] = variables;
    // y = x·Wᵀ + b, W stored (out, in) as ours and PyTorch's
    const hidden = tf.relu(tf.add(tf.matMul(x, w1 as tf.Tensor2D, false, true), b1));
    return tf.add(tf.matMul(hidden as tf.Tensor2D, w2 as tf.Tensor2D, false, true), b2) as tf.Tensor2D;
  };
  return {
    name: `tfjs-${backend}`,
    async prepare() {
      await tf.setBackend(backend);
      await tf.ready();
      if (!created) { // tensors live on the backend active when they were made
        variables = state.weights.map((w, i) => tf.variable(tf.tensor(w, state.shapes[i]), true, `${backend}-p${i}`));
        view1 = tf.tensor2d(state.view1.toTypedArray() as Float32Array, [BATCH, SIZES[0]]);
        view2 = tf.tensor2d(state.view2.toTypedArray() as Float32Array, [BATCH, SIZES[0]]);
        optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8); // tfjs's default ε is 1e-7: pass ours
        created = true;
      }
    },
    step() {
      const loss = optimizer.minimize(() => tfjsNtXent(forward(view1), forward(view2), TEMPERATURE), true, variables)!;
      const value = loss.dataSync()[0]; // waits for the step, as ours' item()
      loss.dispose();
      return value;
    },
  };
}

async function simclrStep(): Promise<string[]> {
  const contenders = [
    oursContender("scalar", 1),
    oursContender("scalar", 2),
    oursContender("wasm", 1),
    oursContender("wasm", 2),
    tfjsContender("cpu"),
    tfjsContender("wasm"),
  ];
  const [cpuIndex, wasmIndex] = [contenders.length - 2, contenders.length - 1];
  // Same start → same losses: the first CHECK_STEPS steps of every contender against ours, 1 thread.
  const losses: number[][] = [];
  for (const c of contenders) {
    await c.prepare();
    losses.push(Array.from({ length: CHECK_STEPS }, () => c.step()));
  }
  console.log(`losses of steps 1..${CHECK_STEPS} from the same start (float32):`);
  let worst = 0;
  contenders.forEach((c, i) => {
    const diff = Math.max(...losses[i].map((l, s) => Math.abs(l - losses[0][s])));
    worst = Math.max(worst, diff);
    console.log(`  ${c.name.padEnd(16)} ${losses[i].map((l) => l.toFixed(6)).join("  ")}   max |Δ| vs ours ${diff.toExponential(1)}`);
  });
  if (!(worst < 1e-4 * Math.abs(losses[0][0]))) {
    console.error(`losses disagree (max |Δ| ${worst}): the comparison below would not be of the same computation`);
    process.exit(1);
  }

  const times: number[][] = contenders.map(() => []); // every timed step
  const roundMedians: number[][] = contenders.map(() => []); // per round
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < contenders.length; j++) {
      const i = (j + round) % contenders.length; // rotate who goes first
      await contenders[i].prepare();
      for (let s = 0; s < WARMUP; s++) contenders[i].step();
      const these: number[] = [];
      for (let s = 0; s < STEPS; s++) {
        const start = performance.now();
        contenders[i].step();
        these.push(performance.now() - start);
      }
      times[i].push(...these);
      roundMedians[i].push(median(these));
    }
    console.log(`  round ${round + 1}: ${contenders.map((c, i) => `${c.name} ${roundMedians[i][round].toFixed(1)} ms`).join(", ")}`);
  }
  const ratio = (i: number, of: number) => median(roundMedians[i].map((t, r) => t / roundMedians[of][r]));
  const rows = [
    `| SimCLR step (ms, median of ${ROUNDS}×${STEPS}) | time | ours scalar 1 thr / this | tfjs-cpu / this | tfjs-wasm / this |`,
    "|---|---:|---:|---:|---:|",
  ];
  contenders.forEach((c, i) => {
    rows.push(
      `| ${c.name} | ${median(times[i]).toFixed(1)} | ${ratio(0, i).toFixed(2)}× | ${ratio(cpuIndex, i).toFixed(1)}× | ` +
        `${ratio(wasmIndex, i).toFixed(2)}× |`,
    );
  });
  return rows;
}

/** Numerical Recipes LCG: deterministic values in [-1, 1). */
function randomArray(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/**
 * GEMM C (M, N) = op(A)·op(B) through each library's public matmul (allocation included on both sides).
 * "A·Bᵀ" is the Linear forward x·Wᵀ, "Aᵀ·B" the weight gradient dYᵀ·X; the operand is stored
 * transposed and the library is told so (ours: a .t() view; tfjs: transposeA / transposeB).
 */
async function gemmTable(): Promise<string[]> {
  const cases: Array<[number, number, number, "A·B" | "A·Bᵀ" | "Aᵀ·B"]> = [
    [256, 784, 512, "A·B"],
    [256, 784, 512, "A·Bᵀ"], // forward of Linear(784, 512), batch 256
    [512, 256, 784, "Aᵀ·B"], // its dW = dYᵀ·X
    [512, 512, 512, "A·B"],
    [512, 512, 512, "A·Bᵀ"],
    [512, 512, 512, "Aᵀ·B"],
    [1024, 128, 1024, "A·B"],
    [1024, 128, 1024, "A·Bᵀ"], // z·zᵀ shape of the similarity matrix
  ];
  const rows = [
    `| GEMM float32 (GFLOP/s, median of ${GEMM_REPS}) | scalar 1 thr | scalar 2 thr | wasm 1 thr | wasm 2 thr | tfjs-cpu | ` +
    "tfjs-wasm | wasm 1 thr / scalar 1 thr | wasm 2 thr / scalar 1 thr | wasm 1 thr / tfjs-wasm | wasm 2 thr / tfjs-wasm |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [M, K, N, kind] of cases) {
    const transA = kind === "Aᵀ·B", transB = kind === "A·Bᵀ";
    const aShape = transA ? [K, M] : [M, K], bShape = transB ? [N, K] : [K, N];
    const a = randomArray(M * K, 11), b = randomArray(K * N, 12);
    const ourA = tensor(a, { shape: aShape }), ourB = tensor(b, { shape: bShape });
    const ours: Array<[GemmKernelName, number]> = [["scalar", 1], ["scalar", 2], ["wasm", 1], ["wasm", 2]];
    const runs: Array<{ prepare: () => Promise<void>; run: () => Float32Array }> = ours.map(([kernel, threads]) => ({
      prepare: async () => {
        setNumThreads(threads);
        setGemmKernel(kernel);
      },
      run: () => (transA ? ourA.t() : ourA).matmul(transB ? ourB.t() : ourB).toTypedArray() as Float32Array,
    }));
    for (const backend of ["cpu", "wasm"]) {
      await tf.setBackend(backend);
      const ta = tf.tensor2d(a, aShape as [number, number]), tb = tf.tensor2d(b, bShape as [number, number]);
      runs.push({
        prepare: async () => void (await tf.setBackend(backend)),
        run: () => {
          const c = tf.matMul(ta, tb, transA, transB);
          const data = c.dataSync() as Float32Array;
          c.dispose();
          return data;
        },
      });
    }
    const ms: number[][] = runs.map(() => []);
    const results: Float32Array[] = [];
    for (let rep = -2; rep < GEMM_REPS; rep++) { // 2 warm-ups, then interleaved repetitions
      for (let i = 0; i < runs.length; i++) {
        await runs[i].prepare();
        const start = performance.now();
        results[i] = runs[i].run();
        if (rep >= 0) ms[i].push(performance.now() - start);
      }
    }
    // Same product: max |Δ| relative to max |C|, each library against ours.
    let scale = 0, worst = 0; // loops, not Math.max(...array): too many arguments for the stack
    for (let j = 0; j < results[0].length; j++) {
      scale = Math.max(scale, Math.abs(results[0][j]));
      for (const r of results) worst = Math.max(worst, Math.abs(r[j] - results[0][j]));
    }
    if (!(worst <= 1e-4 * scale)) throw new Error(`GEMM ${M}×${K}×${N} ${kind}: results differ by ${worst} (scale ${scale})`);
    const gflops = ms.map((t) => (2 * M * N * K) / (median(t) * 1e6));
    rows.push(
      `| ${M}×${K}×${N} ${kind} | ${gflops.map((g) => g.toFixed(2)).join(" | ")} | ` +
        [gflops[2] / gflops[0], gflops[3] / gflops[0], gflops[2] / gflops[5], gflops[3] / gflops[5]].map((r) => `${r.toFixed(2)}×`).join(
          " | ",
        ) +
        " |",
    );
  }
  return rows;
}

async function main(): Promise<void> {
  await tf.setBackend("wasm");
  await tf.ready();
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), threaded = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
  const cpus = os.cpus();
  const loadBefore = load();
  console.log(`peers benchmark — ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, ${os.platform()} ${os.arch()}, Node ${process.version}, ` +
      `tfjs ${tf.version_core}, wasm SIMD ${simd}, wasm threads ${threaded}`,
  );
  console.log(`load average before: ${loadBefore}\n`);
  const step = await simclrStep();
  const gemm = await gemmTable();
  console.log(`\nload average after: ${load()}\n`);
  console.log([...step, "", ...gemm].join("\n"));
  shutdownPool();
}

await main();
