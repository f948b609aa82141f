/**
 * Numerical stability: the losses stay finite and accurate where a naive exp(s/τ) overflows.
 * float32 has exp overflow at 88.7, so a logit of 1/τ = 100 (τ = 0.01) or 1000 (τ = 0.001)
 * breaks any softmax that does not subtract the row max first (solo-learn's unshifted version
 * overflows at 1/τ > 88.7). Each float32 result is compared with the float64 one computed from
 * the same (float32-rounded) inputs, so the difference is the computation's error alone.
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import { infoNCE, ntXent, clipLoss, mocoLoss, byolLoss } from "../../src/losses/index.js";
import { randomEmbeddings, relativeError } from "./helpers.js";

type LossOf = (inputs: Tensor[], temperature: number) => Tensor;

const losses: [string, number[], LossOf][] = [
  ["infoNCE with negatives", [16, 16, 24], ([q, k, n], temperature) => infoNCE(q, k, n, { temperature })],
  ["infoNCE in-batch", [16, 16], ([q, k], temperature) => infoNCE(q, k, null, { temperature })],
  ["ntXent", [16, 16], ([a, b], temperature) => ntXent(a, b, { temperature })],
  ["clipLoss", [16, 16], ([a, b], temperature) => clipLoss(a, b, { temperature })],
  ["mocoLoss", [16, 16, 64], ([q, k, queue], temperature) => mocoLoss(q, k, queue, { temperature })],
];

/** The loss and the gradients of every input, in the given dtype, from float32-exact values. */
function evaluate(values: Tensor[], dtype: "float32" | "float64", loss: LossOf, temperature: number) {
  const inputs = values.map((v) => v.to(dtype).detach().requiresGrad_());
  const output = loss(inputs, temperature);
  output.backward();
  // (MoCo's key and queue are detached: their grad stays null)
  return { value: output.item(), grads: inputs.map((t) => (t.grad ? Float64Array.from(t.grad.toTypedArray()) : null)) };
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

describe("losses: numerical stability", () => {
  for (const temperature of [0.01, 0.001]) {
    for (const [name, rows, loss] of losses) {
      it(`${name} at τ = ${temperature}: finite, float32 within 1e-5 of float64 (value) and 1e-3 (gradients)`, () => {
        const generator = new Generator(Math.round(1 / temperature) + rows.length);
        const values = rows.map((r) => randomEmbeddings(generator, r, 32, "float32")); // float32-exact
        const single = evaluate(values, "float32", loss, temperature);
        const double = evaluate(values, "float64", loss, temperature);
        expect(Number.isFinite(single.value)).to.equal(true);
        expect(single.value).to.be.above(1); // random embeddings at small τ: a large loss
        expect(Math.abs(single.value - double.value) / double.value).to.be.below(1e-5);
        expect(single.grads[0]).to.not.equal(null);
        single.grads.forEach((grad, i) => {
          if (grad === null) return expect(double.grads[i]).to.equal(null);
          expect(allFinite(grad), `grad ${i} finite`).to.equal(true);
          expect(relativeError(grad, double.grads[i]!), `grad ${i}`).to.be.below(1e-3);
        });
      });
    }
  }

  it("byolLoss in float32: accurate near alignment (2 − 2cos with cos ≈ 1)", () => {
    const generator = new Generator(5);
    const target = randomEmbeddings(generator, 16, 32, "float32");
    const prediction = target.add(randomEmbeddings(generator, 16, 32, "float32").mul(1e-2)).detach(); // cos ≈ 1 − 5e-5·D
    const single = byolLoss(prediction, target).item();
    const double = byolLoss(prediction.to("float64"), target.to("float64")).item();
    expect(Math.abs(single - double) / double).to.be.below(1e-2);
  });

  describe("batch 4096, D = 4 (float32 forward and backward against a float64 loop)", () => {
    /**
     * Streaming float64 reference: one row at a time, running-max log-sum-exp, no N×N matrix.
     * rows and keys are unit rows, flat (count, D); row i's positive is key positiveOf(i).
     */
    function loopReference(rows: Float64Array, keys: Float64Array, d: number, positiveOf: (i: number) => number, excludeSelf: boolean, temperature: number): number {
      const count = rows.length / d;
      const keyCount = keys.length / d;
      let total = 0;
      for (let i = 0; i < count; i++) {
        let max = -Infinity;
        let sum = 0;
        let positive = 0;
        for (let j = 0; j < keyCount; j++) {
          if (excludeSelf && j === i) continue;
          let similarity = 0;
          for (let k = 0; k < d; k++) similarity += rows[i * d + k] * keys[j * d + k];
          const logit = similarity / temperature;
          if (j === positiveOf(i)) positive = logit;
          if (logit > max) {
            sum = sum * Math.exp(max - logit) + 1;
            max = logit;
          } else {
            sum += Math.exp(logit - max);
          }
        }
        total += max + Math.log(sum) - positive;
      }
      return total / count;
    }
    /** The rows of t, L2-normalized in float64, flat. */
    const unitRows = (...parts: Tensor[]): Float64Array => {
      const d = parts[0].shape[1];
      const data = Float64Array.from(parts.flatMap((t) => Array.from(t.toTypedArray())));
      for (let i = 0; i < data.length / d; i++) {
        let norm = 0;
        for (let k = 0; k < d; k++) norm += data[i * d + k] ** 2;
        for (let k = 0; k < d; k++) data[i * d + k] /= Math.sqrt(norm);
      }
      return data;
    };

    it("infoNCE in-batch at N = 4096: a 4096 × 4096 logit matrix", () => {
      const generator = new Generator(4096);
      const temperature = 0.05;
      const query = randomEmbeddings(generator, 4096, 4, "float32", true);
      const key = randomEmbeddings(generator, 4096, 4, "float32", true);
      const loss = infoNCE(query, key, null, { temperature });
      loss.backward();
      const reference = loopReference(unitRows(query), unitRows(key), 4, (i) => i, false, temperature);
      expect(Math.abs(loss.item() - reference) / reference).to.be.below(1e-5);
      expect(allFinite(query.grad!.toTypedArray()) && allFinite(key.grad!.toTypedArray())).to.equal(true);
    });

    it("ntXent at 2N = 4096 views (N = 2048 images): a 4096 × 4096 masked logit matrix", () => {
      const generator = new Generator(2048);
      const temperature = 0.05;
      const z1 = randomEmbeddings(generator, 2048, 4, "float32", true);
      const z2 = randomEmbeddings(generator, 2048, 4, "float32", true);
      const loss = ntXent(z1, z2, { temperature });
      loss.backward();
      const views = unitRows(z1, z2); // (4096, 4)
      const reference = loopReference(views, views, 4, (i) => (i + 2048) % 4096, true, temperature);
      expect(Math.abs(loss.item() - reference) / reference).to.be.below(1e-5);
      expect(allFinite(z1.grad!.toTypedArray()) && allFinite(z2.grad!.toTypedArray())).to.equal(true);
    });
  });
});
