/**
 * contrastive-ts/node: what needs Node — files, the `mnist` package's digits, the trainer (run
 * directories, checkpoints), PNG output, and worker threads. Importing this module installs Node's
 * worker-thread platform for the pool (src/parallel/platform.ts), so matrix products use every core.
 *
 *   import { tensor, ntXent } from "contrastive-ts";                 // the core (any runtime)
 *   import { saveModule, loadMnist, trainRun } from "contrastive-ts/node";
 *
 * In Node, `import … from "contrastive-ts"` gives the core and this module together (./index.ts).
 *
 * @module
 */
import { setThreadPlatform } from "./parallel/platform.js";
import { nodePlatform } from "./parallel/node-platform.js";

setThreadPlatform(nodePlatform);

export { nodePlatform } from "./parallel/node-platform.js";
export * from "./io/node.js";
export { loadMnist, mnistDigitsDirectory, readMnistPackageDigits } from "./data/mnist-package.js";
export { savePng } from "./data/png.js";
export {
  CHECKPOINT_FILE,
  createRun,
  trainRun,
  saveCheckpoint,
  resumeRun,
  readCheckpointMetadata,
  limitSplit,
  type Progress,
  type Run,
} from "./methods/trainer.js";
