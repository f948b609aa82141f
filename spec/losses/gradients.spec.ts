/**
 * Gradients of the losses: float64 central differences (gradcheck) against backward(), for every
 * differentiable input of every loss, including CLIP's learnable temperature and logit scale;
 * and the stop-gradients (MoCo's key and queue, BYOL's target) that must receive nothing.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import {
  infoNCE,
  ntXent,
  clipLoss,
  clampLogitScale_,
  mocoLoss,
  byolLoss,
  similarity,
  pairedSimilarity,
  rawInfoNCE,
} from "../../src/losses/index.js";
import { randomEmbeddings, runs } from "./helpers.js";

const TOLERANCE = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };

/** Random sizes and a seed; the embeddings are seeded normal draws (N ≤ 5, D ≤ 6). */
const shapes = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  m: fc.integer({ min: 1, max: 5 }),
  d: fc.integer({ min: 1, max: 6 }),
  seed: fc.nat(),
  temperature: fc.constantFrom(0.07, 0.1, 0.5, 1),
});

function leaves(seed: number, ...rows: [number, number][]): Tensor[] {
  const generator = new Generator(seed);
  return rows.map(([r, c]) => randomEmbeddings(generator, r, c, "float64", true));
}

describe("losses: gradients (float64 gradcheck)", () => {
  for (const metric of ["cosine", "dot", "euclidean"] as const) {
    for (const reduction of ["mean", "sum", "none"] as const) {
      it(`infoNCE (${metric}, ${reduction}) w.r.t. query, positiveKey and negativeKeys, and in-batch`, () => {
        fc.assert(
          fc.property(shapes, ({ n, m, d, seed, temperature }) => {
            const t = metric === "cosine" ? temperature : 1; // raw metrics: keep the softmax soft
            const [query, positiveKey, negativeKeys] = leaves(seed, [n, d], [n, d], [m, d]);
            gradcheck(
              (q, k, neg) => infoNCE(q, k, neg, { temperature: t, reduction, metric }),
              [query, positiveKey, negativeKeys],
              TOLERANCE,
            );
            gradcheck((q, k) => infoNCE(q, k, null, { temperature: t, reduction, metric }), [query, positiveKey], TOLERANCE);
          }),
          runs(4),
        );
      });
    }
  }

  it("ntXent w.r.t. z1 and z2 (diagonal masked with −∞)", () => {
    fc.assert(
      fc.property(shapes, ({ n, d, seed, temperature }) => {
        const [z1, z2] = leaves(seed, [n, d], [n, d]);
        gradcheck((a, b) => ntXent(a, b, { temperature }), [z1, z2], TOLERANCE);
      }),
      runs(10),
    );
  });

  it("clipLoss w.r.t. imageFeatures and textFeatures (fixed τ)", () => {
    fc.assert(
      fc.property(shapes, ({ n, d, seed, temperature }) => {
        const [image, text] = leaves(seed, [n, d], [n, d]);
        gradcheck((a, b) => clipLoss(a, b, { temperature }), [image, text], TOLERANCE);
      }),
      runs(10),
    );
  });

  it("clipLoss w.r.t. a learnable temperature τ (0-d tensor) and the features", () => {
    fc.assert(
      fc.property(shapes, ({ n, d, seed, temperature }) => {
        const [image, text] = leaves(seed, [n, d], [n, d]);
        const tau = tensor(temperature, { dtype: "float64", requiresGrad: true });
        gradcheck((a, b, t) => clipLoss(a, b, { temperature: t }), [image, text, tau], TOLERANCE);
      }),
      runs(10),
    );
  });

  it("clipLoss w.r.t. a learnable logit scale s = log(1/τ), and ∂L/∂s = −τ ∂L/∂τ", () => {
    fc.assert(
      fc.property(shapes, ({ n, d, seed, temperature }) => {
        const [image, text] = leaves(seed, [n, d], [n, d]);
        const scale = tensor(Math.log(1 / temperature), { dtype: "float64", requiresGrad: true });
        gradcheck((a, b, s) => clipLoss(a, b, { logitScale: s }), [image, text, scale], TOLERANCE);
        const tau = tensor(temperature, { dtype: "float64", requiresGrad: true });
        clipLoss(image.detach(), text.detach(), { logitScale: scale }).backward();
        clipLoss(image.detach(), text.detach(), { temperature: tau }).backward();
        expect(scale.grad!.item()).to.be.closeTo(-temperature * tau.grad!.item(), 1e-12 * (1 + Math.abs(scale.grad!.item())));
      }),
      runs(10),
    );
  });

  it("clampLogitScale_: CLIP's in-place clamp of s to [0, log 100] after a step, outside the tape", () => {
    for (const [value, clamped] of [[5, Math.log(100)], [-1, 0], [3, 3]]) {
      const scale = tensor(value, { dtype: "float64", requiresGrad: true });
      scale.grad = tensor(0.5, { dtype: "float64" });
      expect(clampLogitScale_(scale)).to.equal(scale); // the same tensor, changed in place
      expect(scale.item()).to.equal(clamped);
      expect(scale.requiresGrad && scale.isLeaf && scale.grad.item() === 0.5).to.equal(true);
    }
    expect(() => clampLogitScale_(tensor(1), 2, 1)).to.throw("clampLogitScale_: need min ≤ max, got min=2, max=1");
  });

  it("mocoLoss w.r.t. query", () => {
    fc.assert(
      fc.property(shapes, ({ n, m, d, seed, temperature }) => {
        const [query, key, queue] = leaves(seed, [n, d], [n, d], [m, d]);
        key.requiresGrad = false;
        queue.requiresGrad = false;
        gradcheck((q, k, negatives) => mocoLoss(q, k, negatives, { temperature }), [query, key, queue], TOLERANCE);
      }),
      runs(10),
    );
  });

  it("byolLoss w.r.t. prediction", () => {
    fc.assert(
      fc.property(shapes, ({ n, d, seed }) => {
        const [prediction, target] = leaves(seed, [n, d], [n, d]);
        target.requiresGrad = false;
        gradcheck((p, z) => byolLoss(p, z), [prediction, target], TOLERANCE);
      }),
      runs(10),
    );
  });

  it("similarity and pairedSimilarity, every metric", () => {
    fc.assert(
      fc.property(
        shapes,
        fc.constantFrom("cosine", "dot", "euclidean") as fc.Arbitrary<"cosine" | "dot" | "euclidean">,
        ({ n, m, d, seed }, metric) => {
          const [a, b, c] = leaves(seed, [n, d], [m, d], [n, d]);
          gradcheck((x, y) => similarity(x, y, { metric }), [a, b], TOLERANCE);
          gradcheck((x, y) => pairedSimilarity(x, y, { metric }), [a, c], TOLERANCE);
        },
      ),
      runs(10),
    );
  });

  it("rawInfoNCE w.r.t. the logits", () => {
    const [logits] = leaves(3, [4, 5]);
    gradcheck((x) => rawInfoNCE(x, { reduction: "none" }), [logits], TOLERANCE);
  });

  describe("stop-gradients: no gradient reaches what the method updates by EMA", () => {
    it("mocoLoss: key and queue get no .grad, even with requiresGrad, nor does the key encoder's weight", () => {
      const generator = new Generator(11);
      const [query, queue] = [randomEmbeddings(generator, 4, 6, "float64", true), randomEmbeddings(generator, 8, 6, "float64", true)];
      const keyEncoderWeight = randomEmbeddings(generator, 6, 6, "float64", true); // θ_k
      const key = randomEmbeddings(generator, 4, 6).matmul(keyEncoderWeight); // (4, 6), depends on θ_k
      mocoLoss(query, key, queue).backward();
      expect(query.grad).to.not.equal(null);
      expect(queue.grad).to.equal(null);
      expect(keyEncoderWeight.grad).to.equal(null);
      expect(key.requiresGrad).to.equal(true); // it was in the graph; the loss cut it
    });

    it("byolLoss: the target gets no .grad, nor does the target network's weight", () => {
      const generator = new Generator(12);
      const prediction = randomEmbeddings(generator, 4, 6, "float64", true);
      const targetWeight = randomEmbeddings(generator, 6, 6, "float64", true);
      const targetLeaf = randomEmbeddings(generator, 4, 6, "float64", true);
      byolLoss(prediction, targetLeaf.matmul(targetWeight)).backward();
      expect(prediction.grad).to.not.equal(null);
      expect(targetLeaf.grad).to.equal(null);
      expect(targetWeight.grad).to.equal(null);
    });

    it("without the detach the key would receive a gradient: the stop-gradient is a real cut", () => {
      // infoNCE is MoCo without the detach: the same value, but the key gets a gradient.
      const generator = new Generator(13);
      const [query, key, queue] = [4, 4, 8].map((rows) => randomEmbeddings(generator, rows, 6, "float64", true));
      const withCut = mocoLoss(query, key, queue, { temperature: 0.2 });
      const withoutCut = infoNCE(query, key, queue, { temperature: 0.2 });
      expect(withCut.item()).to.be.closeTo(withoutCut.item(), 1e-14);
      withoutCut.backward();
      expect(key.grad).to.not.equal(null);
      expect(queue.grad).to.not.equal(null);
    });
  });
});
