/**
 * Pixel-level helpers shared by the augmentations (augment.ts) and their per-image reference
 * (augment-reference.ts): the side of a square image, clamping to [0, 1], and the check of an
 * input/output pair. Internal: only `imageSide` is public, re-exported by augment.ts.
 *
 * @module
 */

/** Side length of a square image with `pixelCount` pixels (throws if not a perfect square). */
export function imageSide(pixelCount: number): number {
  const side = Math.round(Math.sqrt(pixelCount));
  if (side * side !== pixelCount || side === 0) {
    throw new Error(`augment: images must be square, got ${pixelCount} pixels`);
  }
  return side;
}

/** The value clamped to [0, 1] (NaN stays NaN). */
export function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}

/**
 * Check that input and output have the same square size and do not overlap; pointwise maps may
 * pass `allowSameArray` to also accept output === input (in place).
 */
export function checkPair(input: Float32Array, output: Float32Array, who: string, allowSameArray = false): number {
  if (input.length !== output.length) {
    throw new Error(`${who}: input has ${input.length} pixels but output has ${output.length}`);
  }
  const sameArray = input.buffer === output.buffer && input.byteOffset === output.byteOffset;
  if (input.buffer === output.buffer && !(allowSameArray && sameArray)) {
    const inStart = input.byteOffset;
    const outStart = output.byteOffset;
    if (inStart < outStart + output.byteLength && outStart < inStart + input.byteLength) {
      throw new Error(`${who}: output must not overlap input`);
    }
  }
  return imageSide(input.length);
}
