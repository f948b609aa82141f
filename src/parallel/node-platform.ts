/**
 * The caller side's platform part, for Node (./platform.ts): how many cores there are, whether this
 * thread may block in `Atomics.wait`, and how to start a worker. Installed by the Node entry
 * (src/node.ts); the main entry never imports this file, so a browser bundle has no `node:` module.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { isMainThread, Worker } from "node:worker_threads";
import type { ThreadPlatform, WorkerHandle } from "./platform.js";
import type { WorkerInit } from "./protocol.js";

/**
 * Start the worker entry with its control block. `unref()`: an idle pool does not keep the process
 * alive, and Node ends the workers when the main thread is done. `onExit` runs (on the caller's
 * event loop, later) if the thread ends or fails to start.
 */
function startWorker(init: WorkerInit, onExit: (reason: string) => void): WorkerHandle {
  // The worker inherits Node's flags, except when they are about an inline main script: with
  // `node --input-type=module -e …` a worker given a file would refuse to start.
  const inline = process.execArgv.some((flag) => /^(-e|-p|--eval|--print|--input-type)/.test(flag));
  const worker = new Worker(new URL("./node-worker.js", import.meta.url), { workerData: init, ...(inline ? { execArgv: [] } : {}) });
  worker.unref();
  worker.on("error", (error) => onExit(`worker ${init.worker} failed: ${error.message}`));
  worker.on("exit", (code) => onExit(`worker ${init.worker} exited with code ${code}`));
  return { post: (message) => worker.postMessage(message), terminate: () => void worker.terminate() };
}

/**
 * Node's platform: `os.availableParallelism()` cores; workers never start pools of their own (a
 * nested product runs on the worker's own thread); Node's main thread may block in Atomics.wait.
 */
export const nodePlatform: ThreadPlatform = {
  name: "node",
  availableCores: () => availableParallelism(),
  insideWorker: () => !isMainThread,
  canBlock: () => true,
  startWorker,
};
