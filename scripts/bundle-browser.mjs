#!/usr/bin/env node
/**
 * The browser bundle: the core entry (src/core.ts, everything that runs in any JavaScript runtime)
 * as one ES module, dist/browser/contrastive-ts.js, plus a minified copy (contrastive-ts.min.js),
 * each with a source map into the shipped src/. A page uses it without a bundler:
 *
 *   <script type="module">
 *     import { tensor, ntXent } from "./contrastive-ts.js";
 *   </script>
 *
 * `npm run build` runs this after tsc (`npm pack` runs the build). The bundle has no `node:` import
 * and no run-time code generation, which spec/package/browser.spec.ts checks on the bundle itself.
 * esbuild is a dev dependency: users of the package never need it.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const common = {
  absWorkingDir: root,
  entryPoints: ["src/core.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  legalComments: "none",
};
await build({ ...common, outfile: "dist/browser/contrastive-ts.js" });
await build({ ...common, outfile: "dist/browser/contrastive-ts.min.js", minify: true });
