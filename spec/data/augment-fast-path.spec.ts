/**
 * The augmentation kernels of augment.ts (column tables, interior/border split, reflected-index
 * table, row sums, Generator.fillNormal) against the per-image reference kept in
 * augment-reference.ts: the same float32 bits for random images, boxes, angles and sigmas, and a
 * whole batch through the default pipeline equal to the reference pipeline with the same draws.
 */
import { expect } from "chai";
import {
  addNoise,
  augmentBatch,
  defaultAugmentation,
  gaussianBlur,
  resizedCrop,
  resolveAugmentationConfig,
  rotate,
  type CropBox,
} from "../../src/data/augment.js";
import * as reference from "../../src/data/augment-reference.js";
import { Generator } from "../../src/tensor/random.js";

/** Indices where two arrays differ as bit patterns (NaN equals NaN, +0 differs from −0). */
function differences(a: Float32Array, b: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

/** A random side×side image: mostly ink-like values in [0, 1], some exact 0 / 1 and, if asked, specials. */
function randomImage(side: number, generator: Generator, specials = false): Float32Array {
  const image = new Float32Array(side * side);
  for (let i = 0; i < image.length; i++) {
    const u = generator.random();
    image[i] = u < 0.3 ? 0 : u < 0.35 ? 1 : generator.random();
    if (specials && u > 0.98) image[i] = [NaN, Infinity, -Infinity, -0, 2, -0.5][generator.randint(0, 6)];
  }
  return image;
}

describe("augmentation kernels = the per-image reference, bit for bit", () => {
  const generator = new Generator(2026);
  const sides = [1, 2, 3, 5, 28, 31];

  it("resizedCrop over random boxes, including whole-image, one-pixel and overhanging boxes", () => {
    for (const side of sides) {
      for (let trial = 0; trial < 40; trial++) {
        const input = randomImage(side, generator, trial % 4 === 3);
        const height = 1 + generator.randint(0, side + (trial % 5 === 0 ? 3 : 0));
        const width = 1 + generator.randint(0, side + (trial % 5 === 0 ? 3 : 0));
        const box: CropBox = {
          top: generator.randint(trial % 7 === 0 ? -2 : 0, Math.max(1, side - height + 1)),
          left: generator.randint(0, Math.max(1, side - width + 1)),
          height,
          width,
        };
        if (trial === 0) Object.assign(box, { top: 0, left: 0, height: side, width: side });
        const fast = new Float32Array(side * side);
        const slow = new Float32Array(side * side);
        resizedCrop(input, fast, box);
        reference.resizedCrop(input, slow, box);
        expect(differences(fast, slow), `side ${side}, box ${JSON.stringify(box)}`).to.deep.equal([]);
      }
    }
  });

  it("rotate by random and special angles (0, ±90, 180, large)", () => {
    for (const side of sides) {
      const angles = [0, 90, -90, 180, 45, 720.5, -15, 15, 1e-9];
      for (let trial = 0; trial < 20; trial++) angles.push(generator.uniform(-200, 200));
      for (const degrees of angles) {
        const input = randomImage(side, generator, degrees === 45);
        const fast = new Float32Array(side * side);
        const slow = new Float32Array(side * side);
        rotate(input, fast, degrees);
        reference.rotate(input, slow, degrees);
        expect(differences(fast, slow), `side ${side}, ${degrees}°`).to.deep.equal([]);
      }
    }
  });

  it("gaussianBlur for sigmas from tiny to a kernel wider than the image, with and without scratch", () => {
    for (const side of sides) {
      for (const sigma of [0, 1e-300, 0.1, 0.33, 0.5, 1, 2.7, 12, generator.uniform(0.1, 1)]) {
        const input = randomImage(side, generator, sigma === 0.5);
        const fast = new Float32Array(side * side);
        const slow = new Float32Array(side * side);
        gaussianBlur(input, fast, sigma, sigma === 1 ? undefined : new Float32Array(side * side));
        reference.gaussianBlur(input, slow, sigma);
        expect(differences(fast, slow), `side ${side}, σ ${sigma}`).to.deep.equal([]);
      }
    }
  });

  it("addNoise draws the same normals in the same order and leaves the generator in the same state", () => {
    for (const side of [1, 3, 28]) {
      for (const std of [0, 0.05, 1]) {
        const input = randomImage(side, generator);
        const a = new Generator(7 + side);
        const b = new Generator(7 + side);
        a.normal(); // start with a spare normal cached, in both
        b.normal();
        const fast = new Float32Array(side * side);
        const slow = new Float32Array(side * side);
        addNoise(input, fast, std, a);
        reference.addNoise(input, slow, std, b);
        expect(differences(fast, slow), `side ${side}, std ${std}`).to.deep.equal([]);
        expect(a.getState()).to.deep.equal(b.getState());
      }
    }
  });

  it("Generator.fillNormal = a loop of normal() calls: values and state, any length, with or without a spare", () => {
    const a = new Generator(11);
    const b = new Generator(11);
    for (const length of [0, 1, 2, 3, 7, 784, 785]) {
      for (const out of [new Float64Array(length), new Float32Array(length)]) {
        a.fillNormal(out, 0.5, 2);
        const expected = out instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
        for (let i = 0; i < length; i++) expected[i] = b.normal(0.5, 2);
        for (let i = 0; i < length; i++) expect(Object.is(out[i], expected[i]), `length ${length}, index ${i}`).to.equal(true);
        expect(a.getState()).to.deep.equal(b.getState());
      }
    }
  });

  it("a batch through defaultAugmentation = the reference pipeline image by image, same draws, same generator state", () => {
    for (const options of [{}, { strength: 0 }, { strength: 2 }, { blurProbability: 1, noiseProbability: 1, jitterProbability: 0 }]) {
      const count = 24;
      const side = 28;
      const images = new Float32Array(count * side * side);
      for (let i = 0; i < count; i++) images.set(randomImage(side, generator), i * side * side);
      const fastGenerator = new Generator(99);
      const slowGenerator = new Generator(99);
      const fast = augmentBatch(images, count, defaultAugmentation(options), fastGenerator);
      const pipeline = reference.referenceAugmentation(resolveAugmentationConfig(options));
      const slow = new Float32Array(images.length);
      for (let i = 0; i < count; i++) {
        const range = [i * side * side, (i + 1) * side * side] as const;
        pipeline.apply(images.subarray(...range), slow.subarray(...range), slowGenerator);
      }
      expect(differences(fast, slow), JSON.stringify(options)).to.deep.equal([]);
      expect(fastGenerator.getState()).to.deep.equal(slowGenerator.getState());
    }
  });
});
