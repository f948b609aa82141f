/**
 * The playground in a real browser (issue 14, "Tested in a real browser"): the built page
 * (`npm run playground` → build/playground) served by scripts/static-server.mjs with COOP/COEP and a
 * Content-Security-Policy without 'unsafe-eval', trains a few hundred steps of SimCLR in its worker,
 * and must
 *   - bring the loss below its start,
 *   - draw every panel (SVG elements in the loss, similarity and PCA plots; ink on every canvas),
 *   - say nothing on the console (no error, no CSP violation, no failed request),
 *   - stay responsive: a key press on a slider is handled while it trains, and the page's frames keep coming,
 *   - download a checkpoint that Node loads as `contrastive eval` does (resumeRun) with the page's weights, bit for bit,
 *   - load that checkpoint back (the loss history returns with it).
 * Under `script-src 'self'` alone (no WebAssembly) the page still trains, on the scalar kernel; cross-origin
 * isolated, the products run on the pool's Web Workers, and without isolation on one thread, which the page says.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "puppeteer-core";
import { launchBrowser, repositoryRoot, serve, type StaticServer, watchConsole } from "./support/browser.js";
import { readCheckpointMetadata, resumeRun, CHECKPOINT_FILE } from "../../src/methods/trainer.js";

/** What the page exposes as window.playground (PlaygroundProbe in playground/main.ts; the spec does not compile the page). */
interface PlaygroundProbe {
  status: string;
  losses: number[];
  drawn: Record<string, number>;
  knnAccuracy: number;
  lastDownload: { epoch: number; step: number; bytes: number } | null;
  checkpointWeights(): Promise<{ epoch: number; tensors: Record<string, number[]> }>;
  errors: string[];
}

/** The probe the page exposes as window.playground (playground/main.ts). */
const probe = (page: Page) =>
  page.evaluate(() => (window as unknown as { playground: Omit<PlaygroundProbe, "checkpointWeights"> }).playground);

/** Set a number input of the controls. */
async function setInput(page: Page, id: string, value: string): Promise<void> {
  await page.$eval(`#${id}`, (input, text) => {
    (input as HTMLInputElement).value = text;
  }, value);
}

/** Pixels of a canvas that are not white (the panel drew something). */
function inkedPixels(page: Page, id: string): Promise<number> {
  return page.$eval(`#${id}`, (canvas) => {
    const element = canvas as HTMLCanvasElement;
    const data = element.getContext("2d")!.getImageData(0, 0, element.width, element.height).data;
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) inked++;
    return inked;
  });
}

describe("the playground in chromium (npm run playground; a CSP without unsafe-eval)", function() {
  this.timeout(300_000);
  const folder = join(repositoryRoot(), "build", "playground");
  let browser: Browser;
  let context: BrowserContext;
  let server: StaticServer;
  let page: Page;
  let log: ReturnType<typeof watchConsole>;
  let downloads: string;

  before(async function() {
    for (const file of ["index.html", "main.js", "train-worker.js", "mnist-digits.bin"]) {
      if (!existsSync(join(folder, file))) {
        throw new Error(`browser specs: ${join(folder, file)} is missing (npm run playground builds it)`);
      }
    }
    server = await serve(folder, { csp: "script-src 'self' 'wasm-unsafe-eval'" });
    browser = await launchBrowser();
    downloads = mkdtempSync(join(tmpdir(), "contrastive-downloads-"));
    context = await browser.createBrowserContext({ downloadBehavior: { policy: "allow", downloadPath: downloads } });
    page = await context.newPage();
    await page.setViewport({ width: 1400, height: 1300 });
    log = watchConsole(page);
    await page.goto(server.url, { waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset.status === "idle", { timeout: 120_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("trains SimCLR a few hundred steps: the loss falls below its start, every panel draws, the page stays responsive", async () => {
    // Cross-origin isolated: the training worker runs the products on the pool's Web Workers (one per core).
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = await page.$eval("#threads", (element) => element.textContent ?? "");
    if (cores > 1) expect(threads).to.match(/on \d+ threads \(the pool's Web Workers: \d+ workers? beside this one\)/);
    else expect(threads).to.match(/on 1 thread/);
    expect(await page.$eval("#method", (select) => (select as HTMLSelectElement).value)).to.equal("simclr");
    const methods = await page.$$eval("#method option", (options) => options.map((option) => (option as HTMLOptionElement).value));
    expect(methods).to.deep.equal(["simclr", "moco", "byol", "clip", "supcon", "barlow", "vicreg", "simsiam", "dino", "swav"]);
    await setInput(page, "batchSize", "32");
    await setInput(page, "trainLimit", "1024"); // 32 steps an epoch
    await setInput(page, "epochs", "12");
    await page.click("#start");
    await page.waitForFunction(() => document.body.dataset.status === "running", { timeout: 30_000 });

    // Responsive while training: the page's frames keep coming, and a key press on the τ slider is handled.
    await page.waitForFunction(() => (window as unknown as { playground: PlaygroundProbe }).playground.losses.length >= 30, {
      timeout: 120_000,
    });
    const longestFrameGap = await page.evaluate(() =>
      new Promise<number>((resolve) => {
        let last = performance.now();
        let longest = 0;
        const started = last;
        const frame = (now: number) => {
          longest = Math.max(longest, now - last);
          last = now;
          if (now - started < 3000) requestAnimationFrame(frame);
          else resolve(longest);
        };
        requestAnimationFrame(frame);
      })
    );
    expect(longestFrameGap, "the longest gap between two frames while training (ms)").to.be.below(1000);
    const before = await page.$eval("#tauLoss", (element) => element.textContent);
    await page.focus("#tau");
    const pressed = Date.now();
    for (let i = 0; i < 20; i++) await page.keyboard.press("ArrowLeft");
    await page.waitForFunction((text) => document.getElementById("tauLoss")!.textContent !== text, { timeout: 5000 }, before);
    const handledAfter = Date.now() - pressed;
    expect(handledAfter, "ms from the key presses to the updated readout").to.be.below(5000);
    expect(await page.evaluate(() => document.body.dataset.status)).to.equal("running");
    expect(await page.$eval("#tauLoss", (element) => element.textContent)).to.match(/^τ = 0\.\d+: p₊ = [\d.]+, ℓ = −log p₊ = [\d.]+/);

    await page.waitForFunction(() => (window as unknown as { playground: PlaygroundProbe }).playground.losses.length >= 300, {
      timeout: 240_000,
    });
    await page.waitForFunction(() => (window as unknown as { playground: PlaygroundProbe }).playground.drawn.pca >= 2, {
      timeout: 60_000,
    });
    const state = await probe(page);
    const start = state.losses[0];
    const last20 = state.losses.slice(-20);
    const mean = last20.reduce((sum, value) => sum + value, 0) / last20.length;
    expect(start).to.be.closeTo(Math.log(63), 0.5); // log(2N − 1) at N = 32: nothing learned yet
    expect(mean, "mean loss of the last 20 steps against the first step's").to.be.below(start - 0.3);
    expect(state.knnAccuracy).to.be.within(0.3, 1);
    expect(state.errors).to.deep.equal([]);

    // Every plot has content: SVG elements of the report's classes, ink on every canvas.
    expect(await page.$$eval("#loss svg polyline.loss-per-step, #loss svg path.loss-per-step", (lines) => lines.length)).to.be.at.least(1);
    expect(await page.$$eval("#similarity svg rect", (cells) => cells.length)).to.be.at.least(30 * 30);
    expect(await page.$$eval("#pca svg circle.point", (points) => points.length)).to.equal(500);
    for (const canvas of ["knn", "views", "softmax"]) expect(await inkedPixels(page, canvas), `ink on #${canvas}`).to.be.above(200);
    expect(await page.$$eval("#health tr", (rows) => rows.length)).to.equal(5);
    expect(await page.$eval("#verdict", (element) => element.textContent)).to.match(/^collapse monitor: (not )?collapsing/);
    expect(log.errors).to.deep.equal([]);
  });

  it("downloads the CLI's checkpoint: Node loads it as `contrastive eval` does, with the page's weights bit for bit", async () => {
    await page.waitForFunction(() => !(document.getElementById("download") as HTMLButtonElement).disabled, { timeout: 60_000 });
    await page.click("#pause");
    await page.waitForFunction(() => document.body.dataset.status === "paused", { timeout: 30_000 });
    await page.click("#download");
    await page.waitForFunction(() => (window as unknown as { playground: PlaygroundProbe }).playground.lastDownload !== null, {
      timeout: 30_000,
    });
    const file = join(downloads, CHECKPOINT_FILE);
    const deadline = Date.now() + 30_000;
    while (!(existsSync(file) && readdirSync(downloads).every((name) => !name.endsWith(".crdownload"))) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(existsSync(file), `${file} downloaded`).to.equal(true);
    const download = (await probe(page)).lastDownload!;
    const metadata = readCheckpointMetadata(file);
    expect(metadata.method).to.equal("simclr");
    expect(Number(metadata.epoch)).to.equal(download.epoch);
    expect(Number(metadata.step)).to.equal(download.step);
    expect(download.step).to.equal(download.epoch * 32);

    const run = resumeRun(downloads, {}, "eval"); // what `contrastive eval DIR` does first: every field and tensor checked
    const pageWeights = await page.evaluate(() => (window as unknown as { playground: PlaygroundProbe }).playground.checkpointWeights());
    expect(pageWeights.epoch).to.equal(download.epoch);
    const nodeWeights = Object.fromEntries([...run.method.stateDict()].map(([key, value]) => [key, Array.from(value.toTypedArray())]));
    expect(Object.keys(pageWeights.tensors).sort()).to.deep.equal(Object.keys(nodeWeights).sort());
    for (const [key, values] of Object.entries(nodeWeights)) expect(pageWeights.tensors[key], key).to.deep.equal(values);
    expect(run.state.lossPerStep).to.have.length(download.step);
    expect(log.errors).to.deep.equal([]);
  });

  it("loads the checkpoint back: the run, its settings and its loss history return", async () => {
    await page.click("#reset");
    await page.waitForFunction(() => document.body.dataset.status === "idle", { timeout: 30_000 });
    const input = await page.$("#load");
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(join(downloads, CHECKPOINT_FILE));
    await page.waitForFunction(() => document.body.dataset.status === "paused", { timeout: 60_000 });
    const download = (await probe(page)).lastDownload!;
    await page.waitForFunction(
      (steps) => (window as unknown as { playground: PlaygroundProbe }).playground.losses.length === steps,
      { timeout: 30_000 },
      download.step,
    );
    expect(await page.$eval("#status", (element) => element.textContent)).to.match(
      /loaded checkpoint\.safetensors: simclr, epoch \d+ of 12/,
    );
    expect(await page.$eval("#batchSize", (input) => (input as HTMLInputElement).value)).to.equal("32");
    expect(log.errors).to.deep.equal([]);
  });
});

describe("the playground under script-src 'self' alone (no WebAssembly: the scalar kernel)", function() {
  this.timeout(300_000);

  it("without cross-origin isolation: one thread, and the page says why", async () => {
    const server = await serve(join(repositoryRoot(), "build", "playground"), { csp: "script-src 'self'", isolation: false });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const log = watchConsole(page);
      await page.goto(server.url, { waitUntil: "load" });
      await page.waitForFunction(() => document.body.dataset.status === "idle", { timeout: 120_000 });
      expect(await page.$eval("#threads", (element) => element.textContent)).to.match(
        /on 1 thread \(one thread: the page is not cross-origin isolated \(serve it with COOP\/COEP\)\)/,
      );
      expect(log.errors).to.deep.equal([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it("loads, trains a few steps and draws, with nothing on the console", async () => {
    const server = await serve(join(repositoryRoot(), "build", "playground"), { csp: "script-src 'self'" });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const log = watchConsole(page);
      await page.goto(server.url, { waitUntil: "load" });
      await page.waitForFunction(() => document.body.dataset.status === "idle", { timeout: 120_000 });
      expect(await page.$eval("#threads", (element) => element.textContent)).to.match(/the scalar kernel on \d+ threads? /);

      // Bad input is refused with the value named, before anything trains; so is a file that is no checkpoint.
      await setInput(page, "batchSize", "1");
      await page.click("#start");
      await page.waitForFunction(() => document.getElementById("error")!.textContent !== "", { timeout: 30_000 });
      expect(await page.$eval("#error", (element) => element.textContent)).to.equal("train: --batch-size must be an integer ≥ 2, got 1");
      expect(await page.evaluate(() => document.body.dataset.status)).to.equal("idle");
      const notACheckpoint = join(mkdtempSync(join(tmpdir(), "contrastive-upload-")), "notes.safetensors");
      writeFileSync(notACheckpoint, "not a checkpoint");
      await (await page.$("#load") as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(notACheckpoint);
      await page.waitForFunction(() => /notes\.safetensors/.test(document.getElementById("error")!.textContent ?? ""), { timeout: 30_000 });
      expect(await page.$eval("#error", (element) => element.textContent)).to.match(
        /^loadSafetensors: 'notes\.safetensors' is not a valid safetensors file: the header length is \d+ bytes/,
      );

      await setInput(page, "batchSize", "16");
      await page.click("#start");
      await page.waitForFunction(() => (window as unknown as { playground: PlaygroundProbe }).playground.losses.length >= 5, {
        timeout: 120_000,
      });
      const state = await probe(page);
      expect(state.drawn.similarity).to.be.at.least(1);
      expect(state.losses.every(Number.isFinite)).to.equal(true);
      expect(log.errors).to.deep.equal([]);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
