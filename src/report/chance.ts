/**
 * The value each method's loss takes when the model has learned nothing: the reference line of
 * the loss plot. A curve that stays on it is a run that is not learning.
 *
 *   SimCLR, NT-Xent over 2N views: all similarities equal → each row's softmax is uniform over its
 *           2N − 1 candidates (itself excluded)                                 L = log(2N − 1)
 *   MoCo, InfoNCE against K queue keys: one positive and K negatives, equal      L = log(K + 1)
 *           (the symmetrized loss is the mean of two such terms: the same value)
 *   CLIP, symmetric cross entropy over the N × N logits: uniform rows            L = log N
 *   BYOL, 2 − 2 cos(p, z′) summed over the two views: predictions unrelated to
 *           their targets (cos = 0). Not a floor: a collapsed BYOL reaches 0     L = 4
 *
 * (REFERENCE-CONVENTIONS: "with all embeddings identical, every row has 2N−1 equal candidates:
 * loss = log(2N−1). At batch 128 that is 5.5413; a run stuck near 5.5 has learned nothing.")
 *
 * @module
 */
import type { ReferenceLine } from "./svg.js";

/** The sizes the chance value depends on. */
export interface ChanceSizes {
  /** N, the images per batch. */
  batchSize: number;
  /** K, MoCo's queue length. */
  queueSize?: number;
}

/**
 * The reference line of a method's loss plot (see the file header), or undefined for a method
 * whose loss has no such value here.
 */
export function chanceLine(method: string, sizes: ChanceSizes): ReferenceLine | undefined {
  const n = sizes.batchSize;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`chanceLine: batchSize must be a positive whole number, got ${n}`);
  const value = (v: number) => v.toFixed(3);
  switch (method) {
    case "simclr":
      return { value: Math.log(2 * n - 1), label: `chance: log(2N − 1) = ${value(Math.log(2 * n - 1))}, N = ${n}` };
    case "moco": {
      const k = sizes.queueSize;
      if (!(Number.isInteger(k) && k! >= 1)) throw new Error(`chanceLine: moco needs its queueSize K, got ${k}`);
      return { value: Math.log(k! + 1), label: `chance: log(K + 1) = ${value(Math.log(k! + 1))}, K = ${k}` };
    }
    case "clip":
      return { value: Math.log(n), label: `chance: log N = ${value(Math.log(n))}, N = ${n}` };
    case "byol":
      return { value: 4, label: "unrelated (cos = 0): 2 × (2 − 2·0) = 4" };
    default:
      return undefined;
  }
}
