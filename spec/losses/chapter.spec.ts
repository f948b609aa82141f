/**
 * Where chapter 7 ("Chapter 7: Contrastive Learning") is wrong, each claim shown
 * false by computation (docs/losses.md, "Where chapter 7 is wrong", points here):
 *   1. §7.2 "bounded between 0 and log(1+N)"      — log(1+N) is the value at uniform similarity;
 *                                                   the bound is log(1 + N·e^{2/τ}).
 *   2. §7.2 "invariant to scale"                   — scaling similarities by K is dividing τ by K.
 *   3. §7.5 the NT-Xent template                   — labels cat(arange(N), arange(N)) and an
 *                                                   unmasked diagonal: a different loss, with a
 *                                                   floor of log 2, that can prefer collapse.
 *   4. §7.4 BYOL's ‖h(online) − target‖²           — without normalization it is minimized by
 *                                                   shrinking the outputs.
 *   5. §7.6 "Max ≈ 1, Min ≈ −1" of z zᵀ            — the max is the diagonal, always 1.
 * (The collapse monitor's scale dependence is in diagnostics.spec.ts.)
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { cat } from "../../src/ops/indexing.js";
import { crossEntropy, mseLoss, normalize } from "../../src/ops/functional.js";
import { infoNCE, infoNCEFromSimilarities, ntXent, byolLoss, similarityStats } from "../../src/losses/index.js";
import { fixtureCase, randomEmbeddings, type LossCase } from "./helpers.js";

/**
 * Chapter 7.5's ContrastiveLoss.forward, transliterated (its model normalizes z before the loss):
 *   z = torch.cat([z_i, z_j]); similarity = z @ z.T / τ
 *   labels = torch.cat([arange(N), arange(N)]); F.cross_entropy(similarity, labels)
 */
function chapterTemplateNTXent(zI: Tensor, zJ: Tensor, temperature = 0.07, reduction: "mean" | "none" = "mean"): Tensor {
  const n = zI.shape[0];
  const z = cat([normalize(zI), normalize(zJ)], 0); // (2N, D)
  const similarity = z.matmul(z.t()).div(temperature); // (2N, 2N), diagonal NOT masked
  const labels = [...Array(n).keys(), ...Array(n).keys()]; // row i < N "targets" column i: itself
  return crossEntropy(similarity, labels, { reduction });
}

/** Basis vector e_k of dimension d, as a row. */
const basis = (k: number, d: number): number[] => Array.from({ length: d }, (_, i) => (i === k ? 1 : 0));

/** N pairs with cos(a_i, b_i) = ρ and every other pair orthogonal: a_i = e_i, b_i = ρe_i + √(1−ρ²)e_{N+i}. */
function goodPairs(n: number, rho: number): [Tensor, Tensor] {
  const d = 2 * n;
  const a = Array.from({ length: n }, (_, i) => basis(i, d));
  const b = Array.from({ length: n }, (_, i) => basis(i, d).map((v, k) => rho * v + Math.sqrt(1 - rho * rho) * (k === n + i ? 1 : 0)));
  return [tensor(a, { dtype: "float64" }), tensor(b, { dtype: "float64" })];
}

const collapsedPairs = (n: number): [Tensor, Tensor] => {
  const row = Array.from({ length: 2 * n }, (_, k) => 1 + k);
  const same = tensor(Array(n).fill(row), { dtype: "float64" });
  return [same, same];
};

describe("losses: where chapter 7 is wrong", () => {
  describe("1. §7.2 'Bounded between 0 and log(1+N)': that is the value at uniform similarity", () => {
    it("all similarities equal → exactly log(1 + M), whatever the similarity", () => {
      for (const s of [-0.5, 0, 0.9]) {
        expect(infoNCEFromSimilarities([s, s, s, s, s, s, s, s, s, s, s], 0.1).loss).to.be.closeTo(Math.log(11), 1e-14);
      }
    });

    it("the worst case (positive opposite the query, negatives equal to it) reaches log(1 + M·e^{2/τ}) ≫ log(1 + M)", () => {
      const m = 10;
      const temperature = 0.1;
      const query = tensor([[1, 0]], { dtype: "float64" });
      const positiveKey = tensor([[-1, 0]], { dtype: "float64" });
      const negatives = tensor(Array(m).fill([2, 0]), { dtype: "float64" });
      const loss = infoNCE(query, positiveKey, negatives, { temperature }).item();
      const bound = Math.log(1 + m * Math.exp(2 / temperature));
      expect(loss).to.be.closeTo(bound, 1e-12); // 22.33
      expect(loss).to.be.above(9 * Math.log(1 + m)); // the chapter's "upper bound" is 2.40
    });

    it("PyTorch agrees: the random fixture case infoNCE-negatives-mean-t0.1 (M = 6) has L = 7.01 > log 7 = 1.95", () => {
      const c = fixtureCase("infoNCE-negatives-mean-t0.1") as LossCase;
      expect(c.inputs.negativeKeys.shape[0]).to.equal(6);
      expect(c.value as number).to.be.above(Math.log(7));
      expect(c.value as number).to.be.below(Math.log(1 + 6 * Math.exp(2 / 0.1)));
    });
  });

  describe("2. §7.2 'Invariant to scale': multiplying the similarities by K is dividing τ by K", () => {
    const chapterGood = [0.8, 0.2, 0.15, 0.1];

    it("the chapter's own example: ×2 changes the loss from 0.00488 to 9.24e-6, exactly the loss at τ/2", () => {
      const original = infoNCEFromSimilarities(chapterGood, 0.1).loss;
      const doubled = infoNCEFromSimilarities(chapterGood.map((s) => 2 * s), 0.1).loss;
      const halfTemperature = infoNCEFromSimilarities(chapterGood, 0.05).loss;
      expect(doubled).to.be.closeTo(halfTemperature, 1e-15);
      expect(original / doubled).to.be.above(100);
      expect(original.toPrecision(3)).to.equal("0.00488");
      expect(doubled.toPrecision(3)).to.equal("0.00000924");
    });

    it("what does hold: adding a constant to every similarity of a row changes nothing", () => {
      const original = infoNCEFromSimilarities(chapterGood, 0.1).loss;
      const shifted = infoNCEFromSimilarities(chapterGood.map((s) => s + 0.7), 0.1).loss;
      expect(shifted).to.be.closeTo(original, 1e-14);
    });

    it("'enables using unnormalized similarities' is backwards: with the dot product, growing the norms lowers the loss", () => {
      const generator = new Generator(3);
      const [query, key] = [randomEmbeddings(generator, 8, 16), randomEmbeddings(generator, 8, 16)];
      const aligned = key.add(query.mul(2)); // positives closer than negatives
      const dot = (scale: number) => infoNCE(query.mul(scale), aligned.mul(scale), null, { temperature: 1, metric: "dot" }).item();
      const cosine = (scale: number) => infoNCE(query.mul(scale), aligned.mul(scale), null, { temperature: 1 }).item();
      expect(dot(10)).to.be.below(dot(1));
      expect(dot(1)).to.be.below(dot(0.1));
      expect(cosine(10)).to.be.closeTo(cosine(0.1), 1e-12);
    });
  });

  describe("3. §7.5 the NT-Xent template: labels cat(arange(N), arange(N)), diagonal unmasked", () => {
    it("is a different loss: the template disagrees with ntXent and with PyTorch's (fixture) value", () => {
      for (const name of ["ntXent-N4-t0.5", "ntXent-N8-t0.1"]) {
        const c = fixtureCase(name) as LossCase;
        const z1 = tensor(c.inputs.z1.data, { shape: c.inputs.z1.shape, dtype: "float64" });
        const z2 = tensor(c.inputs.z2.data, { shape: c.inputs.z2.shape, dtype: "float64" });
        const temperature = c.options.temperature as number;
        expect(ntXent(z1, z2, { temperature }).item()).to.be.closeTo(c.value as number, 1e-12);
        expect(Math.abs(chapterTemplateNTXent(z1, z2, temperature).item() - (c.value as number))).to.be.above(0.1);
      }
    });

    it("half of it is solved by doing nothing: on random (untrained) embeddings its first N rows are already ≈ 0", () => {
      const generator = new Generator(8);
      const [z1, z2] = [randomEmbeddings(generator, 16, 64), randomEmbeddings(generator, 16, 64)];
      const rows = Array.from(chapterTemplateNTXent(z1, z2, 0.07, "none").toTypedArray());
      // rows i < N target their own self-similarity 1/τ, the largest entry of the row
      rows.slice(0, 16).forEach((loss) => expect(loss).to.be.below(1e-3));
      rows.slice(16).forEach((loss) => expect(loss).to.be.above(5)); // the other half: ≈ (1 − cos)/τ
      expect(ntXent(z1, z2, { temperature: 0.07 }).item()).to.be.above(Math.log(31)); // every ntXent row is a real task
    });

    it("it cannot go below log 2: on perfect pairs ntXent → 0 while the template stays at log 2", () => {
      const [a, b] = goodPairs(4, 1); // b_i = a_i, all orthogonal
      expect(ntXent(a, b, { temperature: 0.05 }).item()).to.be.below(1e-7);
      expect(chapterTemplateNTXent(a, b, 0.05).item()).to.be.closeTo(Math.log(2), 1e-7);
    });

    it(
      "it prefers collapse: at the template's τ = 0.07, " +
        "a good embedding (positives at cos 0.5) scores worse than all-identical embeddings",
      () => {
        const n = 4;
        const [a, b] = goodPairs(n, 0.5);
        const [same1, same2] = collapsedPairs(n);
        // template: collapse gives log 2N, the good embedding ≈ ½·(1 − 0.5)/0.07 = 3.6
        expect(chapterTemplateNTXent(same1, same2).item()).to.be.closeTo(Math.log(2 * n), 1e-12);
        expect(chapterTemplateNTXent(a, b).item()).to.be.above(chapterTemplateNTXent(same1, same2).item() + 1);
        // ntXent: collapse gives log(2N − 1), the good embedding ≈ 0.005
        expect(ntXent(same1, same2, { temperature: 0.07 }).item()).to.be.closeTo(Math.log(2 * n - 1), 1e-12);
        expect(ntXent(a, b, { temperature: 0.07 }).item()).to.be.below(0.01);
      },
    );

    it("and its gradient pushes positive pairs apart on the first N rows", () => {
      const [a, b] = goodPairs(3, 0.5);
      const [z1, z2] = [a.detach().requiresGrad_(), b.detach().requiresGrad_()];
      // only the first N rows of the template (mean over all 2N rows, as F.cross_entropy)
      chapterTemplateNTXent(z1, z2, 0.5, "none").narrow(0, 0, 3).sum().backward();
      // a descent step moves z2_i along −grad; the rate of change of cos(a_i, z2_i) along it is
      // (a_i − cos·z2_i) · (−grad_i) for unit z2_i: negative means the positives move apart
      const grad = Array.from(z2.grad!.toTypedArray());
      const [aData, bData] = [Array.from(a.toTypedArray()), Array.from(b.toTypedArray())];
      for (let i = 0; i < 3; i++) {
        let rate = 0;
        for (let k = 0; k < 6; k++) rate -= (aData[i * 6 + k] - 0.5 * bData[i * 6 + k]) * grad[i * 6 + k];
        expect(rate).to.be.below(0);
      }
    });
  });

  describe("4. §7.4 BYOL as '‖h(online(aug1)) − target(aug2)‖²' needs the normalization", () => {
    it("unnormalized, the loss goes to 0 by shrinking both outputs; byolLoss does not move", () => {
      const generator = new Generator(4);
      const [prediction, target] = [randomEmbeddings(generator, 8, 16), randomEmbeddings(generator, 8, 16)];
      const squared = (scale: number) => mseLoss(prediction.mul(scale), target.mul(scale), { reduction: "sum" }).item() / 8;
      expect(squared(1e-3)).to.be.below(1e-5 * squared(1));
      expect(byolLoss(prediction.mul(1e-3), target.mul(1e-3)).item()).to.be.closeTo(byolLoss(prediction, target).item(), 1e-12);
    });
  });

  describe("5. §7.6 'Max similarity ≈ 1, Min ≈ −1' of z zᵀ says nothing", () => {
    it("the max of z zᵀ is its diagonal, 1 for healthy and collapsed embeddings alike; the off-diagonal mean tells them apart", () => {
      const generator = new Generator(6);
      const healthy = randomEmbeddings(generator, 32, 16);
      const collapsed = randomEmbeddings(generator, 1, 16).expand(32, 16).add(randomEmbeddings(generator, 32, 16).mul(0.01));
      for (const z of [healthy, collapsed]) {
        const unit = normalize(z);
        expect(unit.matmul(unit.t()).max().item()).to.be.closeTo(1, 1e-12);
      }
      expect(Math.abs(similarityStats(healthy).offDiagonalMean)).to.be.below(0.1);
      expect(similarityStats(collapsed).offDiagonalMin).to.be.above(0.99);
    });
  });
});
