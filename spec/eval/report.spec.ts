/**
 * Specs for the report table, the raw-pixel features, and the all-in-one evaluation (on MNIST,
 * with a fixed 4×4 average-pooling "encoder" standing in for a trained one).
 */
import { expect } from "chai";
import { IMAGE_PIXELS, IMAGE_SIDE } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { formatEvaluationTable, REPORT_COLUMNS } from "../../src/eval/report.js";
import { rawPixelFeatures } from "../../src/eval/baselines.js";
import { evaluateEncoder, evaluateFeatures } from "../../src/eval/evaluate.js";
import { linearProbeValidated } from "../../src/eval/validated-probe.js";
import { linearProbe } from "../../src/eval/linear-probe.js";
import { knnAccuracy } from "../../src/eval/knn.js";
import { uniformity } from "../../src/eval/health.js";
import { blobs } from "./helpers.js";

/** (B, 1, 28, 28) → (B, 49): mean of each 4×4 block. */
function averagePool(images: Tensor): { data: Float32Array; rows: number; dim: number } {
  const rows = images.shape[0];
  const pixels = images.toTypedArray();
  const out = new Float32Array(rows * 49);
  for (let i = 0; i < rows; i++) {
    for (let y = 0; y < IMAGE_SIDE; y++) {
      for (let x = 0; x < IMAGE_SIDE; x++) out[i * 49 + (y >> 2) * 7 + (x >> 2)] += pixels[i * IMAGE_PIXELS + y * IMAGE_SIDE + x] / 16;
    }
  }
  return { data: out, rows, dim: 49 };
}

describe("eval/report", () => {
  it("formats a markdown table: percentages, dashes for what does not apply, escaped names", () => {
    const table = formatEvaluationTable(
      [
        { method: "raw pixels", dim: 784, linearProbe: 0.8842, knn: 0.93114 },
        {
          method: "CLIP | small",
          dim: 64,
          linearProbe: 0.9512,
          knn: 0.9601,
          zeroShot: 0.7,
          recallAt1: { imageToText: 0.0123, textToImage: 0.2 },
          alignment: 0.41234,
          uniformity: -3.2,
          normalizedStd: { std: 0.1, expected: 0.125, ratio: 0.8 },
          effectiveRank: 40.26,
        },
      ],
      { legend: false },
    );
    expect(table).to.equal(
      [
        `| ${REPORT_COLUMNS.join(" | ")} |`,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        "| raw pixels | 784 | 88.4% | 93.1% | — | — | — | — | — | — |",
        "| CLIP \\| small | 64 | 95.1% | 96.0% | 70.0% | 1.2% / 20.0% | 0.412 | −3.200 | 0.1000 vs 0.1250 (0.80) | 40.3 of 64 |",
        "",
      ].join("\n"),
    );
    expect(formatEvaluationTable([{ method: "x" }])).to.contain("- linear probe: test accuracy");
    expect(() => formatEvaluationTable([])).to.throw(/^formatEvaluationTable: no rows to format/);
  });

  it("raw-pixel features are a (count, 784) view over the split's images", () => {
    const { test } = loadMnist();
    const features = rawPixelFeatures(test);
    expect([features.rows, features.dim]).to.deep.equal([2004, IMAGE_PIXELS]);
    expect(features.data).to.equal(test.images);
  });

  it("evaluateFeatures runs each evaluation and fills the row with their numbers", () => {
    const train = blobs(3, 60, 6, 2, 1, 11);
    const test = blobs(3, 30, 6, 2, 1, 12);
    const result = evaluateFeatures({
      method: "blobs",
      trainFeatures: train.features,
      trainLabels: train.labels,
      testFeatures: test.features,
      testLabels: test.labels,
    });
    // By default λ is chosen on held-out training rows; a fixed λ gives the plain probe.
    expect(result.row.linearProbe).to.equal(linearProbeValidated(train.features, train.labels, test.features, test.labels).testAccuracy);
    const fixed = evaluateFeatures(
      { method: "blobs", trainFeatures: train.features, trainLabels: train.labels, testFeatures: test.features, testLabels: test.labels },
      { linearProbe: { weightDecay: 1e-4 } },
    );
    expect(fixed.row.linearProbe).to.equal(linearProbe(train.features, train.labels, test.features, test.labels).testAccuracy);
    expect(result.row.knn).to.equal(knnAccuracy(train.features, train.labels, test.features, test.labels).accuracy);
    expect(result.row.uniformity).to.equal(uniformity(test.features));
    expect(result.row.dim).to.equal(6);
    expect(result.row.alignment).to.equal(undefined);
    expect(result.row.zeroShot).to.equal(undefined);
  });

  it("evaluateEncoder embeds MNIST with a frozen encoder and reports every number (4×4 average pooling)", function() {
    this.timeout(60_000);
    const data = loadMnist();
    const result = evaluateEncoder("avg-pool 4×4", averagePool, data, { seed: 1 });
    const row = result.row;
    expect(row.dim).to.equal(49);
    expect(row.linearProbe).to.be.within(0.8, 0.95);
    expect(row.knn).to.be.within(0.85, 0.97);
    expect(row.alignment).to.be.above(0).and.below(1); // two augmented views are close, not identical
    expect(row.uniformity).to.be.below(0);
    expect(row.effectiveRank).to.be.within(2, 49);
    expect(row.normalizedStd!.ratio).to.be.within(0, 1);
    expect(formatEvaluationTable([row], { legend: false })).to.match(
      /^\| method .*\n.*\n\| avg-pool 4×4 \| 49 \| \d+\.\d% \| \d+\.\d% \| — \| — \| 0\.\d{3} \| −\d\.\d{3} \|/,
    );
  });
});
