/**
 * Shared by the loss specs: the PyTorch fixture (spec/fixtures/losses.json), a runner that feeds
 * a fixture case to the matching loss, seeded random embeddings, and fast-check arbitraries.
 * (Self-contained: imports only the tensor layer and src/losses, not src/index.ts.)
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { tensor, randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { infoNCE, ntXent, clipLoss, mocoLoss, byolLoss } from "../../src/losses/index.js";

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export interface LossCase {
  name: string;
  loss: "infoNCE" | "ntXent" | "clipLoss" | "mocoLoss" | "byolLoss";
  options: Record<string, unknown>;
  inputs: Record<string, FixtureTensor>;
  value: number | number[];
  grads: Record<string, FixtureTensor>;
  expected?: { formula: string; value: number };
}

export interface ChapterCase {
  name: string;
  loss: "rawInfoNCE";
  similarities: number[];
  temperature: number;
  probability: number;
  value: number;
}

/** The compiled spec sits at <build>/spec/losses/, three levels below the repository root. */
export const repoFile = (path: string): URL => new URL(`../../../${path}`, import.meta.url);

const fixture = JSON.parse(readFileSync(repoFile("spec/fixtures/losses.json"), "utf8")) as { cases: (LossCase | ChapterCase)[] };

export const lossCases = fixture.cases.filter((c): c is LossCase => c.loss !== "rawInfoNCE");
export const chapterCases = fixture.cases.filter((c): c is ChapterCase => c.loss === "rawInfoNCE");

export function fixtureCase(name: string): LossCase | ChapterCase {
  const found = fixture.cases.find((c) => c.name === name);
  if (!found) throw new Error(`no fixture case named ${name}`);
  return found;
}

export function fromFixture(t: FixtureTensor, dtype: DType, requiresGrad = false): Tensor {
  return tensor(t.data, { shape: t.shape, dtype, requiresGrad });
}

export interface CaseRun {
  /** The output's values (one number, or N with reduction "none"). */
  value: number[];
  /** d(sum of output)/d(input) for every input the case lists in `grads` (incl. temperature / logitScale). */
  grads: Record<string, Float64Array>;
  /** The leaves, for stop-gradient checks. */
  leaves: Record<string, Tensor>;
}

/** Run a fixture case through this project's loss in the given dtype, with backward. */
export function runCase(c: LossCase, dtype: DType): CaseRun {
  const leaves: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) leaves[name] = fromFixture(t, dtype, true);
  const output = evaluateCase(c, leaves, dtype);
  output.sum().backward();
  const grads: Record<string, Float64Array> = {};
  for (const name of Object.keys(c.grads)) {
    const grad = leaves[name].grad;
    if (grad === null) throw new Error(`${c.name}: no gradient reached ${name}`);
    grads[name] = Float64Array.from(grad.toTypedArray());
  }
  return { value: Array.from(output.toTypedArray()), grads, leaves };
}

/** The loss call a case describes; adds `temperature` / `logitScale` leaves when learnable. */
export function evaluateCase(c: LossCase, leaves: Record<string, Tensor>, dtype: DType): Tensor {
  const o = c.options;
  switch (c.loss) {
    case "infoNCE":
      return infoNCE(leaves.query, leaves.positiveKey, leaves.negativeKeys ?? null, {
        temperature: o.temperature as number,
        reduction: o.reduction as "mean" | "sum" | "none",
        metric: o.metric as "cosine" | "dot" | "euclidean",
      });
    case "ntXent":
      return ntXent(leaves.z1, leaves.z2, { temperature: o.temperature as number });
    case "clipLoss":
      if (o.learnableTemperature) {
        leaves.temperature ??= tensor(o.temperature as number, { dtype, requiresGrad: true });
        return clipLoss(leaves.imageFeatures, leaves.textFeatures, { temperature: leaves.temperature });
      }
      if (o.logitScale !== undefined) {
        leaves.logitScale ??= tensor(o.logitScale as number, { dtype, requiresGrad: true });
        return clipLoss(leaves.imageFeatures, leaves.textFeatures, { logitScale: leaves.logitScale });
      }
      return clipLoss(leaves.imageFeatures, leaves.textFeatures, { temperature: o.temperature as number });
    case "mocoLoss":
      return mocoLoss(leaves.query, leaves.key, leaves.queue, { temperature: o.temperature as number });
    case "byolLoss":
      return byolLoss(leaves.prediction, leaves.target);
  }
}

/** |actual − expected| ≤ atol + rtol·|expected|, element by element; returns the first miss. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= atol + rtol * Math.abs(expected[i]))) {
      return `element ${i}: got ${actual[i]}, expected ${expected[i]} (rtol ${rtol}, atol ${atol})`;
    }
  }
  return null;
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** ‖a − b‖ / ‖b‖ over all elements. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let difference = 0;
  let reference = 0;
  for (let i = 0; i < a.length; i++) {
    difference += (a[i] - b[i]) ** 2;
    reference += b[i] ** 2;
  }
  return Math.sqrt(difference) / Math.sqrt(reference);
}

/** Seeded standard-normal (rows, cols) embeddings. */
export function randomEmbeddings(generator: Generator, rows: number, cols: number, dtype: DType = "float64", requiresGrad = false): Tensor {
  const t = randn([rows, cols], generator, { dtype });
  return requiresGrad ? t.requiresGrad_() : t;
}

// ---- fast-check ---------------------------------------------------------------------------------

/** Values in [−2, 2] for a (rows, cols) float64 batch, no row shorter than 0.1. */
export function embeddingValuesArb(rows: number, cols: number): fc.Arbitrary<number[]> {
  return fc
    .array(fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: rows * cols, maxLength: rows * cols })
    .map((values) => {
      for (let r = 0; r < rows; r++) {
        let norm = 0;
        for (let c = 0; c < cols; c++) norm += values[r * cols + c] ** 2;
        if (Math.sqrt(norm) < 0.1) values[r * cols] = 1;
      }
      return values;
    });
}

export function embeddingsArb(rows: number, cols: number): fc.Arbitrary<Tensor> {
  return embeddingValuesArb(rows, cols).map((values) => tensor(values, { shape: [rows, cols], dtype: "float64" }));
}

/** Positive factors, one per row, spanning two orders of magnitude. */
export function rowScalesArb(rows: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: rows, maxLength: rows });
}

export function scaleRows(t: Tensor, scales: number[]): Tensor {
  return t.mul(tensor(scales, { shape: [scales.length, 1], dtype: t.dtype }));
}

/** A permutation of 0 … n − 1. */
export function permutationArb(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { minLength: n, maxLength: n }).map((keys) =>
    keys.map((k, i) => [k, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i)
  );
}

export function permuteRows(t: Tensor, permutation: number[]): Tensor {
  return t.indexSelect(0, permutation);
}

export const temperatureArb = fc.double({ min: 0.1, max: 2, noNaN: true });

/** The same (rows, cols) direction in every row, each row scaled by its own positive factor. */
export function identicalRows(direction: number[], scales: number[]): Tensor {
  return tensor(scales.flatMap((s) => direction.map((v) => v * s)), { shape: [scales.length, direction.length], dtype: "float64" });
}

export const runs = (numRuns: number) => ({ numRuns });
