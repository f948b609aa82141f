/**
 * The CLIP loss at large batches (issue 11): `tiledClipLoss` forward + backward at B = 4,096 …
 * 32,768, D = 512, float32, a learnable logit scale (CLIP's ln(1/0.07)), beside the dense `clipLoss`
 * where its B × B matrices fit in memory.
 *
 *   npm run bench:clip                           (or: node build/bench/clip.bench.js [sizes = 4096,8192,16384,32768] [denseMax = 4096])
 *
 * Each (loss, B) runs in a fresh child process, so its peak RSS is its own: a small warm-up call
 * (B = 512, compiles the hot loops and starts the workers), then one timed forward + backward on
 * random features. Printed per run: forward and backward wall time, the child's CPU time (user +
 * system, all threads), its peak RSS (VmHWM from /proc/self/status on Linux, else
 * `process.resourceUsage().maxRSS`), the threads used, and the loss value (tiled and dense on the
 * same seed must agree). The load average is printed before and after: the machine may be shared.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clipLoss, Generator, getNumThreads, randn, tensor, tiledClipLoss } from "../src/index.js";

const D = 512;
const LOGIT_SCALE = Math.log(1 / 0.07);

/** What one child reports. */
interface Measurement {
  forwardMs: number;
  backwardMs: number;
  cpuMs: number;
  peakMiB: number;
  threads: number;
  loss: number;
}

/** The peak resident set of this process in MiB: VmHWM where Linux has it (a child's own), else getrusage's maxRSS. */
function peakRssMiB(): number {
  if (existsSync("/proc/self/status")) return parseInt(readFileSync("/proc/self/status", "utf8").split("VmHWM:")[1], 10) / 1024;
  return process.resourceUsage().maxRSS / 1024;
}

/** In the child: one forward + backward of `loss` at batch `b` (after a warm-up at 512). */
function measure(loss: "tiled" | "dense", b: number): Measurement {
  const run = (rows: number, seed: number) => {
    const generator = new Generator(seed);
    const image = randn([rows, D], generator).requiresGrad_(); // (B, D) float32
    const text = randn([rows, D], generator).requiresGrad_(); // (B, D)
    const logitScale = tensor(LOGIT_SCALE, { requiresGrad: true });
    const cpu = process.cpuUsage();
    const start = performance.now();
    const value = loss === "tiled" ? tiledClipLoss(image, text, { logitScale }) : clipLoss(image, text, { logitScale });
    const forwardEnd = performance.now();
    value.backward();
    const end = performance.now();
    const used = process.cpuUsage(cpu);
    return { forwardMs: forwardEnd - start, backwardMs: end - forwardEnd, cpuMs: (used.user + used.system) / 1000, loss: value.item() };
  };
  run(512, 1); // warm-up: JIT, workers
  const timed = run(b, 0);
  return { ...timed, peakMiB: peakRssMiB(), threads: getNumThreads() };
}

const script = fileURLToPath(import.meta.url);
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(", ");

/**
 * The markdown table: one row per (loss, B), each measured in a child process of this script; the
 * dense loss only for B ≤ denseMax. Also used by ./peers.bench.ts for its CLIP row.
 */
export function clipTable(sizes: number[], denseMax: number): string[] {
  const rows = [
    `CLIP loss, D = ${D}, float32, learnable logit scale; ${os.cpus().length} cores; load average before ${load()}`,
    "| loss | B | forward | backward | total | CPU (all threads) | peak RSS | threads | GFLOP/s | loss value |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const b of sizes) {
    for (const loss of b <= denseMax ? ["tiled", "dense"] as const : ["tiled"] as const) {
      const output = execFileSync(process.execPath, [script, "--child", loss, String(b)], { encoding: "utf8", maxBuffer: 1 << 20 });
      const m = JSON.parse(output.trim().split("\n").pop()!) as Measurement;
      const total = m.forwardMs + m.backwardMs;
      // the tiled loss's GEMMs: forward B²D multiply-adds, backward 3 B²D (recompute, ∂image, ∂text)
      const gflops = (8 * b * b * D) / (total * 1e6);
      const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      rows.push(
        `| ${loss === "tiled" ? "tiledClipLoss" : "clipLoss (dense)"} | ${b} | ${seconds(m.forwardMs)} | ${seconds(m.backwardMs)} | ` +
          `${seconds(total)} | ${seconds(m.cpuMs)} | ${m.peakMiB.toFixed(0)} MiB | ${m.threads} | ` +
          `${loss === "tiled" ? gflops.toFixed(1) : "—"} | ${m.loss.toFixed(6)} |`,
      );
      if (sizes.length > 1) console.error(rows[rows.length - 1]); // progress: the large sizes take minutes
    }
  }
  rows.push(`load average after: ${load()}`);
  return rows;
}

const childArg = process.argv.indexOf("--child");
if (childArg >= 0) {
  const loss = process.argv[childArg + 1] as "tiled" | "dense";
  const b = Number(process.argv[childArg + 2]);
  console.log(JSON.stringify(measure(loss, b)));
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === script) { // run as a script, not imported
  const sizes = (process.argv[2] ?? "4096,8192,16384,32768").split(",").map(Number);
  console.log(clipTable(sizes, Number(process.argv[3] ?? 4096)).join("\n"));
}
