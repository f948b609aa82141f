/**
 * Specs for the MNIST loader: split sizes, stratification, value range, determinism; and the digits
 * binary (`encodeMnistDigits` / `mnistFromBytes`, what a browser page loads) against `loadMnist`.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  IMAGE_PIXELS,
  NUM_CLASSES,
  classCounts,
  encodeMnistDigits,
  gatherImages,
  imageAt,
  MNIST_BYTES_TAG,
  mnistFromBytes,
  stratifiedSplit,
} from "../../src/data/mnist.js";
import { loadMnist, mnistDigitsDirectory, readMnistPackageDigits } from "../../src/data/mnist-package.js";

const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

describe("data/mnist", () => {
  it("splits the 10,000 digits into 7,996 train and 2,004 test images", () => {
    const { train, test } = loadMnist();
    expect(train.count).to.equal(7996);
    expect(test.count).to.equal(2004);
    expect(train.images.length).to.equal(7996 * IMAGE_PIXELS);
    expect(test.images.length).to.equal(2004 * IMAGE_PIXELS);
    expect(train.labels.length).to.equal(7996);
    expect(test.labels.length).to.equal(2004);
  });

  it("is stratified: the first floor(0.8·n) images of each digit are train, the rest test", () => {
    const { train, test } = loadMnist();
    const trainCounts = classCounts(train.labels);
    const testCounts = classCounts(test.labels);
    for (let digit = 0; digit < NUM_CLASSES; digit++) {
      expect(trainCounts[digit], `train count of ${digit}`).to.equal(Math.floor(0.8 * PER_DIGIT[digit]));
      expect(trainCounts[digit] + testCounts[digit], `total count of ${digit}`).to.equal(PER_DIGIT[digit]);
    }
    // Labels are grouped by class, in class order.
    for (let i = 1; i < train.count; i++) expect(train.labels[i] >= train.labels[i - 1]).to.equal(true);
  });

  it("keeps the package's file order (train image 0 = file image 0, test image 0 = file image 800)", () => {
    const zeros = JSON.parse(readFileSync(join(mnistDigitsDirectory(), "0.json"), "utf8")).data as number[];
    const { train, test } = loadMnist();
    expect(Array.from(imageAt(train, 0))).to.deep.equal(Array.from(Float32Array.from(zeros.slice(0, IMAGE_PIXELS))));
    expect(Array.from(imageAt(test, 0))).to.deep.equal(Array.from(Float32Array.from(zeros.slice(800 * IMAGE_PIXELS, 801 * IMAGE_PIXELS))));
  });

  it("resolves the digits folder inside the installed mnist package", () => {
    const packageDir = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
    expect(mnistDigitsDirectory()).to.equal(join(packageDir, "src", "digits"));
  });

  it("has every pixel in [0, 1] and ink in every image", () => {
    for (const split of Object.values(loadMnist())) {
      let min = Infinity;
      let max = -Infinity;
      let imagesWithoutInk = 0;
      for (let i = 0; i < split.count; i++) {
        let imageMax = 0;
        for (const value of imageAt(split, i)) {
          min = Math.min(min, value);
          max = Math.max(max, value);
          imageMax = Math.max(imageMax, value);
        }
        if (imageMax <= 0.5) imagesWithoutInk++;
      }
      expect(min).to.be.at.least(0);
      expect(max).to.be.at.most(1);
      expect(imagesWithoutInk).to.equal(0);
    }
  });

  it("is cached: a second load returns the same arrays", () => {
    expect(loadMnist().train.images).to.equal(loadMnist().train.images);
  });

  it("stratifiedSplit splits small synthetic blocks as documented", () => {
    // Class 0: 5 images of 2 pixels valued 0…4; class 1: 3 images valued 10…12.
    const block = (values: number[]) => Float32Array.from(values.flatMap((v) => [v, v]));
    const { train, test } = stratifiedSplit([block([0, 1, 2, 3, 4]), block([10, 11, 12])], 0.8, 2);
    expect(Array.from(train.labels)).to.deep.equal([0, 0, 0, 0, 1, 1]);
    expect(Array.from(train.images)).to.deep.equal([0, 0, 1, 1, 2, 2, 3, 3, 10, 10, 11, 11]);
    expect(Array.from(test.labels)).to.deep.equal([0, 1]);
    expect(Array.from(test.images)).to.deep.equal([4, 4, 12, 12]);
  });

  it("gatherImages copies images in the order asked", () => {
    const images = Float32Array.from([0, 0, 1, 1, 2, 2]);
    expect(Array.from(gatherImages(images, 2, [2, 0, 2]))).to.deep.equal([2, 2, 0, 0, 2, 2]);
    expect(() => gatherImages(images, 2, [3])).to.throw(/out of range/);
  });

  describe("the digits binary (for a browser page)", () => {
    let bytes: Uint8Array = new Uint8Array(0);
    before(() => {
      bytes = encodeMnistDigits(readMnistPackageDigits());
    });

    it("is 48 header bytes and one byte per pixel: 7,840,048 bytes for the 10,000 digits", () => {
      expect(bytes.byteLength).to.equal(48 + 10000 * IMAGE_PIXELS);
      expect(new TextDecoder().decode(bytes.subarray(0, 8))).to.equal(MNIST_BYTES_TAG);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(PER_DIGIT.map((_, d) => view.getUint32(8 + 4 * d, true))).to.deep.equal(PER_DIGIT);
    });

    it("mnistFromBytes gives loadMnist's images and labels, bit for bit", () => {
      const fromBytes = mnistFromBytes(bytes);
      const fromPackage = loadMnist();
      for (const name of ["train", "test"] as const) {
        expect(fromBytes[name].count).to.equal(fromPackage[name].count);
        expect(Buffer.from(fromBytes[name].labels.buffer).equals(Buffer.from(fromPackage[name].labels.buffer)), `${name} labels`).to.equal(
          true,
        );
        expect(Buffer.from(fromBytes[name].images.buffer).equals(Buffer.from(fromPackage[name].images.buffer)), `${name} images`).to.equal(
          true,
        );
      }
    });

    it("refuses what is not a digits binary, or a value that is not one of the 256 levels, by name", () => {
      expect(() => mnistFromBytes(new Uint8Array(10))).to.throw(/mnistFromBytes: .*shorter than the 48-byte header/);
      const wrongTag = bytes.slice(0, 48);
      wrongTag[0] = 0x41;
      expect(() => mnistFromBytes(wrongTag)).to.throw(/mnistFromBytes: .*starts with "ANISTU8/);
      expect(() => mnistFromBytes(bytes.subarray(0, bytes.byteLength - 1))).to.throw(
        /header counts .* images \(7840048 bytes\), the data has 7840047/,
      );
      const blocks = Array.from({ length: NUM_CLASSES }, () => new Float32Array(IMAGE_PIXELS));
      blocks[3][5] = 0.5;
      expect(() => encodeMnistDigits(blocks)).to.throw(/digit 3 value #5 is 0.5, not one of the 256 levels/);
    });
  });
});
