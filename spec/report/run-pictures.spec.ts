/**
 * Specs for the pictures a run directory holds (src/cli/pictures.ts), the `augment` preview's
 * choice of digits, and the demo's report (src/cli/demo.ts, src/eval/report.ts):
 *   - augment shows one digit of each class: the PNG's first column is exactly those test images
 *   - embeddings.svg has one point per test image; neighbours.svg shows, for one test image of
 *     each digit, the training images a brute-force cosine ranking of the encoder's own features
 *     puts first; loss.svg has the method's chance line; similarity.svg names the ten digit blocks
 *   - report.md embeds every picture, puts each method beside both baselines with the
 *     differences, and says what the numbers mean
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { Tensor } from "../../src/tensor/tensor.js";
import { noGrad } from "../../src/autograd/tape.js";
import { IMAGE_PIXELS, type MnistData } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { encodeGrayscalePng, toBytes } from "../../src/data/png.js";
import { limitSplit } from "../../src/methods/trainer.js";
import { run as runCli } from "../../src/cli/commands.js";
import { oneOfEachClass, runPictures, type RunPictures } from "../../src/cli/pictures.js";
import { DEMO_BUDGET, demoReport, type DemoReportInput } from "../../src/cli/demo.js";
import { describeAgainstBaseline, formatBaselineComparison } from "../../src/eval/report.js";
import { cachedTiny, cleanupTempDirs, tempDir } from "../methods/helpers.js";
import { allElements, parseSvg, type XmlElement } from "./xml.js";

const texts = (root: XmlElement, className: string) => allElements(root).filter((e) => e.attributes.class === className);

describe("report/run pictures: oneOfEachClass and the augment preview", () => {
  after(cleanupTempDirs);

  it("takes the classes in turn: the r-th image of class 0, 1, …, 9, then the next round", () => {
    const labels = loadMnist().test.labels;
    const first = oneOfEachClass(labels, 10);
    expect(Array.from(first, (i) => labels[i])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const more = oneOfEachClass(labels, 23);
    expect(Array.from(more, (i) => labels[i])).to.deep.equal([...Array(20).keys()].map((k) => k % 10).concat([0, 1, 2]));
    more.forEach((index, k) => {
      const round = Math.floor(k / 10);
      const ofItsClass = Array.from(labels.keys()).filter((i) => labels[i] === labels[index]);
      expect(ofItsClass[round], `pick ${k}`).to.equal(index);
    });
    // A class that runs out is skipped, and the count is never exceeded.
    expect(Array.from(oneOfEachClass(Int32Array.from([0, 0, 0, 1]), 10))).to.deep.equal([0, 3, 1, 2]);
  });

  it("augment --count 10: the left column holds ten test digits of ten different classes, in order", async () => {
    const file = join(tempDir(), "views.png");
    const result = await runCli(["augment", "--out", file, "--count", "10", "--views", "1", "--seed", "2"]);
    expect(result).to.equal(0);
    const png = readFileSync(file);
    const chunks: { type: string; data: Buffer }[] = [];
    for (let at = 8; at < png.length;) {
      const length = png.readUInt32BE(at);
      chunks.push({ type: png.subarray(at + 4, at + 8).toString("latin1"), data: png.subarray(at + 8, at + 8 + length) });
      at += 12 + length;
    }
    const width = chunks[0].data.readUInt32BE(0);
    const scanlines = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
    const pixel = (x: number, y: number) => scanlines[y * (width + 1) + 1 + x]; // a filter byte (0) opens each row
    const test = loadMnist().test;
    const chosen = oneOfEachClass(test.labels, 10);
    expect(new Set(Array.from(chosen, (i) => test.labels[i])).size).to.equal(10);
    chosen.forEach((index, row) => {
      const expected = toBytes(test.images.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS));
      const tile = Uint8Array.from({ length: IMAGE_PIXELS }, (_, p) => pixel(2 + (p % 28), 2 + row * 30 + Math.floor(p / 28)));
      expect(Buffer.from(tile).equals(Buffer.from(expected)), `row ${row} is test image ${index} (digit ${test.labels[index]})`).to.equal(
        true,
      );
    });
  });
});

describe("report/run pictures: the pictures of a run directory", function() {
  this.timeout(300000);
  let data: MnistData;
  let pictures: RunPictures;
  let simclr: ReturnType<typeof cachedTiny>["run"];
  before(() => {
    const mnist = loadMnist();
    data = { train: limitSplit(mnist.train, 300), test: limitSplit(mnist.test, 120) };
    simclr = cachedTiny("simclr").run;
    pictures = runPictures(simclr, data);
  });

  it("embeddings.svg: one point per test image in its digit's colour, ten legend entries, PCs with their share of variance", () => {
    const root = parseSvg(pictures["embeddings.svg"]);
    expect(texts(root, "point")).to.have.length(data.test.count);
    const legend = texts(root, "legend-entry");
    expect(legend).to.have.length(10);
    const counts = [...Array(10).keys()].map((c) => data.test.labels.filter((l) => l === c).length);
    expect(legend.map((e) => e.children.find((c) => c.name === "text")!.text)).to.deep.equal(counts.map((n, c) => `digit ${c} (${n})`));
    expect(texts(root, "axis-label").map((e) => e.text)).to.satisfy((labels: string[]) =>
      /^PC 1 \(\d+\.\d% of the variance\)$/.test(labels[0]) && /^PC 2 \(\d+\.\d% of the variance\)$/.test(labels[1])
    );
  });

  it("neighbours.svg: one test image of each digit, and the training images that are truly nearest by cosine of h = f(x)", () => {
    const root = parseSvg(pictures["neighbours.svg"]);
    const queries = texts(root, "query");
    expect(queries.map((q) => Number(q.attributes["data-label"]))).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The reference: the encoder's features straight from the module, every train image ranked by cosine.
    simclr.method.eval();
    const features = (images: Float32Array, count: number) =>
      noGrad(() => simclr.method.encoder.forward(Tensor.fromTypedArray(images.slice(), [count, 1, 28, 28])).toTypedArray() as Float32Array);
    const train = features(data.train.images, data.train.count);
    const test = features(data.test.images, data.test.count);
    simclr.method.train();
    const dim = train.length / data.train.count;
    const unit = (values: Float32Array, row: number) => {
      const v = Array.from(values.subarray(row * dim, (row + 1) * dim));
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    };
    const neighbours = texts(root, "neighbour");
    expect(neighbours).to.have.length(80);
    oneOfEachClass(data.test.labels, 10).forEach((testRow, q) => {
      const u = unit(test, testRow);
      const ranked = [...Array(data.train.count).keys()]
        .map((j) => ({ j, s: unit(train, j).reduce((a, x, d) => a + x * u[d], 0) }))
        .sort((a, b) => b.s - a.s || a.j - b.j)
        .slice(0, 8);
      neighbours.slice(q * 8, q * 8 + 8).forEach((element, r) => {
        const { j, s } = ranked[r];
        expect(Number(element.attributes["data-label"]), `query ${q}, neighbour ${r}`).to.equal(data.train.labels[j]);
        expect(Number(element.attributes["data-similarity"])).to.be.closeTo(s, 1e-5);
        const png = encodeGrayscalePng(data.train.images.subarray(j * IMAGE_PIXELS, (j + 1) * IMAGE_PIXELS), 28, 28);
        expect(element.children.find((c) => c.name === "image")!.attributes.href).to.equal(
          `data:image/png;base64,${Buffer.from(png).toString("base64")}`,
        );
      });
    });
  });

  it("loss.svg: the NT-Xent chance line log(2N − 1) for the run's batch size, epoch ticks and axis labels", () => {
    const root = parseSvg(pictures["loss.svg"]);
    const n = simclr.config.batchSize;
    const legend = texts(root, "legend-entry").map((e) => e.children.find((c) => c.name === "text")!.text);
    expect(legend).to.deep.equal(["loss per step", "epoch mean", `chance: log(2N − 1) = ${Math.log(2 * n - 1).toFixed(3)}, N = ${n}`]);
    const losses = simclr.state.lossPerStep;
    const ys = [...texts(root, "loss-per-step")[0].attributes.d.matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));
    const [a, b] = [losses.indexOf(Math.max(...losses)), losses.indexOf(Math.min(...losses))];
    const expected = ys[a] + ((Math.log(2 * n - 1) - losses[a]) * (ys[b] - ys[a])) / (losses[b] - losses[a]);
    expect(Number(texts(root, "reference")[0].attributes.y1)).to.be.closeTo(expected, 0.2);
    expect(texts(root, "epoch-tick")).to.have.length(simclr.config.epochs + 1);
    expect(texts(root, "axis-label").map((e) => e.text)).to.deep.equal([
      `epoch (${losses.length} steps, ${simclr.stepsPerEpoch} per epoch)`,
      "loss",
    ]);
  });

  it("loss.svg of MoCo: log(K + 1) with the run's own queue length", () => {
    const moco = cachedTiny("moco").run;
    const root = parseSvg(runPictures(moco, data)["loss.svg"]);
    const k = (moco.method as unknown as { queueSize: number }).queueSize;
    expect(k).to.equal(128);
    expect(texts(root, "legend-entry").at(-1)!.children.find((c) => c.name === "text")!.text).to.equal(
      `chance: log(K + 1) = ${Math.log(k + 1).toFixed(3)}, K = ${k}`,
    );
  });

  it("similarity.svg: the sample ordered by digit, ten named blocks on each axis and the separators between them", () => {
    const root = parseSvg(pictures["similarity.svg"]);
    const blocks = texts(root, "block-label").map((e) => e.text);
    const digits = [...Array(10).keys()].map(String);
    expect(blocks).to.deep.equal([...digits, ...digits]);
    expect(texts(root, "separator")).to.have.length(18);
  });
});

describe("report/demo: the demo report (src/cli/demo.ts, src/eval/report.ts)", () => {
  const row = (method: string, linearProbe: number, knn: number) => ({ method, dim: 256, linearProbe, knn });
  const input: DemoReportInput = {
    trainCount: 7996,
    testCount: 2004,
    seconds: 170.4,
    cpuSeconds: 230.5,
    baselines: [{ method: "raw pixels", dim: 784, linearProbe: 0.9037, knn: 0.9311 }, row("random-init encoder", 0.888, 0.917)],
    methods: (["simclr", "moco", "byol", "clip"] as const).map((method, k) => ({
      config: {
        method,
        epochs: DEMO_BUDGET[method]!.epochs,
        batchSize: 256,
        lr: 0.003,
        seed: 0,
        encoder: "mlp",
        weightDecay: 0,
        warmupEpochs: 1,
        trainLimit: 0,
      },
      row: row(`${method} (${DEMO_BUDGET[method]!.epochs} ep)`, 0.93 + k / 100, 0.925 + k / 100),
      trainSeconds: 30 + k,
    })),
    phases: [["baselines", 20, 26.5], ["simclr: training", 30, 41.3]],
  };

  it("formatBaselineComparison: each method's probe and kNN, and their differences from every baseline in points", () => {
    const table = formatBaselineComparison(
      [{ ...row("simclr", 0.938, 0.9206), epochs: 5, trainSeconds: 40.6 }],
      [input.baselines[0], input.baselines[1]],
    );
    expect(table).to.equal(
      [
        "| method | epochs | training | linear probe | kNN | vs raw pixels: probe / kNN | vs random-init encoder: probe / kNN |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        "| raw pixels | — | — | 90.4% | 93.1% | — | — |",
        "| random-init encoder | — | — | 88.8% | 91.7% | — | — |",
        "| simclr | 5 | 41 s | 93.8% | 92.1% | +3.4 / −1.1 | +5.0 / +0.4 |",
        "",
      ].join("\n"),
    );
    expect(() => formatBaselineComparison([], [])).to.throw("formatBaselineComparison: no baseline rows to compare with");
  });

  it("describeAgainstBaseline: how many methods beat the baseline on each evaluation, and by how much", () => {
    const methods = [row("a", 0.95, 0.92), row("b", 0.91, 0.94)];
    expect(describeAgainstBaseline(methods, input.baselines[0])).to.equal(
      "On the linear probe 2 of 2 methods beat raw pixels (+0.6 to +4.6 points); on kNN 1 of 2 do (−1.1 to +0.9 points).",
    );
    expect(describeAgainstBaseline(methods, input.baselines[1], "the random encoder")).to.match(/beat the random encoder \(/);
    expect(() => describeAgainstBaseline(methods, { method: "x" })).to.throw("describeAgainstBaseline: the baseline 'x' needs");
  });

  it("report.md: the summary line, what the numbers mean, each method beside both baselines, every picture embedded", () => {
    const report = demoReport(input);
    expect(report.startsWith(
      "# contrastive-ts demo\n\nFour methods trained on 7996 MNIST training digits (short budgets), " +
        "evaluated on the 2004 test digits, in 2.8 minutes.",
    )).to.equal(true);
    expect(report).to.include("**What the numbers mean**");
    expect(report).to.include("On the linear probe 4 of 4 methods beat raw pixels");
    expect(report).to.include(`| simclr | ${DEMO_BUDGET.simclr!.epochs} | 30 s | 93.0% | 92.5% | +2.6 / −0.6 | +4.2 / +0.8 |`);
    expect(report).to.include("a vote of pixel-space neighbours already reads 93.1% of the test digits right");
    for (const method of ["simclr", "moco", "byol", "clip"] as const) {
      for (const picture of ["loss", "similarity", "embeddings", "neighbours"]) expect(report).to.include(`](${method}/${picture}.svg)`);
      expect(report).to.match(new RegExp(`!\\[${method}: nearest neighbours\\]\\(${method}/neighbours\\.svg\\)`));
      expect(report).to.include(`[metrics](${method}/metrics.json)`);
      expect(report).to.include(`| ${method} (${DEMO_BUDGET[method]!.epochs} ep) |`); // the full table keeps the run labels
    }
    expect(report).to.include(
      "| phase | wall s | CPU s |\n| --- | ---: | ---: |\n| baselines | 20.0 | 26.5 |\n| simclr: training | 30.0 | 41.3 |\n" +
        "| all | 170.4 | 230.5 |",
    );
  });
});
