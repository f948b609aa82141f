/**
 * SigLIP's loss, composed (the N × N logits, labels and log σ on the tape) against the tiled
 * primitive (one T × T block at a time), forward + backward, in one process, interleaved
 * (A, B, A, B, …) so that a busy machine slows both alike. Prints the median time of each and
 * the growth of the heap (retained by the tape) during the forward.
 *
 * Usage: npm run build:spec && node --expose-gc build/bench/siglip.bench.js [N ...]
 */
import "../src/ops/tensor-methods.js";
import os from "node:os";
import { randn } from "../src/tensor/creation.js";
import { Generator } from "../src/tensor/random.js";
import { tensor } from "../src/tensor/creation.js";
import { sigLipLoss, tiledSigLipLoss } from "../src/losses/siglip-loss.js";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const D = 128;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function once(n: number, tiled: boolean): { ms: number; heapMiB: number } {
  const generator = new Generator(n);
  const image = randn([n, D], generator).requiresGrad_();
  const text = randn([n, D], generator).requiresGrad_();
  const scale = tensor(Math.log(10), { requiresGrad: true });
  const bias = tensor(-10, { requiresGrad: true });
  gc();
  const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const started = performance.now();
  const loss = tiled
    ? tiledSigLipLoss(image, text, { logitScale: scale, logitBias: bias })
    : sigLipLoss(image, text, { logitScale: scale, logitBias: bias });
  const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  loss.backward();
  return { ms: performance.now() - started, heapMiB: (heapAfter - heapBefore) / 2 ** 20 };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`siglip bench, D = ${D}, float32, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
for (const n of sizes.length > 0 ? sizes : [256, 1024, 2048]) {
  const composed: { ms: number; heapMiB: number }[] = [];
  const tiled: { ms: number; heapMiB: number }[] = [];
  for (let round = 0; round < 5; round++) {
    composed.push(once(n, false));
    tiled.push(once(n, true));
  }
  const c = median(composed.map((r) => r.ms));
  const t = median(tiled.map((r) => r.ms));
  console.log(
    `N = ${n}: composed ${c.toFixed(1)} ms (forward holds +${median(composed.map((r) => r.heapMiB)).toFixed(1)} MiB), ` +
      `tiled ${t.toFixed(1)} ms (+${median(tiled.map((r) => r.heapMiB)).toFixed(1)} MiB); tiled/composed ${(t / c).toFixed(2)}`,
  );
}
