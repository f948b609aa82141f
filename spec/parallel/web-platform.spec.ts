/**
 * The browser platform's parts that Node can check (src/parallel/web-platform.ts; the platform itself
 * runs in chromium: spec/browser/threads.browser.ts): outside a cross-origin isolated browser,
 * `webThreadsAvailable()` is false, `createWebThreadPlatform` refuses with the URL and what is missing,
 * and `installWebThreads` falls back to one thread and says why; the pool never uses more threads than
 * a platform's `workersReady` reports (a browser's workers start ahead); and a worker resolves a task's
 * built-in name to a registered body without importing the task's module.
 */
import { expect } from "chai";
import { nodePlatform } from "../../src/node.js";
import { getNumThreads, parallelFor, setNumThreads, sharedMemory } from "../../src/parallel/index.js";
import { setThreadPlatform, threadPlatform, type ThreadPlatform } from "../../src/parallel/platform.js";
import { createWebThreadPlatform, installWebThreads, webThreadsAvailable } from "../../src/parallel/web-platform.js";

const tasksUrl = new URL("./pool-tasks.js", import.meta.url).href;

describe("parallel: the Web Worker platform, from Node", () => {
  const threadsBefore = getNumThreads();
  after(() => {
    setThreadPlatform(nodePlatform);
    setNumThreads(threadsBefore);
  });

  it("Node is no cross-origin isolated browser: webThreadsAvailable() is false, createWebThreadPlatform says why, naming the URL", () => {
    expect(webThreadsAvailable()).to.equal(false);
    const url = "https://example.test/contrastive-ts-worker.js";
    expect(() => createWebThreadPlatform({ workerUrl: url })).to.throw(
      `createWebThreadPlatform(${url}): Web Workers cannot share memory here (crossOriginIsolated is not true, no Worker)`,
    );
    expect(() => createWebThreadPlatform({ workerUrl: url })).to.throw(/Cross-Origin-Embedder-Policy: require-corp/);
  });

  it("bad options are refused before anything starts, naming the function and the value", () => {
    const url = "https://example.test/w.js";
    expect(() => createWebThreadPlatform({ workerUrl: url, cores: 0 })).to.throw(
      `createWebThreadPlatform(${url}): cores must be an integer in 1..64, got 0`,
    );
    expect(() => createWebThreadPlatform({ workerUrl: url, cores: 2.5 })).to.throw(/got 2\.5/);
    expect(() => createWebThreadPlatform({} as never)).to.throw(/^createWebThreadPlatform: options\.workerUrl is required/);
    expect(() => installWebThreads({ workerUrl: url, timeoutMs: -1 })).to.throw(
      /^installWebThreads: timeoutMs must be a number ≥ 0, got -1/,
    );
    expect(() => installWebThreads({ workerUrl: url, coress: 2 } as never)).to.throw(
      /^installWebThreads: unknown option 'coress'.*'cores'/,
    );
  });

  it("installWebThreads falls back to one thread, explicitly: the status says why; the one-thread platform is installed", async () => {
    const status = await installWebThreads({ workerUrl: new URL("https://example.test/w.js") });
    expect(status).to.deep.equal({
      state: "one thread",
      workers: 0,
      reason: "Web Workers cannot share memory here (crossOriginIsolated is not true, no Worker)",
    });
    expect(threadPlatform().name).to.equal("one thread");
    setNumThreads(2);
    expect(getNumThreads()).to.equal(1);
    setThreadPlatform(nodePlatform);
    expect(getNumThreads()).to.equal(2);
  });

  it("the pool uses at most 1 + workersReady threads, and asks for the workers it wants", () => {
    let ready = 0;
    const wanted: number[] = [];
    const startingAhead: ThreadPlatform = {
      ...nodePlatform,
      name: "starting ahead",
      workersReady: (want) => {
        wanted.push(want);
        return ready;
      },
    };
    setThreadPlatform(startingAhead);
    try {
      setNumThreads(3);
      expect(getNumThreads(), "no worker up yet: the caller alone").to.equal(1);
      const out = new Float64Array(sharedMemory(100 * 8), 0, 100);
      const local: number[][] = [];
      parallelFor({ moduleUrl: tasksUrl, exportName: "squares" }, 100, (begin, end) => {
        local.push([begin, end]);
        for (let i = begin; i < end; i++) out[i] = i * i;
      }, { params: [0] });
      expect(local).to.deep.equal([[0, 100]]);
      ready = 1;
      expect(getNumThreads()).to.equal(2);
      ready = 5;
      expect(getNumThreads(), "never more than the setting").to.equal(3);
      expect(wanted.every((w) => w === 2), `wanted ${wanted}`).to.equal(true);
      setNumThreads(1);
      wanted.length = 0;
      expect(getNumThreads()).to.equal(1);
      expect(wanted, "one thread asks for no worker").to.deep.equal([]);
    } finally {
      setThreadPlatform(nodePlatform);
    }
  });

  it("a task's built-in name resolves to the body registered under it, without importing its moduleUrl", () => {
    setNumThreads(2);
    const count = 50;
    const out = new Float64Array(sharedMemory(count * 8), 0, count);
    // The worker imports pool-tasks.js for this task, which registers "spec-squares" in that worker.
    parallelFor({ moduleUrl: tasksUrl, exportName: "squares" }, count, () => {}, { params: [0] });
    // A module that does not exist, carrying the built-in name: the registered body runs.
    const missing = { moduleUrl: "file:///nonexistent/task.js", exportName: "nothing", builtin: "spec-squares" };
    parallelFor(missing, count, (begin, end) => {
      for (let i = begin; i < end; i++) out[i] = -(i * i) - 1;
    }, { params: [1] });
    for (let i = 0; i < count; i++) expect(out[i], `index ${i}`).to.equal(-(i * i) - 1);
    // Without the name, the same module is imported, and cannot be.
    expect(() => parallelFor({ moduleUrl: missing.moduleUrl, exportName: "nothing" }, count, () => {})).to.throw(
      /cannot import file:\/\/\/nonexistent\/task\.js/,
    );
  });
});
