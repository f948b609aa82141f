/**
 * Specs for the linear probe: the optimum of the documented objective (a closed form and the
 * KKT conditions), standardization with train statistics only, determinism, and the raw-pixel
 * MNIST number cross-checked against PyTorch's L-BFGS on the same objective.
 */
import { expect } from "chai";
import { loadMnist } from "../../src/data/mnist-package.js";
import { fitStandardizer, linearProbe } from "../../src/eval/linear-probe.js";
import { rawPixelFeatures } from "../../src/eval/baselines.js";
import { tensor } from "../../src/tensor/creation.js";
import type { FeatureMatrix } from "../../src/eval/features.js";
import { blobs, matrix } from "./helpers.js";

/** 1-D features: x = −1 for class 0, +1 for class 1, `perClass` of each. */
function signData(perClass: number, shift = 0): { features: FeatureMatrix; labels: Int32Array } {
  const values: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass; i++) {
    values.push([-1 + shift], [1 + shift]);
    labels.push(0, 1);
  }
  return { features: matrix(values), labels: Int32Array.from(labels) };
}

describe("eval/linear-probe", () => {
  it("reaches 100% on linearly separable data", () => {
    const train = blobs(3, 100, 8, 10, 0.5, 1);
    const test = blobs(3, 50, 8, 10, 0.5, 2);
    const result = linearProbe(train.features, train.labels, test.features, test.labels);
    expect(result.trainAccuracy).to.equal(1);
    expect(result.testAccuracy).to.equal(1);
    expect(result.converged).to.equal(true);
    expect(result.numClasses).to.equal(3);
  });

  it("finds the closed-form optimum of a symmetric 1-D problem: λ a (1 + e^{2a}) = 1", () => {
    // Class 1 at x = +1, class 0 at x = −1 (already standardized: mean 0, std 1). By symmetry
    // W = [−a, a], b = 0, and L(a) = log(1 + e^{−2a}) + λ a², so L'(a) = 0 ⇔ λ a (1 + e^{2a}) = 1.
    const weightDecay = 0.1;
    let low = 0;
    let high = 10;
    for (let step = 0; step < 200; step++) {
      const middle = (low + high) / 2;
      if (weightDecay * middle * (1 + Math.exp(2 * middle)) < 1) low = middle;
      else high = middle;
    }
    const a = (low + high) / 2;
    const { features, labels } = signData(10);
    const result = linearProbe(features, labels, features, labels, { weightDecay, tolerance: 1e-12 });
    expect(result.weights[0]).to.be.closeTo(-a, 1e-9);
    expect(result.weights[1]).to.be.closeTo(a, 1e-9);
    expect(result.bias[0]).to.be.closeTo(0, 1e-12);
    expect(result.bias[1]).to.be.closeTo(0, 1e-12);
    expect(result.objective).to.be.closeTo(Math.log(1 + Math.exp(-2 * a)) + weightDecay * a * a, 1e-12);
  });

  it("returns a point where the documented gradient vanishes (KKT), recomputed independently", () => {
    const train = blobs(3, 100, 5, 1.5, 1, 3); // overlapping classes: not separable
    const weightDecay = 1e-2;
    const result = linearProbe(train.features, train.labels, train.features, train.labels, { weightDecay, tolerance: 1e-9 });
    expect(result.converged).to.equal(true);
    const { rows, dim, data } = train.features;
    const C = 3;
    const gradW = new Float64Array(dim * C);
    const gradB = new Float64Array(C);
    let crossEntropy = 0;
    for (let i = 0; i < rows; i++) {
      const z = Array.from({ length: dim }, (_, j) => (data[i * dim + j] - result.mean[j]) / result.scale[j]);
      const logits = Array.from({ length: C }, (_, c) => result.bias[c] + z.reduce((s, zj, j) => s + zj * result.weights[j * C + c], 0));
      const largest = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - largest));
      const total = exps.reduce((s, e) => s + e, 0);
      crossEntropy += Math.log(total) + largest - logits[train.labels[i]];
      for (let c = 0; c < C; c++) {
        const residual = exps[c] / total - (c === train.labels[i] ? 1 : 0);
        gradB[c] += residual / rows;
        for (let j = 0; j < dim; j++) gradW[j * C + c] += (z[j] * residual) / rows;
      }
    }
    let penalty = 0;
    for (let k = 0; k < dim * C; k++) {
      gradW[k] += weightDecay * result.weights[k];
      penalty += result.weights[k] ** 2;
    }
    for (const g of [...gradW, ...gradB]) expect(Math.abs(g)).to.be.below(1e-6);
    expect(result.trainLoss).to.be.closeTo(crossEntropy / rows, 1e-6);
    expect(result.objective).to.be.closeTo(crossEntropy / rows + 0.5 * weightDecay * penalty, 1e-6);
  });

  it("standardizes with the train mean and (population) std; a constant feature gets scale 1", () => {
    const train = matrix([
      [1, 5, 100],
      [3, 5, 300],
      [5, 5, 200],
    ]);
    const { mean, scale } = fitStandardizer(train);
    expect(Array.from(mean)).to.deep.equal([3, 5, 200]);
    expect(scale[0]).to.be.closeTo(Math.sqrt(8 / 3), 1e-15);
    expect(scale[1]).to.equal(1);
    expect(scale[2]).to.be.closeTo(Math.sqrt(20000 / 3), 1e-9);
  });

  it("applies the TRAIN statistics to the test features: shifting only the test set changes the predictions", () => {
    // Fit on x = ±1. A test set shifted by +5 stays at 4 and 6 after train standardization, both
    // on the class-1 side: accuracy 1/2. Had the scaler been fit on the test features, the shift
    // would cancel and the accuracy would be 1.
    const train = signData(10);
    const shiftedTest = signData(10, 5);
    const result = linearProbe(train.features, train.labels, shiftedTest.features, shiftedTest.labels);
    expect(Array.from(result.mean)).to.deep.equal([0]);
    expect(Array.from(result.scale)).to.deep.equal([1]);
    expect(result.trainAccuracy).to.equal(1);
    expect(result.testAccuracy).to.equal(0.5);
    expect(Array.from(result.testPredictions).every((p) => p === 1)).to.equal(true);
  });

  it("is invariant to an affine change of each feature applied to train and test alike", () => {
    const train = blobs(3, 60, 4, 3, 1, 5);
    const test = blobs(3, 30, 4, 3, 1, 6);
    const transform = (m: FeatureMatrix) => ({ ...m, data: m.data.map((v, k) => 1000 + (k % m.dim + 1) * 37 * v) });
    const plain = linearProbe(train.features, train.labels, test.features, test.labels, { tolerance: 1e-9 });
    const moved = linearProbe(transform(train.features), train.labels, transform(test.features), test.labels, { tolerance: 1e-9 });
    expect(moved.testAccuracy).to.equal(plain.testAccuracy);
    for (let k = 0; k < plain.weights.length; k++) expect(moved.weights[k]).to.be.closeTo(plain.weights[k], 1e-5);
  });

  it("is deterministic: the same input gives the same result bit for bit", () => {
    const train = blobs(4, 80, 16, 2, 1, 7);
    const test = blobs(4, 40, 16, 2, 1, 8);
    const first = linearProbe(train.features, train.labels, test.features, test.labels);
    const second = linearProbe(train.features, train.labels, test.features, test.labels);
    expect(second.testAccuracy).to.equal(first.testAccuracy);
    expect(second.objective).to.equal(first.objective);
    expect(Array.from(second.weights)).to.deep.equal(Array.from(first.weights));
    expect(second.iterations).to.equal(first.iterations);
  });

  it("accepts Tensors and gives the same classifier as typed arrays", () => {
    const train = blobs(2, 20, 3, 2, 1, 9);
    const asTensor = tensor(train.features.data, { shape: [train.features.rows, train.features.dim], dtype: "float64" });
    const fromTensor = linearProbe(asTensor, tensor(Array.from(train.labels)), asTensor, train.labels);
    const fromArray = linearProbe(train.features, train.labels, train.features, train.labels);
    expect(Array.from(fromTensor.weights)).to.deep.equal(Array.from(fromArray.weights));
  });

  it("rejects mismatched shapes, bad labels and bad options with clear errors", () => {
    const a = matrix([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const b = matrix([[1, 2, 3], [4, 5, 6]]);
    expect(() => linearProbe(a, [0, 1, 0, 1], b, [0, 1])).to.throw(
      /^linearProbe: trainFeatures \[4, 2\] and testFeatures \[2, 3\] have different feature dimensions \(2 vs 3\)/,
    );
    expect(() => linearProbe(a, [0, 1, 0], a, [0, 1, 0, 1])).to.throw(
      /^linearProbe: trainLabels has 3 entries but the features have 4 rows/,
    );
    expect(() => linearProbe(a, [0, 0, 0, 0], a, [0, 0, 0, 0])).to.throw(/^linearProbe: need at least 2 classes, got 1/);
    expect(() => linearProbe(a, [0, 1, 0, 1], a, [0, 1, 0, 1], { weightDecay: -1 })).to.throw(
      /^linearProbe: weightDecay must be a finite number ≥ 0, got -1/,
    );
    expect(() => linearProbe(a, [0, 1, 0, 1], a, [0, 1, 0, 1], { memory: 0 })).to.throw(
      /^linearProbe: memory must be a whole number ≥ 1, got 0/,
    );
    expect(() => linearProbe(a, [0, 1, 0, 1], { data: new Float64Array(0), rows: 0, dim: 2 }, [])).to.throw(
      /^linearProbe: testFeatures is empty/,
    );
  });

  it("raw MNIST pixels: 88.4% test accuracy at the optimum PyTorch's L-BFGS also finds for the same objective", function() {
    this.timeout(300_000); // ~10 CPU s; in a parallel run on a busy machine it has taken 69 s
    // The exact optimum of this objective: 0.0432441981 (this code at tolerance 1e-8, 536
    // iterations; PyTorch's LBFGS, float64, strong Wolfe, tolerance_grad 1e-6 stops at 0.04324431
    // to 0.04324433; script in docs/evaluation.md), test accuracy 0.8842–0.8847 (1772–1773 / 2004).
    // The 90.9% sometimes quoted for a raw-pixel probe needs a different recipe: no standardization
    // (0.9007 at λ = 1e-4) or a stronger λ (0.9037 at λ = 1e-2); see docs/evaluation.md.
    const { train, test } = loadMnist();
    const result = linearProbe(rawPixelFeatures(train), train.labels, rawPixelFeatures(test), test.labels);
    expect(result.converged).to.equal(true);
    expect(result.gradientMaxAbs).to.be.at.most(1e-5);
    expect(result.objective).to.be.closeTo(0.0432441981, 2e-5);
    expect(result.trainAccuracy).to.be.at.least(0.99);
    expect(result.testAccuracy).to.be.within(0.875, 0.895);
  });
});
