/**
 * The engine of the tiled losses (src/losses/tiled-blocks.ts): its block jobs against the dense
 * losses they replace (ragged last blocks, N not a multiple of T, odd D, float32, a learnable logit
 * scale, both shifts: the shared S = |s| with one exp per logit and the per-line maxima beyond
 * MAX_SHARED_SHIFT), and its schedule on the worker pool: 1, 2 and 3 threads give the same bits.
 * The flop threshold is set to 0 here so that small problems take the pool path.
 */
import { expect } from "chai";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { randn, tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { clipLoss, infoNCE, tiledClipLoss, tiledInfoNCE } from "../../src/losses/index.js";
import { lastWalkThreads, MAX_SHARED_SHIFT, setTiledParallelMinFlops } from "../../src/losses/tiled-blocks.js";
import { getNumThreads, setNumThreads } from "../../src/parallel/index.js";
import "../../src/node.js"; // installs Node's worker-thread platform (without it every walk runs on one thread)

/** max |a − b| / max(max |b|, scale): the error relative to the expected values or to the natural scale of their terms. */
function errorAtScale(actual: Tensor, expected: Tensor, scale: number): number {
  const a = actual.toTypedArray();
  const b = expected.toTypedArray();
  expect(a.length).to.equal(b.length);
  let difference = 0;
  let largest = scale;
  for (let i = 0; i < a.length; i++) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    largest = Math.max(largest, Math.abs(b[i]));
  }
  return difference / largest;
}

interface Run {
  loss: Tensor;
  imageGrad: Tensor;
  textGrad: Tensor;
  scaleGrad: Tensor;
}

/** One CLIP forward + backward (tiled with tile T, or dense) with a learnable logit scale, on copies of the inputs. */
function clipRun(image: Tensor, text: Tensor, logitScale: number, tileSize: number | null, dtype: DType): Run {
  const i = image.to(dtype).detach().requiresGrad_();
  const t = text.to(dtype).detach().requiresGrad_();
  const s = tensor(logitScale, { dtype, requiresGrad: true });
  const loss = tileSize === null ? clipLoss(i, t, { logitScale: s }) : tiledClipLoss(i, t, { logitScale: s, tileSize });
  loss.backward();
  return { loss, imageGrad: i.grad!, textGrad: t.grad!, scaleGrad: s.grad! };
}

const sameBits = (a: Tensor, b: Tensor): boolean => Buffer.from(a.toTypedArray().buffer).equals(Buffer.from(b.toTypedArray().buffer));

describe("tiled blocks: the block jobs equal the dense losses", () => {
  // [N, D, T]: ragged last block (N mod T ≠ 0), odd D, one block (T ≥ N), T = 1, a square grid
  const shapes: [number, number, number][] = [[37, 5, 8], [40, 7, 40], [9, 3, 1], [64, 16, 16], [23, 1, 6]];
  // s = exp(logitScale): 1/0.07, CLIP's clamp 100, just inside and just beyond the shared shift, far beyond
  const logitScales = [Math.log(1 / 0.07), Math.log(100), Math.log(MAX_SHARED_SHIFT - 1), Math.log(MAX_SHARED_SHIFT + 1), Math.log(2000)];

  it("tiledClipLoss = clipLoss in value and ∂image, ∂text, ∂logitScale (float64, 1e-12 at the terms' scale), both shifts", () => {
    const generator = new Generator(31);
    for (const [n, d, tileSize] of shapes) {
      const image = randn([n, d], generator, { dtype: "float64" });
      // text: half noisy copies of the images (dominant positives), half unrelated
      const text = image.add(randn([n, d], generator, { dtype: "float64" }).mul(0.5));
      for (const logitScale of logitScales) {
        const s = Math.exp(logitScale);
        const tiled = clipRun(image, text, logitScale, tileSize, "float64");
        const dense = clipRun(image, text, logitScale, null, "float64");
        const where = `N ${n}, D ${d}, T ${tileSize}, s ${s.toFixed(1)}`;
        expect(errorAtScale(tiled.loss, dense.loss, s), `loss, ${where}`).to.be.at.most(1e-12);
        expect(errorAtScale(tiled.imageGrad, dense.imageGrad, s / n), `∂image, ${where}`).to.be.at.most(1e-12);
        expect(errorAtScale(tiled.textGrad, dense.textGrad, s / n), `∂text, ${where}`).to.be.at.most(1e-12);
        expect(errorAtScale(tiled.scaleGrad, dense.scaleGrad, s), `∂logitScale, ${where}`).to.be.at.most(1e-12);
      }
    }
  });

  it("tiledInfoNCE = infoNCE with a random upstream gradient (reduction none), both shifts", () => {
    const generator = new Generator(32);
    for (const [n, d, tileSize] of shapes) {
      const query = randn([n, d], generator, { dtype: "float64" });
      const key = query.add(randn([n, d], generator, { dtype: "float64" }));
      const weights = randn([n], generator, { dtype: "float64" });
      for (const temperature of [0.1, 1 / (MAX_SHARED_SHIFT + 50)]) {
        const run = (tiled: boolean) => {
          const q = query.detach().requiresGrad_();
          const k = key.detach().requiresGrad_();
          const loss = tiled ?
            tiledInfoNCE(q, k, { temperature, tileSize, reduction: "none" })
            : infoNCE(q, k, null, { temperature, reduction: "none" });
          loss.backward(weights);
          return [loss, q.grad!, k.grad!];
        };
        const [tiled, dense] = [run(true), run(false)];
        const s = 1 / temperature;
        const scales = [s, s, s];
        tiled.forEach((t, k) =>
          expect(errorAtScale(t, dense[k], scales[k]), `output ${k}, N ${n}, T ${tileSize}, τ ${temperature}`).to.be.at.most(1e-12)
        );
      }
    }
  });

  it("float32 blocks (float32 GEMMs) stay close to float64 (1e-4 at the terms' scale)", () => {
    const generator = new Generator(33);
    const [n, d, tileSize] = [70, 33, 16];
    const image = randn([n, d], generator, { dtype: "float64" });
    const text = image.add(randn([n, d], generator, { dtype: "float64" }).mul(0.3));
    for (const logitScale of [Math.log(1 / 0.07), Math.log(1000)]) {
      const s = Math.exp(logitScale);
      const f32 = clipRun(image, text, logitScale, tileSize, "float32");
      const f64 = clipRun(image, text, logitScale, tileSize, "float64");
      expect(f32.imageGrad.dtype).to.equal("float32");
      const pairs: [Tensor, Tensor, number][] = [[f32.loss, f64.loss, s], [f32.imageGrad, f64.imageGrad, s / n], [
        f32.textGrad,
        f64.textGrad,
        s / n,
      ], [f32.scaleGrad, f64.scaleGrad, s]];
      for (const [a, b, scale] of pairs) {
        expect(a.toTypedArray().every(Number.isFinite)).to.equal(true);
        expect(errorAtScale(a.to("float64"), b, scale)).to.be.at.most(1e-4);
      }
    }
  });
});

describe("tiled blocks on the worker pool: the same bits for 1, 2 and 3 threads", () => {
  const threadsBefore = getNumThreads();
  let minFlopsBefore = 0;
  before(() => (minFlopsBefore = setTiledParallelMinFlops(0)));
  after(() => {
    setTiledParallelMinFlops(minFlopsBefore);
    setNumThreads(threadsBefore);
  });

  it("tiledClipLoss: loss and every gradient bit for bit, float32 and float64, ragged blocks, both shifts", () => {
    const generator = new Generator(34);
    for (const dtype of ["float32", "float64"] as const) {
      for (const [n, d, tileSize] of [[300, 17, 64], [129, 8, 16]] as const) {
        const image = randn([n, d], generator, { dtype: "float64" });
        const text = image.add(randn([n, d], generator, { dtype: "float64" }));
        for (const logitScale of [Math.log(1 / 0.07), Math.log(1000)]) {
          const runs = [1, 2, 3].map((threads) => {
            setNumThreads(threads);
            const run = clipRun(image, text, logitScale, tileSize, dtype);
            expect(lastWalkThreads(), `the backward walk used ${threads} threads`).to.equal(threads);
            return run;
          });
          for (const [k, run] of runs.entries()) {
            const where = `${k + 1} threads, ${dtype}, N ${n}, T ${tileSize}, logit scale ${logitScale.toFixed(2)}`;
            expect(sameBits(run.loss, runs[0].loss), `loss, ${where}`).to.equal(true);
            expect(sameBits(run.imageGrad, runs[0].imageGrad), `∂image, ${where}`).to.equal(true);
            expect(sameBits(run.textGrad, runs[0].textGrad), `∂text, ${where}`).to.equal(true);
            expect(sameBits(run.scaleGrad, runs[0].scaleGrad), `∂logitScale, ${where}`).to.equal(true);
          }
          // and the pool's result is the dense loss's (float64)
          if (dtype === "float64") {
            const dense = clipRun(image, text, logitScale, null, dtype);
            expect(errorAtScale(runs[1].imageGrad, dense.imageGrad, Math.exp(logitScale) / n)).to.be.at.most(1e-12);
          }
        }
      }
    }
  });
});
