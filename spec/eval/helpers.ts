/**
 * Shared helpers of the eval specs: small synthetic feature sets built from a seeded Generator.
 */
import { Generator } from "../../src/tensor/random.js";
import type { FeatureMatrix } from "../../src/eval/features.js";

/** A (rows, dim) Float64Array matrix from nested rows. */
export function matrix(rows: number[][]): FeatureMatrix {
  const dim = rows[0].length;
  return { data: Float64Array.from(rows.flat()), rows: rows.length, dim };
}

/** Gaussian blobs: `perClass` points per class around well separated centers (center c = spread·e_c). */
export function blobs(
  classes: number,
  perClass: number,
  dim: number,
  spread: number,
  noise: number,
  seed: number,
): { features: FeatureMatrix; labels: Int32Array } {
  const generator = new Generator(seed);
  const rows = classes * perClass;
  const data = new Float64Array(rows * dim);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = i % classes;
    labels[i] = label;
    for (let d = 0; d < dim; d++) data[i * dim + d] = (d === label ? spread : 0) + noise * generator.normal();
  }
  return { features: { data, rows, dim }, labels };
}

/** (rows, dim) standard normal entries. */
export function gaussian(rows: number, dim: number, seed: number): FeatureMatrix {
  const generator = new Generator(seed);
  return { data: new Float64Array(rows * dim).map(() => generator.normal()), rows, dim };
}
