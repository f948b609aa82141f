/**
 * contrastive-ts in Node: the core (./core.ts: runs in any JavaScript runtime) and the Node part
 * (./node.ts: files, the MNIST package, the trainer, worker threads) in one module. This is what
 * `import … from "contrastive-ts"` loads in Node (the `node` condition of package.json `exports`);
 * browsers and bundlers get ./core.ts, and `contrastive-ts/node` is ./node.ts alone.
 *
 * @module
 */
export * from "./core.js";
export * from "./node.js";
// `data` here is the Node data layer (./data/node.ts: the core's `data` plus loadMnist and PNG output);
// this explicit export takes precedence over the core's `data` that `export *` would bring.
export * as data from "./data/node.js";
