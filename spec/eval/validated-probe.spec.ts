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

  it("refits on all training rows with the λ of the best validation accuracy (bit for bit on the plain path)", () => {
    const train = blobs(400, 40, 4, 1, 2.5);
    const test = blobs(200, 40, 4, 1, 2.5);
    const result = linearProbeValidated(train.features, train.labels, test.features, test.labels, { warmStart: false });
    expect(result.validation.map((v) => v.weightDecay)).to.deep.equal([...WEIGHT_DECAY_GRID]);
    const bestAccuracy = Math.max(...result.validation.map((v) => v.accuracy));
    const best = result.validation.filter((v) => v.accuracy === bestAccuracy).map((v) => v.weightDecay);
    expect(result.weightDecay).to.equal(Math.max(...best));
    const direct = linearProbe(train.features, train.labels, test.features, test.labels, { weightDecay: result.weightDecay });
    expect(result.testAccuracy).to.equal(direct.testAccuracy);
    expect(Array.from(result.weights)).to.deep.equal(Array.from(direct.weights));
  });

  it("warm starts (the default) land on the plain path's optimum: same λ, same accuracies, objective and weights within tolerance", () => {
    // Strict convexity: both paths stop where max |∂L/∂θ| ≤ 1e-5 near the one optimum. On these
    // sets the chosen λ, every validation accuracy and the test accuracy are identical; the
    // objective agrees to 1e-7 and the weights to 1e-2 of their largest entry (the loosest λ
    // in the grid, 1e-5, has the flattest optimum).
    const cases = [
      { train: blobs(400, 40, 4, 1, 2.5), test: blobs(200, 40, 4, 1, 2.5) },
      { train: blobs(300, 30, 3, 2, 2), test: blobs(90, 30, 3, 3, 2) },
      { train: blobs(600, 24, 6, 4, 3), test: blobs(240, 24, 6, 5, 3) },
    ];
    for (const [index, { train, test }] of cases.entries()) {
      const plain = linearProbeValidated(train.features, train.labels, test.features, test.labels, { warmStart: false });
      const fast = linearProbeValidated(train.features, train.labels, test.features, test.labels);
      const context = `case ${index}`;
      expect(fast.weightDecay, context).to.equal(plain.weightDecay);
      expect(fast.validation, context).to.deep.equal(plain.validation);
      expect(fast.testAccuracy, context).to.equal(plain.testAccuracy);
      expect(Array.from(fast.testPredictions), context).to.deep.equal(Array.from(plain.testPredictions));
      expect(fast.converged && plain.converged, context).to.equal(true);
      expect(fast.objective, context).to.be.closeTo(plain.objective, 1e-7);
      const largest = Math.max(...plain.weights.map(Math.abs));
      for (let k = 0; k < plain.weights.length; k++) expect(fast.weights[k], context).to.be.closeTo(plain.weights[k], 1e-2 * largest);
    }
  });

  it("a warm start moves the classifier into the new standardization exactly: it starts at the optimum it was given", () => {
    // The refit's standardizer differs from the fit part's; transferred, the same classifier
    // must already be optimal for its own data, so L-BFGS takes no step.
    const train = blobs(300, 30, 3, 2, 2);
    const solved = linearProbe(train.features, train.labels, train.features, train.labels, { weightDecay: 1e-2, tolerance: 1e-9 });
    const shifted = { ...train.features, data: train.features.data.map((v, k) => 3 * v + (k % 30)) }; // x ↦ 3x + j
    const moved = {
      ...solved,
      mean: solved.mean.map((m, j) => 3 * m + j),
      scale: solved.scale.map((s) => 3 * s),
    };
    const again = linearProbe(shifted, train.labels, shifted, train.labels, {
      weightDecay: 1e-2,
      tolerance: 1e-7,
      initialClassifier: moved,
    });
    expect(again.iterations).to.equal(0);
    expect(again.converged).to.equal(true);
    expect(() =>
      linearProbe(train.features, train.labels, train.features, train.labels, {
        initialClassifier: { ...solved, bias: solved.bias.slice(1) },
      })
    ).to.throw(/^linearProbe: initialClassifier has 30 features and 2 classes, this fit 30 and 3/);
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
