/**
 * Specs for the kNN classifier: exact answers on hand-built cases, weighting that changes the
 * vote, deterministic ties, agreement with a brute-force full sort, errors, and raw MNIST pixels
 * against PyTorch's kNN monitor.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadMnist } from "../../src/data/mnist-package.js";
import { knnAccuracy, knnPredict, type KnnWeighting } from "../../src/eval/knn.js";
import { normalizeRows, type FeatureMatrix } from "../../src/eval/features.js";
import { rawPixelFeatures } from "../../src/eval/baselines.js";
import { gaussian, matrix } from "./helpers.js";

/** Unit vector at angle θ (degrees) in the plane. */
function at(degrees: number): number[] {
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/** The definition, by full sort: k best by (similarity desc, index asc), then the weighted vote. */
function bruteForce(
  train: FeatureMatrix,
  labels: Int32Array,
  test: FeatureMatrix,
  k: number,
  weighting: KnnWeighting,
  temperature: number,
  numClasses: number,
): number[] {
  const u = normalizeRows(train);
  const v = normalizeRows(test);
  const predictions: number[] = [];
  for (let i = 0; i < test.rows; i++) {
    const scored = Array.from({ length: train.rows }, (_, j) => {
      let s = 0;
      for (let d = 0; d < train.dim; d++) s += v[i * train.dim + d] * u[j * train.dim + d];
      return { s, j };
    });
    scored.sort((a, b) => b.s - a.s || a.j - b.j);
    const neighbours = scored.slice(0, k);
    const best = neighbours[0].s;
    const votes = new Array<number>(numClasses).fill(0);
    const present = new Array<boolean>(numClasses).fill(false);
    for (const { s, j } of neighbours.sort((a, b) => a.j - b.j)) {
      votes[labels[j]] += weighting === "exponential" ? Math.exp((s - best) / temperature) : weighting === "similarity" ? s : 1;
      present[labels[j]] = true;
    }
    let predicted = -1;
    for (let c = 0; c < numClasses; c++) if (present[c] && (predicted < 0 || votes[c] > votes[predicted])) predicted = c;
    predictions.push(predicted);
  }
  return predictions;
}

describe("eval/knn", () => {
  it("classifies a hand-built case exactly (cosine: the length of a feature does not matter)", () => {
    const train = matrix([at(0), at(10), at(90), at(80), at(180)].map((p, i) => p.map((x) => x * (i + 1)))); // scaled: cosine ignores it
    const labels = [0, 0, 1, 1, 2];
    const test = matrix([at(5), at(85), at(170), at(-30)]);
    expect(Array.from(knnPredict(train, labels, test, { k: 1 }))).to.deep.equal([0, 1, 2, 0]);
    // k = 3 around 85°: neighbours 80° (1), 90° (1), 10° (0) → class 1.
    const result = knnAccuracy(train, labels, test, [0, 1, 2, 0], { k: 3 });
    expect(Array.from(result.predictions)).to.deep.equal([0, 1, 2, 0]);
    expect(result.accuracy).to.equal(1);
    // Wrong label on one test row: 3/4.
    expect(knnAccuracy(train, labels, test, [0, 1, 2, 2], { k: 1 }).accuracy).to.equal(0.75);
  });

  it("weighting matters: one very close neighbour against two farther ones", () => {
    // Similarities to the test point (at 0°): class 0 at 0° (s = 1), class 1 twice at ±acos(0.8) (s = 0.8).
    const angle = (Math.acos(0.8) * 180) / Math.PI;
    const train = matrix([at(0), at(angle), at(-angle), at(180)]);
    const labels = [0, 1, 1, 0];
    const test = matrix([at(0)]);
    // uniform: 1 vote vs 2 → class 1.  similarity: 1.0 vs 1.6 → class 1.
    // exponential, τ = 0.07: 1 vs 2·exp(−0.2/0.07) = 0.115 → class 0.
    expect(knnPredict(train, labels, test, { k: 3, weighting: "uniform" })[0]).to.equal(1);
    expect(knnPredict(train, labels, test, { k: 3, weighting: "similarity" })[0]).to.equal(1);
    expect(knnPredict(train, labels, test, { k: 3, weighting: "exponential" })[0]).to.equal(0);
    // A large τ flattens the exponential weights into a majority vote.
    expect(knnPredict(train, labels, test, { k: 3, weighting: "exponential", temperature: 100 })[0]).to.equal(1);
  });

  it("breaks ties deterministically: the smaller train index, then the smaller class", () => {
    const train = matrix([[1, 0], [1, 0], [2, 0]]); // three identical directions
    const test = matrix([[1, 0]]);
    expect(knnPredict(train, [1, 0, 2], test, { k: 1 })[0]).to.equal(1); // index 0 wins the similarity tie
    expect(knnPredict(train, [2, 0, 1], test, { k: 2 })[0]).to.equal(0); // indices 0, 1: classes 2 and 0 tie → 0
    expect(knnPredict(train, [2, 0, 1], test, { k: 3 })[0]).to.equal(0); // 2, 0, 1 one vote each → 0
  });

  it("never elects a class without a neighbour, even with negative similarity weights", () => {
    const train = matrix([at(170), at(190), at(100)]);
    const test = matrix([at(0)]);
    // Neighbours (k = 2): 100° (class 2, s = −0.17) and 170° (class 1, s = −0.98); class 0 has none.
    expect(knnPredict(train, [1, 1, 2], test, { k: 2, weighting: "similarity", numClasses: 3 })[0]).to.equal(2);
  });

  it("matches the definition by full sort on random data (partial top-k = full sort), exact ties included", () => {
    // "lattice" rows are drawn from 24 unit vectors of R⁴ (±e_i and (±½, ±½, ±½, ±½)): every
    // similarity is a multiple of ¼, exact in any summation order, so many neighbours tie exactly
    // and the tie rules decide. Gaussian rows exercise the generic case.
    const lattice: number[][] = [];
    for (let d = 0; d < 4; d++) for (const sign of [1, -1]) lattice.push([0, 0, 0, 0].map((_, e) => (e === d ? sign : 0)));
    for (let bits = 0; bits < 16; bits++) lattice.push([0, 1, 2, 3].map((e) => ((bits >> e) & 1 ? -0.5 : 0.5)));
    const latticeRows = (rows: number, seed: number) =>
      matrix(Array.from({ length: rows }, (_, i) => lattice[(i * 13 + seed * 7 + ((i * seed) % 5)) % 24]));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<KnnWeighting>("exponential", "similarity", "uniform"),
        fc.boolean(),
        (seed, k, weighting, onLattice) => {
          const train = onLattice ? latticeRows(30, seed) : gaussian(30, 4, seed);
          const test = onLattice ? latticeRows(10, seed + 3) : gaussian(10, 4, seed + 1);
          const labels = Int32Array.from({ length: 30 }, (_, i) => (i * 7 + seed) % 4);
          const expected = bruteForce(train, labels, test, k, weighting, 0.07, 4);
          expect(Array.from(knnPredict(train, labels, test, { k, weighting, numClasses: 4 }))).to.deep.equal(expected);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("rejects k out of range, bad τ or weighting, and mismatched shapes", () => {
    const train = matrix([[1, 0], [0, 1], [1, 1]]);
    const test = matrix([[1, 0]]);
    expect(() => knnPredict(train, [0, 1, 0], test, { k: 4 })).to.throw(
      /^knnPredict: k = 4 is larger than the number of train rows \(trainFeatures \[3, 2\]\)/,
    );
    expect(() => knnPredict(train, [0, 1, 0], test, { k: 0 })).to.throw(/^knnPredict: k must be a positive whole number, got 0/);
    expect(() => knnAccuracy(train, [0, 1, 0], test, [0], { k: -2 })).to.throw(/^knnAccuracy: k must be a positive whole number, got -2/);
    expect(() => knnPredict(train, [0, 1, 0], test, { k: 1.5 })).to.throw(/k must be a positive whole number, got 1.5/);
    expect(() => knnPredict(train, [0, 1, 0], test, { k: 1, temperature: 0 })).to.throw(
      /^knnPredict: temperature must be a finite number > 0, got 0/,
    );
    expect(() => knnPredict(train, [0, 1, 0], test, { k: 1, weighting: "cosine" as KnnWeighting })).to.throw(
      /^knnPredict: weighting must be/,
    );
    expect(() => knnAccuracy(train, [0, 1, 0], matrix([[1, 0, 0]]), [0], { k: 1 })).to.throw(
      /^knnAccuracy: trainFeatures \[3, 2\] and testFeatures \[1, 3\] have different feature dimensions/,
    );
    expect(() => knnAccuracy(train, [0, 1, 0], test, [0, 1], { k: 1 })).to.throw(
      /^knnAccuracy: testLabels has 2 entries but the features have 1 rows/,
    );
  });

  it("raw MNIST pixels: 93.1% with k = 20 and exp(s/0.07) weights, as PyTorch's kNN monitor", function() {
    this.timeout(60_000);
    // PyTorch (float64: normalize, sim.topk(20), exp(sim/0.07), scatter_add votes): 0.93114 (1866/2004);
    // with plain similarity weights 0.92166, with uniform votes 0.92116 (docs/evaluation.md).
    const { train, test } = loadMnist();
    const result = knnAccuracy(rawPixelFeatures(train), train.labels, rawPixelFeatures(test), test.labels);
    expect(result.k).to.equal(20);
    expect(result.temperature).to.equal(0.07);
    expect(result.accuracy).to.be.within(0.925, 0.935);
    expect(Math.round(result.accuracy * test.count)).to.be.within(1864, 1868);
  });
});
