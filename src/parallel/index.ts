/**
 * Threads: a persistent worker pool and a synchronous fork–join over SharedArrayBuffer
 * (./pool.ts; docs/performance.md, "The worker pool"), on the runtime given by ./platform.ts: Node's
 * worker threads (./node-platform.ts) or a browser's Web Workers (./web-platform.ts).
 *
 * @module
 */
export {
  getNumThreads,
  parallelFor,
  type ParallelForOptions,
  type ParallelTask,
  setNumThreads,
  setParallelTimeouts,
  sharedMemory,
  shutdownPool,
  splitRange,
  type TaskBody,
  threadsFor,
} from "./pool.js";
export { oneThreadPlatform, setThreadPlatform, threadPlatform, type ThreadPlatform, type WorkerHandle } from "./platform.js";
export {
  createWebThreadPlatform,
  installWebThreads,
  type InstallWebThreadsOptions,
  webThreadsAvailable,
  type WebThreadOptions,
  type WebThreadPlatform,
  type WebThreadStatus,
} from "./web-platform.js";
