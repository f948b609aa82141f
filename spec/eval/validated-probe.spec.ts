import { expect } from "chai";
import fc from "fast-check";
import { Generator } from "../../src/tensor/random.js";
import { linearProbe } from "../../src/eval/linear-probe.js";
import { linearProbeValidated, stratifiedHoldout, WEIGHT_DECAY_GRID } from "../../src/eval/validated-probe.js";

/** Noisy Gaussian blobs in D dims: hard enough that λ matters. */
function blobs(count: number, dim: number, classes: number, seed: number, noise: number) {
  const g = new Generator(seed);
  const centers = Array.from({ length: classes }, () => Array.from({ length: dim }, () => g.normal()));
  const data = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) data[i * dim + j] = centers[c][j] + noise * g.normal();
  }
  return { features: { data, rows: count, dim }, labels };
}

describe("linearProbeValidated (λ chosen on held-out training data)", () => {
  it("stratifiedHoldout keeps the last ⌈f·n_c⌉ rows of every class for validation, disjoint and complete", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 80 }), (raw) => {
        // every class needs at least two rows
        const labels = Int32Array.from([...raw, 0, 0, 1, 1, 2, 2, 3, 3]);
        const { fit, validation } = stratifiedHoldout(labels, 0.25);
        expect(fit.length + validation.length).to.equal(labels.length);
        expect(new Set([...fit, ...validation]).size).to.equal(labels.length);
        for (let c = 0; c < 4; c++) {
          const rows = [...labels.keys()].filter((r) => labels[r] === c);
          const held = Math.ceil(0.25 * rows.length);
          expect([...validation].filter((r) => labels[r] === c)).to.deep.equal(rows.slice(rows.length - held));
        }
      }),
      { numRuns: 50 },
    );
  });

  it("refits on all training rows with the λ of the best validation accuracy (bit for bit)", () => {
    const train = blobs(400, 40, 4, 1, 2.5);
    const test = blobs(200, 40, 4, 1, 2.5);
    const result = linearProbeValidated(train.features, train.labels, test.features, test.labels);
    expect(result.validation.map((v) => v.weightDecay)).to.deep.equal([...WEIGHT_DECAY_GRID]);
    const bestAccuracy = Math.max(...result.validation.map((v) => v.accuracy));
    const best = result.validation.filter((v) => v.accuracy === bestAccuracy).map((v) => v.weightDecay);
    expect(result.weightDecay).to.equal(Math.max(...best));
    const direct = linearProbe(train.features, train.labels, test.features, test.labels, { weightDecay: result.weightDecay });
    expect(result.testAccuracy).to.equal(direct.testAccuracy);
    expect(Array.from(result.weights)).to.deep.equal(Array.from(direct.weights));
  });

  it("never looks at the test labels when choosing λ", () => {
    const train = blobs(300, 30, 3, 2, 2);
    const test = blobs(90, 30, 3, 3, 2);
    const shuffled = Int32Array.from(test.labels, (_, i) => test.labels[(i * 7) % test.labels.length]);
    const a = linearProbeValidated(train.features, train.labels, test.features, test.labels);
    const b = linearProbeValidated(train.features, train.labels, test.features, shuffled);
    expect(b.weightDecay).to.equal(a.weightDecay);
    expect(b.validation).to.deep.equal(a.validation);
  });

  it("rejects a bad grid or fraction", () => {
    const train = blobs(40, 4, 2, 0, 1);
    expect(() => linearProbeValidated(train.features, train.labels, train.features, train.labels, { grid: [] })).to.throw(
      /linearProbeValidated: grid/,
    );
    expect(() => stratifiedHoldout(train.labels, 1)).to.throw(/stratifiedHoldout: fraction must be in \(0, 1\)/);
  });
});
