/**
 * Helpers for spec/nn: the PyTorch fixtures (spec/fixtures/ops.json), tensors from their JSON
 * encoding, and element-wise comparisons that name the worst element when they fail.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";

/** The repository root: the nearest folder above this file that holds package.json. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("repoRoot: no package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export interface TensorJson {
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  name: string;
  op: string;
  options: Record<string, unknown>;
  inputs: Record<string, TensorJson>;
  params?: Record<string, TensorJson>;
  outputs: Record<string, TensorJson>;
  gradOutput: TensorJson;
  grads: Record<string, TensorJson>;
  buffersAfter?: Record<string, TensorJson>;
}

export interface BatchNormCall {
  mode: "train";
  input: TensorJson;
  output: TensorJson;
  gradOutput: TensorJson;
  grads: { input: TensorJson; weight: TensorJson; bias: TensorJson };
  runningMean: TensorJson;
  runningVar: TensorJson;
}

export interface BatchNormCase {
  name: string;
  op: "batchNorm1d" | "batchNorm2d";
  options: { numFeatures: number; eps: number; momentum: number };
  params: { weight: TensorJson; bias: TensorJson };
  initialState: { runningMean: TensorJson; runningVar: TensorJson };
  calls: BatchNormCall[];
  eval: { input: TensorJson; output: TensorJson };
}

let cache: { cases: unknown[] } | null = null;

export function opsFixture(): { cases: unknown[] } {
  cache ??= JSON.parse(fs.readFileSync(path.join(repoRoot(), "spec", "fixtures", "ops.json"), "utf8")) as { cases: unknown[] };
  return cache;
}

/** Every fixture case of one op. */
export function casesOf<T = FixtureCase>(op: string): T[] {
  const cases = opsFixture().cases.filter((c) => (c as { op: string }).op === op) as T[];
  if (cases.length === 0) throw new Error(`no fixture case for op '${op}' in spec/fixtures/ops.json`);
  return cases;
}

export function fromJson(t: TensorJson, dtype: DType = "float64", requiresGrad = false): Tensor {
  return tensor(t.data, { shape: t.shape, dtype, requiresGrad });
}

/** |actual − expected| ≤ atol + rtol·|expected| everywhere, with the same shape. */
export function expectClose(actual: Tensor | null, expected: TensorJson | Tensor, label: string, rtol = 1e-9, atol = 1e-10): void {
  expect(actual, `${label}: missing`).to.not.equal(null);
  const want = expected instanceof Tensor ? { shape: expected.shape, data: Array.from(expected.toTypedArray()) } : expected;
  expect(actual!.shape, `${label}: shape`).to.deep.equal(want.shape);
  const got = actual!.toTypedArray();
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const excess = Math.abs(got[i] - want.data[i]) - (atol + rtol * Math.abs(want.data[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${label}: element ${worst} is ${got[worst]}, expected ${want.data[worst]} (rtol ${rtol}, atol ${atol})`);
}

/** A float64 leaf with N(0, scale²) values that requires grad. */
export function randomLeaf(shape: number[], generator: Generator, scale = 1): Tensor {
  const count = shape.reduce((p, d) => p * d, 1);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = generator.normal(0, scale);
  return tensor(values, { shape, dtype: "float64", requiresGrad: true });
}
