/**
 * Data parallel, by the book (src/losses/distributed.ts, docs/large-batches.md "Data parallel"):
 * W simulated ranks, each encoding its own shard of the batch, gathering the features as open_clip
 * does and averaging the ranks' gradients as DDP does, leave in .grad exactly the gradients of the
 * single-process clipLoss over the whole batch (float64, ‖Δ‖/‖grad‖ ≤ 1e-12), for W ∈ {1, 2, 3, 4},
 * batches W does not divide (uneven shards), local and full logits, with gather_with_grad. Without
 * it, the tests below say which gradient is wrong and by how much.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { randn, tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { crossEntropy, normalize } from "../../src/ops/functional.js";
import { Linear } from "../../src/nn/linear.js";
import { allGather, clipLoss, dataParallelClipLoss, distributedClipLoss, type DistributedClipLossOptions } from "../../src/losses/index.js";
import { relativeError } from "./helpers.js";

const DIM_IMAGE = 6;
const DIM_TEXT = 5;
const DIM_EMBED = 4;

/** Shard sizes of B rows over W ranks as torch.tensor_split makes them: the first B mod W get one more. */
function shardSizes(batch: number, worldSize: number): number[] {
  return Array.from({ length: worldSize }, (_, r) => Math.floor(batch / worldSize) + (r < batch % worldSize ? 1 : 0));
}

/** One model (two linear towers and a learnable logit scale) and one global batch of inputs, float64 leaves. */
class Setup {
  readonly imageTower: Linear;
  readonly textTower: Linear;
  readonly logitScale: Tensor;
  readonly images: Tensor; // (B, 6) raw inputs, a leaf: its gradient is the "input" gradient
  readonly texts: Tensor; // (B, 5)

  constructor(seed: number, readonly batch: number) {
    const generator = new Generator(seed);
    this.imageTower = new Linear(DIM_IMAGE, DIM_EMBED, { generator, dtype: "float64" });
    this.textTower = new Linear(DIM_TEXT, DIM_EMBED, { generator, dtype: "float64" });
    this.logitScale = tensor(Math.log(1 / 0.3), { dtype: "float64" }).requiresGrad_();
    this.images = randn([batch, DIM_IMAGE], generator, { dtype: "float64" }).requiresGrad_();
    this.texts = randn([batch, DIM_TEXT], generator, { dtype: "float64" }).requiresGrad_();
  }

  leaves(): Tensor[] {
    return [...this.imageTower.parameters(), ...this.textTower.parameters(), this.logitScale, this.images, this.texts];
  }

  /** Run `step` (which calls backward) from zeroed gradients; return every leaf's gradient (null if none). */
  gradients(step: () => void): (Float64Array | null)[] {
    for (const leaf of this.leaves()) leaf.grad = null;
    step();
    return this.leaves().map((leaf) => (leaf.grad ? Float64Array.from(leaf.grad.toTypedArray()) : null));
  }

  /** The single-process step: clipLoss over the whole batch. */
  global(): Tensor {
    return clipLoss(this.imageTower.forward(this.images), this.textTower.forward(this.texts), { logitScale: this.logitScale });
  }

  /** Each rank r encodes its own rows o_r … o_r + n_r − 1 (a view of the inputs): (n_r, D) features per rank. */
  shards(worldSize: number): { images: Tensor[]; texts: Tensor[] } {
    const sizes = shardSizes(this.batch, worldSize);
    const starts = sizes.map((_, r) => sizes.slice(0, r).reduce((a, b) => a + b, 0));
    return {
      images: sizes.map((n, r) => this.imageTower.forward(this.images.narrow(0, starts[r], n))),
      texts: sizes.map((n, r) => this.textTower.forward(this.texts.narrow(0, starts[r], n))),
    };
  }

  /** The data-parallel step: the W ranks' losses averaged (DDP), one backward. */
  dataParallel(worldSize: number, options: Omit<DistributedClipLossOptions, "rank" | "worldSize" | "logitScale">): Tensor {
    const { images, texts } = this.shards(worldSize);
    return dataParallelClipLoss(images, texts, { ...options, worldSize, logitScale: this.logitScale }).loss;
  }
}

/** Leaf names, in Setup.leaves() order, for messages. */
const LEAF_NAMES = ["image W", "image b", "text W", "text b", "logit scale", "image inputs", "text inputs"];
const LOGIT_SCALE = 4;

function expectSameGradients(actual: (Float64Array | null)[], expected: (Float64Array | null)[], tolerance: number, what: string): void {
  expected.forEach((grad, i) => {
    expect(actual[i], `${what}: ${LEAF_NAMES[i]} has a gradient`).to.not.equal(null);
    expect(relativeError(actual[i]!, grad!), `${what}: ${LEAF_NAMES[i]}`).to.be.at.most(tolerance);
  });
}

const scaled = (grad: Float64Array | null, factor: number): Float64Array => Float64Array.from(grad!, (v) => v * factor);

describe("losses: data parallel (simulated torch.distributed, open_clip's ClipLoss)", () => {
  it("allGather with gradient: its backward, summed over the ranks, is a reduce-scatter of the gradients", () => {
    const generator = new Generator(3);
    const sizes = [3, 2, 2];
    const shards = sizes.map((n) => randn([n, 4], generator, { dtype: "float64" }).requiresGrad_());
    const upstream = sizes.map(() => randn([7, 4], generator, { dtype: "float64" })); // ∂L_r/∂(gathered on rank r)
    sizes.forEach((_, rank) => allGather(shards, rank).backward(upstream[rank])); // each rank's backward, one tape
    let start = 0;
    shards.forEach((shard, q) => {
      // rank q receives Σ_r of its slice of every rank's gradient (torch.distributed.nn.all_gather's backward)
      const expected = upstream.map((g) => g.narrow(0, start, sizes[q])).reduce((a, b) => a.add(b));
      expect(relativeError(shard.grad!.toTypedArray(), expected.toTypedArray())).to.be.at.most(1e-15);
      start += sizes[q];
    });
  });

  it("allGather without gradient: only the rank's own slice (kept) receives one", () => {
    const generator = new Generator(4);
    const shards = [2, 2, 2].map(() => randn([2, 3], generator, { dtype: "float64" }).requiresGrad_());
    allGather(shards, 1, { withGrad: false }).sum().backward();
    expect(shards.map((s) => s.grad !== null)).to.deep.equal([false, true, false]);
    shards.forEach((s) => (s.grad = null));
    expect(allGather(shards, 1, { withGrad: false, keepLocal: false }).requiresGrad).to.equal(false);
  });

  it("the ranks' losses: every rank's full-logit loss is the global loss; the local ones average to it", () => {
    const setup = new Setup(11, 10);
    const global = setup.global().item();
    for (const worldSize of [2, 3, 4]) {
      const { images, texts } = setup.shards(worldSize);
      const base = { worldSize, logitScale: setup.logitScale, gatherWithGrad: true };
      const full = dataParallelClipLoss(images, texts, base);
      full.rankLosses.forEach((l) => expect(l.item()).to.be.closeTo(global, 1e-13));
      const local = dataParallelClipLoss(images, texts, { ...base, localLoss: true });
      expect(local.loss.item(), `W = ${worldSize}`).to.be.closeTo(global, 1e-13);
    }
  });

  it("equal shards: rank r's local loss is open_clip's (mean over local rows, labels arange(n) + n·rank)", () => {
    const setup = new Setup(12, 9);
    const { images, texts } = setup.shards(3); // n = 3 per rank
    const gatheredImages = normalize(setup.imageTower.forward(setup.images)); // (9, 4)
    const gatheredTexts = normalize(setup.textTower.forward(setup.texts));
    const scale = setup.logitScale.exp();
    for (let rank = 0; rank < 3; rank++) {
      const labels = [0, 1, 2].map((i) => i + 3 * rank);
      const perImage = normalize(images[rank]).matmul(gatheredTexts.t()).mul(scale); // (3, 9)
      const perText = normalize(texts[rank]).matmul(gatheredImages.t()).mul(scale);
      const openClip = crossEntropy(perImage, labels).add(crossEntropy(perText, labels)).mul(0.5).item();
      const ours = distributedClipLoss(images, texts, { worldSize: 3, rank, localLoss: true, logitScale: setup.logitScale }).item();
      expect(ours).to.be.closeTo(openClip, 1e-14);
    }
  });

  describe("gather_with_grad: the DDP-averaged gradients are the single-process ones (float64, 1e-12)", () => {
    for (const localLoss of [false, true]) {
      for (const worldSize of [1, 2, 3, 4]) {
        it(`${localLoss ? "local" : "full"} logits, W = ${worldSize}, batches of 4 … 11 (uneven shards when W ∤ B)`, () => {
          fc.assert(
            fc.property(fc.integer({ min: 4, max: 11 }), fc.integer({ min: 0, max: 10_000 }), (batch, seed) => {
              const setup = new Setup(seed, batch);
              const expected = setup.gradients(() => setup.global().backward());
              const actual = setup.gradients(() => setup.dataParallel(worldSize, { localLoss, gatherWithGrad: true }).backward());
              expectSameGradients(actual, expected, 1e-12, `B = ${batch} (shards ${shardSizes(batch, worldSize)})`);
            }),
            { numRuns: 8 },
          );
        });
      }
    }
  });

  it("uneven shards need the 1/B scale: open_clip's mean over the local rows gives other gradients", () => {
    const setup = new Setup(31, 7);
    const worldSize = 3; // shards 3, 2, 2
    const expected = setup.gradients(() => setup.global().backward());
    const actual = setup.gradients(() => {
      const { images, texts } = setup.shards(worldSize);
      const options = { worldSize, localLoss: true, gatherWithGrad: true, logitScale: setup.logitScale };
      // open_clip's rank loss is the mean over its n_r rows: ours × B / (W·n_r)
      const meanOverLocalRows = images.map((shard, rank) =>
        distributedClipLoss(images, texts, { ...options, rank }).mul(setup.batch / (worldSize * shard.shape[0]))
      );
      meanOverLocalRows.reduce((a, b) => a.add(b)).div(worldSize).backward();
    });
    expect(relativeError(actual[0]!, expected[0]!), "image tower vs global").to.be.above(1e-3);
  });

  describe("without gather_with_grad (W = 3, B = 9: open_clip's equal shards), which gradient is wrong", () => {
    const worldSize = 3;
    const setup = new Setup(21, 9);
    const expected = setup.gradients(() => setup.global().backward());

    it("full logits, local features put back (open_clip's default): features get 1/W of their gradient, the scale all of it", () => {
      const actual = setup.gradients(() => setup.dataParallel(worldSize, { localLoss: false }).backward());
      // rank r differentiates L only through its own slice: F_r gets (1/W)·∂L/∂F_r after DDP's average
      expectSameGradients(
        actual,
        expected.map((g, i) => (i === LOGIT_SCALE ? g : scaled(g, 1 / worldSize))),
        1e-12,
        "= global, features ÷ W",
      );
      expect(relativeError(actual[0]!, expected[0]!), "the tower's gradient is not the global one").to.be.closeTo(1 - 1 / worldSize, 1e-12);
    });

    it("full logits, nothing put back: no gradient reaches the towers or the inputs at all", () => {
      const actual = setup.gradients(() => setup.dataParallel(worldSize, { localLoss: false, putBackLocal: false }).backward());
      actual.forEach((g, i) => expect(g === null, LEAF_NAMES[i]).to.equal(i !== LOGIT_SCALE));
      expect(relativeError(actual[LOGIT_SCALE]!, expected[LOGIT_SCALE]!)).to.be.at.most(1e-12);
    });

    it("local logits (open_clip puts nothing back): each feature keeps only its gradient as an anchor row", () => {
      const actual = setup.gradients(() => setup.dataParallel(worldSize, { localLoss: true }).backward());
      // = the global loss with the column operand of each direction detached: I·sg(T)ᵀ and T·sg(I)ᵀ
      const rowsOnly = setup.gradients(() => {
        const image = setup.imageTower.forward(setup.images);
        const text = setup.textTower.forward(setup.texts);
        const i = normalize(image);
        const t = normalize(text);
        const scale = setup.logitScale.exp();
        const labels = Array.from({ length: 9 }, (_, k) => k);
        const perImage = crossEntropy(i.matmul(t.detach().t()).mul(scale), labels);
        const perText = crossEntropy(t.matmul(i.detach().t()).mul(scale), labels);
        perImage.add(perText).mul(0.5).backward();
      });
      expectSameGradients(actual, rowsOnly, 1e-12, "= rows only");
      expect(relativeError(actual[0]!, expected[0]!), "image tower vs global").to.be.above(1e-2);
      expect(relativeError(actual[LOGIT_SCALE]!, expected[LOGIT_SCALE]!), "the scale is still right").to.be.at.most(1e-12);
    });

    it("local logits with the local features put back: still wrong (their use as negatives on the other ranks is lost)", () => {
      const actual = setup.gradients(() => setup.dataParallel(worldSize, { localLoss: true, putBackLocal: true }).backward());
      expect(relativeError(actual[0]!, expected[0]!), "image tower vs global").to.be.above(1e-2);
      expect(relativeError(actual[LOGIT_SCALE]!, expected[LOGIT_SCALE]!)).to.be.at.most(1e-12);
    });
  });

  it("checks its arguments", () => {
    const shard = randn([2, 3], new Generator(1), { dtype: "float64" });
    expect(() => distributedClipLoss([shard, shard], [shard, shard], { worldSize: 3, rank: 0 })).to.throw(/worldSize is 3 but got 2/);
    expect(() => distributedClipLoss([shard], [shard], { worldSize: 1, rank: 1 })).to.throw(/rank must be an integer in \[0, 1\)/);
    expect(() => distributedClipLoss([shard], [shard.narrow(0, 0, 1)], { worldSize: 1, rank: 0 })).to.throw(/distributedClipLoss/);
  });
});
