/**
 * Specs for the augmentations: determinism, range, purity, identity at zero strength, and the
 * known behaviour of each primitive.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  adjustBrightness,
  adjustContrast,
  augment,
  augmentBatch,
  augmentationPreview,
  colorJitter,
  compose,
  defaultAugmentation,
  gaussianBlur,
  gaussianNoise,
  randomGaussianBlur,
  randomResizedCrop,
  randomRotation,
  resizedCrop,
  resolveAugmentationConfig,
  rotate,
  sampleCropBox,
  type Transform,
} from "../../src/data/augment.js";
import { gatherImages, IMAGE_SIDE, imageAt } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { Generator } from "../../src/tensor/random.js";

/** A few real digits, one per class. */
function sampleDigits(): Float32Array[] {
  const { train } = loadMnist();
  return [0, 900, 1800, 2600, 3400, 4200, 5000, 5700, 6500, 7300].map((index) => imageAt(train, index));
}

/** A random image in [0, 1] from a seed. */
function randomImage(seed: number, side = IMAGE_SIDE): Float32Array {
  const generator = new Generator(seed);
  return Float32Array.from({ length: side * side }, () => generator.random());
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function inUnitRange(values: Float32Array): boolean {
  for (const v of values) if (!(v >= 0 && v <= 1)) return false;
  return true;
}

function bytesOf(values: Float32Array): number[] {
  return Array.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

describe("data/augment", () => {
  describe("the default pipeline", () => {
    it("is deterministic: the same seed gives the same bytes, another seed different ones", () => {
      const digit = sampleDigits()[7];
      const a = augment(digit, defaultAugmentation(), new Generator(42));
      const b = augment(digit, defaultAugmentation(), new Generator(42));
      const c = augment(digit, defaultAugmentation(), new Generator(43));
      expect(bytesOf(a)).to.deep.equal(bytesOf(b));
      expect(bytesOf(a)).to.not.deep.equal(bytesOf(c));
    });

    it("keeps values in [0, 1] and never modifies its input (property, strengths 0–3)", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 3, noNaN: true }), (seed, strength) => {
          const image = randomImage(seed);
          const before = image.slice();
          const output = augment(image, defaultAugmentation({ strength }), new Generator(seed + 1));
          return inUnitRange(output) && bytesOf(image).join() === bytesOf(before).join();
        }),
        { numRuns: 60 },
      );
    });

    it("is the identity when every strength is zero", () => {
      const identity = defaultAugmentation({ strength: 0 });
      const generator = new Generator(3);
      for (const digit of sampleDigits()) expect(bytesOf(augment(digit, identity, generator))).to.deep.equal(bytesOf(digit));
    });

    it("changes digits but keeps most of their ink (recognizable views)", () => {
      const pipeline = defaultAugmentation();
      const generator = new Generator(5);
      for (const digit of sampleDigits()) {
        const view = augment(digit, pipeline, generator);
        expect(bytesOf(view)).to.not.deep.equal(bytesOf(digit));
        // Crops zoom in (more ink) and jitter fades (less); both stay within a factor ~3.
        expect(mean(view) / mean(digit)).to.be.within(0.3, 3);
      }
    });

    it("resolves strength and explicit overrides", () => {
      const half = resolveAugmentationConfig({ strength: 0.5, noiseStd: 0.2 });
      expect(half.rotationDegrees).to.equal(7.5);
      expect(half.cropScale).to.deep.equal([0.75, 1]);
      expect(half.noiseStd).to.equal(0.2);
      expect(resolveAugmentationConfig()).to.deep.include({ rotationDegrees: 15, brightness: 0.4, blurProbability: 0.5 });
    });
  });

  describe("batches", () => {
    it("augmentBatch equals augmenting each image in turn with the same generator", () => {
      const digits = sampleDigits();
      const batch = gatherImages(loadMnist().train.images, IMAGE_SIDE * IMAGE_SIDE, [0, 900, 1800]);
      const pipeline = defaultAugmentation();
      const batched = augmentBatch(batch, 3, pipeline, new Generator(9));
      const generator = new Generator(9);
      const oneByOne = [digits[0], digits[1], digits[2]].map((digit) => Array.from(augment(digit, pipeline, generator)));
      expect(Array.from(batched)).to.deep.equal(oneByOne.flat());
    });

    it("augmentationPreview puts each original first in its row", () => {
      const digits = sampleDigits();
      const images = new Float32Array(2 * IMAGE_SIDE * IMAGE_SIDE);
      images.set(digits[0]);
      images.set(digits[1], IMAGE_SIDE * IMAGE_SIDE);
      const preview = augmentationPreview(images, 2, defaultAugmentation(), new Generator(0), 3);
      expect(preview.rows).to.equal(2);
      expect(preview.cols).to.equal(4);
      expect(Array.from(preview.images.subarray(4 * IMAGE_SIDE * IMAGE_SIDE, 5 * IMAGE_SIDE * IMAGE_SIDE))).to.deep.equal(
        Array.from(digits[1]),
      );
    });
  });

  describe("compose", () => {
    const double: Transform = { name: "double", apply: (input, output) => adjustBrightness(input, output, 2) };
    const half: Transform = { name: "half", apply: (input, output) => adjustBrightness(input, output, 0.5) };

    it("applies transforms left to right", () => {
      const image = Float32Array.from({ length: 16 }, (_, i) => i / 15);
      const generator = new Generator(0);
      const doubled = new Float32Array(16);
      const doubledThenHalved = new Float32Array(16);
      adjustBrightness(image, doubled, 2);
      adjustBrightness(doubled, doubledThenHalved, 0.5);
      expect(Array.from(augment(image, compose([double, half]), generator))).to.deep.equal(Array.from(doubledThenHalved));
      // The order matters: doubling first saturates the bright half at 1, halving first does not.
      expect(Math.max(...doubledThenHalved)).to.equal(0.5);
      expect(Math.max(...augment(image, compose([half, double]), generator))).to.equal(1);
      expect(Array.from(augment(image, compose([]), generator))).to.deep.equal(Array.from(image));
    });

    it("refuses an output that overlaps its input", () => {
      const image = randomImage(1);
      expect(() => compose([randomRotation()]).apply(image, image, new Generator(0))).to.throw(/overlap/);
    });
  });

  describe("random resized crop", () => {
    it("with scale 1 and ratio 1 is the identity", () => {
      const crop = randomResizedCrop({ scale: [1, 1], ratio: [1, 1] });
      for (const digit of sampleDigits()) expect(Array.from(augment(digit, crop, new Generator(1)))).to.deep.equal(Array.from(digit));
    });

    it("resizes with bilinear interpolation that reproduces a linear ramp exactly", () => {
      // I(x, y) = x / 27; zooming into the top-left 14×14 box: out(x) = I(x/2 − 1/4), clamped at the box edge.
      const ramp = Float32Array.from({ length: IMAGE_SIDE * IMAGE_SIDE }, (_, i) => (i % IMAGE_SIDE) / 27);
      const output = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
      resizedCrop(ramp, output, { top: 0, left: 0, height: 14, width: 14 });
      for (let column = 0; column < IMAGE_SIDE; column++) {
        const sourceX = Math.min(Math.max(column / 2 - 0.25, 0), 13);
        expect(output[5 * IMAGE_SIDE + column]).to.be.closeTo(sourceX / 27, 1e-6);
      }
    });

    it("samples boxes inside the image with the requested area and aspect ratio", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1_000_000 }), (seed) => {
          const box = sampleCropBox(IMAGE_SIDE, [0.5, 1], [3 / 4, 4 / 3], new Generator(seed));
          const area = (box.width * box.height) / (IMAGE_SIDE * IMAGE_SIDE);
          return (
            box.top >= 0 && box.left >= 0 && box.top + box.height <= IMAGE_SIDE && box.left + box.width <= IMAGE_SIDE &&
            area > 0.45 && area <= 1 && box.width / box.height > 0.7 && box.width / box.height < 1.4
          );
        }),
        { numRuns: 200 },
      );
    });
  });

  describe("rotation", () => {
    it("by 0 degrees is the identity, bit for bit", () => {
      for (const digit of sampleDigits()) {
        const output = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
        rotate(digit, output, 0);
        expect(bytesOf(output)).to.deep.equal(bytesOf(digit));
      }
      expect(bytesOf(augment(sampleDigits()[3], randomRotation(0), new Generator(0)))).to.deep.equal(bytesOf(sampleDigits()[3]));
    });

    it("by +90 degrees turns counter-clockwise: a pixel right of the center moves above it", () => {
      const image = new Float32Array(25); // 5×5, center (2, 2)
      image[2 * 5 + 4] = 1; // row 2, column 4
      const output = new Float32Array(25);
      rotate(image, output, 90);
      expect(output[0 * 5 + 2]).to.be.closeTo(1, 1e-9); // row 0, column 2
      expect(mean(output)).to.be.closeTo(1 / 25, 1e-9);
    });

    it("by 360 degrees gives the input back (up to rounding)", () => {
      const digit = sampleDigits()[2];
      const output = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
      rotate(digit, output, 360);
      for (let i = 0; i < digit.length; i++) expect(output[i]).to.be.closeTo(digit[i], 1e-6);
    });

    it("by ±15 degrees keeps the ink of a centered digit (none rotates out)", () => {
      for (const digit of sampleDigits()) {
        const output = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
        rotate(digit, output, 15);
        expect(mean(output) / mean(digit)).to.be.within(0.97, 1.03);
      }
    });
  });

  describe("color jitter", () => {
    it("brightness factor 1 and contrast factor 1 are the identity", () => {
      const image = randomImage(7);
      const output = new Float32Array(image.length);
      adjustBrightness(image, output, 1);
      expect(Array.from(output)).to.deep.equal(Array.from(image));
      adjustContrast(image, output, 1);
      expect(Array.from(output)).to.deep.equal(Array.from(image));
      expect(Array.from(augment(image, colorJitter({ brightness: 0, contrast: 0 }), new Generator(1)))).to.deep.equal(Array.from(image));
    });

    it("brightness scales the ink; contrast 0 gives a flat image at the mean", () => {
      const digit = sampleDigits()[4];
      const output = new Float32Array(digit.length);
      adjustBrightness(digit, output, 0.5);
      expect(mean(output)).to.be.closeTo(mean(digit) / 2, 1e-6);
      adjustContrast(digit, output, 0);
      for (const value of output) expect(value).to.be.closeTo(mean(digit), 1e-6);
    });

    it("keeps values in [0, 1] for strong factors", () => {
      const image = randomImage(8);
      expect(inUnitRange(augment(image, colorJitter({ brightness: 3, contrast: 3 }), new Generator(2)))).to.equal(true);
    });
  });

  describe("gaussian blur", () => {
    it("preserves the mean of a digit and lowers its peak", () => {
      for (const digit of sampleDigits()) {
        const output = new Float32Array(digit.length);
        gaussianBlur(digit, output, 1);
        expect(mean(output)).to.be.closeTo(mean(digit), 1e-3); // reflect padding moves a little ink at the border
        expect(Math.max(...output)).to.be.below(Math.max(...digit));
      }
    });

    it("with sigma 0 (or one so small that σ² underflows) copies; probability 0 never blurs", () => {
      const digit = sampleDigits()[1];
      const output = new Float32Array(digit.length);
      gaussianBlur(digit, output, 0);
      expect(Array.from(output)).to.deep.equal(Array.from(digit));
      gaussianBlur(digit, output, 5e-324);
      expect(Array.from(output)).to.deep.equal(Array.from(digit));
      const neverBlur = randomGaussianBlur({ sigma: [2, 2], probability: 0 });
      expect(Array.from(augment(digit, neverBlur, new Generator(0)))).to.deep.equal(Array.from(digit));
    });

    it("spreads a single dot into a symmetric, normalized kernel", () => {
      const dot = new Float32Array(81);
      dot[40] = 1; // center of 9×9
      const output = new Float32Array(81);
      gaussianBlur(dot, output, 1);
      let total = 0;
      for (const value of output) total += value;
      expect(total).to.be.closeTo(1, 1e-5);
      expect(output[39]).to.be.closeTo(output[41], 1e-7);
      expect(output[31]).to.be.closeTo(output[49], 1e-7);
      expect(output[40] / output[41]).to.be.closeTo(Math.exp(0.5), 1e-4); // exp(−0/2) / exp(−1/2)
    });
  });

  describe("gaussian noise", () => {
    it("adds zero-mean noise of the requested standard deviation", () => {
      const gray = new Float32Array(100 * 100).fill(0.5);
      const noisy = augment(gray, gaussianNoise({ std: 0.1, probability: 1 }), new Generator(11));
      const m = mean(noisy);
      let variance = 0;
      for (const v of noisy) variance += (v - m) * (v - m);
      expect(m).to.be.closeTo(0.5, 0.005);
      expect(Math.sqrt(variance / noisy.length)).to.be.closeTo(0.1, 0.005);
    });

    it("with std 0 is the identity", () => {
      const image = randomImage(4);
      expect(Array.from(augment(image, gaussianNoise({ std: 0, probability: 1 }), new Generator(0)))).to.deep.equal(Array.from(image));
    });
  });
});
