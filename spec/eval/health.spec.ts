/**
 * Specs for representation health: closed forms for alignment, uniformity, the normalized std
 * and the effective rank, and a direct (naive) uniformity reference. (The Jacobi routine: spec/linalg.)
 */
import { expect } from "chai";
import fc from "fast-check";
import { alignment, effectiveRank, normalizedStd, representationHealth, uniformity } from "../../src/eval/health.js";
import type { FeatureMatrix } from "../../src/eval/features.js";
import { Generator } from "../../src/tensor/random.js";
import { gaussian, matrix } from "./helpers.js";

/** Rows ±c·e_i for i < k, embedded in D dimensions: 2k rows, centered, equal variance on k axes. */
function signedAxes(k: number, dim: number, c = 1): FeatureMatrix {
  const rows: number[][] = [];
  for (let i = 0; i < k; i++) {
    for (const sign of [1, -1]) rows.push(Array.from({ length: dim }, (_, d) => (d === i ? sign * c : 0)));
  }
  return matrix(rows);
}

/** Multiply every row by the Householder reflection H = I − 2wwᵀ/‖w‖² (orthogonal: spectra are unchanged). */
function reflect(m: FeatureMatrix, seed: number): FeatureMatrix {
  const generator = new Generator(seed);
  const w = Array.from({ length: m.dim }, () => generator.normal());
  const wNormSquared = w.reduce((s, x) => s + x * x, 0);
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let projection = 0;
    for (let d = 0; d < m.dim; d++) projection += m.data[i * m.dim + d] * w[d];
    for (let d = 0; d < m.dim; d++) out[i * m.dim + d] = m.data[i * m.dim + d] - (2 * projection * w[d]) / wNormSquared;
  }
  return { data: out, rows: m.rows, dim: m.dim };
}

describe("eval/health", () => {
  describe("alignment", () => {
    it("is 0 for identical pairs (and for pairs that differ only in length), 2 for orthogonal, 4 for antipodal", () => {
      const x = gaussian(20, 8, 1);
      expect(alignment(x, x)).to.equal(0);
      expect(alignment(x, { ...x, data: x.data.map((v) => 3 * v) })).to.be.closeTo(0, 1e-30);
      expect(alignment(matrix([[1, 0], [0, 2]]), matrix([[0, 5], [-1, 0]]))).to.be.closeTo(2, 1e-15);
      expect(alignment(x, { ...x, data: x.data.map((v) => -v) })).to.be.closeTo(4, 1e-12);
      expect(alignment(matrix([[1, 0]]), matrix([[0, 1]]), { alpha: 1 })).to.be.closeTo(Math.SQRT2, 1e-15);
    });

    it("rejects pairs of different shapes", () => {
      expect(() => alignment(gaussian(3, 2, 1), gaussian(4, 2, 2))).to.throw(
        /^alignment: features \[3, 2\] and positiveFeatures \[4, 2\] must have the same number of rows/,
      );
      expect(() => alignment(gaussian(3, 2, 1), gaussian(3, 5, 2))).to.throw(
        /^alignment: features \[3, 2\] and positiveFeatures \[3, 5\] have different feature dimensions/,
      );
    });
  });

  describe("uniformity", () => {
    it("is 0 (its maximum) for collapsed features and lower for spread ones", () => {
      const collapsed = matrix(Array.from({ length: 10 }, (_, i) => [1 + i, 2 + 2 * i, 3 + 3 * i])); // one direction
      expect(uniformity(collapsed)).to.be.closeTo(0, 1e-14);
      const spread = uniformity(gaussian(200, 16, 2));
      expect(spread).to.be.below(-3);
      const slightlySpread = uniformity(matrix(Array.from({ length: 10 }, (_, i) => [1, 0.01 * i, 0])));
      expect(slightlySpread).to.be.below(0);
      expect(slightlySpread).to.be.above(spread);
    });

    it("matches closed forms: antipodal pair −4t, orthonormal basis −2t, regular simplex −t(2 + 2/(N−1))", () => {
      expect(uniformity(matrix([[1, 0], [-3, 0]]))).to.be.closeTo(-8, 1e-12);
      expect(uniformity(matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))).to.be.closeTo(-4, 1e-12);
      // Simplex: the 4 centered vertices of the standard 3-simplex, pairwise cosine −1/3.
      const simplex = matrix([0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((d) => (d === i ? 0.75 : -0.25))));
      expect(uniformity(simplex, { t: 1 })).to.be.closeTo(-(2 + 2 / 3), 1e-12);
      // No overflow or underflow at large t: the log-mean-exp is shifted.
      expect(uniformity(matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), { t: 1000 })).to.be.closeTo(-2000, 1e-9);
    });

    it("equals the direct log-mean-exp over all pairs i < j (Wang & Isola's pdist formula)", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 40 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 0, max: 1000 }),
          (rows, dim, seed) => {
            const x = gaussian(rows, dim, seed);
            const u = x.data.slice();
            for (let i = 0; i < rows; i++) {
              let norm = 0;
              for (let d = 0; d < dim; d++) norm += u[i * dim + d] ** 2;
              for (let d = 0; d < dim; d++) u[i * dim + d] /= Math.sqrt(norm);
            }
            let total = 0;
            let pairs = 0;
            for (let i = 0; i < rows; i++) {
              for (let j = i + 1; j < rows; j++) {
                let squared = 0;
                for (let d = 0; d < dim; d++) squared += (u[i * dim + d] - u[j * dim + d]) ** 2;
                total += Math.exp(-2 * squared);
                pairs++;
              }
            }
            expect(uniformity(x)).to.be.closeTo(Math.log(total / pairs), 1e-12);
          },
        ),
        { numRuns: 50 },
      );
    });

    it("needs two rows and a positive t", () => {
      expect(() => uniformity(matrix([[1, 2]]))).to.throw(/^uniformity: need at least 2 rows to form a pair, got features \[1, 2\]/);
      expect(() => uniformity(gaussian(3, 2, 1), { t: 0 })).to.throw(/^uniformity: t must be a finite number > 0, got 0/);
    });
  });

  describe("normalizedStd", () => {
    it("is ≈ 1/√D for isotropic random directions and 0 for collapsed ones", () => {
      const dim = 64;
      const isotropic = normalizedStd(gaussian(4000, dim, 3));
      expect(isotropic.expected).to.equal(1 / 8);
      expect(isotropic.ratio).to.be.within(0.98, 1.02);
      const collapsed = normalizedStd(matrix(Array.from({ length: 5 }, (_, i) => [i + 1, 2 * (i + 1)])));
      expect(collapsed.std).to.be.closeTo(0, 1e-16);
      expect(collapsed.ratio).to.be.closeTo(0, 1e-15);
    });

    it("matches the closed form for the rows ±e_i: every coordinate has unbiased std sqrt(2 / (2D − 1))", () => {
      const dim = 5;
      const result = normalizedStd(signedAxes(dim, dim, 7));
      expect(result.std).to.be.closeTo(Math.sqrt(2 / (2 * dim - 1)), 1e-15);
      expect(result.ratio).to.be.closeTo(Math.sqrt(2 / (2 * dim - 1)) * Math.sqrt(dim), 1e-14);
    });
  });

  describe("effectiveRank", () => {
    it("is D for isotropic data, 1 for rank-1 data, k for k equal directions (also after a rotation)", () => {
      expect(effectiveRank(signedAxes(6, 6, 2)).effectiveRank).to.be.closeTo(6, 1e-12);
      const rankOne = matrix(Array.from({ length: 9 }, (_, i) => [1, -2, 3, 0.5].map((v) => (i - 4) * v + 10)));
      expect(effectiveRank(rankOne).effectiveRank).to.be.closeTo(1, 1e-12);
      for (const k of [1, 2, 3, 5]) {
        const onSubspace = reflect(signedAxes(k, 8), k); // k equal variances, in directions that are not axes
        expect(effectiveRank(onSubspace).effectiveRank, `k = ${k}`).to.be.closeTo(k, 1e-12);
      }
    });

    it("follows exp(entropy) of σ / Σσ for unequal variances: σ ∝ (3, 1) → exp(H(¾, ¼))", () => {
      const data = matrix([[3, 0], [-3, 0], [0, 1], [0, -1]]);
      const p = [0.75, 0.25];
      const expected = Math.exp(-p.reduce((h, q) => h + q * Math.log(q), 0));
      const result = effectiveRank(reflect(data, 4));
      expect(result.effectiveRank).to.be.closeTo(expected, 1e-12);
      expect(result.singularValues[0]).to.be.closeTo(3 * Math.SQRT2, 1e-12);
      expect(result.singularValues[1]).to.be.closeTo(Math.SQRT2, 1e-12);
    });

    it("ignores the mean (features are centered) and is 0 when every row is the same", () => {
      const shifted = signedAxes(4, 4, 1);
      const moved = { ...shifted, data: shifted.data.map((v) => v + 100) };
      expect(effectiveRank(moved).effectiveRank).to.be.closeTo(4, 1e-9);
      expect(effectiveRank(matrix([[1, 2, 3], [1, 2, 3]])).effectiveRank).to.equal(0);
    });
  });

  it("representationHealth collects all four numbers (alignment only with positives)", () => {
    const x = gaussian(50, 6, 9);
    const withPositives = representationHealth(x, { positiveFeatures: x });
    expect(withPositives.alignment).to.equal(0);
    expect(withPositives.uniformity).to.equal(uniformity(x));
    expect(withPositives.normalizedStd).to.deep.equal(normalizedStd(x));
    expect(withPositives.effectiveRank).to.equal(effectiveRank(x).effectiveRank);
    expect([withPositives.rows, withPositives.dim]).to.deep.equal([50, 6]);
    expect(representationHealth(x).alignment).to.equal(undefined);
  });
});
