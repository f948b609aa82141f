/**
 * The worker pool (src/parallel/pool.ts): the fork–join covers every index exactly once for any
 * thread count, nested calls and setNumThreads(1) run on the caller's thread, and a worker that
 * throws or dies is reported as an error in the caller, not a hang. The pool does not keep a
 * process alive. (The GEMM on the pool: spec/ops/gemm-parallel.spec.ts.) Without a platform (the
 * core alone, as in a browser) everything runs on one thread.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  getNumThreads,
  parallelFor,
  setNumThreads,
  setParallelTimeouts,
  sharedMemory,
  splitRange,
  threadsFor,
} from "../../src/parallel/index.js";
import { oneThreadPlatform, setThreadPlatform, threadPlatform } from "../../src/parallel/platform.js";
import { nodePlatform } from "../../src/node.js"; // the Node entry installs Node's worker-thread platform

const tasksUrl = new URL("./pool-tasks.js", import.meta.url).href;
const task = (exportName: string) => ({ moduleUrl: tasksUrl, exportName });

describe("parallel: the worker pool", () => {
  const threadsBefore = getNumThreads();
  after(() => setNumThreads(threadsBefore));

  it("the platform hook: the Node entry installed worker_threads; the one-thread platform runs every call on the caller", () => {
    expect(threadPlatform()).to.equal(nodePlatform);
    setNumThreads(2);
    expect(getNumThreads()).to.equal(2);
    setThreadPlatform(oneThreadPlatform);
    try {
      expect(getNumThreads()).to.equal(1);
      const seen: number[] = [];
      parallelFor(task("squares"), 10, (begin, end) => seen.push(begin, end));
      expect(seen).to.deep.equal([0, 10]); // the caller did the whole range itself
    } finally {
      setThreadPlatform(nodePlatform);
    }
    expect(getNumThreads()).to.equal(2);
  });

  it("splitRange: contiguous ranges covering [0, count), boundaries at multiples of grain, sizes within one grain", () => {
    for (const [count, parts, grain] of [[10, 3, 1], [100, 2, 8], [7, 3, 8], [0, 2, 1], [64, 4, 8], [1001, 3, 2]]) {
      const bounds = splitRange(count, parts, grain);
      expect(bounds.length).to.equal(parts + 1);
      expect(bounds[0]).to.equal(0);
      expect(bounds[parts]).to.equal(count);
      const sizes = bounds.slice(1).map((b, i) => b - bounds[i]);
      for (const b of bounds.slice(1, -1)) expect(b % grain === 0 || b === count, `${bounds}`).to.equal(true);
      for (const s of sizes) expect(s).to.be.at.least(0);
      const full = sizes.slice(0, -1).filter((s) => s > 0);
      if (full.length > 0) expect(Math.max(...full) - Math.min(...full)).to.be.at.most(grain);
    }
  });

  for (const threads of [2, 3]) {
    it(`${threads} threads: every index computed exactly once, the caller doing range 0`, () => {
      setNumThreads(threads);
      const count = 1000;
      const out = new Float64Array(sharedMemory(count * 8), 0, count).fill(NaN);
      const localRanges: number[][] = [];
      parallelFor(task("squares"), count, (begin, end) => {
        localRanges.push([begin, end]);
        for (let i = begin; i < end; i++) out[i] = i * i + 0.5;
      }, { params: [0.5] });
      expect(localRanges).to.deep.equal([[0, splitRange(count, threads)[1]]]);
      for (let i = 0; i < count; i++) expect(out[i]).to.equal(i * i + 0.5);
    });
  }

  it("setNumThreads(1): the caller runs the whole range, no worker involved", () => {
    setNumThreads(1);
    expect(getNumThreads()).to.equal(1);
    const ranges: number[][] = [];
    parallelFor(task("throws"), 50, (begin, end) => void ranges.push([begin, end])); // a worker would throw
    expect(ranges).to.deep.equal([[0, 50]]);
  });

  it("a nested call inside the caller's share, or inside a worker, runs on one thread", () => {
    setNumThreads(2);
    const count = 64;
    const out = new Float64Array(sharedMemory(count * 8), 0, count).fill(NaN);
    let nested = 0;
    parallelFor(task("nestedThreads"), count, (begin, end) => {
      nested = getNumThreads();
      for (let i = begin; i < end; i++) out[i] = 1;
    });
    expect(nested).to.equal(1);
    expect([...out]).to.deep.equal(new Array(count).fill(1));
    expect(getNumThreads()).to.equal(2);
  });

  it("a small range uses fewer threads (at least one grain each)", () => {
    setNumThreads(3);
    expect(threadsFor(2, { grain: 8 })).to.equal(1);
    expect(threadsFor(9, { grain: 8 })).to.equal(2);
    expect(threadsFor(1000, { grain: 8, maxThreads: 2 })).to.equal(2);
  });

  it("an error thrown in a worker is thrown by the caller, naming the task and the worker; the pool keeps working", () => {
    setNumThreads(2);
    expect(() => parallelFor(task("throws"), 10, () => {})).to.throw(/task throws .*threw in worker 1: RangeError: boom at 5/);
    expect(() => parallelFor(task("notAFunction"), 10, () => {})).to.throw(/has no function export notAFunction/);
    const out = new Float64Array(sharedMemory(80), 0, 10);
    parallelFor(task("squares"), 10, (begin, end) => {
      for (let i = begin; i < end; i++) out[i] = i * i;
    }, { params: [0] });
    expect([...out]).to.deep.equal([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  });

  it("a worker that dies during a job is reported, not waited for forever; the next call starts a fresh worker", () => {
    setNumThreads(2);
    setParallelTimeouts({ startMs: 5000, jobMs: 5000 });
    try {
      expect(() => parallelFor(task("exits"), 10, () => {})).to.throw(/task exits .*worker 1: .*exited/);
      const out = new Float64Array(sharedMemory(80), 0, 10);
      parallelFor(task("squares"), 10, (begin, end) => {
        for (let i = begin; i < end; i++) out[i] = i * i + 1;
      }, { params: [1] });
      expect(out[9]).to.equal(82);
    } finally {
      setParallelTimeouts({ startMs: 10_000, jobMs: 600_000 });
    }
  });

  it("the pool does not keep the process alive, and an invalid setNumThreads is refused", () => {
    const script = `
      import { parallelFor, setNumThreads, sharedMemory } from ${
      JSON.stringify(new URL("../../src/parallel/index.js", import.meta.url).href)
    };
      setNumThreads(2);
      const out = new Float64Array(sharedMemory(800), 0, 100);
      parallelFor({ moduleUrl: ${
      JSON.stringify(tasksUrl)
    }, exportName: "squares" }, 100, (b, e) => { for (let i = b; i < e; i++) out[i] = i * i; }, { params: [0] });
      console.log(out[99]);`;
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000, encoding: "utf8" });
    expect(output.trim()).to.equal("9801");
    expect(() => setNumThreads(0)).to.throw(/setNumThreads: n must be an integer in 1\.\.64, got 0/);
    expect(() => setNumThreads(2.5)).to.throw(/got 2\.5/);
  });
});
