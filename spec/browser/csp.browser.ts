/**
 * The browser bundle in a real browser (issue 14, "The package in the browser"): a page served with
 * `Content-Security-Policy: script-src 'self'` imports dist/browser/contrastive-ts.js, trains a step
 * and multiplies float32 matrices; every number must equal the same computation in Node, bit for bit.
 *
 *   script-src 'self'                        no eval, no WebAssembly: the float32 products run on the
 *                                            scalar kernel, and must equal Node's scalar kernel
 *   script-src 'self' 'wasm-unsafe-eval'     WebAssembly allowed: the SIMD kernel, equal to Node's
 *
 * Products are plain IEEE multiplications and additions, so they must be the same bits. The loss and its
 * gradient go through Math.exp and Math.log, which Node 20's V8 (fdlibm) and Chromium's V8 round
 * differently in the last bit for some arguments, so those are compared to 1e-12 relative. The
 * inputs are uniform draws (`rand`), which use no transcendental function and are the same bits.
 *
 * The page also tries `eval` and reports whether the policy stopped it, so the spec knows the
 * policy was really in force (without that the first case could pass for the wrong reason).
 */
import { expect } from "chai";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import * as core from "../../src/core.js";
import { launchBrowser, repositoryRoot, serve, type StaticServer, watchConsole } from "./support/browser.js";

/** What the page and Node both compute; the page's copy is the same source, bundled (see PAGE below). */
function exercise(api: typeof core) {
  const generator = new api.Generator(11);
  const layer = new api.Linear(12, 8, { generator, dtype: "float64" });
  const x1 = api.rand([6, 12], generator, { dtype: "float64" });
  const x2 = x1.add(api.rand([6, 12], generator, { dtype: "float64" }).mul(0.1));
  const loss = api.ntXent(layer.forward(x1), layer.forward(x2), { temperature: 0.5 });
  loss.backward();
  const a = api.rand([64, 96], generator, { dtype: "float32" });
  const b = api.rand([96, 80], generator, { dtype: "float32" });
  return {
    kernel: api.getGemmKernel(),
    loss: loss.item(),
    weightGrad: Array.from(layer.weight.grad!.toTypedArray()),
    product: Array.from(api.matmul(a, b).toTypedArray()),
  };
}

/** The page's module: no inline script anywhere, so `script-src 'self'` is enough. */
const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>csp</title><link rel="icon" href="data:,">
<script type="module" src="./page.js"></script></head><body>running</body></html>`;
const PAGE_JS = `import * as api from "./contrastive-ts.js";
${exercise.toString()}
let evalBlocked = false;
try { (0, eval)("1"); } catch (error) { evalBlocked = error instanceof EvalError; }
window.result = { ...exercise(api), evalBlocked };
document.body.textContent = "done";`;

describe("the browser bundle in chromium, under a strict Content-Security-Policy", function() {
  this.timeout(120_000);
  let browser: Browser;
  let folder: string;

  before(async function() {
    const bundle = join(repositoryRoot(), "dist", "browser", "contrastive-ts.js");
    if (!existsSync(bundle)) throw new Error(`browser specs: ${bundle} is missing (npm run build writes it)`);
    folder = mkdtempSync(join(tmpdir(), "contrastive-csp-"));
    copyFileSync(bundle, join(folder, "contrastive-ts.js"));
    writeFileSync(join(folder, "index.html"), PAGE_HTML);
    writeFileSync(join(folder, "page.js"), PAGE_JS);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  /** Load the page under `csp` and return what it computed. */
  async function runPage(csp: string): Promise<ReturnType<typeof exercise> & { evalBlocked: boolean }> {
    const server: StaticServer = await serve(folder, { csp });
    const page = await browser.newPage();
    try {
      const log = watchConsole(page);
      await page.goto(server.url, { waitUntil: "load" });
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, { timeout: 60_000 });
      const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
      // The blocked eval is reported by the browser as a CSP violation on the console; nothing else may be.
      expect(log.errors.filter((line) => !/Content Security Policy|unsafe-eval/i.test(line))).to.deep.equal([]);
      return result as ReturnType<typeof exercise> & { evalBlocked: boolean };
    } finally {
      await page.close();
      await server.close();
    }
  }

  /** Node's numbers on the given float32 kernel. */
  function inNode(kernel: core.GemmKernelName): ReturnType<typeof exercise> {
    const previous = core.setGemmKernel(kernel);
    try {
      return exercise(core);
    } finally {
      core.setGemmKernel(previous);
    }
  }

  /** The loss and its gradient agree to 1e-12 relative (exp/log may differ in the last bit, see the header). */
  function expectClose(page: ReturnType<typeof exercise>, node: ReturnType<typeof exercise>): void {
    expect(page.loss).to.be.closeTo(node.loss, 1e-12 * Math.abs(node.loss));
    expect(page.weightGrad).to.have.length(node.weightGrad.length);
    const scale = Math.max(...node.weightGrad.map(Math.abs));
    page.weightGrad.forEach((value, i) => expect(value, `weight gradient [${i}]`).to.be.closeTo(node.weightGrad[i], 1e-12 * scale));
  }

  it("script-src 'self': eval is refused, WebAssembly too, and the scalar kernel gives Node's bits", async () => {
    const page = await runPage("script-src 'self'");
    expect(page.evalBlocked, "the policy must refuse eval").to.equal(true);
    expect(page.kernel).to.equal("scalar");
    const node = inNode("scalar");
    expectClose(page, node);
    expect(page.product).to.deep.equal(node.product);
  });

  it("script-src 'self' 'wasm-unsafe-eval': the WebAssembly SIMD kernel runs and gives Node's bits", async () => {
    const page = await runPage("script-src 'self' 'wasm-unsafe-eval'");
    expect(page.evalBlocked, "the policy must still refuse eval").to.equal(true);
    expect(page.kernel).to.equal("wasm");
    const node = inNode("wasm");
    expectClose(page, node);
    expect(page.product).to.deep.equal(node.product);
    // The two kernels round differently, so equal products here mean the page really used the one it names.
    expect(page.product).to.not.deep.equal(inNode("scalar").product);
  });
});
