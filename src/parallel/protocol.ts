/**
 * The layout of the control block the caller and the workers share (one small SharedArrayBuffer).
 *
 *   Int32 words  [0, GLOBAL_WORDS)                     the current job: task, memory generation, parameter count
 *   Int32 words  [GLOBAL_WORDS + w·SLOT_WORDS, …)      worker w's slot: job/picked/done sequence numbers, status, range
 *   Float64      PARAMS_BYTE … + MAX_PARAMS·8          the job's numeric parameters (sizes, offsets, strides)
 *   Uint8        messageByte(w) … + MESSAGE_BYTES      worker w's error message, UTF-8, when status = STATUS_ERROR
 *
 * Every field is written by one side and read by the other after an Atomics handshake (the caller
 * stores then `Atomics.notify`s the job sequence number; the worker stores then notifies `done`),
 * so the plain reads in between see the values written before the handshake.
 *
 * @module
 */

/** Job fields (Int32 indices). */
export const TASK = 0;
export const GENERATION = 1;
export const PARAM_COUNT = 2;
export const GLOBAL_WORDS = 8;

/** Per-worker slot fields (Int32 offsets inside a slot). */
export const JOB_SEQ = 0; // caller → worker: incremented for each job; the worker waits on it
export const PICKED_SEQ = 1; // worker → caller: the job the worker has started (a dead worker never sets it)
export const DONE_SEQ = 2; // worker → caller: the job the worker has finished; the caller waits on it
export const STATUS = 3; // worker → caller: STATUS_OK, STATUS_ERROR or STATUS_EXITED
export const RANGE_BEGIN = 4; // caller → worker: the share of the index range this worker computes
export const RANGE_END = 5;
export const SLOT_WORDS = 8;

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;
export const STATUS_EXITED = 2;

/** Most workers a control block has slots for (slot 0 is unused: share 0 is the caller's). */
export const MAX_THREADS = 64;
export const MAX_PARAMS = 64;
export const MESSAGE_BYTES = 1024;

export const PARAMS_BYTE = (GLOBAL_WORDS + MAX_THREADS * SLOT_WORDS) * 4;
export const messageByte = (worker: number): number => PARAMS_BYTE + MAX_PARAMS * 8 + worker * MESSAGE_BYTES;
export const CONTROL_BYTES = messageByte(MAX_THREADS);

/** Int32 index of field `field` of worker `worker`'s slot. */
export const slot = (worker: number, field: number): number => GLOBAL_WORDS + worker * SLOT_WORDS + field;

/** What a worker is sent at start (as workerData) and with each new generation (as a message). */
export interface WorkerInit {
  control: SharedArrayBuffer;
  worker: number;
  /** The worker's job word when it was started: a job issued before the thread is up is still seen. */
  startSeq: number;
}
export interface GenerationMessage {
  generation: number;
  memory: SharedArrayBuffer;
  /**
   * Tasks added since the previous generation, in task-index order: the worker entry's built-in task
   * of that name when it has one, else import moduleUrl and take its export.
   */
  newTasks: { moduleUrl: string; exportName: string; builtin?: string }[];
}
