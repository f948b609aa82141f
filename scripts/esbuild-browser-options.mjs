/**
 * The esbuild options every browser bundle of this repository shares (scripts/bundle-browser.mjs for
 * the package's bundles, scripts/build-playground.mjs for the playground): one ES module per entry for
 * browsers (ES2022), source maps, no legal comments, warnings only. Each script adds its entries and
 * output. The repository's root is the working directory, so entry paths are relative to it.
 */
import { fileURLToPath } from "node:url";

/** The repository's root (an absolute path). */
export const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));

/** The shared options, to spread into `build({ ...browserBuildOptions, entryPoints, outfile })`. */
export const browserBuildOptions = {
  absWorkingDir: repositoryRoot,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  legalComments: "none",
};
