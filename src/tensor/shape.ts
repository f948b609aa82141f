/**
 * Shapes and strides: the arithmetic every op needs before it touches a number.
 *
 * A tensor of shape (d0, d1, …, dn−1) stored row-major has strides (d1·…·dn−1, …, dn−1, 1):
 * element [i0, …, in−1] lives at offset + Σ ik·stride_k. A broadcast axis has stride 0, so the same
 * number is read for every index along it; a transpose swaps two strides. Neither copies data.
 *
 * @module
 */

/** A tensor shape: the length of each axis, e.g. `[N, D]`; `[]` is a scalar. PyTorch: `torch.Size`. */
export type Shape = readonly number[];

export function shapeToString(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Number of elements of a shape (1 for the 0-d shape []). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * NumPy broadcasting: align shapes at the right; each pair of sizes must be equal or one of them 1.
 * (2, 3) with (3,) → (2, 3); (4, 1) with (1, 5) → (4, 5); (2, 3) with (2,) is an error.
 * PyTorch: `torch.broadcast_shapes`.
 */
export function broadcastShapes(opName: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${opName}: shapes ${shapeToString(a)} and ${shapeToString(b)} cannot be broadcast together ` +
          `(axis ${i} of the aligned shapes has sizes ${da} and ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolve a possibly negative axis (−1 is the last) and check its range. */
export function normalizeAxis(opName: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis)) throw new Error(`${opName}: dim must be an integer, got ${axis}`);
  const resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 0 || resolved >= rank) {
    throw new Error(`${opName}: dim ${axis} is out of range for a tensor with ${rank} dimension(s)`);
  }
  return resolved;
}

/**
 * The most elements one tensor may have: 2³¹ − 1. A typed array cannot be much larger, and a shape
 * beyond it is a bug (zeros([1e5, 1e5]) asks for 40 GB): it is refused before anything is allocated.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * A shape is an array of non-negative integer sizes with at most MAX_ELEMENTS elements in all.
 * A bare number is refused (torch.zeros(3) means zeros([3]); here write the array).
 */
export function checkShape(opName: string, shape: Shape): void {
  if (!Array.isArray(shape)) {
    const shown = typeof shape === "number" ? `the number ${shape}; write [${shape}]` : shape === null ? "null" : typeof shape;
    throw new Error(`${opName}: shape must be an array of sizes, got ${shown}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${opName}: invalid shape ${shapeToString(shape)} (sizes must be non-negative integers)`);
    }
  }
  const count = numel(shape);
  if (count > MAX_ELEMENTS) {
    throw new Error(`${opName}: shape ${shapeToString(shape)} has ${count} elements, more than the ${MAX_ELEMENTS} a tensor can hold`);
  }
}
