/**
 * The benchmark's "same loss" claim (bench/peers.bench.ts, docs/performance.md "Peers, side by
 * side"): NT-Xent written in TensorFlow.js (bench/tfjs-nt-xent.ts), on tfjs-backend-cpu, computes
 * the loss of ours (src/losses/nt-xent.ts) on the same embeddings.
 *
 *   L = mean_i( logsumexp_{k≠i} z_i·z_k/τ − z_i·z_pos(i)/τ ),  z = normalize(cat[z₁, z₂])
 *
 * tfjs computes in float32 only, so ours runs in float64 and the two must agree to float32
 * rounding (relative 1e-5), on random sizes, scales and temperatures, and on two closed forms.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { ntXent } from "../../src/losses/nt-xent.js";
import { tensor } from "../../src/tensor/creation.js";
import { tfjsNtXent } from "../../bench/tfjs-nt-xent.js";

/** The loss of tfjs on the float32 rounding of `z1`, `z2` (N, D), row-major. */
function theirs(z1: Float64Array, z2: Float64Array, n: number, d: number, temperature: number): number {
  return tf.tidy(() => {
    const a = tf.tensor2d(Float32Array.from(z1), [n, d]), b = tf.tensor2d(Float32Array.from(z2), [n, d]);
    return tfjsNtXent(a, b, temperature).dataSync()[0];
  });
}

/** Our loss in float64 on the same float32-rounded values. */
function ours(z1: Float64Array, z2: Float64Array, n: number, d: number, temperature: number): number {
  const round = (v: Float64Array) => Float64Array.from(Float32Array.from(v));
  const a = tensor(round(z1), { shape: [n, d] }), b = tensor(round(z2), { shape: [n, d] });
  return ntXent(a, b, { temperature }).item();
}

describe("bench: NT-Xent in tfjs = ours (the peers benchmark's same-loss check)", () => {
  before(async () => {
    await tf.setBackend("cpu");
    await tf.ready();
  });

  it("agrees on random batches, widths, scales and temperatures (float32 tolerance)", () => {
    const batch = fc.record({ n: fc.integer({ min: 1, max: 9 }), d: fc.integer({ min: 1, max: 12 }) }).chain(({ n, d }) =>
      fc.record({
        n: fc.constant(n),
        d: fc.constant(d),
        values: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2 * n * d, maxLength: 2 * n * d }),
        scale: fc.constantFrom(1e-3, 1, 50),
        temperature: fc.constantFrom(0.07, 0.5, 1, 3),
      })
    );
    fc.assert(
      fc.property(batch, ({ n, d, values, scale, temperature }) => {
        const z = Float64Array.from(values, (v) => v * scale + 1e-3); // no all-zero row: its direction is arbitrary
        const z1 = z.subarray(0, n * d), z2 = z.subarray(n * d);
        const expected = ours(z1, z2, n, d, temperature), actual = theirs(z1, z2, n, d, temperature);
        expect(Math.abs(actual - expected)).to.be.at.most(1e-5 * Math.max(1, Math.abs(expected)), `n ${n} d ${d} τ ${temperature}`);
      }),
      { numRuns: 60 },
    );
  });

  it("gives the closed forms: aligned views log(1 + 2e⁻²), collapsed log(2N − 1)", () => {
    // z₁ = [[1, 0], [0, 1]], z₂ = [[2, 0], [0, 3]], τ = 0.5: positive at 2, two orthogonal candidates at 0
    const aligned = theirs(Float64Array.of(1, 0, 0, 1), Float64Array.of(2, 0, 0, 3), 2, 2, 0.5);
    expect(aligned).to.be.closeTo(Math.log(1 + 2 * Math.exp(-2)), 1e-6);
    const collapsed = theirs(new Float64Array(6).fill(1), new Float64Array(6).fill(1), 3, 2, 0.5);
    expect(collapsed).to.be.closeTo(Math.log(5), 1e-6);
  });
});
