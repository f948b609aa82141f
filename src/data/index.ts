/**
 * The data layer: MNIST digits, augmentations, captions and tokenizer, seeded loaders, PNG output.
 * See docs/data.md for what each piece does and why.
 *
 * @module
 */
export * from "./mnist.js";
export * from "./augment.js";
export * from "./captions.js";
export * from "./loader.js";
export * from "./png.js";
