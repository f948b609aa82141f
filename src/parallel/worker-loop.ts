/**
 * The body of every worker thread: sleep on the job word, run the share it is given, report.
 *
 *   loop:  Atomics.wait(job)  →  picked = job  →  task(begin, end, params, memory)  →  done = job, notify
 *
 * Platform-neutral: the entry files (./node-worker.ts for Node, ./web-worker.ts for a browser) only
 * supply the control block and a way to await the next message. The
 * wait is synchronous (a worker may block), but between a new memory generation's messages the loop
 * `await`s, which lets the worker's event loop deliver them.
 *
 * @module
 */
import {
  CONTROL_BYTES,
  DONE_SEQ,
  GENERATION,
  type GenerationMessage,
  JOB_SEQ,
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
  STATUS_EXITED,
  STATUS_OK,
  TASK,
  type WorkerInit,
} from "./protocol.js";

/** What a task module exports: compute the indices [begin, end) of the job, reading and writing `memory`. */
export type TaskBody = (begin: number, end: number, params: Float64Array, memory: SharedArrayBuffer) => void;

/** The library's own task bodies by `ParallelTask.builtin` name, registered by the modules that define them. */
const builtinTasks = new Map<string, TaskBody>();

/**
 * Register one of the library's own task bodies under its `builtin` name (src/ops/gemm-worker-task.ts
 * and src/losses/tiled-blocks.ts do, when loaded). A worker resolves a task to a registered body
 * before trying to import its module: the bundled web worker (dist/browser/contrastive-ts-worker.js)
 * contains both modules, while the URLs the bundled core names for them are no files of their own.
 */
export function registerBuiltinTask(name: string, body: TaskBody): void {
  builtinTasks.set(name, body);
}

/** Run the worker loop forever. `nextMessage` resolves with the caller's messages in the order they were posted. */
export async function runWorker(init: WorkerInit, nextMessage: () => Promise<GenerationMessage>): Promise<never> {
  const control = new Int32Array(init.control, 0, CONTROL_BYTES >> 2);
  const w = init.worker;
  const tasks: TaskBody[] = [];
  let generation = 0;
  let memory = new SharedArrayBuffer(0);
  let seen = init.startSeq;
  for (;;) {
    Atomics.wait(control, slot(w, JOB_SEQ), seen); // sleeps until the caller bumps the job word
    const job = Atomics.load(control, slot(w, JOB_SEQ));
    if (job === seen) continue;
    seen = job;
    Atomics.store(control, slot(w, PICKED_SEQ), job);
    let status = STATUS_OK;
    try {
      // A new generation (bigger shared memory, new tasks) was posted before this job was issued.
      while (generation < control[GENERATION]) {
        const message = await nextMessage();
        for (const { moduleUrl, exportName, builtin } of message.newTasks) {
          const own = builtin === undefined ? undefined : builtinTasks.get(builtin);
          tasks.push(own ?? await loadTask(moduleUrl, exportName));
        }
        generation = message.generation;
        memory = message.memory;
      }
      const body = tasks[control[TASK]];
      if (body === undefined) throw new Error(`parallel: worker ${w} has no task ${control[TASK]}`);
      const params = new Float64Array(init.control, PARAMS_BYTE, control[PARAM_COUNT]);
      body(control[slot(w, RANGE_BEGIN)], control[slot(w, RANGE_END)], params, memory);
    } catch (error) {
      status = STATUS_ERROR;
      writeMessage(init.control, w, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
    Atomics.store(control, slot(w, STATUS), status);
    Atomics.store(control, slot(w, DONE_SEQ), job);
    Atomics.notify(control, slot(w, DONE_SEQ));
  }
}

/**
 * Import a task's module. A task that cannot be loaded becomes a body that throws why, so the
 * generation still completes and the error is reported each time the task is run.
 */
async function loadTask(moduleUrl: string, exportName: string): Promise<TaskBody> {
  let reason: string;
  try {
    const body = (await import(moduleUrl))[exportName];
    if (typeof body === "function") return body as TaskBody;
    reason = `parallel: ${moduleUrl} has no function export ${exportName}`;
  } catch (error) {
    reason = `parallel: cannot import ${moduleUrl}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return () => {
    throw new Error(reason);
  };
}

/** Called by the entry when the thread is about to exit: wake a caller that would otherwise wait for this worker. */
export function reportExit(init: WorkerInit, reason: string): void {
  const control = new Int32Array(init.control, 0, CONTROL_BYTES >> 2);
  writeMessage(init.control, init.worker, reason);
  Atomics.store(control, slot(init.worker, STATUS), STATUS_EXITED);
  Atomics.store(control, slot(init.worker, DONE_SEQ), Atomics.load(control, slot(init.worker, JOB_SEQ)));
  Atomics.notify(control, slot(init.worker, DONE_SEQ));
}

function writeMessage(control: SharedArrayBuffer, worker: number, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, MESSAGE_BYTES - 1);
  const target = new Uint8Array(control, messageByte(worker), MESSAGE_BYTES);
  target.fill(0);
  target.set(bytes);
}
