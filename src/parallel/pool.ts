/**
 * A persistent pool of worker threads and a synchronous fork–join over shared memory.
 *
 *   parallelFor(task, count):   [0, count) is cut into T contiguous ranges, one per thread;
 *                               the caller computes range 0 itself, workers 1 … T−1 the others;
 *                               the call returns when every range is done (or throws a worker's error).
 *
 * Threads share nothing but SharedArrayBuffers: the control block (job words, parameters,
 * ./protocol.ts) and one growable "memory" that callers copy their operands into
 * (`sharedMemory(bytes)`). A task is a function exported by a module; each worker imports that
 * module itself (a worker has its own copy of every module and its own globals), so a task body is
 * plain single-threaded code run on a sub-range. What makes a result the same whatever T is, is the
 * caller's split: each output element must be computed by one thread with the same arithmetic as
 * in a one-thread run, and no thread may read what another writes during the job (docs/performance.md,
 * "The worker pool").
 *
 * Threads: `setNumThreads(n)` (like `torch.set_num_threads`); by default min(available cores,
 * $CONTRASTIVE_NUM_THREADS when set). 1 means no workers. Workers start lazily on the first
 * parallel call and are `unref()`ed, so an idle pool never keeps the process alive.
 *
 * @module
 */
import { onPlatformChange, threadPlatform, type WorkerHandle } from "./platform.js";
import {
  CONTROL_BYTES,
  DONE_SEQ,
  GENERATION,
  type GenerationMessage,
  JOB_SEQ,
  MAX_PARAMS,
  MAX_THREADS,
  MESSAGE_BYTES,
  messageByte,
  PARAM_COUNT,
  PARAMS_BYTE,
  PICKED_SEQ,
  RANGE_BEGIN,
  RANGE_END,
  slot,
  STATUS,
  STATUS_ERROR,
  STATUS_OK,
  TASK,
} from "./protocol.js";
import type { TaskBody } from "./worker-loop.js";

export type { TaskBody } from "./worker-loop.js";

/** A task the workers can run: the function `exportName` of the ES module at `moduleUrl` (pass `import.meta.url`-relative URLs). */
export interface ParallelTask {
  /** The module's URL, which each worker imports. */
  moduleUrl: string;
  /** The name of the task body among the module's exports. */
  exportName: string;
  /**
   * The library's own tasks also carry a name that a worker entry may have built in, so that it
   * need not import `moduleUrl`: in a bundle that URL names no file of its own (the bundled web worker,
   * ./web-worker.ts, has "gemmRows" and "tiledBlocks"). A worker without it imports `moduleUrl`.
   */
  builtin?: string;
}

/** Options of `parallelFor`. */
export interface ParallelForOptions {
  /** Range boundaries are multiples of `grain` (except the end): e.g. a micro-kernel's row count. Default 1. */
  grain?: number;
  /** Numbers the task body receives as `params` (sizes, offsets into shared memory); at most 64. */
  params?: ArrayLike<number>;
  /** Use at most this many threads (default: all of `getNumThreads()`), e.g. fewer for a small job. */
  maxThreads?: number;
}

const envThreads = Number(typeof process === "undefined" ? NaN : process.env?.CONTRASTIVE_NUM_THREADS);
/** The `setNumThreads` setting; null: the platform's default (its cores, capped by $CONTRASTIVE_NUM_THREADS). */
let requestedThreads: number | null = null;
const defaultThreads = (): number => {
  const cores = threadPlatform().availableCores();
  return Number.isInteger(envThreads) && envThreads >= 1 ? Math.min(envThreads, cores) : cores;
};
let startTimeoutMs = 10_000;
let jobTimeoutMs = 600_000;

/**
 * Set the number of threads products may use, as `torch.set_num_threads`: 1 runs everything on the
 * calling thread; n > 1 uses the caller plus n − 1 workers. More than the available cores is allowed
 * (the threads then share cores; results are the same bits either way). Default: the available cores,
 * or min(cores, $CONTRASTIVE_NUM_THREADS) when that environment variable is set.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`setNumThreads: n must be an integer in 1..${MAX_THREADS}, got ${n}`);
  }
  requestedThreads = n;
}

/**
 * The number of threads a parallel call uses now: the setting, or 1 where workers are unavailable
 * (inside a worker, on a thread that may not block, after the workers failed to start, or inside the
 * caller's own share of a parallel call: a nested parallel call runs on one thread), or fewer while a
 * browser's workers are still starting (`ThreadPlatform.workersReady`).
 * PyTorch: `torch.get_num_threads`.
 */
export function getNumThreads(): number {
  const platform = threadPlatform();
  if (dispatching || platform.insideWorker() || !platform.canBlock() || unavailable !== null) return 1;
  const setting = requestedThreads ?? defaultThreads();
  // A browser's workers are started ahead, in the background: until they are up, fewer threads (same bits).
  return platform.workersReady === undefined || setting === 1 ? setting : Math.min(setting, 1 + platform.workersReady(setting - 1));
}

/**
 * How long the caller waits for a worker to start a job (default 10 s: the first job includes the
 * worker's start-up) and to finish it (default 600 s) before giving up with an error instead of
 * hanging. For tests and unusual machines.
 */
export function setParallelTimeouts(timeouts: { startMs?: number; jobMs?: number }): void {
  if (timeouts.startMs !== undefined) startTimeoutMs = timeouts.startMs;
  if (timeouts.jobMs !== undefined) jobTimeoutMs = timeouts.jobMs;
}

/**
 * Cut [0, count) into `parts` contiguous ranges, boundaries at multiples of `grain`, sizes as equal as
 * the grain allows (the first ones get the extra grains). Returns parts + 1 boundaries. Depends only
 * on its arguments, so a caller can stage exactly the ranges the workers will get.
 */
export function splitRange(count: number, parts: number, grain = 1): number[] {
  const grains = Math.ceil(count / grain);
  const bounds = [0];
  for (let p = 1; p <= parts; p++) {
    const g = Math.floor(grains / parts) * p + Math.min(p, grains % parts);
    bounds.push(Math.min(count, g * grain));
  }
  return bounds;
}

/** How many threads parallelFor would use for `count` indices (at least one grain per thread). */
export function threadsFor(count: number, options: ParallelForOptions = {}): number {
  const grains = Math.ceil(count / (options.grain ?? 1));
  return Math.max(1, Math.min(getNumThreads(), options.maxThreads ?? Infinity, grains));
}

/**
 * Run `local(begin, end)` for range 0 on this thread and the exported `task` for ranges 1 … T−1 on
 * the workers, then return: a synchronous fork–join. `local` is the caller's own copy of the task
 * (same arithmetic), which may also write straight into the caller's ordinary arrays. T is
 * `threadsFor(count, options)`; with T = 1, or when called again from inside `local` (nested), it is
 * just `local(0, count)`. An error thrown by a worker's task, or a worker that died or did not start,
 * is thrown here (naming the task and the worker) after every other thread has finished its range.
 */
export function parallelFor(
  task: ParallelTask,
  count: number,
  local: (begin: number, end: number) => void,
  options: ParallelForOptions = {},
): void {
  const threads = threadsFor(count, options);
  if (threads === 1) return local(0, count);
  const bounds = splitRange(count, threads, options.grain ?? 1);
  const params = options.params ?? [];
  if (params.length > MAX_PARAMS) throw new RangeError(`parallelFor: at most ${MAX_PARAMS} params, got ${params.length}`);
  forkJoin(taskIndex(task), bounds, params, local, `${task.exportName} (${task.moduleUrl})`);
}

/**
 * The shared memory tasks read and write: at least `bytes` long, reallocated (contents not kept)
 * when a call needs more. Valid until the next `sharedMemory` call; the workers get the same buffer
 * with the next job.
 */
export function sharedMemory(bytes: number): SharedArrayBuffer {
  if (memory === null || memory.byteLength < bytes) {
    memory = new SharedArrayBuffer(Math.max(bytes, 2 * (memory?.byteLength ?? 0), 1 << 20));
    pendingGeneration = true;
  }
  return memory;
}

/** Stop the workers now (they restart on the next parallel call). Rarely needed: an idle pool does not keep the process alive. */
export function shutdownPool(): void {
  for (const worker of workers) worker?.handle.terminate();
  workers = [];
  control = null;
}

// ---- the pool's state (one pool per thread; a worker's copy of this module never starts one) ----

interface PoolWorker {
  handle: WorkerHandle;
  /** Set asynchronously when the thread ends: the next call replaces it. */
  exited: string | null;
  /** How many of `tasks` this worker has been sent. */
  tasksKnown: number;
}

let control: Int32Array | null = null;
let workers: (PoolWorker | undefined)[] = []; // index = worker number (share); [0] is the caller
/** Allocated on first use: a page without cross-origin isolation has no SharedArrayBuffer at all. */
let memory: SharedArrayBuffer | null = null;
let generation = 0;
let pendingGeneration = true;
const tasks: ParallelTask[] = [];
let dispatching = false;
/** Why workers cannot be used in this process (e.g. `new Worker` threw), or null. */
let unavailable: string | null = null;
// A new platform (./platform.ts): stop the workers of the old one, and let the new one try afresh.
onPlatformChange(() => {
  shutdownPool();
  unavailable = null;
});

function taskIndex(task: ParallelTask): number {
  let index = tasks.findIndex((t) => t.moduleUrl === task.moduleUrl && t.exportName === task.exportName && t.builtin === task.builtin);
  if (index < 0) {
    index = tasks.push({ moduleUrl: task.moduleUrl, exportName: task.exportName, builtin: task.builtin }) - 1;
    pendingGeneration = true;
  }
  return index;
}

/** Workers 1 … threads−1 exist and are alive; a generation message is sent to every worker that needs one. */
function ensureWorkers(threads: number): Int32Array {
  if (control === null) {
    control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
    workers = [];
  }
  const ctrl = control;
  let fresh = false;
  for (let w = 1; w < threads; w++) {
    const existing = workers[w];
    if (existing !== undefined && existing.exited === null) continue;
    existing?.handle.terminate();
    // A fresh slot: sequence numbers restart from the control block's current values.
    Atomics.store(ctrl, slot(w, PICKED_SEQ), Atomics.load(ctrl, slot(w, JOB_SEQ)));
    Atomics.store(ctrl, slot(w, DONE_SEQ), Atomics.load(ctrl, slot(w, JOB_SEQ)));
    const entry: PoolWorker = { handle: undefined as unknown as WorkerHandle, exited: null, tasksKnown: 0 };
    const init = { control: ctrl.buffer as SharedArrayBuffer, worker: w, startSeq: Atomics.load(ctrl, slot(w, JOB_SEQ)) };
    try {
      entry.handle = threadPlatform().startWorker(init, (reason) => (entry.exited = reason));
    } catch (error) {
      unavailable = `parallel: cannot start workers (${(error as Error).message}); running on one thread`;
      throw new Error(unavailable);
    }
    workers[w] = entry;
    fresh = true;
  }
  if (pendingGeneration || fresh) {
    // One message per worker: the current memory and the tasks it has not been sent yet (all of
    // them for a fresh worker). It is posted before the next job is issued, and the job carries the
    // generation number, so the worker knows to await it first.
    generation++;
    for (let w = 1; w < workers.length; w++) {
      const worker = workers[w];
      if (worker === undefined) continue;
      const message: GenerationMessage = { generation, memory: memory ?? sharedMemory(0), newTasks: tasks.slice(worker.tasksKnown) };
      worker.handle.post(message);
      worker.tasksKnown = tasks.length;
    }
    Atomics.store(ctrl, GENERATION, generation);
    pendingGeneration = false;
  }
  return ctrl;
}

function forkJoin(
  task: number,
  bounds: number[],
  params: ArrayLike<number>,
  local: (begin: number, end: number) => void,
  name: string,
): void {
  const threads = bounds.length - 1;
  let ctrl: Int32Array;
  try {
    ctrl = ensureWorkers(threads);
  } catch {
    return local(0, bounds[threads]); // workers unavailable here: one thread (getNumThreads() is 1 from now on)
  }
  ctrl[TASK] = task;
  ctrl[PARAM_COUNT] = params.length;
  new Float64Array(ctrl.buffer, PARAMS_BYTE, params.length).set(params);
  const jobs: number[] = [];
  for (let w = 1; w < threads; w++) {
    ctrl[slot(w, RANGE_BEGIN)] = bounds[w];
    ctrl[slot(w, RANGE_END)] = bounds[w + 1];
    jobs[w] = Atomics.add(ctrl, slot(w, JOB_SEQ), 1) + 1; // publishes the fields above, then wakes worker w
    Atomics.notify(ctrl, slot(w, JOB_SEQ));
  }
  dispatching = true;
  let localError: unknown = null;
  try {
    local(bounds[0], bounds[1]);
  } catch (error) {
    localError = error;
  } finally {
    dispatching = false;
  }
  // Join: wait for every worker even if the caller's share failed, so no worker is still writing
  // into shared memory when the caller returns.
  const failures: string[] = [];
  const started = performance.now();
  for (let w = 1; w < threads; w++) {
    const failure = join(ctrl, w, jobs[w], started);
    if (failure !== null) failures.push(failure);
  }
  if (localError !== null) throw localError;
  if (failures.length > 0) {
    if (failures.some((f) => !f.startsWith("threw"))) shutdownPool(); // a stuck or dead worker: start afresh next time
    throw new Error(`parallelFor: task ${name} failed: ${failures.join("; ")}`);
  }
}

/** Wait for worker w to finish job `job`; null when it did, else a description of what went wrong. */
function join(ctrl: Int32Array, w: number, job: number, started: number): string | null {
  const done = slot(w, DONE_SEQ);
  for (;;) {
    const value = Atomics.load(ctrl, done);
    if (value === job) break;
    Atomics.wait(ctrl, done, value, 50);
    if (Atomics.load(ctrl, done) === job) break;
    const waited = performance.now() - started;
    const picked = Atomics.load(ctrl, slot(w, PICKED_SEQ)) === job;
    if (!picked && waited > startTimeoutMs) {
      return `worker ${w}: did not start the job within ${startTimeoutMs} ms (dead or not started${exitReason(w)})`;
    }
    if (waited > jobTimeoutMs) return `worker ${w}: did not finish within ${jobTimeoutMs} ms`;
  }
  if (ctrl[slot(w, STATUS)] === STATUS_OK) return null;
  const bytes = new Uint8Array(ctrl.buffer, messageByte(w), MESSAGE_BYTES);
  const text = new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0) < 0 ? MESSAGE_BYTES : bytes.indexOf(0)));
  return ctrl[slot(w, STATUS)] === STATUS_ERROR ? `threw in worker ${w}: ${text}` : `worker ${w}: ${text}`;
}

function exitReason(w: number): string {
  const reason = workers[w]?.exited;
  return reason ? `: ${reason}` : "";
}
