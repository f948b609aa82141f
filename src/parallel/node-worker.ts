/**
 * Worker entry for Node (`worker_threads`): a standalone module the pool starts with `new Worker(url)`.
 * Everything Node-specific of the worker side is here; the loop itself is ./worker-loop.ts.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import type { GenerationMessage, WorkerInit } from "./protocol.js";
import { reportExit, runWorker } from "./worker-loop.js";

const init = workerData as WorkerInit;
const queue: GenerationMessage[] = [];
let waiting: ((message: GenerationMessage) => void) | null = null;
parentPort!.on("message", (message: GenerationMessage) => {
  if (waiting !== null) {
    const resolve = waiting;
    waiting = null;
    resolve(message);
  } else queue.push(message);
});
const nextMessage = (): Promise<GenerationMessage> =>
  queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => (waiting = resolve));

process.on("exit", (code) => reportExit(init, `parallel: worker ${init.worker} exited (code ${code})`));
void runWorker(init, nextMessage);
