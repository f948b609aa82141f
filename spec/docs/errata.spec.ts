/**
 * docs/errata.md: the chapter's claims that no other spec demonstrates yet, each shown true or
 * false by computation. (The InfoNCE bound, "invariant to scale", the NT-Xent template, BYOL's
 * unnormalized loss and "max similarity ≈ 1" are in spec/losses/chapter.spec.ts; the collapse
 * monitor's scale dependence in spec/losses/diagnostics.spec.ts; the exercises in
 * spec/examples/exercises.spec.ts.) Titles start with the erratum's number on the page.
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad } from "../../src/autograd/tape.js";
import { normalize } from "../../src/ops/functional.js";
import {
  infoNCE,
  infoNCEFromSimilarities,
  ntXent,
  byolLoss,
  mocoLoss,
  clipLoss,
  clampLogitScale_,
  similarityStats,
  temperatureSweep,
} from "../../src/losses/index.js";
import { cosineWithWarmup } from "../../src/optim/schedules.js";
import { SGD } from "../../src/optim/sgd.js";
import { MoCo } from "../../src/methods/moco.js";
import { imageTensor } from "../../src/methods/common.js";
import type { TwoViewBatch } from "../../src/data/loader.js";
import { IMAGE_PIXELS } from "../../src/data/mnist.js";

const unitRows = (generator: Generator, n: number, d: number) => normalize(randn([n, d], generator, { dtype: "float64" }));

/** N pairs whose positives are identical and whose 2N − 2 negatives are orthogonal: a "perfect" embedding. */
function perfectPairs(n: number): [Tensor, Tensor] {
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, k) => (k === i ? 1 : 0)));
  return [tensor(rows, { dtype: "float64" }), tensor(rows, { dtype: "float64" })];
}

describe("docs: errata of chapter 7 not covered by other specs (docs/errata.md)", () => {
  it(
    "E1 §7.1 'log₂(N) bits': picking the positive among N candidates is a log₂ N-bit choice, " +
      "and InfoNCE's mutual-information bound log N − L can never certify more",
    () => {
      const n = 1000;
      const chance = infoNCEFromSimilarities(Array(n).fill(0.3), 0.1).loss; // all candidates alike
      expect(chance).to.be.closeTo(Math.log(n), 1e-12); // nats
      expect(chance / Math.LN2).to.be.closeTo(9.966, 1e-3); // bits: "~10 bits"
      // I(q; k⁺) ≥ log N − L (van den Oord et al. 2018; Poole et al. 2019) and L > 0, so the bound < log N
      const trained = infoNCEFromSimilarities([0.9, ...Array(n - 1).fill(0.1)], 0.1).loss;
      expect(Math.log(n) - trained).to.be.below(Math.log(n));
      expect(Math.log(n) - trained).to.be.above(0);
    },
  );

  it("E4 §7.2 'temperature prevents softmax from being too sharp': with cosine similarities τ < 1 is what makes it sharp enough", () => {
    // a perfect positive (cos 1) against 255 orthogonal negatives (cos 0)
    const probability = (temperature: number) => infoNCEFromSimilarities([1, ...Array(255).fill(0)], temperature).probability;
    expect(probability(1)).to.be.closeTo(Math.E / (Math.E + 255), 1e-12); // 0.0105: nearly uniform
    expect(probability(0.1)).to.be.above(0.98);
    expect(probability(0.1)).to.be.above(90 * probability(1));
  });

  it(
    "E5 §7.2 'probability that positive is highest ranked': softmax(·)₀ is not that probability " +
      "— the positive can rank first with p = 0.39",
    () => {
      const good = infoNCEFromSimilarities([0.8, 0.2, 0.15, 0.1], 1);
      expect(Math.max(...good.logits)).to.equal(good.logits[0]); // ranked first, deterministically
      expect(good.probability).to.be.closeTo(0.3895, 1e-4);
    },
  );

  it(
    "E6 §7.2 'Random: Probability = 1/(1+num_negatives)': true on average (by symmetry), " +
      "but a random model's loss is above log(1 + M) (Jensen)",
    () => {
      const generator = new Generator(11);
      const [queries, keys, negatives] = [unitRows(generator, 4000, 32), unitRows(generator, 4000, 32), unitRows(generator, 15, 32)];
      const temperature = 0.1;
      const perRow = infoNCE(queries, keys, negatives, { temperature, reduction: "none" }).toTypedArray(); // (4000,)
      const meanProbability = Array.from(perRow).reduce((sum, loss) => sum + Math.exp(-loss), 0) / perRow.length;
      const meanLoss = Array.from(perRow).reduce((sum, loss) => sum + loss, 0) / perRow.length;
      expect(meanProbability).to.be.closeTo(1 / 16, 0.01); // 1/(1 + M), M = 15
      expect(meanLoss).to.be.above(Math.log(16) + 0.3); // log 16 = 2.77 is the *equal-similarity* loss
    },
  );

  it(
    "E7 §7.2 the temperature table is off by ten: its 'τ = 0.01' row is τ = 0.1, " +
      "its 'τ = 0.1' row is τ = 1, its 'τ = 1.0' row is τ = 10",
    () => {
      const scores = [0.5, 0.4, 0.3];
      const row = (temperature: number) => scores.map((s) => Math.exp(s / temperature));
      // the chapter's "τ = 0.01": exp(5) = 148, exp(4) = 55, exp(3) = 20, ratio 2.7
      expect(row(0.1).map((v) => Math.round(v))).to.deep.equal([148, 55, 20]);
      expect(row(0.1)[0] / row(0.1)[1]).to.be.closeTo(2.718, 1e-3);
      // at τ = 0.01 itself the terms are e^50, e^40, e^30 and the ratio is e^10 = 22026
      expect(row(0.01)[0] / row(0.01)[1]).to.be.closeTo(22026.47, 0.01);
      // the chapter's "τ = 0.1": exp(0.5) = 1.65 … is τ = 1; its "τ = 1.0": exp(0.05) = 1.05 … is τ = 10
      expect(row(1).map((v) => v.toFixed(2))).to.deep.equal(["1.65", "1.49", "1.35"]);
      expect(row(10).map((v) => v.toFixed(2))).to.deep.equal(["1.05", "1.04", "1.03"]);
    },
  );

  it(
    "E8 §7.2 'CLIP uses τ ≈ 0.07 (learned)': 0.07 is the initialization; " +
      "once pairs are separated the learned scale runs to the clamp, τ = 0.01",
    () => {
      const generator = new Generator(12);
      const images = unitRows(generator, 16, 8);
      const texts = images.add(randn([16, 8], generator, { dtype: "float64" }).mul(0.1)); // matched pairs, each its row's best match
      // ∂L/∂s < 0 at every scale from the initial 1/0.07 to 100: descent always sharpens …
      for (let k = 0; k <= 20; k++) {
        const logitScale = tensor(Math.log(1 / 0.07) + (k / 20) * (Math.log(100) - Math.log(1 / 0.07)), {
          dtype: "float64",
          requiresGrad: true,
        });
        clipLoss(images, texts, { logitScale }).backward();
        expect(logitScale.grad!.item()).to.be.below(0);
      }
      // … so s rises until open_clip's clamp_(0, log 100) stops it: τ = 1/100
      const logitScale = tensor(Math.log(1 / 0.07), { dtype: "float64", requiresGrad: true }); // s = log(1/τ)
      const optimizer = new SGD([logitScale], { lr: 1 });
      for (let step = 0; step < 50 && logitScale.item() < Math.log(100); step++) {
        optimizer.zeroGrad();
        clipLoss(images, texts, { logitScale }).mul(1e4).backward(); // a large step size, to get there in a few steps
        optimizer.step();
        clampLogitScale_(logitScale);
      }
      expect(logitScale.item()).to.equal(Math.log(100));
      expect(1 / Math.exp(logitScale.item())).to.be.closeTo(0.01, 1e-15);
    },
  );

  it(
    "E11 §7.4 MoCo's 'pop old representations' before the loss: the loss reads all K queued keys, " +
      "then the oldest N are overwritten by the batch's keys",
    () => {
      const [n, queueSize] = [4, 12];
      // the chapter's one-sided loss
      const moco = new MoCo({ queueSize, temperature: 0.2, symmetric: false, generator: new Generator(13) });
      const generator = new Generator(14);
      const batch = (): TwoViewBatch => {
        const views = () => Float32Array.from({ length: n * IMAGE_PIXELS }, () => generator.random());
        return { view1: views(), view2: views(), labels: new Int32Array(n), indices: new Int32Array(n), batchSize: n };
      };
      for (let step = 0; step < 2; step++) moco.trainingLoss(batch()); // pointer at 8
      const b = batch();
      const pointer = moco.queuePointer;
      const queueBefore = moco.queue.clone();
      const { q, k } = noGrad(() => ({
        q: moco.projector.forward(moco.encoder.forward(imageTensor(b.view1, n))),
        k: moco.keyProjector.forward(moco.keyEncoder.forward(imageTensor(b.view2, n))),
      }));
      const loss = moco.trainingLoss(b).item();
      expect(loss).to.be.closeTo(mocoLoss(q, k, queueBefore, { temperature: 0.2 }).item(), 1e-6); // all K = 12 negatives
      expect(loss).to.not.be.closeTo(mocoLoss(q, k, queueBefore.narrow(0, 0, pointer), { temperature: 0.2 }).item(), 1e-3); // not K − N
      const [before, after, keys] = [
        queueBefore.toArray() as number[][],
        moco.queue.toArray() as number[][],
        normalize(k).toArray() as number[][],
      ];
      for (let row = 0; row < queueSize; row++) {
        const expected = row >= pointer && row < pointer + n ? keys[row - pointer] : before[row];
        after[row].forEach((value, c) => expect(value).to.be.closeTo(expected[c], 1e-6));
      }
      expect(moco.queuePointer).to.equal((pointer + n) % queueSize);
    },
  );

  it(
    "E15 §7.5 'Queue size 65536 → 65535 negatives': " +
      "the positive key is not in the queue, so a queue of K gives K negatives; NT-Xent on N images gives 2N − 2",
    () => {
      const generator = new Generator(15);
      const same = unitRows(generator, 1, 8);
      const [queueSize, n] = [16, 5];
      // identical embeddings: the loss is log(number of candidates) = log(1 + negatives)
      expect(mocoLoss(same.expand(3, 8), same.expand(3, 8), same.expand(queueSize, 8)).item()).to.be.closeTo(
        Math.log(1 + queueSize),
        1e-12,
      );
      expect(ntXent(same.expand(n, 8), same.expand(n, 8)).item()).to.be.closeTo(Math.log(1 + (2 * n - 2)), 1e-12);
      expect(infoNCE(same.expand(n, 8), same.expand(n, 8)).item()).to.be.closeTo(Math.log(1 + (n - 1)), 1e-12); // in-batch: N − 1
    },
  );

  it(
    "E16 §7.5/7.6 'loss plateaus at a high value → τ too low': " +
      "a plateau near chance is what a τ that is too *high* looks like, whatever the embeddings",
    () => {
      const n = 64;
      const chance = Math.log(2 * n - 1);
      const [a, b] = perfectPairs(n);
      expect(ntXent(a, b, { temperature: 10 }).item()).to.be.above(0.97 * chance); // perfect embeddings, "stuck" at chance
      expect(ntXent(a, b, { temperature: 0.05 }).item()).to.be.below(1e-6);
      // too low a τ shows differently: random embeddings score far *above* chance, led by the hardest negatives
      const generator = new Generator(16);
      const [z1, z2] = [unitRows(generator, n, 16), unitRows(generator, n, 16)];
      expect(ntXent(z1, z2, { temperature: 0.02 }).item()).to.be.above(chance + 10);
    },
  );

  it(
    "E17 §7.6 step 4 'should have a sweet spot': " +
      "the loss of fixed embeddings whose positives are their best candidates only rises with τ",
    () => {
      const generator = new Generator(17);
      const z1 = unitRows(generator, 32, 16);
      const z2 = z1.add(randn([32, 16], generator, { dtype: "float64" }).mul(0.1)); // each positive is its row's best candidate
      const sweep = temperatureSweep({ z1, z2 }, [0.01, 0.05, 0.1, 0.2, 0.5, 1, 2]);
      const losses = sweep.rows.map((row) => row.loss);
      losses.forEach((loss, i) => i > 0 && expect(loss).to.be.above(losses[i - 1]));
    },
  );

  it(
    "E18 §7.6 'Min ≈ −1' for normalized vectors: " +
      "healthy embeddings in many dimensions have cosines near 0; the batch minimum is nowhere near −1",
    () => {
      const stats = similarityStats(unitRows(new Generator(18), 256, 128));
      expect(stats.offDiagonalMin).to.be.within(-0.6, -0.2);
      expect(Math.abs(stats.offDiagonalMean)).to.be.below(0.01);
    },
  );

  it(
    "E20 §7.6 'Add normalization (L2 normalization helps)' against collapse: " +
      "identical unit vectors are L2-normalized; only negatives make collapse costly",
    () => {
      const generator = new Generator(19);
      const collapsed = unitRows(generator, 1, 16).expand(32, 16);
      expect(byolLoss(collapsed, collapsed).item()).to.be.closeTo(0, 1e-12); // no negatives: collapse is optimal
      expect(ntXent(collapsed, collapsed, { temperature: 0.5 }).item()).to.be.closeTo(Math.log(63), 1e-12); // negatives: collapse is chance
      const [a, b] = perfectPairs(32);
      expect(ntXent(a, b, { temperature: 0.5 }).item()).to.be.below(Math.log(63) - 1);
    },
  );

  it("E21 §7.6 the warmup 'LR(t) = target_lr · min(1, t / warmup_steps)' is the warmup of cosineWithWarmup (which then decays)", () => {
    const [target, warmup, total] = [0.3, 10, 100];
    const schedule = cosineWithWarmup({ baseLr: target, warmupSteps: warmup, totalSteps: total });
    for (let t = 0; t <= warmup; t++) expect(schedule(t)).to.be.closeTo(target * Math.min(1, t / warmup), 1e-15);
    expect(schedule(total)).to.be.closeTo(0, 1e-15); // then cosine annealing, as the chapter's next point suggests
  });
});
