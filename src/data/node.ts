/**
 * The data layer in Node: everything of ./index.ts, plus `loadMnist` (the `mnist` package's files)
 * and PNG output (zlib, files). The Node entry exposes this as `data`.
 *
 * @module
 */
export * from "./index.js";
export * from "./mnist-package.js";
export * from "./png.js";
