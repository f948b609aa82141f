/**
 * The data layer: MNIST digits, augmentations, captions and tokenizer, seeded loaders.
 * See docs/data.md for what each piece does and why.
 *
 * This barrel works in any JavaScript runtime (the digits come from bytes: `mnistFromBytes`). The
 * parts that read or write files — `loadMnist` (the `mnist` package's files) and the PNG writer —
 * are in ./node.ts, which the Node entry exposes as `data`.
 *
 * @module
 */
export * from "./mnist.js";
export * from "./augment.js";
export * from "./captions.js";
export * from "./loader.js";
