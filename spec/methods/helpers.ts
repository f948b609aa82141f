/**
 * Shared by the methods, CLI and report specs: tiny training budgets, a small evaluation subset,
 * bit-for-bit comparisons and temporary directories.
 *
 * Budget: 256 training images spread over the ten classes, batch 64 (4 steps per epoch). The
 * evaluation subset (400 train, 200 test images) keeps one evaluation under a second; the CLI
 * specs evaluate on the full split, as a user's run does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "../../src/tensor/tensor.js";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { type MnistData } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { createRun, defaultConfig, limitSplit, trainRun, type Run, type TrainConfig } from "../../src/methods/trainer.js";
import { evaluateMethod, type MethodEvaluation } from "../../src/methods/evaluate.js";
import type { MethodName } from "../../src/methods/common.js";

export const TINY: Partial<TrainConfig> = { batchSize: 64, trainLimit: 256 };

/**
 * A tiny config: seed 1, 2 epochs. MoCo gets a queue of two batches (it holds only real keys after
 * two steps) and 4 epochs (its loss rises while the queue fills, then falls slowly).
 */
export function tinyConfig(method: MethodName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const moco = method === "moco" ? { queueSize: 128, epochs: 4 } : { epochs: 2 };
  return defaultConfig(method, { ...TINY, ...moco, seed: 1, ...overrides });
}

let subset: MnistData | null = null;

/** 400 train and 200 test images, every class in proportion. */
export function evaluationSubset(): MnistData {
  if (subset === null) {
    const data = loadMnist();
    subset = { train: limitSplit(data.train, 400), test: limitSplit(data.test, 200) };
  }
  return subset;
}

export interface TrainedRun {
  run: Run;
  evaluation: MethodEvaluation;
  seconds: number;
}

const trained = new Map<string, TrainedRun>();

/** A fresh tiny run, trained, then evaluated on the subset. */
export function trainTiny(method: MethodName, overrides: Partial<TrainConfig> = {}): TrainedRun {
  const started = performance.now();
  const run = trainOnly(method, overrides);
  const evaluation = evaluateMethod(run.method, evaluationSubset(), { seed: run.config.seed });
  return { run, evaluation, seconds: (performance.now() - started) / 1000 };
}

/** A fresh tiny run, trained only. */
export function trainOnly(method: MethodName, overrides: Partial<TrainConfig> = {}): Run {
  const run = createRun(tinyConfig(method, overrides));
  trainRun(run);
  return run;
}

/** The same, trained once per process (several spec files read the same seed-1 runs). */
export function cachedTiny(method: MethodName): TrainedRun {
  let result = trained.get(method);
  if (result === undefined) {
    result = trainTiny(method);
    trained.set(method, result);
  }
  return result;
}

/** The raw bytes of a tensor's values (contiguous copy): equal bytes = equal bits, −0 and NaN payloads included. */
export function bytesOf(t: Tensor | Float32Array | Float64Array): Buffer {
  const array = t instanceof Float32Array || t instanceof Float64Array ? t : t.toTypedArray();
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export function sameBits(a: Tensor | Float32Array | Float64Array, b: Tensor | Float32Array | Float64Array): boolean {
  return bytesOf(a).equals(bytesOf(b));
}

/** A fresh directory under the OS temp dir; `cleanup` removes every one made. */
const made: string[] = [];
export function tempDir(prefix = "contrastive-spec-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function cleanupTempDirs(): void {
  while (made.length > 0) rmSync(made.pop()!, { recursive: true, force: true });
}

/** Deep equality of JSON-like values that treats numbers bit for bit (NaN = NaN, −0 ≠ 0). */
export function jsonBitEqual(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b);
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a as object);
  const keysB = Object.keys(b as object);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) =>
    key in (b as object) && jsonBitEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
  );
}

/** trainState without its wall-clock time (the only thing allowed to differ between two runs). */
export function withoutClock(trainState: string): unknown {
  const { wallSeconds, ...rest } = JSON.parse(trainState) as { wallSeconds: number };
  if (!(wallSeconds > 0)) throw new Error(`trainState.wallSeconds is ${wallSeconds}`);
  return rest;
}

/** The names of the entries of two checkpoint files that differ (tensors bit for bit, metadata as text). */
export function checkpointDifferences(pathA: string, pathB: string): string[] {
  const a = loadSafetensors(pathA);
  const b = loadSafetensors(pathB);
  if (JSON.stringify([...a.tensors.keys()]) !== JSON.stringify([...b.tensors.keys()])) return ["(tensor names)"];
  if (JSON.stringify(Object.keys(a.metadata).sort()) !== JSON.stringify(Object.keys(b.metadata).sort())) return ["(metadata keys)"];
  const tensors = [...a.tensors.keys()].filter((name) => !sameBits(a.tensors.get(name)!, b.tensors.get(name)!));
  const metadata = Object.keys(a.metadata).filter((key) =>
    key === "trainState"
      ? JSON.stringify(withoutClock(a.metadata[key])) !== JSON.stringify(withoutClock(b.metadata[key]))
      : a.metadata[key] !== b.metadata[key]
  );
  return [...tensors, ...metadata];
}
