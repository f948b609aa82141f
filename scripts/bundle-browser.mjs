#!/usr/bin/env node
/**
 * The browser bundle: the core entry (src/core.ts, everything that runs in any JavaScript runtime)
 * as one ES module, dist/browser/contrastive-ts.js, plus a minified copy (contrastive-ts.min.js),
 * each with a source map into the shipped src/; and the worker pool's Web Worker entry as
 * dist/browser/contrastive-ts-worker.js. A page uses them without a bundler:
 *
 *   <script type="module">
 *     import { tensor, ntXent } from "./contrastive-ts.js";
 *   </script>
 *
 *   // in a dedicated Worker of the page (a training worker), for products on every core:
 *   import { installWebThreads } from "./contrastive-ts.js";
 *   await installWebThreads({ workerUrl: new URL("./contrastive-ts-worker.js", import.meta.url) });
 *
 * `npm run build` runs this after tsc (`npm pack` runs the build). The bundles have no `node:` import
 * and no run-time code generation, which spec/package/browser.spec.ts checks on the bundle itself.
 * esbuild is a dev dependency: users of the package never need it.
 */
import { build } from "esbuild";
import { browserBuildOptions, repositoryRoot as root } from "./esbuild-browser-options.mjs";

const common = { ...browserBuildOptions, entryPoints: ["src/core.ts"] };
await build({ ...common, outfile: "dist/browser/contrastive-ts.js" });
await build({ ...common, outfile: "dist/browser/contrastive-ts.min.js", minify: true });

// The pool's Web Worker (src/parallel/web-worker.ts) with the library's own task modules built in:
// they register their bodies by name (registerBuiltinTask), so the worker never imports the URLs the
// bundled core gives its tasks, which are no files of their own. One file, next to the core bundle.
const workerEntry = {
  contents: [
    `import "./src/parallel/web-worker.ts";`,
    `import "./src/ops/gemm-worker-task.ts";`,
    `import "./src/losses/tiled-blocks.ts";`,
    `import "./src/losses/nt-xent-rows.ts";`,
  ].join("\n"),
  resolveDir: root,
  sourcefile: "contrastive-ts-worker.js",
  loader: "js",
};
await build({ ...common, entryPoints: undefined, stdin: workerEntry, outfile: "dist/browser/contrastive-ts-worker.js" });
