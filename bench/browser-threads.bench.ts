/**
 * The worker pool on Web Workers, timed in headless chromium (docs/performance.md, "Both cores"): a
 * dedicated training Worker of a cross-origin isolated page imports dist/browser/contrastive-ts.js,
 * installs the Web Worker platform (dist/browser/contrastive-ts-worker.js) and times, alternating 1 and
 * 2 threads round by round in the same worker:
 *
 *   GEMM 512×512 · 512×512, float32 (the WebAssembly kernel)
 *   the SimCLR step of bench/simclr-step.bench.ts: MLP 784 → 512 → ReLU → 128, 2 × 256 rows, NT-Xent τ 0.5, Adam
 *
 *   npm run bench:browser [rounds = 7]     (builds first; needs chromium, as npm run test:browser)
 *
 * Prints medians per thread count, their ratio, whether both thread counts gave the same bits, and the
 * load average before and after (the 2 cores are shared: only the side-by-side ratio means much).
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser, repositoryRoot, serve } from "../spec/browser/support/browser.js";

const rounds = Number(process.argv[2] ?? 7);

const TRAINER_JS = `import * as api from "./contrastive-ts.js";
const rounds = ${rounds};
await api.installWebThreads({ workerUrl: new URL("./contrastive-ts-worker.js", import.meta.url), cores: 2 });
const generator = new api.Generator(0);
const a = api.rand([512, 512], generator);
const b = api.rand([512, 512], generator);
const view1 = api.randn([256, 784], generator);
const view2 = api.randn([256, 784], generator);
const models = {};
for (const n of [1, 2]) {
  const model = new api.MLP([784, 512, 128], { generator: new api.Generator(1) });
  models[n] = { model, optimizer: new api.Adam(model.parameters(), { lr: 1e-3 }), losses: [] };
}
const times = { gemm: { 1: [], 2: [] }, step: { 1: [], 2: [] } };
const products = {};
for (let round = 0; round < rounds + 1; round++) {
  for (const n of round % 2 === 0 ? [1, 2] : [2, 1]) {
    api.setNumThreads(n);
    let start = performance.now();
    const c = api.matmul(a, b);
    const gemmMs = performance.now() - start;
    products[n] = Array.from(c.toTypedArray());
    const { model, optimizer, losses } = models[n];
    start = performance.now();
    optimizer.zeroGrad();
    const loss = api.ntXent(model.forward(view1), model.forward(view2), { temperature: 0.5 });
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
    const stepMs = performance.now() - start;
    if (round > 0) { times.gemm[n].push(gemmMs); times.step[n].push(stepMs); } // round 0: warm-up
  }
}
const sameBits = JSON.stringify(products[1]) === JSON.stringify(products[2])
  && JSON.stringify(models[1].losses) === JSON.stringify(models[2].losses);
postMessage({ times, sameBits, status: api.threadPlatform().status?.(), kernel: api.getGemmKernel() });`;

const PAGE_JS = `const trainer = new Worker("./trainer.js", { type: "module" });
trainer.onmessage = (event) => (window.result = event.data);
trainer.onerror = (event) => (window.result = { error: String(event.message) });`;

const folder = mkdtempSync(join(tmpdir(), "contrastive-bench-threads-"));
for (const file of ["contrastive-ts.js", "contrastive-ts-worker.js"]) {
  copyFileSync(join(repositoryRoot(), "dist", "browser", file), join(folder, file));
}
writeFileSync(
  join(folder, "index.html"),
  `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./page.js"></script>`,
);
writeFileSync(join(folder, "page.js"), PAGE_JS);
writeFileSync(join(folder, "trainer.js"), TRAINER_JS);

const loadBefore = loadavg()[0];
const server = await serve(folder);
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, { timeout: 1_800_000 });
  const result = await page.evaluate(() => (window as unknown as { result: unknown }).result) as {
    error?: string;
    times: Record<"gemm" | "step", Record<1 | 2, number[]>>;
    sameBits: boolean;
    status: unknown;
    kernel: string;
  };
  if (result.error !== undefined) throw new Error(result.error);
  const median = (values: number[]) => values.slice().sort((x, y) => x - y)[Math.floor(values.length / 2)];
  console.log(`chromium, a dedicated Worker, kernel ${result.kernel}, platform ${JSON.stringify(result.status)}, ${rounds} rounds`);
  for (const name of ["gemm", "step"] as const) {
    const one = median(result.times[name][1]);
    const two = median(result.times[name][2]);
    const label = name === "gemm" ? "GEMM 512×512·512×512 f32" : "SimCLR step 784→512→128, 2×256";
    console.log(`${label}: 1 thread ${one.toFixed(1)} ms, 2 threads ${two.toFixed(1)} ms, ratio ${(one / two).toFixed(2)}×`);
  }
  console.log(`same bits on 1 and 2 threads: ${result.sameBits}`);
  console.log(`load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (2 cores)`);
} finally {
  await browser.close();
  await server.close();
}
