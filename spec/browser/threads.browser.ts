/**
 * The worker pool on Web Workers in a real browser (issue 14, "worker pool in the browser";
 * src/parallel/web-platform.ts). Headless chromium loads a page served with COOP/COEP; the page starts
 * a dedicated Worker, the realistic place for training, which imports the shipped bundle
 * (dist/browser/contrastive-ts.js), installs the Web Worker platform on the shipped worker entry
 * (dist/browser/contrastive-ts-worker.js) and computes the same things on 1, 2 and 3 threads:
 *
 *   a 320×288 · 288×272 float32 GEMM (the WebAssembly kernel, in every worker too) and a float64 one
 *   three SimCLR-ish steps: MLP 256 → 128 → 64, NT-Xent on 2 × 256 rows, Adam
 *   the tiled CLIP loss, N = 512, D = 64, T = 128 (its P² blocks run round by round on the pool), and its gradients
 *
 * Every thread count must give the same bits (src/parallel/pool.ts: each output element computed by one
 * thread with the one-thread arithmetic). That alone would also pass if nothing ran on the workers, so
 * the spec also reads the pool's control block: each worker's count of finished jobs (protocol.ts,
 * slot(w, DONE_SEQ)) must be above zero after the products it took part in. And the comparison can
 * fail: a pool whose workers are handed the wrong shared memory (a fresh buffer instead of the
 * operands) gives different bits.
 *
 * The fallbacks: a page served without COOP/COEP (no SharedArrayBuffer) gets one thread with the same
 * bits, and says why; a worker URL that does not load puts the platform in "one thread", naming the
 * URL; a page's main thread (which may not block in Atomics.wait) runs the products on itself.
 */
import { expect } from "chai";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import * as core from "../../src/core.js";
import { DONE_SEQ, slot } from "../../src/parallel/protocol.js";
import { launchBrowser, repositoryRoot, serve, watchConsole } from "./support/browser.js";

/** What every thread count computes; the page's copy is this source (see TRAINER_JS). Arrays of numbers: exact bits through postMessage. */
function exercise(api: typeof core) {
  const generator = new api.Generator(5);
  const a32 = api.rand([320, 288], generator);
  const b32 = api.rand([288, 272], generator);
  const a64 = api.rand([256, 192], generator, { dtype: "float64" });
  const b64 = api.rand([192, 160], generator, { dtype: "float64" });
  const encoder = new api.Sequential(
    new api.Linear(256, 128, { generator }),
    new api.ReLU(),
    new api.Linear(128, 64, { generator }),
  );
  const optimizer = new api.Adam(encoder.parameters(), { lr: 1e-3 });
  const stepLosses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const x = api.rand([256, 256], generator); // (N, 256) one batch
    const view1 = x.add(api.rand([256, 256], generator).mul(0.1)); // two noisy views (N, 256)
    const view2 = x.add(api.rand([256, 256], generator).mul(0.1));
    optimizer.zeroGrad();
    const loss = api.ntXent(encoder.forward(view1), encoder.forward(view2), { temperature: 0.5 }); // 2N = 512 rows
    loss.backward();
    optimizer.step();
    stepLosses.push(loss.item());
  }
  const image = api.rand([512, 64], generator, { requiresGrad: true }); // (N, D)
  const text = api.rand([512, 64], generator, { requiresGrad: true });
  const clip = api.tiledClipLoss(image, text, { temperature: 0.07, tileSize: 128 });
  clip.backward();
  return {
    threads: api.getNumThreads(),
    kernel: api.getGemmKernel(),
    product32: Array.from(api.matmul(a32, b32).toTypedArray()),
    product64: Array.from(api.matmul(a64, b64).toTypedArray()),
    stepLosses,
    weights: encoder.parameters().map((p) => Array.from(p.toTypedArray())),
    clipLoss: clip.item(),
    imageGrad: Array.from(image.grad!.toTypedArray()),
    textGrad: Array.from(text.grad!.toTypedArray()),
  };
}
type Exercise = ReturnType<typeof exercise>;

/** The Int32 index of worker w's "jobs done" word in the control block (w = 1, 2), from the protocol itself. */
const DONE_WORDS = [1, 2].map((w) => slot(w, DONE_SEQ));

/** The training worker: what it is asked to do comes in a message, what it found goes back in one. */
const TRAINER_JS = `import * as api from "./contrastive-ts.js";
${exercise.toString()}
const DONE_WORDS = ${JSON.stringify(DONE_WORDS)};
const workerUrl = new URL("./contrastive-ts-worker.js", import.meta.url);

/** The platform, watched: which pool workers it started, and the control block they share. */
function watched(platform, options = {}) {
  const seen = { started: [], control: null };
  const wrapper = {
    ...platform,
    startWorker(init, onExit) {
      seen.started.push(init.worker);
      seen.control = new Int32Array(init.control);
      const handle = platform.startWorker(init, onExit);
      if (!options.wrongMemory) return handle;
      // Sabotage: the worker gets a fresh buffer of the same size instead of the operands.
      return { ...handle, post: (message) => handle.post({ ...message, memory: new SharedArrayBuffer(message.memory.byteLength) }) };
    },
  };
  const jobsDone = () => DONE_WORDS.map((i) => (seen.control === null ? 0 : Atomics.load(seen.control, i)));
  return { wrapper, seen, jobsDone };
}

async function threads() {
  const platform = api.createWebThreadPlatform({ workerUrl, cores: 3 });
  const { wrapper, seen, jobsDone } = watched(platform);
  api.setThreadPlatform(wrapper);
  const ready = await platform.ready;
  const runs = {};
  const jobs = {};
  for (const n of [1, 2, 3]) {
    api.setNumThreads(n);
    runs[n] = exercise(api);
    jobs[n] = jobsDone();
  }
  return { ready, status: platform.status(), started: seen.started, jobs, runs, platformName: api.threadPlatform().name };
}

async function wrongMemory() {
  const platform = api.createWebThreadPlatform({ workerUrl, cores: 2 });
  const { wrapper, jobsDone } = watched(platform, { wrongMemory: true });
  api.setThreadPlatform(wrapper);
  await platform.ready;
  api.setNumThreads(2);
  const generator = new api.Generator(5);
  const a = api.rand([320, 288], generator);
  const b = api.rand([288, 272], generator);
  const product = Array.from(api.matmul(a, b).toTypedArray());
  return { product, jobs: jobsDone() };
}

async function fallback() {
  let refused = "";
  try {
    api.createWebThreadPlatform({ workerUrl });
  } catch (error) {
    refused = error.message;
  }
  const status = await api.installWebThreads({ workerUrl });
  api.setNumThreads(2);
  return { available: api.webThreadsAvailable(), refused, status, platformName: api.threadPlatform().name, run: exercise(api) };
}

async function missingWorker() {
  const platform = api.createWebThreadPlatform({ workerUrl: "./no-such-worker.js", cores: 2 }); // relative: named absolute
  api.setThreadPlatform(platform);
  const ready = await platform.ready;
  api.setNumThreads(2);
  const installed = await api.installWebThreads({ workerUrl: new URL("./no-such-worker.js", import.meta.url), cores: 2 });
  return { ready, threads: api.getNumThreads(), installed, platformName: api.threadPlatform().name };
}

const modes = { threads, wrongMemory, fallback, missingWorker };
onmessage = async (event) => {
  try {
    postMessage({ ok: true, value: await modes[event.data]() });
  } catch (error) {
    postMessage({ ok: false, error: String(error && error.stack || error) });
  }
};`;

/** The page: starts the training worker with the mode in its query string, or (mode "main") works on its own thread. */
const PAGE_JS = `import * as api from "./contrastive-ts.js";
${exercise.toString()}
const mode = new URLSearchParams(location.search).get("mode");
if (mode === "main") {
  const platform = api.createWebThreadPlatform({ workerUrl: new URL("./contrastive-ts-worker.js", import.meta.url), cores: 2 });
  api.setThreadPlatform(platform);
  api.setNumThreads(2);
  window.result = { ok: true, value: { status: platform.status(), canBlock: platform.canBlock(), run: exercise(api) } };
} else {
  const trainer = new Worker("./trainer.js", { type: "module" });
  trainer.onmessage = (event) => (window.result = event.data);
  trainer.onerror = (event) => (window.result = { ok: false, error: "trainer: " + event.message });
  trainer.postMessage(mode);
}`;
const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>threads</title><link rel="icon" href="data:,">
<script type="module" src="./page.js"></script></head><body>running</body></html>`;

describe("the worker pool on Web Workers, in chromium (a dedicated training Worker)", function() {
  this.timeout(300_000);
  let browser: Browser;
  let folder: string;

  before(async function() {
    folder = mkdtempSync(join(tmpdir(), "contrastive-threads-"));
    for (const file of ["contrastive-ts.js", "contrastive-ts-worker.js"]) {
      const path = join(repositoryRoot(), "dist", "browser", file);
      if (!existsSync(path)) throw new Error(`browser specs: ${path} is missing (npm run build writes it)`);
      copyFileSync(path, join(folder, file));
    }
    writeFileSync(join(folder, "index.html"), PAGE_HTML);
    writeFileSync(join(folder, "page.js"), PAGE_JS);
    writeFileSync(join(folder, "trainer.js"), TRAINER_JS);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  /** Load the page in `mode` and return what it reported; `allowedErrors` are console errors the case expects. */
  async function run<T>(mode: string, options: { isolation?: boolean; allowedErrors?: RegExp } = {}): Promise<T> {
    const server = await serve(folder, { isolation: options.isolation ?? true });
    const page = await browser.newPage();
    try {
      const log = watchConsole(page);
      await page.goto(`${server.url}?mode=${mode}`, { waitUntil: "load" });
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, { timeout: 240_000 });
      const result = await page.evaluate(() => (window as unknown as { result: { ok: boolean; value?: unknown; error?: string } }).result);
      if (!result.ok) throw new Error(`the page failed: ${result.error}`);
      const unexpected = log.errors.filter((line) => options.allowedErrors === undefined || !options.allowedErrors.test(line));
      expect(unexpected, "console errors").to.deep.equal([]);
      return result.value as T;
    } finally {
      await page.close();
      await server.close();
    }
  }

  /** The same bits, field by field (so a failure names the field). */
  function expectSameBits(actual: Exercise, expected: Exercise, label: string): void {
    for (const field of ["product32", "product64", "stepLosses", "weights", "clipLoss", "imageGrad", "textGrad"] as const) {
      expect(actual[field], `${label}: ${field}`).to.deep.equal(expected[field]);
    }
  }

  /** The isolated training worker's runs on 1, 2 and 3 threads (computed once: the fallbacks must reproduce its 1-thread run). */
  let threadRuns: {
    ready: core.WebThreadStatus;
    status: core.WebThreadStatus;
    started: number[];
    jobs: Record<number, number[]>;
    runs: Record<number, Exercise>;
    platformName: string;
  };
  let oneThread: Exercise;
  before(async function() {
    threadRuns = await run("threads");
    oneThread = threadRuns.runs[1];
  });

  it("1, 2 and 3 threads give the same bits, and the pool really ran jobs on 2 workers (its control block says so)", () => {
    const result = threadRuns;
    expect(result.ready).to.deep.equal({ state: "threads", workers: 2, reason: null });
    expect(result.platformName).to.equal("web workers");
    expect(result.runs[1].threads).to.equal(1);
    expect(result.runs[2].threads).to.equal(2);
    expect(result.runs[3].threads).to.equal(3);
    expect(result.runs[1].kernel, "the WebAssembly kernel, on the caller and in the workers").to.equal("wasm");
    expect(result.started, "pool workers 1 and 2 started, once each").to.deep.equal([1, 2]);
    expect(result.jobs[1], "one thread: no jobs").to.deep.equal([0, 0]);
    expect(result.jobs[2][0], "2 threads: worker 1 finished jobs").to.be.greaterThan(0);
    expect(result.jobs[2][1], "2 threads: worker 2 not started yet").to.equal(0);
    expect(result.jobs[3][0], "3 threads: worker 1 finished more jobs").to.be.greaterThan(result.jobs[2][0]);
    expect(result.jobs[3][1], "3 threads: worker 2 finished jobs").to.be.greaterThan(0);
    expectSameBits(result.runs[2], result.runs[1], "2 threads vs 1");
    expectSameBits(result.runs[3], result.runs[1], "3 threads vs 1");
    // The float32 product also equals Node's wasm kernel (and the page's float64 one Node's scalar kernel).
    const previous = core.setGemmKernel("wasm");
    try {
      const generator = new core.Generator(5);
      const node = Array.from(core.matmul(core.rand([320, 288], generator), core.rand([288, 272], generator)).toTypedArray());
      expect(result.runs[3].product32, "Node's bits").to.deep.equal(node);
    } finally {
      core.setGemmKernel(previous);
    }
  });

  it("the check can fail: workers handed the wrong shared memory give different bits (and did run jobs)", async () => {
    const result = await run<{ product: number[]; jobs: number[] }>("wrongMemory");
    expect(result.jobs[0]).to.be.greaterThan(0);
    expect(result.product).to.have.length(oneThread.product32.length);
    expect(result.product).to.not.deep.equal(oneThread.product32);
    // The caller's own band (the first rows) is still right: only the workers' rows are wrong.
    expect(result.product.slice(0, 272)).to.deep.equal(oneThread.product32.slice(0, 272));
  });

  it("a page without cross-origin isolation: one thread, said explicitly (naming the worker URL), with the same bits", async () => {
    const result = await run<{
      available: boolean;
      refused: string;
      status: core.WebThreadStatus;
      platformName: string;
      run: Exercise;
    }>("fallback", { isolation: false });
    expect(result.available).to.equal(false);
    expect(result.refused).to.match(
      /^createWebThreadPlatform\(http:\/\/127\.0\.0\.1:\d+\/contrastive-ts-worker\.js\): .*crossOriginIsolated/,
    );
    expect(result.refused).to.match(/Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
    expect(result.status.state).to.equal("one thread");
    expect(result.status.reason).to.match(/crossOriginIsolated is not true, no SharedArrayBuffer/);
    expect(result.platformName).to.equal("one thread");
    expect(result.run.threads, "setNumThreads(2) cannot give threads here").to.equal(1);
    expectSameBits(result.run, oneThread, "no isolation vs 1 thread");
  });

  it("a worker URL that does not load: 'one thread' naming the URL, products on one thread, installWebThreads falls back", async () => {
    const result = await run<{ ready: core.WebThreadStatus; threads: number; installed: core.WebThreadStatus; platformName: string }>(
      "missingWorker",
      { allowedErrors: /no-such-worker\.js|404/ },
    );
    expect(result.ready.state).to.equal("one thread");
    expect(result.ready.reason).to.match(/^the worker http:\/\/127\.0\.0\.1:\d+\/no-such-worker\.js failed to load/);
    expect(result.threads).to.equal(1);
    expect(result.installed.state).to.equal("one thread");
    expect(result.installed.reason).to.match(/no-such-worker\.js failed to load/);
    expect(result.platformName, "installWebThreads put the one-thread platform back").to.equal("one thread");
  });

  it("a page's main thread (which may not block): the platform says why it is one thread, and the products run there", async () => {
    const result = await run<{ status: core.WebThreadStatus; canBlock: boolean; run: Exercise }>("main");
    expect(result.canBlock).to.equal(false);
    expect(result.status.state).to.equal("one thread");
    expect(result.status.reason).to.match(/not a dedicated Worker/);
    expect(result.run.threads).to.equal(1);
    expectSameBits(result.run, oneThread, "main thread vs 1 thread");
  });
});
