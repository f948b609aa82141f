/**
 * Worker entry for a browser (a module Web Worker): what ./web-platform.ts starts with
 * `new Worker(url, { type: "module" })`; the browser twin of ./node-worker.ts. The loop itself is
 * ./worker-loop.ts. Shipped bundled, with the library's task modules built in, as
 * dist/browser/contrastive-ts-worker.js (scripts/bundle-browser.mjs); unbundled (dist/parallel/web-worker.js)
 * it imports each task's module by its URL, as Node's worker does.
 *
 *   on load            post { kind: "loaded" }
 *   { kind: "share" }  a first SharedArrayBuffer arrives (a browser delivers it only while the creator is free):
 *                      post { kind: "shared" }; the platform now counts this worker as up
 *   { kind: "init" }   the pool's control block: run the worker loop, which blocks in Atomics.wait between jobs
 *   { kind: "generation" }  queued, and read by the loop when a job needs a new generation (it awaits then,
 *                      which lets this worker's event loop deliver them)
 *
 * @module
 */
import type { GenerationMessage } from "./protocol.js";
import type { FromWebWorker, ToWebWorker } from "./web-platform.js";
import { runWorker } from "./worker-loop.js";

/** The parts of a dedicated worker's global scope this entry uses (the project compiles without the WebWorker library). */
interface WorkerScope {
  postMessage(message: FromWebWorker): void;
  addEventListener(type: "message", listener: (event: { data: ToWebWorker }) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
if (typeof scope.postMessage !== "function" || typeof (globalThis as { document?: unknown }).document !== "undefined") {
  throw new Error("contrastive-ts web-worker: this module is a Web Worker's entry (new Worker(url, { type: \"module\" })), not a page's");
}

const queue: GenerationMessage[] = [];
let waiting: ((message: GenerationMessage) => void) | null = null;
let running = false;
const nextMessage = (): Promise<GenerationMessage> =>
  queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => (waiting = resolve));

scope.addEventListener("message", (event) => {
  const message = event.data;
  if (message.kind === "share") {
    scope.postMessage({ kind: "shared" });
  } else if (message.kind === "init") {
    if (running) return;
    running = true;
    void runWorker(message.init, nextMessage);
  } else if (waiting !== null) {
    const resolve = waiting;
    waiting = null;
    resolve(message.message);
  } else queue.push(message.message);
});
scope.postMessage({ kind: "loaded" });
