/**
 * The one Jacobi eigen routine (src/linalg/symmetric-eigen.ts) under collapseMonitor and
 * effectiveRank, and the effective rank of a spectrum: closed forms, invariants of random
 * symmetric matrices, and errors.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  effectiveRankOf,
  effectiveRankOfSpectrum,
  singularValuesFromEigenvalues,
  symmetricEigen,
} from "../../src/linalg/symmetric-eigen.js";
import { Generator } from "../../src/tensor/random.js";

function randomSymmetric(n: number, seed: number): Float64Array {
  const generator = new Generator(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = generator.normal();
  return a;
}

describe("linalg: symmetricEigen (cyclic Jacobi, float64)", () => {
  it("2×2 closed forms: [[2, 1], [1, 2]] → 3, 1 with eigenvectors (1, ±1)/√2; [[2, 1], [1, 3]] → (5 ± √5)/2", () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expect(values[0]).to.be.closeTo(3, 1e-15);
    expect(values[1]).to.be.closeTo(1, 1e-15);
    expect(Math.abs(vectors[0])).to.be.closeTo(Math.SQRT1_2, 1e-15); // column 0 = (1, 1)/√2 up to sign
    expect(vectors[0] * vectors[2]).to.be.closeTo(0.5, 1e-15);
    const other = symmetricEigen([2, 1, 1, 3], 2).values;
    expect(other[0]).to.be.closeTo((5 + Math.sqrt(5)) / 2, 1e-14);
    expect(other[1]).to.be.closeTo((5 - Math.sqrt(5)) / 2, 1e-14);
  });

  it("tridiag(−1, 2, −1) of size n has eigenvalues 2 − 2cos(kπ/(n + 1))", () => {
    const n = 12;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i + 1 < n) a[i * n + i + 1] = a[(i + 1) * n + i] = -1;
    }
    const values = symmetricEigen(a, n, { vectors: false }).values; // decreasing
    for (let k = 1; k <= n; k++) expect(values[n - k]).to.be.closeTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 1e-13);
  });

  it("diagonal, identity (repeated eigenvalues), zero, 1×1 and 0×0 matrices", () => {
    expect(Array.from(symmetricEigen([1, 0, 0, 0, 5, 0, 0, 0, -2], 3).values)).to.deep.equal([5, 1, -2]);
    expect(Array.from(symmetricEigen([1, 0, 0, 1], 2).values)).to.deep.equal([1, 1]);
    expect(Array.from(symmetricEigen([0, 0, 0, 0], 2).values)).to.deep.equal([0, 0]);
    expect(Array.from(symmetricEigen([7], 1).values)).to.deep.equal([7]);
    expect(symmetricEigen([], 0).values.length).to.equal(0);
  });

  it("random symmetric matrices: A V = V Λ, VᵀV = I, Σλ = trace, Σλ² = ‖A‖²_F, decreasing order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 14 }), fc.nat(), (n, seed) => {
        const a = randomSymmetric(n, seed);
        const before = a.slice();
        const { values, vectors } = symmetricEigen(a, n);
        expect(Array.from(a)).to.deep.equal(Array.from(before)); // the input is left as it was
        let trace = 0, frobenius = 0;
        for (let i = 0; i < n; i++) trace += a[i * n + i];
        for (let i = 0; i < n * n; i++) frobenius += a[i] * a[i];
        expect(values.reduce((s, v) => s + v, 0)).to.be.closeTo(trace, 1e-12 * n);
        expect(values.reduce((s, v) => s + v * v, 0)).to.be.closeTo(frobenius, 1e-11 * frobenius);
        for (let k = 1; k < n; k++) expect(values[k]).to.be.at.most(values[k - 1]);
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < n; k++) {
            let av = 0, orthogonality = 0;
            for (let j = 0; j < n; j++) {
              av += a[i * n + j] * vectors[j * n + k];
              orthogonality += vectors[j * n + i] * vectors[j * n + k];
            }
            expect(av).to.be.closeTo(values[k] * vectors[i * n + k], 1e-12 * Math.sqrt(frobenius));
            expect(orthogonality).to.be.closeTo(i === k ? 1 : 0, 1e-13);
          }
        }
      }),
      { numRuns: 50 },
    );
  });

  it("without eigenvectors: the same eigenvalues, bit for bit, and no vectors", () => {
    for (const n of [1, 5, 17, 40]) {
      const a = randomSymmetric(n, n);
      const full = symmetricEigen(a, n);
      const valuesOnly = symmetricEigen(a, n, { vectors: false });
      expect(Array.from(valuesOnly.values)).to.deep.equal(Array.from(full.values));
      expect(valuesOnly.vectors.length).to.equal(0);
      expect(valuesOnly.sweeps).to.equal(full.sweeps);
    }
  });

  it("converges in few sweeps at the size the evaluation uses (D = 256, rank-deficient scatter)", () => {
    const n = 256;
    const rows = 64; // rank ≤ 64: 192 eigenvalues are exactly 0
    const generator = new Generator(3);
    const x = Float64Array.from({ length: rows * n }, () => generator.normal());
    const scatter = new Float64Array(n * n);
    for (let i = 0; i < rows; i++) {
      for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) scatter[p * n + q] += x[i * n + p] * x[i * n + q];
    }
    const { values, sweeps } = symmetricEigen(scatter, n, { vectors: false });
    expect(sweeps).to.be.at.most(15);
    const singular = singularValuesFromEigenvalues(values);
    expect(singular.filter((s) => s > 0).length).to.equal(rows);
  });

  it("errors name the routine and the problem", () => {
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).to.throw("symmetricEigen: the matrix is not symmetric (A[0][1] = 2, A[1][0] = 3)");
    expect(() => symmetricEigen(new Float64Array(5), 2)).to.throw("symmetricEigen: 5 values cannot form a 2×2 matrix");
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).to.throw("symmetricEigen: entry 1 is NaN");
    expect(() => symmetricEigen([1], 1.5)).to.throw("symmetricEigen: n must be a whole number ≥ 0, got 1.5");
    expect(() => symmetricEigen(randomSymmetric(8, 1), 8, { maxSweeps: 1 })).to.throw(
      "symmetricEigen: no convergence after 1 sweeps (n = 8)",
    );
  });
});

describe("linalg: effective rank of a spectrum", () => {
  it("exp(entropy of σ/Σσ): k equal singular values give exactly k, none gives 0", () => {
    expect(effectiveRankOfSpectrum([2, 2, 0])).to.be.closeTo(2, 1e-15);
    expect(effectiveRankOfSpectrum([0, 0])).to.equal(0);
    expect(effectiveRankOf([4, 4, 4, 0, 0])).to.be.closeTo(3, 1e-14); // σ = 2, 2, 2
    expect(effectiveRankOf([9, 0])).to.be.closeTo(1, 1e-15);
    expect(effectiveRankOf([0, 0, 0])).to.equal(0);
    expect(effectiveRankOf([4, 1])).to.be.closeTo(Math.exp(-(2 / 3) * Math.log(2 / 3) - (1 / 3) * Math.log(1 / 3)), 1e-15); // σ = 2, 1
  });

  it("eigenvalues within rounding of 0 (below n·ε·λ_max, either sign) count as 0", () => {
    expect(Array.from(singularValuesFromEigenvalues([4, 1e-17, -1e-17, 1]))).to.deep.equal([2, 0, 0, 1]);
    expect(effectiveRankOf([4, 4, 1e-16 * 4, -1e-16 * 4])).to.be.closeTo(2, 1e-15);
  });

  it("lies in [1, number of nonzero values] for any nonzero spectrum", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 30 }), (values) => {
        const nonzero = values.filter((v) => v > 0).length;
        const rank = effectiveRankOfSpectrum(values);
        if (nonzero === 0) expect(rank).to.equal(0);
        else {
          expect(rank).to.be.at.least(1 - 1e-12);
          expect(rank).to.be.at.most(nonzero + 1e-12);
        }
      }),
      { numRuns: 200 },
    );
  });
});
