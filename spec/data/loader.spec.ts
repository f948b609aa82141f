/**
 * Specs for the seeded loaders: epoch orders, drop_last, determinism, bit-identical resume.
 */
import { expect } from "chai";
import { defaultAugmentation } from "../../src/data/augment.js";
import { buildCaptionTable, captionTokens, fitCaptionThresholds } from "../../src/data/captions.js";
import { BatchSampler, ImageCaptionLoader, TwoViewLoader, type LoaderState } from "../../src/data/loader.js";
import { IMAGE_PIXELS, NUM_CLASSES, type Split } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { Generator } from "../../src/tensor/random.js";

/** `count` random 28×28 images labelled i mod 10. */
function syntheticSplit(count: number): Split {
  const generator = new Generator(123);
  return {
    images: Float32Array.from({ length: count * IMAGE_PIXELS }, () => generator.random()),
    labels: Int32Array.from({ length: count }, (_, i) => i % NUM_CLASSES),
    count,
  };
}

/** A batch as one comparable string of bytes. */
function fingerprint(batch: object): string {
  return Object.entries(batch)
    .map(([key, value]) =>
      `${key}:${ArrayBuffer.isView(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") : String(value)}`
    )
    .join("|");
}

describe("data/loader", () => {
  describe("BatchSampler", () => {
    it("visits every index once per epoch (dropLast false), in a new order each epoch", () => {
      const sampler = new BatchSampler(23, { batchSize: 5, seed: 1, dropLast: false });
      expect(sampler.batchesPerEpoch).to.equal(5);
      const epochs: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++) {
        const seen: number[] = [];
        const sizes: number[] = [];
        for (let b = 0; b < sampler.batchesPerEpoch; b++) {
          const indices = sampler.nextIndices();
          sizes.push(indices.length);
          seen.push(...indices);
        }
        expect(sizes).to.deep.equal([5, 5, 5, 5, 3]);
        expect([...seen].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 23 }, (_, i) => i));
        expect(sampler.epoch).to.equal(epoch + 1);
        expect(sampler.position).to.equal(0);
        epochs.push(seen);
      }
      expect(epochs[0]).to.not.deep.equal(epochs[1]);
    });

    it("drops the last partial batch by default", () => {
      const sampler = new BatchSampler(23, { batchSize: 5, seed: 1 });
      expect(sampler.batchesPerEpoch).to.equal(4);
      for (let b = 0; b < 4; b++) expect(sampler.nextIndices().length).to.equal(5);
      expect(sampler.epoch).to.equal(1);
      expect(() => new BatchSampler(3, { batchSize: 5, seed: 0 })).to.throw(/no batch/);
    });

    it("is seeded: the same seed gives the same order, another seed another", () => {
      const order = (seed: number) => Array.from(new BatchSampler(50, { batchSize: 50, seed }).nextIndices());
      expect(order(7)).to.deep.equal(order(7));
      expect(order(7)).to.not.deep.equal(order(8));
      expect(Array.from(new BatchSampler(6, { batchSize: 6, seed: 7, shuffle: false }).nextIndices())).to.deep.equal([0, 1, 2, 3, 4, 5]);
    });
  });

  describe("TwoViewLoader", () => {
    const split = syntheticSplit(37);
    const pipeline = defaultAugmentation();

    it("yields two different augmented views of the same images, with labels", () => {
      const loader = new TwoViewLoader(split, pipeline, { batchSize: 8, seed: 3 });
      const batch = loader.next();
      expect(batch.batchSize).to.equal(8);
      expect(batch.view1.length).to.equal(8 * IMAGE_PIXELS);
      expect(batch.view2.length).to.equal(8 * IMAGE_PIXELS);
      expect(Array.from(batch.labels)).to.deep.equal(Array.from(batch.indices, (i) => i % NUM_CLASSES));
      expect(fingerprint({ a: batch.view1 })).to.not.equal(fingerprint({ a: batch.view2 }));
      for (const value of batch.view1) expect(value >= 0 && value <= 1).to.equal(true);
    });

    it("epochBatches yields the rest of the epoch, then the next call starts a new epoch", () => {
      const loader = new TwoViewLoader(split, pipeline, { batchSize: 8, seed: 3 });
      expect([...loader.epochBatches()].length).to.equal(4);
      expect(loader.epoch).to.equal(1);
      loader.next();
      expect([...loader.epochBatches()].length).to.equal(3);
    });

    it("is deterministic: same seed → identical batches, another seed → different", () => {
      const run = (seed: number) => {
        const loader = new TwoViewLoader(split, pipeline, { batchSize: 8, seed });
        return Array.from({ length: 6 }, () => fingerprint(loader.next()));
      };
      expect(run(11)).to.deep.equal(run(11));
      expect(run(11)).to.not.deep.equal(run(12));
    });

    it("resumes bit-identically from a saved state, mid-epoch and across epochs", () => {
      for (const stopAfter of [0, 2, 4, 5]) {
        const original = new TwoViewLoader(split, pipeline, { batchSize: 8, seed: 5 });
        for (let b = 0; b < stopAfter; b++) original.next();
        const saved = JSON.parse(JSON.stringify(original.getState())) as LoaderState;
        const expected = Array.from({ length: 6 }, () => fingerprint(original.next()));

        const resumed = new TwoViewLoader(split, pipeline, { batchSize: 8, seed: 999 }); // seed is overwritten by the state
        resumed.next(); // advance it first, to prove the state fully replaces its own
        resumed.setState(saved);
        expect(resumed.epoch).to.equal(saved.epoch);
        expect(resumed.position).to.equal(saved.position);
        expect(Array.from({ length: 6 }, () => fingerprint(resumed.next())), `stopped after ${stopAfter}`).to.deep.equal(expected);
      }
    });

    it("refuses a state saved with another batch size", () => {
      const state = new TwoViewLoader(split, pipeline, { batchSize: 8, seed: 5 }).getState();
      expect(() => new TwoViewLoader(split, pipeline, { batchSize: 4, seed: 5 }).setState(state)).to.throw(/batchSize/);
    });
  });

  describe("ImageCaptionLoader", () => {
    const { test } = loadMnist();
    const table = buildCaptionTable(test, fitCaptionThresholds(loadMnist().train));

    it("pairs each image with one of its own captions", () => {
      const loader = new ImageCaptionLoader(test, table, { batchSize: 16, seed: 0 });
      const batch = loader.next();
      expect(batch.tokens.length).to.equal(16 * table.maxLength);
      for (let k = 0; k < batch.batchSize; k++) {
        const expected = captionTokens(table, batch.indices[k], batch.templateIds[k]);
        expect(Array.from(batch.tokens.subarray(k * table.maxLength, (k + 1) * table.maxLength))).to.deep.equal(Array.from(expected));
        expect(Array.from(batch.images.subarray(k * IMAGE_PIXELS, (k + 1) * IMAGE_PIXELS))).to.deep.equal(
          Array.from(test.images.subarray(batch.indices[k] * IMAGE_PIXELS, (batch.indices[k] + 1) * IMAGE_PIXELS)),
        );
        expect(batch.labels[k]).to.equal(test.labels[batch.indices[k]]);
      }
      expect(new Set(batch.templateIds).size).to.be.greaterThan(1);
    });

    it("resumes bit-identically, with or without augmentation", () => {
      for (const augmentation of [undefined, defaultAugmentation({ strength: 0.5 })]) {
        const original = new ImageCaptionLoader(test, table, { batchSize: 64, seed: 2, augmentation });
        for (let b = 0; b < 3; b++) original.next();
        const saved = JSON.parse(JSON.stringify(original.getState())) as LoaderState;
        const expected = Array.from({ length: 3 }, () => fingerprint(original.next()));
        const resumed = new ImageCaptionLoader(test, table, { batchSize: 64, seed: 2, augmentation });
        resumed.setState(saved);
        expect(Array.from({ length: 3 }, () => fingerprint(resumed.next()))).to.deep.equal(expected);
      }
    });
  });
});
