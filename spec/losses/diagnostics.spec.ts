/**
 * The troubleshooting helpers of chapter 7.6 (src/losses/diagnostics.ts): known answers, closed
 * forms, and the chapter monitor's scale dependence. (The Jacobi routine under collapseMonitor has
 * its own spec: spec/linalg/symmetric-eigen.spec.ts.)
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { tapePosition } from "../../src/autograd/tape.js";
import { similarityStats, gradientNorms, temperatureSweep, collapseMonitor, ntXent, infoNCE } from "../../src/losses/index.js";
import { effectiveRankOf, symmetricEigen } from "../../src/linalg/symmetric-eigen.js";
import { normalize as normalizeRows } from "../../src/ops/functional.js";
import { randomEmbeddings, runs } from "./helpers.js";

describe("losses: diagnostics (chapter 7.6)", () => {
  describe("collapseMonitor", () => {
    it("healthy (isotropic) embeddings: stdRatio ≈ 1, effective rank near D, not collapsed", () => {
      const report = collapseMonitor(randomEmbeddings(new Generator(1), 512, 16));
      expect(report.stdRatio).to.be.within(0.95, 1.05);
      expect(report.effectiveRank).to.be.within(15, 16);
      expect(report.maxRank).to.equal(16);
      expect(report.expectedStd).to.equal(0.25);
      expect(report.collapsed).to.equal(false);
      expect(report.reasons).to.deep.equal([]);
    });

    it("complete collapse (one direction plus 1% noise): stdRatio ≈ 0.01 flags it, though the effective rank stays high", () => {
      const generator = new Generator(2);
      const z = randomEmbeddings(generator, 1, 16).expand(256, 16).add(randomEmbeddings(generator, 256, 16).mul(0.01));
      const report = collapseMonitor(z);
      expect(report.stdRatio).to.be.below(0.1);
      expect(report.effectiveRank).to.be.above(10); // the noise is isotropic: rank alone misses collapse
      expect(report.collapsed).to.equal(true);
      expect(report.reasons[0]).to.match(/^stdRatio 0\.0\d+ < 0\.1$/);
    });

    it("collapse onto a line (±u, two clusters): std alone is not tiny, the effective rank ≈ 1 flags it", () => {
      const generator = new Generator(3);
      const direction = randomEmbeddings(generator, 1, 16);
      const signs = tensor(Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? 1 : -1)), { shape: [64, 1], dtype: "float64" });
      const report = collapseMonitor(direction.mul(signs).add(randomEmbeddings(generator, 64, 16).mul(1e-3)));
      expect(report.stdRatio).to.be.above(0.1); // ≈ 1/√D·… per coordinate: not "collapsed" by std
      expect(report.effectiveRank).to.be.below(1.5);
      expect(report.collapsed).to.equal(true);
    });

    it("exactly k used dimensions: effective rank k (dimensional collapse is visible, not flagged)", () => {
      // rows ±e_0, ±e_1, ±e_2 in D = 8: mean 0, covariance 2/5 on 3 diagonal entries, 0 elsewhere
      const rows = [0, 1, 2].flatMap((k) => [1, -1].map((s) => Array.from({ length: 8 }, (_, i) => (i === k ? s : 0))));
      const report = collapseMonitor(tensor(rows, { dtype: "float64" }));
      expect(report.effectiveRank).to.be.closeTo(3, 1e-12);
      expect(report.eigenvalues.slice(3).every((v) => Math.abs(v) < 1e-15)).to.equal(true);
      expect(report.collapsed).to.equal(false);
    });

    it("fewer embeddings than dimensions (N = 6, D = 24): the D − N + 1 zero eigenvalues count as 0", () => {
      // Independent route: the nonzero eigenvalues of Xcᵀ Xc (D×D) are those of Xc Xcᵀ (N×N).
      const z = randomEmbeddings(new Generator(10), 6, 24);
      const report = collapseMonitor(z);
      const unit = normalizeRows(z);
      const centered = unit.sub(unit.mean(0, true)); // (N, D)
      const gram = centered.matmul(centered.t()).div(5); // (N, N), same nonzero spectrum as the covariance
      const gramRank = effectiveRankOf(symmetricEigen(gram.toTypedArray(), 6).values);
      expect(report.maxRank).to.equal(5);
      expect(report.effectiveRank).to.be.closeTo(gramRank, 1e-12);
      expect(report.effectiveRank).to.be.below(5);
    });

    it("is scale-free; the chapter's monitor (mean var(z) < 0.001 on raw z) is not", () => {
      const generator = new Generator(4);
      const healthy = randomEmbeddings(generator, 256, 16);
      const collapsed = randomEmbeddings(generator, 1, 16).expand(256, 16).add(randomEmbeddings(generator, 256, 16).mul(0.01));
      for (const scale of [1e-2, 1, 1e2]) {
        expect(collapseMonitor(healthy.mul(scale)).collapsed).to.equal(false);
        expect(collapseMonitor(collapsed.mul(scale)).collapsed).to.equal(true);
        expect(collapseMonitor(healthy.mul(scale)).stdRatio).to.be.closeTo(collapseMonitor(healthy).stdRatio, 1e-12);
      }
      // healthy embeddings ×0.01: the chapter warns "collapsing"; collapsed ×100: it is satisfied
      expect(collapseMonitor(healthy.mul(0.01)).chapterWarning).to.equal(true);
      expect(collapseMonitor(collapsed.mul(100)).chapterWarning).to.equal(false);
      expect(collapseMonitor(healthy).chapterVariance).to.be.closeTo(1, 0.15); // randn: var 1
    });

    it("works on float32 input and prints a table", () => {
      const report = collapseMonitor(randomEmbeddings(new Generator(5), 64, 8, "float32"));
      expect(report.table).to.match(/stdRatio/);
      expect(report.table).to.match(/collapsed\s+no/);
      expect(report.perDimensionStd).to.have.length(8);
    });
  });

  describe("similarityStats", () => {
    it("orthonormal rows: every off-diagonal cosine is 0; identical rows: 1", () => {
      const orthonormal = similarityStats(tensor([[1, 0, 0], [0, 2, 0], [0, 0, 3]], { dtype: "float64" }));
      expect([orthonormal.offDiagonalMin, orthonormal.offDiagonalMax, orthonormal.offDiagonalMean]).to.deep.equal([0, 0, 0]);
      expect(orthonormal.meanNorm).to.be.closeTo(2, 1e-15);
      const identical = similarityStats(tensor([[1, 2], [2, 4], [3, 6]], { dtype: "float64" }));
      expect(identical.offDiagonalMin).to.be.closeTo(1, 1e-15);
      expect(identical.offDiagonalStd).to.be.below(1e-15);
    });

    it("with positives: positive and negative means, and their gap", () => {
      const z = tensor([[1, 0], [0, 1]], { dtype: "float64" });
      const positives = tensor([[1, 1], [0, 1]], { dtype: "float64" }); // cos: row 0 → 1/√2, row 1 → 1
      const stats = similarityStats(z, positives);
      expect(stats.positiveMean).to.be.closeTo((Math.SQRT1_2 + 1) / 2, 1e-15);
      expect(stats.positiveMin).to.be.closeTo(Math.SQRT1_2, 1e-15);
      expect(stats.negativeMean).to.be.closeTo(Math.SQRT1_2 / 2, 1e-15); // cos(z0, p1) = 0, cos(z1, p0) = 1/√2
      expect(stats.gap).to.be.closeTo(stats.positiveMean! - stats.negativeMean!, 1e-15);
      expect(stats.table).to.match(/gap/);
    });
  });

  describe("gradientNorms", () => {
    it("per-parameter L2 norms and the flags: ok, zero, non-finite, no grad, frozen", () => {
      /** A parameter holding `grad` (null: none), requiring grad or not. */
      const parameter = (grad: number[] | null, requiresGrad = true): Tensor => {
        const t = zeros([grad?.length ?? 2], { dtype: "float64", requiresGrad });
        t.grad = grad && tensor(grad, { dtype: "float64" });
        return t;
      };
      const [ok, zero, infinite, nan] = [parameter([3, 4]), parameter([0, 0]), parameter([Infinity]), parameter([NaN])];
      const [missing, frozen] = [parameter(null), parameter(null, false)];
      const report = gradientNorms([["ok", ok], ["zero", zero], ["inf", infinite], ["nan", nan], ["missing", missing], ["frozen", frozen]]);
      expect(report.entries.map((e) => e.status)).to.deep.equal(["ok", "zero", "non-finite", "non-finite", "no grad", "frozen"]);
      expect(report.entries[0].norm).to.equal(5);
      expect(report.totalNorm).to.equal(5);
      expect(report.problems.map((e) => e.name)).to.deep.equal(["zero", "inf", "nan", "missing"]);
      expect(report.table).to.match(/ok\s+\[2\]\s+5\.0000\s+ok/);
    });

    it("no overflow for huge gradients; matches √Σg² after a real backward", () => {
      const huge = tensor([1e200, 1e200], { dtype: "float64", requiresGrad: true });
      huge.grad = tensor([1e200, 1e200], { dtype: "float64" });
      expect(gradientNorms([["huge", huge]]).entries[0].norm).to.be.closeTo(Math.SQRT2 * 1e200, 1e186);
      const generator = new Generator(6);
      const weight = randomEmbeddings(generator, 4, 3, "float64", true);
      ntXent(randomEmbeddings(generator, 5, 4).matmul(weight), randomEmbeddings(generator, 5, 4).matmul(weight)).backward();
      const expected = Math.sqrt(Array.from(weight.grad!.toTypedArray()).reduce((s, g) => s + g * g, 0));
      expect(gradientNorms([["weight", weight]]).entries[0].norm).to.be.closeTo(expected, 1e-14 * expected);
    });
  });

  describe("temperatureSweep", () => {
    it("{ z1, z2 } runs ntXent at each τ (default 0.01 … 0.5) and reports log(2N − 1)", () => {
      const generator = new Generator(7);
      const [z1, z2] = [randomEmbeddings(generator, 6, 4), randomEmbeddings(generator, 6, 4)];
      const sweep = temperatureSweep({ z1, z2 });
      expect(sweep.rows.map((r) => r.temperature)).to.deep.equal([0.01, 0.05, 0.1, 0.2, 0.5]);
      sweep.rows.forEach(({ temperature, loss }) => expect(loss).to.equal(ntXent(z1, z2, { temperature }).item()));
      expect(sweep.chanceLoss).to.be.closeTo(Math.log(11), 1e-15);
      expect(sweep.table.split("\n")).to.have.length(2 + 5 + 1);
    });

    it("a function τ ↦ loss, with any temperatures; nothing is recorded on the tape", () => {
      const generator = new Generator(8);
      const query = randomEmbeddings(generator, 4, 3, "float64", true);
      const key = randomEmbeddings(generator, 4, 3);
      const before = tapePosition();
      const sweep = temperatureSweep((temperature) => infoNCE(query, key, null, { temperature }), [0.3, 3]);
      expect(tapePosition()).to.equal(before);
      expect(sweep.rows).to.have.length(2);
      expect(sweep.chanceLoss).to.equal(undefined);
      expect(sweep.rows[1].loss).to.be.closeTo(infoNCE(query, key, null, { temperature: 3 }).item(), 1e-15);
      expect(temperatureSweep(() => 1.5, [1]).rows[0].loss).to.equal(1.5);
    });

    it("as τ grows, the loss of fixed embeddings tends to log(number of candidates)", () => {
      const generator = new Generator(9);
      const [z1, z2] = [randomEmbeddings(generator, 8, 4), randomEmbeddings(generator, 8, 4)];
      const far = temperatureSweep({ z1, z2 }, [1e4]).rows[0].loss;
      expect(far).to.be.closeTo(Math.log(15), 1e-3);
    });
  });
});
