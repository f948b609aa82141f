/**
 * fast-check generators shared by the specs: shapes (with broadcasting partners) and float64
 * tensors whose values stay away from the points where an op is not differentiable.
 */
import fc from "fast-check";
import { Tensor, tensor } from "../../src/index.js";

export const dimSize = fc.integer({ min: 1, max: 4 });

/** A shape of rank minRank..maxRank with sizes 1..4. */
export function shapeArb(minRank = 0, maxRank = 3): fc.Arbitrary<number[]> {
  return fc.array(dimSize, { minLength: minRank, maxLength: maxRank });
}

/** A pair of shapes that broadcast together: the second drops leading axes and sets some to 1. */
export function broadcastPairArb(minRank = 0, maxRank = 3): fc.Arbitrary<[number[], number[]]> {
  return shapeArb(minRank, maxRank).chain((full) =>
    fc
      .tuple(
        fc.integer({ min: 0, max: full.length }),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.boolean(),
      )
      .map(([drop, ones, swap]) => {
        const partner = full.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
        return (swap ? [partner, full] : [full, partner]) as [number[], number[]];
      })
  );
}

export interface ValueRange {
  min?: number;
  max?: number;
  /** Keep |x| ≥ this (away from kinks at 0, e.g. abs, relu). */
  awayFromZero?: number;
}

export function valuesArb(count: number, range: ValueRange = {}): fc.Arbitrary<number[]> {
  const min = range.min ?? -2;
  const max = range.max ?? 2;
  const away = range.awayFromZero ?? 0;
  return fc.array(
    fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((v) => {
      if (away > 0 && Math.abs(v) < away) return v < 0 ? -away - Math.abs(v) : away + Math.abs(v);
      return v;
    }),
    { minLength: count, maxLength: count },
  );
}

/** A float64 leaf tensor of the given shape that requires grad. */
export function tensorArb(shape: number[], range: ValueRange = {}): fc.Arbitrary<Tensor> {
  const count = shape.reduce((p, d) => p * d, 1);
  return valuesArb(count, range).map((values) => tensor(values, { shape, dtype: "float64", requiresGrad: true }));
}

export function numbersClose(actual: number, expected: number, rtol: number, atol = 0): boolean {
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

/** Flat values of a tensor as a plain array. */
export function flat(t: Tensor): number[] {
  return Array.from(t.toTypedArray());
}
