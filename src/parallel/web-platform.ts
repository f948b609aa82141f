/**
 * The caller side's platform part, for a browser (./platform.ts): the worker pool's threads are Web
 * Workers (`new Worker(url, { type: "module" })`) running the entry ./web-worker.ts, which the package
 * ships bundled as dist/browser/contrastive-ts-worker.js. The browser twin of ./node-platform.ts.
 *
 *   in a dedicated Worker (a training worker)     webThreadsAvailable() → setThreadPlatform(createWebThreadPlatform({ workerUrl }))
 *                                                 → products on 1 + (cores − 1) threads, the same bits as one
 *   on a page's main thread                       Atomics.wait is not allowed there (canBlock: false), so the pool
 *                                                 runs every product on the caller: one thread
 *   without cross-origin isolation                no SharedArrayBuffer: createWebThreadPlatform throws why;
 *                                                 installWebThreads falls back to one thread and says why
 *
 * Two browser rules shape it. (1) Memory is shared only on a cross-origin isolated page: the page (and
 * the worker scripts) must be served with `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp` (scripts/static-server.mjs sends both). (2) A worker does
 * not load, and does not receive its first SharedArrayBuffer, while the thread that created it is
 * blocked in `Atomics.wait` (measured in chromium: the job waits until the creator returns to its event
 * loop). The pool blocks in every product, so this platform starts its workers ahead: each one loads,
 * says so, receives a small SharedArrayBuffer and answers, all while the creator is free; only then does
 * `workersReady` count it, and the pool never asks for more threads than that (until then products run
 * on fewer threads, with the same bits).
 *
 *   platform → worker     new Worker(url, { type: "module", name: "contrastive-ts pool worker …" })
 *   worker → platform     { kind: "loaded" }                     the module ran
 *   platform → worker     { kind: "share", probe: SharedArrayBuffer }
 *   worker → platform     { kind: "shared" }                     ready: workersReady counts it
 *   platform → worker     { kind: "init", init }                 the pool's startWorker: its control block
 *   platform → worker     { kind: "generation", message }        the pool's generation messages (./protocol.ts)
 *
 * @module
 */
import { MAX_THREADS, type GenerationMessage, type WorkerInit } from "./protocol.js";
import { checkOptions } from "../tensor/options.js";
import { oneThreadPlatform, setThreadPlatform, type ThreadPlatform, type WorkerHandle } from "./platform.js";

/** The start of the `name` every pool worker gets: `insideWorker()` recognizes the pool's own workers by it. */
export const POOL_WORKER_NAME = "contrastive-ts pool worker";

/** What the platform posts to a worker (see the handshake in the module comment). */
export type ToWebWorker =
  | { kind: "share"; probe: SharedArrayBuffer }
  | { kind: "init"; init: WorkerInit }
  | { kind: "generation"; message: GenerationMessage };

/** What a worker posts back before it is handed to the pool. */
export type FromWebWorker = { kind: "loaded" } | { kind: "shared" };

/** The parts of a browser's global scope this file uses (the project compiles without the DOM library). */
interface BrowserScope {
  crossOriginIsolated?: boolean;
  Worker?: new(url: string | URL, options: { type: "module"; name: string }) => BrowserWorker;
  navigator?: { hardwareConcurrency?: number };
  DedicatedWorkerGlobalScope?: abstract new() => unknown;
  name?: string;
  location?: { href: string };
}

/** The parts of a `Worker` this file uses. */
interface BrowserWorker {
  postMessage(message: ToWebWorker): void;
  terminate(): void;
  addEventListener(type: "message", listener: (event: { data: FromWebWorker }) => void): void;
  addEventListener(type: "error" | "messageerror", listener: (event: { message?: string }) => void): void;
}

const scope = globalThis as unknown as BrowserScope;

/** True in a dedicated Web Worker, the only browser thread that may block in `Atomics.wait`. */
function inDedicatedWorker(): boolean {
  return typeof scope.DedicatedWorkerGlobalScope === "function" && globalThis instanceof scope.DedicatedWorkerGlobalScope;
}

/** What is missing for Web Workers sharing memory here ([] when nothing is). */
function missingForThreads(): string[] {
  const missing: string[] = [];
  if (scope.crossOriginIsolated !== true) missing.push("crossOriginIsolated is not true");
  if (typeof SharedArrayBuffer !== "function") missing.push("no SharedArrayBuffer");
  if (typeof Atomics !== "object") missing.push("no Atomics");
  if (typeof scope.Worker !== "function") missing.push("no Worker");
  return missing;
}

/**
 * Whether Web Workers can share memory here: the page is cross-origin isolated (`crossOriginIsolated`)
 * and `SharedArrayBuffer`, `Atomics` and `Worker` exist. False in Node and on a page served without
 * COOP/COEP. (True on a page's main thread too, where the pool still runs on one thread: see `canBlock`.)
 */
export function webThreadsAvailable(): boolean {
  return missingForThreads().length === 0;
}

/** Options of {@link createWebThreadPlatform} and {@link installWebThreads}. */
export interface WebThreadOptions {
  /** The worker entry's URL: dist/browser/contrastive-ts-worker.js (or dist/parallel/web-worker.js), served from the page's origin. */
  workerUrl: string | URL;
  /** How many threads products use by default (the caller and cores − 1 workers); default `navigator.hardwareConcurrency`. */
  cores?: number;
}

/** Where a web thread platform is: what products can use now, and if only one thread, why. */
export interface WebThreadStatus {
  /**
   * "threads": workers are up and products use them; "starting": workers are loading (products run on
   * the threads that are up); "one thread": workers cannot be used here, `reason` says why.
   */
  state: "threads" | "starting" | "one thread";
  /** Workers up and usable (started ahead, or running in the pool). */
  workers: number;
  /** Why products run on one thread (naming the worker URL when it failed to load), or null. */
  reason: string | null;
}

/** A {@link ThreadPlatform} on Web Workers, with what a page needs to know about its workers. */
export interface WebThreadPlatform extends ThreadPlatform {
  /** The worker entry's URL (absolute). */
  readonly workerUrl: string;
  /** Where the platform is now. */
  status(): WebThreadStatus;
  /** Resolves when the first cores − 1 workers are up, or a worker failed to load, or at once where there can be none. */
  readonly ready: Promise<WebThreadStatus>;
  /** Stop the workers started ahead (the pool stops those it runs when the platform changes: `setThreadPlatform`). */
  close(): void;
}

/** A worker started ahead, not yet handed to the pool. */
interface SpareWorker {
  worker: BrowserWorker;
  ready: boolean;
}

/**
 * The browser's platform: pool workers are module Web Workers running `workerUrl` (./web-worker.ts).
 * `canBlock()` is false on a page's main thread (there the pool runs every product on the caller) and
 * true in a dedicated worker; `insideWorker()` is true in the pool's own workers (by their name); the
 * default thread count is `cores` (default `navigator.hardwareConcurrency`). In a dedicated worker it
 * starts cores − 1 workers at once, ahead of the first product (see the module comment: a browser worker
 * cannot start while its creator blocks). A worker script that fails to load (a 404, a syntax error, a
 * refused header) puts the platform in state "one thread" with a reason naming the URL, and products
 * keep running on the caller: `status()` and `ready` say so.
 *
 * Throws when Web Workers cannot share memory here (not cross-origin isolated: see `webThreadsAvailable`),
 * naming the URL and what is missing; use {@link installWebThreads} for a fallback to one thread.
 */
export function createWebThreadPlatform(options: WebThreadOptions): WebThreadPlatform {
  checkOptions("createWebThreadPlatform", options, { workerUrl: true, cores: true });
  if (options?.workerUrl === undefined) throw new Error("createWebThreadPlatform: options.workerUrl is required (the worker entry's URL)");
  // Absolute, so that messages name the file a reader can open (a relative one is resolved against this script's location).
  const base = scope.location?.href;
  const workerUrl = base === undefined ? String(options.workerUrl) : new URL(options.workerUrl, base).href;
  const cores = options.cores ?? scope.navigator?.hardwareConcurrency ?? 1;
  if (!Number.isInteger(cores) || cores < 1 || cores > MAX_THREADS) {
    throw new RangeError(`createWebThreadPlatform(${workerUrl}): cores must be an integer in 1..${MAX_THREADS}, got ${cores}`);
  }
  const missing = missingForThreads();
  if (missing.length > 0) {
    throw new Error(
      `createWebThreadPlatform(${workerUrl}): Web Workers cannot share memory here (${missing.join(", ")}); serve the page and the `
        + "worker with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, "
        + "or stay on one thread (installWebThreads falls back by itself)",
    );
  }
  const canBlock = inDedicatedWorker();
  const insideWorker = canBlock && typeof scope.name === "string" && scope.name.startsWith(POOL_WORKER_NAME);
  const spares: SpareWorker[] = [];
  let running = 0; // workers handed to the pool and not ended
  let started = 0; // for the workers' names
  const notDedicated = "this is not a dedicated Worker (a page's main thread may not block in Atomics.wait): "
    + "run the training in a Worker and install the platform there";
  const nested = "this is one of the pool's own workers: a product here runs on this worker's thread";
  /** Why this platform runs products on one thread, or null. */
  let failure: string | null = !canBlock ? notDedicated : insideWorker ? nested : null;
  let settle: (status: WebThreadStatus) => void = () => {};
  const ready = new Promise<WebThreadStatus>((resolve) => (settle = resolve));

  const upCount = (): number => running + spares.filter((spare) => spare.ready).length;
  const status = (): WebThreadStatus => {
    if (failure !== null) return { state: "one thread", workers: 0, reason: failure };
    const workers = upCount();
    return { state: workers >= cores - 1 ? "threads" : "starting", workers, reason: null };
  };
  const settleIfDone = (): void => {
    const now = status();
    if (now.state !== "starting") settle(now);
  };
  const fail = (reason: string): void => {
    if (failure === null) failure = reason;
    for (const spare of spares.splice(0)) spare.worker.terminate();
    settle(status());
  };

  /** Start one worker ahead: it counts once it has loaded and received a SharedArrayBuffer. */
  const startSpare = (): void => {
    started++;
    let worker: BrowserWorker;
    try {
      worker = new scope.Worker!(workerUrl, { type: "module", name: `${POOL_WORKER_NAME} ${started}` });
    } catch (error) {
      return fail(`the worker ${workerUrl} cannot be created: ${error instanceof Error ? error.message : String(error)}`);
    }
    const spare: SpareWorker = { worker, ready: false };
    spares.push(spare);
    worker.addEventListener("message", (event) => {
      if (event.data.kind === "loaded") worker.postMessage({ kind: "share", probe: new SharedArrayBuffer(4) });
      else if (event.data.kind === "shared" && spares.includes(spare)) {
        spare.ready = true;
        settleIfDone();
      }
    });
    const onError = (event: { message?: string }): void => {
      if (!spares.includes(spare)) return; // handed to the pool: the pool's own listener reports it
      const detail = event.message || "the browser gives no detail (a 404, a syntax error, a missing "
          + "Cross-Origin-Embedder-Policy or a Content-Security-Policy refusal: open the URL to see)";
      fail(`the worker ${workerUrl} failed to load: ${detail}`);
    };
    worker.addEventListener("error", onError);
    worker.addEventListener("messageerror", onError);
  };

  const workersReady = (wanted: number): number => {
    if (failure !== null) return 0;
    for (let missingWorkers = wanted - running - spares.length; missingWorkers > 0; missingWorkers--) startSpare();
    return upCount();
  };

  const startWorker = (init: WorkerInit, onExit: (reason: string) => void): WorkerHandle => {
    const index = spares.findIndex((spare) => spare.ready);
    if (index < 0) {
      throw new Error(`${workerUrl}: no worker is up yet (${failure ?? "they start ahead, in the background"})`);
    }
    const [{ worker }] = spares.splice(index, 1);
    running++;
    let ended = false;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      running--;
      onExit(reason);
    };
    worker.addEventListener(
      "error",
      (event) => end(`worker ${init.worker} (${workerUrl}) failed: ${event.message || "an uncaught error"}`),
    );
    worker.postMessage({ kind: "init", init });
    return {
      post: (message) => worker.postMessage({ kind: "generation", message }),
      terminate: () => {
        worker.terminate();
        end(`worker ${init.worker} was stopped`);
      },
    };
  };

  const platform: WebThreadPlatform = {
    name: "web workers",
    workerUrl,
    availableCores: () => cores,
    insideWorker: () => insideWorker,
    canBlock: () => canBlock,
    startWorker,
    workersReady,
    status,
    ready,
    close: () => {
      for (const spare of spares.splice(0)) spare.worker.terminate();
    },
  };
  if (failure === null) workersReady(cores - 1);
  settleIfDone();
  return platform;
}

/** Options of {@link installWebThreads}. */
export interface InstallWebThreadsOptions extends WebThreadOptions {
  /** How long to wait for the workers to load before returning (they keep loading; default 10,000 ms). */
  timeoutMs?: number;
}

/**
 * Install Web Worker threads for the products when this thread can use them, else one thread, and say
 * which: the explicit fallback. Resolves once the workers are up (or failed, or `timeoutMs` passed)
 * with the status; on "one thread" (not cross-origin isolated, a page's main thread, the worker script
 * failed to load) the one-thread platform is installed and `reason` says why. Results are the same
 * bits either way; only the speed differs.
 *
 *   const status = await installWebThreads({ workerUrl: new URL("./contrastive-ts-worker.js", import.meta.url) });
 *   if (status.state === "one thread") console.warn(`contrastive-ts: one thread (${status.reason})`);
 */
export function installWebThreads(options: InstallWebThreadsOptions): Promise<WebThreadStatus> {
  // Checked before anything is awaited, so that a wrong option throws here rather than in a rejected promise.
  checkOptions("installWebThreads", options, { workerUrl: true, cores: true, timeoutMs: true });
  if (options?.workerUrl === undefined) throw new Error("installWebThreads: options.workerUrl is required (the worker entry's URL)");
  const { timeoutMs = 10_000 } = options;
  if (!(timeoutMs >= 0)) throw new RangeError(`installWebThreads: timeoutMs must be a number ≥ 0, got ${timeoutMs}`);
  return installChecked(options, timeoutMs);
}

/** installWebThreads once its options are checked. */
async function installChecked(options: WebThreadOptions, timeoutMs: number): Promise<WebThreadStatus> {
  const missing = missingForThreads();
  if (missing.length > 0) {
    setThreadPlatform(oneThreadPlatform);
    return { state: "one thread", workers: 0, reason: `Web Workers cannot share memory here (${missing.join(", ")})` };
  }
  const platform = createWebThreadPlatform(options);
  if (platform.status().state === "one thread") {
    setThreadPlatform(oneThreadPlatform);
    return platform.status();
  }
  setThreadPlatform(platform);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([platform.ready, timeout]);
  clearTimeout(timer);
  const status = platform.status();
  if (status.state === "one thread") {
    platform.close();
    setThreadPlatform(oneThreadPlatform);
  }
  return status;
}
