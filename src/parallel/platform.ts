/**
 * The platform hook of the worker pool: what the pool needs from the JavaScript runtime it runs on
 * (how many cores, whether this thread may block in `Atomics.wait`, how to start a worker), behind
 * one small interface, so that the pool itself imports no runtime module and the library's main
 * entry stays loadable in a browser.
 *
 *   the default          one thread: no workers, products run on the caller (every runtime)
 *   Node                 ./node-platform.ts (`worker_threads`), installed by the Node entry
 *                        (src/node.ts, `contrastive-ts/node`; `contrastive-ts` in Node installs it too)
 *   a browser            ./web-platform.ts (`new Worker(url, { type: "module" })`), installed with
 *                        `setThreadPlatform(createWebThreadPlatform({ workerUrl }))` or `installWebThreads`;
 *                        it needs cross-origin isolation (SharedArrayBuffer) and refuses to block on the
 *                        page's main thread (`canBlock`: false there), so it pays off in a dedicated Worker
 *
 * Results are the same bits with or without workers (docs/performance.md, "The worker pool"), so the
 * platform changes the speed only.
 *
 * @module
 */
import type { GenerationMessage, WorkerInit } from "./protocol.js";

/** A started worker, seen from the caller. */
export interface WorkerHandle {
  post(message: GenerationMessage): void;
  terminate(): void;
}

/** What the pool needs from the runtime. */
export interface ThreadPlatform {
  /** A name for messages ("node", "one thread", …). */
  readonly name: string;
  /** How many threads can run at once (the default thread count). */
  availableCores(): number;
  /** True on a worker thread: workers never start pools of their own. */
  insideWorker(): boolean;
  /** Whether this thread may block in `Atomics.wait` (a browser page's main thread may not). */
  canBlock(): boolean;
  /** Start the worker entry with its control block; `onExit` runs later if the thread ends or fails to start. */
  startWorker(init: WorkerInit, onExit: (reason: string) => void): WorkerHandle;
  /**
   * Optional: how many workers `startWorker` can hand out that will run a job even while this thread
   * blocks in `Atomics.wait`, counting those already handed out; when that is fewer than `wanted`, the
   * platform starts more in the background. The pool then uses at most 1 + that many threads. A browser
   * needs it: a worker neither loads nor receives its first SharedArrayBuffer while its creator blocks,
   * so its workers are started ahead (./web-platform.ts). Absent (Node): any number, started on demand.
   */
  workersReady?(wanted: number): number;
}

/** The default: no workers at all, so every parallel call runs on the calling thread. */
export const oneThreadPlatform: ThreadPlatform = {
  name: "one thread",
  availableCores: () => 1,
  insideWorker: () => false,
  canBlock: () => false,
  startWorker: () => {
    throw new Error("no thread platform is installed (import contrastive-ts/node in Node, or call setThreadPlatform)");
  },
};

let installed: ThreadPlatform = oneThreadPlatform;
const listeners: (() => void)[] = [];

/**
 * Install the platform the worker pool uses from now on (`oneThreadPlatform` to go back to one
 * thread). Workers already started on the previous platform are stopped first.
 */
export function setThreadPlatform(platform: ThreadPlatform): void {
  if (platform === installed) return;
  for (const listener of listeners) listener();
  installed = platform;
}

/** The platform in use. */
export function threadPlatform(): ThreadPlatform {
  return installed;
}

/** Run `listener` before the platform changes (the pool stops its workers). */
export function onPlatformChange(listener: () => void): void {
  listeners.push(listener);
}
