/**
 * Helpers for spec/optim and spec/io: the repository's fixture folder, tiny hand-built modules
 * (subclasses of Module that register their own Parameters), and bit-level comparisons.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Module, Parameter } from "../../src/nn/module.js";

/** The repository root: the nearest folder above this file that holds package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("repoRoot: no package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const FIXTURE_DIR = path.join(repoRoot(), "spec", "fixtures");

export function readFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name), "utf8")) as T;
}

/** The fixture encoding of a tensor. */
export interface TensorJson {
  shape: number[];
  data: number[];
}

export function fromJson(t: TensorJson, dtype: DType = "float64"): Tensor {
  return tensor(t.data, { shape: t.shape, dtype });
}

/** A module made of the parameters and buffers it is given, plus named children. */
export class TinyModule extends Module {
  constructor(parameters: Record<string, Tensor> = {}, buffers: Record<string, Tensor> = {}, children: Record<string, Module> = {}) {
    super();
    for (const [name, value] of Object.entries(parameters)) this.registerParameter(name, new Parameter(value));
    for (const [name, value] of Object.entries(buffers)) this.registerBuffer(name, value);
    for (const [name, child] of Object.entries(children)) this.registerModule(name, child);
  }
  forward(): null {
    return null;
  }
}

/** Overwrite a tensor's values in place. */
export function setValues(t: Tensor, values: ArrayLike<number>): void {
  if (values.length !== t.numel()) throw new Error(`setValues: ${values.length} values for ${t.numel()} elements`);
  t.storage.data.set(values as ArrayLike<number>, t.storage.offset);
}

/** The raw bytes of a tensor's values (row-major): equal bytes = equal bits, −0 and NaN included. */
export function bytesOf(t: Tensor): Buffer {
  const values = t.toTypedArray();
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** The bytes `values` would have when stored as `dtype` (float32 rounds, exactly as the file stores). */
export function bytesOfValues(values: number[], dtype: DType): Buffer {
  const typed = dtype === "float64" ? Float64Array.from(values) : Float32Array.from(values);
  return Buffer.from(typed.buffer);
}

/** Largest |actual − expected| / max(|expected|, floor) over the elements. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  if (actual.length !== expected.length) throw new Error(`maxRelativeError: lengths ${actual.length} and ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(Math.abs(expected[i]), floor);
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
    if (Number.isNaN(actual[i]) !== Number.isNaN(expected[i])) return Infinity;
  }
  return worst;
}
