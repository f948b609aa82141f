/**
 * NT-Xent's fused core (ntXentFromSimilarities in src/losses/nt-xent.ts) against the composed ops
 * it replaces, the documented reference ntXentReference:
 *
 *   crossEntropy(S.div(τ).maskedFill(eye(2N), −∞), pos)        pos(i) = (i + N) mod 2N
 *
 *  - float64: loss and ∂S bit for bit, for S in any layout, with ±∞ and NaN anywhere in S (the
 *    diagonal included: masked, it must not matter), and for any upstream gradient ḡ.
 *  - float32: the logits rounded as there; the mean summed in float64 and each ∂S_ik rounded once,
 *    so within a few float32 ulps of the composed value and, summed over the cases, closer to the
 *    float64 loss of the same inputs.
 *  - ntXent = ntXentReference on two views in any layout, values and input gradients.
 *  - on the worker pool (2N ≥ 128 rows): loss and ∂S the same bits for 1, 2 and 3 threads.
 */
import { expect } from "chai";
import fc from "fast-check";
import ndarray from "ndarray";
import { Tensor } from "../../src/tensor/tensor.js";
import { eye } from "../../src/tensor/creation.js";
import { crossEntropy } from "../../src/ops/functional.js";
import { ntXent, ntXentFromSimilarities, ntXentReference, positiveIndices } from "../../src/losses/nt-xent.js";
import { filled, laidOut, type Dtype, type Layout } from "../helpers/layouts.js";
import "../../src/node.js"; // installs Node's worker-thread platform (without it every call runs on one thread)
import { lastNtXentThreads } from "../../src/losses/nt-xent-rows.js";
import { getNumThreads, setNumThreads } from "../../src/parallel/index.js";
import { randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";

const sameBits = (a: number, e: number) => Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));

function expectSameBits(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape, what).to.deep.equal(expected.shape);
  const a = actual.toTypedArray(), e = expected.toTypedArray();
  for (let i = 0; i < e.length; i++) expect(sameBits(a[i], e[i]), `${what}[${i}]: ${a[i]} vs ${e[i]}`).to.equal(true);
}

/** The composed form on a similarity matrix: what ntXentReference does after S = z zᵀ. */
function composedFromSimilarities(S: Tensor, temperature: number): Tensor {
  const views = S.shape[0];
  return crossEntropy(S.div(temperature).maskedFill(eye(views, views, { dtype: S.dtype }), -Infinity), positiveIndices(views / 2));
}

function lossAndGradient(S: () => Tensor, f: (s: Tensor) => Tensor, upstream: number) {
  const s = S().requiresGrad_();
  const loss = f(s);
  loss.backward(Tensor.fromTypedArray(filled(s.dtype as Dtype, 1, [upstream]), []));
  return { loss: loss.item(), grad: s.grad as Tensor };
}

const temperatureArb = fc.constantFrom(0.07, 0.1, 0.5, 1, 1.7);
const layoutArb = fc.constantFrom<Layout>("contiguous", "transposed", "sliced");
const upstreamArb = fc.constantFrom(1, -1, 0.3, 2.5, -0);

describe("ntXent's fused core against the composed ops", () => {
  it("float64: loss and ∂S bit for bit, any layout, any upstream gradient", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        temperatureArb,
        layoutArb,
        upstreamArb,
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (n, tau, layout, upstream, values) => {
          const S = () => laidOut(layout, 2 * n, 2 * n, "float64", values);
          const fused = lossAndGradient(S, (s) => ntXentFromSimilarities(s, tau), upstream);
          const composed = lossAndGradient(S, (s) => composedFromSimilarities(s, tau), upstream);
          expect(sameBits(fused.loss, composed.loss), `loss ${fused.loss} vs ${composed.loss}`).to.equal(true);
          expectSameBits(fused.grad, composed.grad, "∂S");
        },
      ),
      { numRuns: 200 },
    );
  });

  it("±∞ and NaN anywhere in S (the masked diagonal included): the same loss and ∂S as the composed ops", () => {
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: -1, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN, -0) },
    );
    for (const dtype of ["float64", "float32"] as Dtype[]) {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 4 }),
          temperatureArb,
          layoutArb,
          fc.array(value, { minLength: 1, maxLength: 40 }),
          (n, tau, layout, values) => {
            const S = () => laidOut(layout, 2 * n, 2 * n, dtype, values);
            const fused = lossAndGradient(S, (s) => ntXentFromSimilarities(s, tau), 1);
            const composed = lossAndGradient(S, (s) => composedFromSimilarities(s, tau), 1);
            // non-finite results must agree exactly; finite ones are compared by the tests above
            if (!Number.isFinite(composed.loss) || !Number.isFinite(fused.loss)) {
              expect(sameBits(fused.loss, composed.loss), `loss ${fused.loss} vs ${composed.loss}`).to.equal(true);
            }
            const a = fused.grad.toTypedArray(), e = composed.grad.toTypedArray();
            for (let i = 0; i < e.length; i++) {
              if (dtype === "float64" || !Number.isFinite(e[i]) || !Number.isFinite(a[i])) {
                expect(sameBits(a[i], e[i]), `∂S[${i}] ${dtype}: ${a[i]} vs ${e[i]}`).to.equal(true);
              }
            }
          },
        ),
        { numRuns: 200 },
      );
    }
  });

  it("float32: within a few ulps of the composed ops, and closer to the float64 loss of the same inputs", () => {
    let fusedError = 0;
    let composedError = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        temperatureArb,
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 97 }),
        (n, tau, values) => {
          const S32 = () => laidOut("contiguous", 2 * n, 2 * n, "float32", values);
          const S64 = () => laidOut("contiguous", 2 * n, 2 * n, "float64", Array.from(filled("float32", values.length, values)));
          const fused = lossAndGradient(S32, (s) => ntXentFromSimilarities(s, tau), 1);
          const composed = lossAndGradient(S32, (s) => composedFromSimilarities(s, tau), 1);
          const truth = lossAndGradient(S64, (s) => composedFromSimilarities(s, tau), 1);
          const ulp = 2 ** -23 * Math.max(Math.abs(truth.loss), 2 ** -10);
          // the float32 logits S/τ are rounded in all three, so "truth" is the float64 loss of those logits' inputs
          expect(Math.abs(fused.loss - composed.loss), "loss vs composed").to.be.at.most(8 * ulp + 1e-6);
          fusedError += Math.abs(fused.loss - truth.loss);
          composedError += Math.abs(composed.loss - truth.loss);
          const a = fused.grad.toTypedArray(), e = composed.grad.toTypedArray(), t = truth.grad.toTypedArray();
          for (let i = 0; i < e.length; i++) {
            expect(Math.abs(a[i] - e[i]), `∂S[${i}] vs composed`).to.be.at.most(1e-5 * (Math.abs(t[i]) + 1e-3 / tau));
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(fusedError, `Σ |fused − float64| ${fusedError} vs Σ |composed − float64| ${composedError}`).to.be.below(composedError);
  });

  it("ntXent = ntXentReference for two views in any layout: value and input gradients (bit for bit in float64)", () => {
    for (const dtype of ["float64", "float32"] as Dtype[]) {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 5 }),
          temperatureArb,
          layoutArb,
          layoutArb,
          fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 60 }).filter((v) => v.some((x) => x !== 0)),
          (n, d, tau, layout1, layout2, values) => {
            const run = (f: typeof ntXent) => {
              const z1 = laidOut(layout1, n, d, dtype, values).requiresGrad_();
              const z2 = laidOut(layout2, n, d, dtype, values.slice(1).concat(values[0])).requiresGrad_();
              const loss = f(z1, z2, { temperature: tau });
              loss.backward();
              return { loss: loss.item(), g1: z1.grad as Tensor, g2: z2.grad as Tensor };
            };
            const fused = run(ntXent), reference = run(ntXentReference);
            if (dtype === "float64") {
              expect(sameBits(fused.loss, reference.loss)).to.equal(true);
              expectSameBits(fused.g1, reference.g1, "∂z1");
              expectSameBits(fused.g2, reference.g2, "∂z2");
            } else {
              expect(Math.abs(fused.loss - reference.loss)).to.be.at.most(1e-6 * (1 + Math.abs(reference.loss)));
              for (const [a, e] of [[fused.g1, reference.g1], [fused.g2, reference.g2]]) {
                const av = a.toTypedArray(), ev = e.toTypedArray();
                // on the gradient's own scale: a row of norm ≤ eps passes ∂S on multiplied by 1/eps
                const scale = Array.from(ev).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
                for (let i = 0; i < ev.length; i++) expect(Math.abs(av[i] - ev[i])).to.be.at.most(1e-5 * (scale + 1 / tau));
              }
            }
          },
        ),
        { numRuns: 100 },
      );
    }
  });

  it("names itself in its errors", () => {
    const S = Tensor.fromTypedArray(new Float64Array(6), [2, 3]);
    expect(() => ntXentFromSimilarities(S, 0.5)).to.throw(
      /ntXentFromSimilarities: similarities must be \(2N, 2N\) with N ≥ 1, got shape \[2, 3\]/,
    );
    const odd = Tensor.fromTypedArray(new Float64Array(9), [3, 3]);
    expect(() => ntXentFromSimilarities(odd, 0.5)).to.throw(/ntXentFromSimilarities: similarities must be \(2N, 2N\)/);
    const square = Tensor.fromTypedArray(new Float64Array(4), [2, 2]);
    expect(() => ntXentFromSimilarities(square, 0)).to.throw(/ntXentFromSimilarities: temperature must be a positive finite number, got 0/);
  });
});

describe("ntXent's fused core on the worker pool (src/losses/nt-xent-rows.ts): the same bits for 1, 2 and 3 threads", () => {
  const threadsBefore = getNumThreads();
  after(() => setNumThreads(threadsBefore));

  it("loss and ∂S bit for bit for 1, 2, 3 threads: float32 and float64, ragged bands, ±∞ and NaN rows; float64 = the composed ops", () => {
    const generator = new Generator(11);
    for (const dtype of ["float32", "float64"] as const) {
      for (const [n, layout] of [[67, "contiguous"], [90, "transposed"]] as const) {
        // 2N = 134, 180 views: the pool's path (≥ 128 rows); 134 = 72 + 62 rows on 2 threads, 180 = 64 + 64 + 52 on 3: ragged last bands
        const values = Array.from(randn([4 * n * n], generator, { dtype: "float64" }).toTypedArray(), (v) => Math.tanh(v));
        values[5 * 2 * n + 3] = Infinity; // row 5 has a +∞ logit, row 2N − 2 a NaN: their rows' lse and ∂S are ±∞/NaN
        values[(2 * n - 2) * 2 * n + 7] = NaN;
        const S = () => laidOut(layout, 2 * n, 2 * n, dtype, values);
        for (const upstream of [1, -0.3]) {
          const runs = [1, 2, 3].map((threads) => {
            setNumThreads(threads);
            const run = lossAndGradient(S, (s) => ntXentFromSimilarities(s, 0.5), upstream);
            expect(lastNtXentThreads(), `the backward used ${threads} threads`).to.equal(threads);
            return run;
          });
          for (const [k, run] of runs.entries()) {
            const where = `${k + 1} threads, ${dtype}, 2N = ${2 * n}, ${layout}, ḡ = ${upstream}`;
            expect(sameBits(run.loss, runs[0].loss), `loss, ${where}: ${run.loss} vs ${runs[0].loss}`).to.equal(true);
            expectSameBits(run.grad, runs[0].grad, `∂S, ${where}`);
          }
          if (dtype === "float64") {
            setNumThreads(2);
            const composed = lossAndGradient(S, (s) => composedFromSimilarities(s, 0.5), upstream);
            expect(sameBits(runs[1].loss, composed.loss), `2 threads vs composed: ${runs[1].loss} vs ${composed.loss}`).to.equal(true);
            expectSameBits(runs[1].grad, composed.grad, "∂S, 2 threads vs composed");
          }
        }
      }
    }
  });
});
