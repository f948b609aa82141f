/**
 * PyTorch parity: every case of spec/fixtures/losses.json (computed by torch in float64 by
 * scripts/fixtures/make_loss_fixtures.py) through this project's losses.
 *   float64: value and d(sum of output)/d(input) to 1e-9 relative, plus an absolute floor of
 *            1e-12·(1 + max |grad|) for entries that are near zero (sanity cases: ~1e-17 noise);
 *   float32: the same inputs rounded to float32, to 1e-4.
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { infoNCEFromSimilarities, rawInfoNCE } from "../../src/losses/index.js";
import { tensor } from "../../src/tensor/creation.js";
import { chapterCases, firstMismatch, lossCases, maxAbs, runCase } from "./helpers.js";

describe("losses: PyTorch parity (spec/fixtures/losses.json)", () => {
  it("covers every loss and every option the fixture exercises", () => {
    const kinds = new Set(lossCases.map((c) => c.loss));
    expect([...kinds].sort()).to.deep.equal(["byolLoss", "clipLoss", "infoNCE", "mocoLoss", "ntXent"]);
    expect(lossCases.some((c) => c.options.learnableTemperature)).to.equal(true);
    expect(lossCases.some((c) => c.options.logitScale !== undefined)).to.equal(true);
    expect(chapterCases).to.have.length(2);
  });

  describe("float64: value and input gradients to 1e-9", () => {
    for (const c of lossCases) {
      it(c.name, () => {
        const run = runCase(c, "float64");
        const expectedValue = [c.value].flat();
        // A value that is exactly 0 in exact arithmetic (byolLoss-aligned) is rounding noise.
        expect(firstMismatch(run.value, expectedValue, 1e-9, 1e-14), "value").to.equal(null);
        if (c.expected) expect(Math.abs(run.value[0] - c.expected.value)).to.be.below(1e-12, c.expected.formula);
        for (const [name, grad] of Object.entries(c.grads)) {
          const atol = 1e-12 * (1 + maxAbs(grad.data));
          expect(firstMismatch(run.grads[name], grad.data, 1e-9, atol), `grad ${name}`).to.equal(null);
        }
      });
    }
  });

  describe("float32: the same inputs rounded to float32, to 1e-4", () => {
    for (const c of lossCases) {
      it(c.name, () => {
        const run = runCase(c, "float32");
        expect(run.leaves[Object.keys(c.inputs)[0]].dtype).to.equal("float32");
        expect(firstMismatch(run.value, [c.value].flat(), 1e-4, 1e-6), "value").to.equal(null);
        for (const [name, grad] of Object.entries(c.grads)) {
          const atol = 1e-4 * (1 + maxAbs(grad.data)) * (c.expected ? 10 : 1);
          expect(firstMismatch(run.grads[name], grad.data, 1e-4, atol), `grad ${name}`).to.equal(null);
        }
      });
    }
  });

  describe("chapter 7.2's worked examples (rawInfoNCE cases)", () => {
    for (const c of chapterCases) {
      it(`${c.name}: similarities [${c.similarities.join(", ")}] at τ = ${c.temperature}`, () => {
        const result = infoNCEFromSimilarities(c.similarities, c.temperature);
        expect(result.loss).to.be.closeTo(c.value, 1e-15 * 10);
        expect(result.probability).to.be.closeTo(c.probability, 1e-15);
        expect(result.logits).to.deep.equal(c.similarities.map((s) => s / c.temperature));
        // the same through rawInfoNCE on a (1, 4) logits tensor
        const logits: Tensor = tensor([c.similarities.map((s) => s / c.temperature)], { dtype: "float64" });
        expect(rawInfoNCE(logits).item()).to.be.closeTo(c.value, 1e-14);
      });
    }

    it("match the chapter's rounded numbers: p ≈ 0.995, L ≈ 0.005; bad case p ≈ 0.012, L ≈ 4.4", () => {
      const good = infoNCEFromSimilarities([0.8, 0.2, 0.15, 0.1], 0.1);
      const bad = infoNCEFromSimilarities([0.1, 0.5, 0.4, 0.3], 0.1);
      expect(good.probability.toFixed(3)).to.equal("0.995");
      expect(good.loss.toFixed(3)).to.equal("0.005");
      expect(bad.probability.toFixed(3)).to.equal("0.012");
      expect(bad.loss.toFixed(1)).to.equal("4.4");
    });
  });
});
