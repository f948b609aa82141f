/**
 * Adam's update loop without branches (adamUpdate, src/optim/adam.ts) against the reference loop it
 * replaces for every case but AMSGrad (adamUpdateReference): w, m and v bit for bit after several steps,
 * for each kind of weight decay, both dtypes, offsets into larger arrays, and ±0, ±∞, NaN, huge and tiny
 * values in the weights and the gradients.
 */
import { expect } from "chai";
import fc from "fast-check";
import { type AdamDecay, adamUpdate, adamUpdateReference, type AdamStepConstants } from "../../src/optim/adam.js";

const sameBits = (a: number, e: number) => Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
const special = [0, -0, Infinity, -Infinity, NaN, 1e-30, -1e30, 3.4e38, 5e-324];

describe("Adam's branch-free update loop against the reference loop", () => {
  it("w, m, v bit for bit over 3 steps: no decay, decoupled, L2; float32 and float64; offsets; special values", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<AdamDecay>("none", "decoupled", "l2"),
        fc.constantFrom("float32", "float64"),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.double({ min: 1e-5, max: 1, noNaN: true }),
        fc.constantFrom(0, 1e-6, 0.01, 0.5),
        fc.array(fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(...special)), { minLength: 1, maxLength: 50 }),
        (decay, dtype, n, wOffset, gOffset, lr, weightDecay, values) => {
          const make = (length: number, shift: number) => {
            const array = dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
            for (let i = 0; i < length; i++) array[i] = values[(i + shift) % values.length];
            return array;
          };
          const w = make(n + wOffset, 0), g = make(n + gOffset, 7);
          const m = make(n, 3).map((x) => x * 0.1), v = make(n, 5).map((x) => x * x);
          const fast = { w: w.slice(), m: m.slice(), v: v.slice() };
          const reference = { w: w.slice(), m: m.slice(), v: v.slice() };
          for (let t = 1; t <= 3; t++) {
            const beta1 = 0.9, beta2 = 0.999;
            const c: AdamStepConstants = {
              beta1,
              beta2,
              stepSize: lr / (1 - beta1 ** t),
              biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** t),
              eps: 1e-8,
              weightDecay,
              decayFactor: 1 - lr * weightDecay,
            };
            adamUpdate(fast.w, wOffset, g, gOffset, fast.m, fast.v, null, n, c, decay);
            adamUpdateReference(reference.w, wOffset, g, gOffset, reference.m, reference.v, null, n, c, decay);
          }
          for (const key of ["w", "m", "v"] as const) {
            for (let i = 0; i < fast[key].length; i++) {
              const what = `${key}[${i}] (${decay}, ${dtype}): ${fast[key][i]} vs ${reference[key][i]}`;
              expect(sameBits(fast[key][i], reference[key][i]), what).to.equal(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
