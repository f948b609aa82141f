/**
 * The main entry in a browser (issue 14, "The package in the browser"):
 *
 *   1. bundled by esbuild for `platform: "browser"`, nothing it reaches imports a `node:` module
 *      (or a bare Node built-in such as "fs");
 *   2. it runs where a page with `Content-Security-Policy: script-src 'self'` runs it: no `eval`, no
 *      `new Function`, no WebAssembly compilation (a CSP without 'wasm-unsafe-eval' refuses that too).
 *      The bundle is run in a `vm` context created with `codeGeneration: { strings: false, wasm: false }`
 *      (V8's own switch, the one a CSP sets), with only what a page has: no `process`, `Buffer` or
 *      `require`. There it builds a model, runs a forward pass, a loss, a backward pass and an
 *      optimizer step, round-trips safetensors and the digits binary through bytes; every number must
 *      equal the same computation in this process, bit for bit.
 *
 * The check can fail: the same context refuses `new Function` and scijs `ndarray` (which compiles
 * its view classes with `new Function`) with an EvalError — what the library did before
 * src/tensor/strided.ts.
 */
import { expect } from "chai";
import { build, type Metafile } from "esbuild";
import { builtinModules } from "node:module";
import vm from "node:vm";
import * as core from "../../src/core.js";

const root = new URL("../../../", import.meta.url).pathname;
const mainEntry = "build/src/core.js"; // the compiled src/core.ts (package.json: exports["."].browser and .default)

/** Bundle `entry` for a browser; esbuild's metafile says which file imported what. */
async function bundleForBrowser(entry: string, format: "esm" | "iife"): Promise<{ code: string; metafile: Metafile }> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    globalName: format === "iife" ? "contrastive" : undefined,
    platform: "browser",
    target: "es2022",
    metafile: true,
    logLevel: "silent",
    // Kept out of the bundle rather than failing the build, so that the spec can name who imports them.
    external: ["node:*", ...builtinModules],
    // A script (iife) has no import.meta; a module on a page has its own URL there.
    define: format === "iife" ? { "import.meta.url": JSON.stringify("https://example.test/contrastive-ts.js") } : {},
  });
  return { code: result.outputFiles![0].text, metafile: result.metafile! };
}

/** A context with what a page has and no more, refusing code generation from strings and WebAssembly as a strict CSP does. */
function cspContext(): vm.Context {
  const page = { console, TextEncoder, TextDecoder, URL, performance, setTimeout, clearTimeout, queueMicrotask, structuredClone };
  return vm.createContext(page, { codeGeneration: { strings: false, wasm: false } });
}

/** The computation run in both places: a Linear layer, NT-Xent, backward, one Adam step, safetensors and digits round trips. */
function exercise(api: typeof core): Record<string, unknown> {
  const generator = new api.Generator(7);
  const layer = new api.Linear(6, 4, { generator });
  const x1 = api.randn([5, 6], generator);
  const x2 = x1.add(api.randn([5, 6], generator).mul(0.1));
  const loss = api.ntXent(layer.forward(x1), layer.forward(x2), { temperature: 0.5 });
  loss.backward();
  const gradient = Array.from(layer.weight.grad!.toTypedArray());
  new api.Adam(layer.parameters(), { lr: 0.01 }).step();
  const bytes = api.serializeSafetensors({ weight: layer.weight, bias: layer.bias! }, { step: "1" });
  const parsed = api.parseSafetensors(bytes);
  const blocks = Array.from({ length: 10 }, (_, d) => Float32Array.from({ length: 784 * 5 }, (_, i) => ((i * 7 + d) % 256) / 255));
  for (const block of blocks) for (let i = 0; i < block.length; i++) block[i] = Math.round(block[i] * 1000) / 1000;
  const digits = api.data.mnistFromBytes(api.data.encodeMnistDigits(blocks));
  return {
    loss: loss.item(),
    gradient,
    weight: Array.from(parsed.tensors.get("weight")!.toTypedArray()),
    metadata: parsed.metadata,
    digits: [digits.train.count, digits.test.count, Array.from(digits.test.images.subarray(0, 20))],
    threads: api.getNumThreads(),
  };
}

describe("the main entry in a browser (esbuild, platform browser; a strict CSP)", function() {
  this.timeout(120000);

  it("bundles for platform browser with no node: import anywhere in what it reaches", async () => {
    const { metafile } = await bundleForBrowser(mainEntry, "esm");
    const offenders = Object.entries(metafile.inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => i.external && (i.path.startsWith("node:") || builtinModules.includes(i.path))).map((i) =>
        `${file} imports ${i.path}`
      )
    );
    expect(offenders, offenders.join("\n")).to.deep.equal([]);
    expect(Object.keys(metafile.inputs).length).to.be.greaterThan(50); // it did bundle the library
  });

  it("the pool's Web Worker entry and the task modules it carries reach no node: module either", async () => {
    for (
      const entry of [
        "build/src/parallel/web-worker.js",
        "build/src/ops/gemm-worker-task.js",
        "build/src/losses/tiled-blocks.js",
        "build/src/losses/nt-xent-rows.js",
      ]
    ) {
      const { metafile } = await bundleForBrowser(entry, "esm");
      const external = Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
      expect(external, entry).to.deep.equal([]);
    }
  });

  it("the check can fail: the Node entry (src/node.ts) is refused, naming the files that import node: modules", async () => {
    const { metafile } = await bundleForBrowser("build/src/node.js", "esm");
    const imported = Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
    expect(imported).to.include.members(["node:fs", "node:worker_threads"]);
  });

  it("runs under a strict CSP (no eval, new Function or WebAssembly): forward, loss, backward, step; the same bits as here", async () => {
    const { code } = await bundleForBrowser(mainEntry, "iife");
    const context = cspContext();
    vm.runInContext(code, context, { filename: "contrastive-ts.browser.js" });
    const inPage = vm.runInContext(`JSON.stringify((${exercise.toString()})(contrastive))`, context) as string;
    // The page cannot compile WebAssembly, so its products run on the scalar kernel: compare with that kernel here.
    expect(vm.runInContext("contrastive.getGemmKernel()", context), "the page falls back to the scalar kernel").to.equal("scalar");
    const previousKernel = core.setGemmKernel("scalar");
    let here: Record<string, unknown>;
    try {
      here = JSON.parse(JSON.stringify(exercise(core))) as Record<string, unknown>;
    } finally {
      core.setGemmKernel(previousKernel);
    }
    const page = JSON.parse(inPage) as Record<string, unknown>;
    expect(page.threads, "no workers without a platform").to.equal(1);
    delete here.threads;
    delete page.threads;
    expect(page).to.deep.equal(here);
    expect(Number.isFinite(page.loss as number)).to.equal(true);
  });

  it("the check can fail: that context refuses new Function, WebAssembly, and scijs ndarray (EvalError)", async () => {
    const context = cspContext();
    expect(() => vm.runInContext(`new Function("return 1")()`, context)).to.throw(/Code generation from strings disallowed/);
    const wasm = "new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))";
    expect(() => vm.runInContext(wasm, context)).to.throw(/Wasm code generation disallowed/);
    const { code } = await build({
      stdin: { contents: `import ndarray from "ndarray"; ndarray(new Float32Array(4), [2, 2]);`, resolveDir: root },
      bundle: true,
      write: false,
      format: "iife",
      platform: "browser",
      logLevel: "silent",
    }).then((result) => ({ code: result.outputFiles![0].text }));
    expect(() => vm.runInContext(code, context)).to.throw(/Code generation from strings disallowed/);
  });
});
