/**
 * Specs for the feature adapter: typed arrays and Tensors give the same matrix; bad inputs fail
 * at the door naming the function and the shapes; embedImages batches a frozen encoder.
 */
import { expect } from "chai";
import { tensor } from "../../src/tensor/creation.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { IMAGE_PIXELS, IMAGE_SIDE } from "../../src/data/mnist.js";
import { asFeatureMatrix, asLabels, embedImages, normalizeRows } from "../../src/eval/features.js";
import { knnAccuracy } from "../../src/eval/knn.js";
import { uniformity } from "../../src/eval/health.js";

describe("eval/features", () => {
  it("reads a Tensor (N, D), contiguous or transposed, as the same row-major matrix", () => {
    const values = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const fromTensor = asFeatureMatrix("test", "x", tensor(values, { dtype: "float64" }));
    expect([fromTensor.rows, fromTensor.dim]).to.deep.equal([2, 3]);
    expect(Array.from(fromTensor.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const transposed = tensor([
      [1, 4],
      [2, 5],
      [3, 6],
    ]).t(); // (2, 3) view with strides [1, 2]
    const fromView = asFeatureMatrix("test", "x", transposed);
    expect(Array.from(fromView.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const fromArray = asFeatureMatrix("test", "x", { data: Float32Array.from([1, 2, 3, 4, 5, 6]), rows: 2, dim: 3 });
    expect(Array.from(fromArray.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it("gives the same evaluation for a Tensor and for its typed array", () => {
    const train = tensor([[1, 0], [0.9, 0.2], [0, 1], [0.1, 0.8]], { dtype: "float32" });
    const test = tensor([[1, 0.1], [0.2, 1]], { dtype: "float32" });
    const fromTensors = knnAccuracy(train, [0, 0, 1, 1], test, [0, 1], { k: 1 });
    const fromArrays = knnAccuracy(
      { data: train.toTypedArray(), rows: 4, dim: 2 },
      Int32Array.from([0, 0, 1, 1]),
      { data: test.toTypedArray(), rows: 2, dim: 2 },
      Int32Array.from([0, 1]),
      { k: 1 },
    );
    expect(fromTensors.accuracy).to.equal(1);
    expect(Array.from(fromTensors.predictions)).to.deep.equal(Array.from(fromArrays.predictions));
  });

  it("rejects wrong shapes, empty inputs and non-finite values with the function name and the shape", () => {
    expect(() => asFeatureMatrix("linearProbe", "trainFeatures", tensor([1, 2, 3]))).to.throw(
      /^linearProbe: trainFeatures must be a 2-D tensor \(N, D\), got shape \[3\]/,
    );
    expect(() => asFeatureMatrix("knnAccuracy", "testFeatures", { data: new Float32Array(5), rows: 2, dim: 3 })).to.throw(
      /^knnAccuracy: testFeatures has shape \[2, 3\] but its data holds 5 values \(expected 6\)/,
    );
    expect(() => asFeatureMatrix("uniformity", "features", { data: new Float32Array(0), rows: 0, dim: 4 })).to.throw(
      /^uniformity: features is empty \(shape \[0, 4\]\)/,
    );
    expect(() => uniformity({ data: Float64Array.from([1, NaN, 0, 1]), rows: 2, dim: 2 })).to.throw(
      /^uniformity: features \(shape \[2, 2\]\) holds NaN at row 0, column 1/,
    );
    expect(() => asFeatureMatrix("f", "x", { data: Float64Array.from([Infinity]), rows: 1, dim: 1 })).to.throw(
      /holds Infinity at row 0, column 0/,
    );
    expect(() => asFeatureMatrix("f", "x", [1, 2] as unknown as Tensor)).to.throw(/^f: x must be a Tensor \(N, D\) or \{ data/);
  });

  it("checks labels: length, whole numbers, range", () => {
    expect(Array.from(asLabels("f", "labels", [0, 2, 1], 3, 3))).to.deep.equal([0, 2, 1]);
    expect(Array.from(asLabels("f", "labels", tensor([1, 0]), 2))).to.deep.equal([1, 0]);
    expect(() => asLabels("f", "labels", [0, 1], 3)).to.throw(/^f: labels has 2 entries but the features have 3 rows/);
    expect(() => asLabels("f", "labels", [0, 1.5], 2)).to.throw(/^f: labels\[1\] = 1.5 is not a whole number ≥ 0/);
    expect(() => asLabels("f", "labels", [0, 3], 2, 3)).to.throw(/^f: labels\[1\] = 3 is not a whole number in \[0, 3\)/);
  });

  it("normalizes rows as F.normalize: x / max(‖x‖, 1e-12), without overflow, zero rows stay zero", () => {
    const unit = normalizeRows({ data: Float64Array.from([3e200, 4e200, 0, 0, 3e-10, -4e-10, 3e-20, 4e-20]), rows: 4, dim: 2 });
    const expected = [0.6, 0.8, 0, 0, 0.6, -0.8, 3e-8, 4e-8]; // the last row is below eps: divided by 1e-12
    for (let k = 0; k < expected.length; k++) expect(unit[k]).to.be.closeTo(expected[k], 1e-15);
  });

  it("embedImages runs a frozen encoder over the images in batches and stacks the features", () => {
    const count = 5;
    const images = new Float32Array(count * IMAGE_PIXELS);
    for (let i = 0; i < count; i++) images.fill(i / 10, i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS);
    const batchSizes: number[] = [];
    // A toy "encoder": (B, 1, 28, 28) → (B, 2) = [mean pixel, 1]
    const embed = (batch: Tensor) => {
      batchSizes.push(batch.shape[0]);
      expect(batch.shape.slice(1)).to.deep.equal([1, IMAGE_SIDE, IMAGE_SIDE]);
      const rows = batch.shape[0];
      const pixels = batch.toTypedArray();
      const out = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let p = 0; p < IMAGE_PIXELS; p++) sum += pixels[r * IMAGE_PIXELS + p];
        out[r * 2] = sum / IMAGE_PIXELS;
        out[r * 2 + 1] = 1;
      }
      return { data: out, rows, dim: 2 };
    };
    const features = embedImages(embed, images, count, { batchSize: 2 });
    expect(batchSizes).to.deep.equal([2, 2, 1]);
    expect([features.rows, features.dim]).to.deep.equal([5, 2]);
    for (let i = 0; i < count; i++) expect(features.data[i * 2]).to.be.closeTo(i / 10, 1e-6);
    expect(() => embedImages(() => ({ data: new Float32Array(2), rows: 1, dim: 2 }), images, count, { batchSize: 2 })).to.throw(
      /^embedImages: embed returned 1 rows for a batch of 2 images/,
    );
    expect(() => embedImages(embed, images, 4)).to.throw(
      /^embedImages: images hold 3920 values, expected count × \[1, 28, 28\] = 4 × 784 = 3136/,
    );
  });
});
