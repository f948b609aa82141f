/**
 * Specs for the pictures of the embeddings and what they are computed from:
 *   principalComponents  recovers the known axes of stretched data; its coordinates have the
 *                        eigenvalues as variances, are uncorrelated, and match a power-iteration
 *                        reference on random data; signs follow the stated rule
 *   nearestNeighbours    the k best by cosine, ties to the smaller index, compared with a full sort
 *   chanceLine           each method's value is what its loss computes when nothing is learned
 *   pcaScatterSvg        one point per row, coloured by its label, one legend entry per class,
 *                        equal scales on both axes
 *   neighbourGridSvg     one query and k framed neighbours per row, frames and count by label
 */
import { expect } from "chai";
import fc from "fast-check";
import { principalComponents } from "../../src/report/pca.js";
import { nearestNeighbours } from "../../src/report/neighbours.js";
import { chanceLine } from "../../src/report/chance.js";
import { neighbourGridSvg, pcaScatterSvg, type NeighbourRow } from "../../src/report/embedding-svg.js";
import { DIGIT_COLORS } from "../../src/report/svg-common.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import { ntXent } from "../../src/losses/nt-xent.js";
import { clipLoss } from "../../src/losses/clip-loss.js";
import { mocoLoss } from "../../src/losses/moco-loss.js";
import { byolLoss } from "../../src/losses/byol-loss.js";
import { allElements, parseSvg, type XmlElement } from "./xml.js";

/** (rows, dim) standard normal values from a seeded generator. */
function randomMatrix(rows: number, dim: number, seed: number): Float64Array {
  const generator = new Generator(seed);
  return Float64Array.from({ length: rows * dim }, () => generator.normal());
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>, n: number, ia = 0, ib = 0) => {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[ia + j] * b[ib + j];
  return s;
};

describe("report/pca: principalComponents", () => {
  it("finds the axes of data stretched along two known orthogonal directions, and their variances", () => {
    const n = 400;
    const dim = 6;
    const u = [1, 1, 0, 0, 0, 0].map((v) => v / Math.SQRT2);
    const v = [0, 0, 1, -1, 1, -1].map((x) => x / 2);
    const noise = randomMatrix(n, dim + 2, 3);
    const features = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      const a = 10 * noise[i * (dim + 2)]; // std 10 along u
      const b = 3 * noise[i * (dim + 2) + 1]; //  std 3 along v
      for (let j = 0; j < dim; j++) features[i * dim + j] = 5 + a * u[j] + b * v[j] + 0.01 * noise[i * (dim + 2) + 2 + (j % dim)];
    }
    const pca = principalComponents(features, n, dim);
    expect(pca.coordinates.length).to.equal(2 * n);
    const pc1 = pca.components.subarray(0, dim);
    const pc2 = pca.components.subarray(dim, 2 * dim);
    expect(Math.abs(dot(pc1, u, dim))).to.be.above(0.9999);
    expect(Math.abs(dot(pc2, v, dim))).to.be.above(0.9999);
    expect(pca.explainedRatio[0] + pca.explainedRatio[1]).to.be.above(0.9999);
    expect(pca.variances[0]).to.be.within(60, 140); // ≈ 100 for this sample
    expect(pca.variances[1]).to.be.within(5, 14); //   ≈ 9
  });

  it("its coordinates have the variances it reports, are centered and uncorrelated, and match power iteration", () => {
    for (const [n, dim, seed] of [[50, 5, 1], [37, 12, 2], [8, 20, 4]] as const) {
      const features = randomMatrix(n, dim, seed).map((x, k) => x * (1 + (k % dim))); // unequal scales
      const pca = principalComponents(features, n, dim, { components: 2 });
      const column = (c: number) => Float64Array.from({ length: n }, (_, i) => pca.coordinates[i * 2 + c]);
      const [y1, y2] = [column(0), column(1)];
      const mean = (y: Float64Array) => y.reduce((a, b) => a + b, 0) / n;
      expect(Math.abs(mean(y1))).to.be.below(1e-9);
      expect(dot(y1, y1, n) / (n - 1)).to.be.closeTo(pca.variances[0], 1e-9 * pca.variances[0]);
      expect(dot(y2, y2, n) / (n - 1)).to.be.closeTo(pca.variances[1], 1e-9 * pca.variances[0]);
      expect(Math.abs(dot(y1, y2, n))).to.be.below(1e-8 * pca.variances[0] * n);
      // Reference: power iteration on the covariance built directly from the definition.
      const mu = Array.from(
        { length: dim },
        (_, j) => Array.from({ length: n }, (_, i) => features[i * dim + j]).reduce((a, b) => a + b) / n,
      );
      const cov = (a: number, b: number) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += (features[i * dim + a] - mu[a]) * (features[i * dim + b] - mu[b]);
        return s / (n - 1);
      };
      const C = Array.from({ length: dim }, (_, a) => Array.from({ length: dim }, (_, b) => cov(a, b)));
      let w = Array.from({ length: dim }, (_, j) => 1 + j);
      for (let iteration = 0; iteration < 3000; iteration++) {
        const next = C.map((row) => row.reduce((s, c, b) => s + c * w[b], 0));
        const norm = Math.hypot(...next);
        w = next.map((x) => x / norm);
      }
      const rayleigh = C.reduce((s, row, a) => s + w[a] * row.reduce((t, c, b) => t + c * w[b], 0), 0);
      expect(pca.variances[0]).to.be.closeTo(rayleigh, 1e-8 * rayleigh);
      expect(Math.abs(dot(pca.components.subarray(0, dim), w, dim))).to.be.closeTo(1, 1e-6);
      // The sign rule: each component's entry of largest magnitude is positive.
      for (let c = 0; c < 2; c++) {
        const component = Array.from(pca.components.subarray(c * dim, (c + 1) * dim));
        const largest = component.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
        expect(largest, `component ${c}`).to.be.above(0);
      }
    }
  });

  it("gives the same picture for the same features, and the mirror image's coordinates for negated features", () => {
    const features = randomMatrix(30, 4, 9);
    const a = principalComponents(features, 30, 4);
    expect(principalComponents(features, 30, 4).coordinates).to.deep.equal(a.coordinates);
    // Negating X negates every centered row; the sign rule fixes v, so the coordinates flip.
    const b = principalComponents(features.map((x) => -x), 30, 4);
    b.coordinates.forEach((y, k) => expect(y).to.be.closeTo(-a.coordinates[k], 1e-9));
  });

  it("refuses a wrong size, too few rows, a bad component count and non-finite values, naming itself", () => {
    expect(() => principalComponents([1, 2, 3], 2, 2)).to.throw("principalComponents: 3 values do not form a 2×2 matrix");
    expect(() => principalComponents([1, 2], 1, 2)).to.throw("principalComponents: need at least 2 rows, got 1");
    expect(() => principalComponents([1, 2, 3, 4], 2, 2, { components: 3 })).to.throw("components must be in 1 … 2, got 3");
    expect(() => principalComponents([1, NaN, 3, 4], 2, 2)).to.throw("principalComponents: features hold NaN at row 0, column 1");
    expect(() => principalComponents([1, 2, 3, 4], 2, 2, { k: 1 } as never)).to.throw(/unknown option 'k'/);
  });
});

describe("report/neighbours: nearestNeighbours", () => {
  /** The brute-force ranking: every pool row's cosine, sorted by (similarity descending, index ascending). */
  function bruteForce(queries: number[], q: number, pool: number[], n: number, dim: number, k: number) {
    const unit = (rows: number[], i: number) => {
      const row = rows.slice(i * dim, (i + 1) * dim);
      const norm = Math.max(Math.hypot(...row), 1e-12);
      return row.map((x) => x / norm);
    };
    return Array.from({ length: q }, (_, a) => {
      const qa = unit(queries, a);
      const scored = Array.from({ length: n }, (_, j) => ({ j, s: dot(qa, unit(pool, j), dim) }));
      scored.sort((x, y) => y.s - x.s || x.j - y.j);
      return scored.slice(0, k);
    });
  }

  it("returns the k most similar pool rows by cosine, best first, ties to the smaller index (random pools with duplicates)", () => {
    // Small integer entries make exact duplicates and exactly equal cosines (ties) common.
    const entry = fc.integer({ min: -2, max: 2 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 25 }),
        fc.array(entry, { minLength: 4 * 25 * 3, maxLength: 4 * 25 * 3 }),
        fc.integer({ min: 1, max: 8 }),
        (q, dim, n, values, kWanted) => {
          const k = Math.min(kWanted, n);
          const queries = values.slice(0, q * dim);
          const pool = values.slice(q * dim, q * dim + n * dim);
          while (pool.length < n * dim) pool.push(1);
          const result = nearestNeighbours(queries, q, pool, n, dim, { k });
          const expected = bruteForce(queries, q, pool, n, dim, k);
          for (let a = 0; a < q; a++) {
            const indices = Array.from(result.indices.subarray(a * k, (a + 1) * k));
            expect(indices, `query ${a}`).to.deep.equal(expected[a].map((e) => e.j));
            expected[a].forEach((e, r) => expect(result.similarities[a * k + r]).to.be.closeTo(e.s, 1e-12));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("is cosine, not the dot product: a longer vector in another direction does not win", () => {
    const result = nearestNeighbours([1, 0], 1, [10, 10, 1, 0.1, 0, 1], 3, 2, { k: 3 });
    expect(Array.from(result.indices)).to.deep.equal([1, 0, 2]);
    expect(result.similarities[0]).to.be.closeTo(1 / Math.hypot(1, 0.1), 1e-15);
  });

  it("refuses a k outside 1 … n, a wrong size and non-finite values", () => {
    expect(() => nearestNeighbours([1, 0], 1, [1, 0], 1, 2, { k: 2 })).to.throw(
      "nearestNeighbours: k must be in 1 … 1 (the pool's rows), got 2",
    );
    expect(() => nearestNeighbours([1, 0, 3], 1, [1, 0], 1, 2, { k: 1 })).to.throw(
      "nearestNeighbours: queries has 3 values, not 1 rows of 2",
    );
    expect(() => nearestNeighbours([1, 0], 1, [Infinity, 0], 1, 2, { k: 1 })).to.throw(
      "nearestNeighbours: pool holds Infinity at row 0, column 0",
    );
  });
});

describe("report/chance: chanceLine is the loss of a model that has learned nothing", () => {
  it("SimCLR: log(2N − 1), what ntXent gives when every embedding is the same (5.5413 at N = 128)", () => {
    expect(chanceLine("simclr", { batchSize: 128 })!.value).to.be.closeTo(5.5413, 1e-4);
    for (const n of [2, 5, 16]) {
      const same = Tensor.fromTypedArray(new Float64Array(n * 3).fill(0.5), [n, 3]);
      expect(ntXent(same, same, { temperature: 0.5 }).item()).to.be.closeTo(chanceLine("simclr", { batchSize: n })!.value, 1e-12);
    }
  });

  it("MoCo: log(K + 1), what mocoLoss gives when query, key and every queued key coincide", () => {
    const [n, k] = [4, 12];
    const ones = (rows: number) => Tensor.fromTypedArray(new Float64Array(rows * 3).fill(1), [rows, 3]);
    expect(mocoLoss(ones(n), ones(n), ones(k), { temperature: 0.2 }).item()).to.be.closeTo(
      chanceLine("moco", { batchSize: n, queueSize: k })!.value,
      1e-12,
    );
    expect(() => chanceLine("moco", { batchSize: 4 })).to.throw("chanceLine: moco needs its queueSize K, got undefined");
  });

  it("CLIP: log N, what clipLoss gives when every image and caption embedding is the same", () => {
    const n = 6;
    const same = Tensor.fromTypedArray(new Float64Array(n * 4).fill(1), [n, 4]);
    expect(clipLoss(same, same).item()).to.be.closeTo(chanceLine("clip", { batchSize: n })!.value, 1e-12);
  });

  it("BYOL: 4, the two directions' 2 − 2 cos at predictions orthogonal to their targets; unknown methods: none", () => {
    const p = Tensor.fromTypedArray(Float64Array.from([1, 0, 0, 1]), [2, 2]);
    const z = Tensor.fromTypedArray(Float64Array.from([0, 1, 1, 0]), [2, 2]);
    expect(byolLoss(p, z).item() + byolLoss(z, p).item()).to.equal(chanceLine("byol", { batchSize: 2 })!.value);
    expect(chanceLine("swav", { batchSize: 2 })).to.equal(undefined);
    expect(() => chanceLine("simclr", { batchSize: 0 })).to.throw("chanceLine: batchSize must be a positive whole number, got 0");
  });
});

/** The fill colours of the scatter's points, as a multiset keyed by colour. */
const countBy = (values: string[]) => values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>());

describe("report/embedding-svg: pcaScatterSvg", () => {
  it("draws one point per row, in its label's colour, and one legend entry per class with its count", () => {
    const generator = new Generator(5);
    const n = 137;
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
    const points = Float64Array.from({ length: 2 * n }, () => generator.normal());
    const root = parseSvg(pcaScatterSvg(points, labels, { title: "t", xLabel: "PC 1 (40%)", yLabel: "PC 2 (20%)" }));
    const circles = allElements(root).filter((e) => e.attributes.class === "point");
    expect(circles).to.have.length(n);
    expect(countBy(circles.map((c) => c.attributes.fill))).to.deep.equal(countBy(Array.from(labels, (l) => DIGIT_COLORS[l])));
    const legend = allElements(root).filter((e) => e.attributes.class === "legend-entry");
    expect(legend).to.have.length(10);
    const counts = Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
    expect(legend.map((e) => e.children.find((c) => c.name === "text")!.text)).to.deep.equal(
      counts.map((count, c) => `digit ${c} (${count})`),
    );
    expect(legend.map((e) => e.children.find((c) => c.name === "circle")!.attributes.fill)).to.deep.equal([...DIGIT_COLORS]);
    expect(allElements(root).filter((e) => e.attributes.class === "axis-label").map((e) => e.text)).to.deep.equal([
      "PC 1 (40%)",
      "PC 2 (20%)",
    ]);
    expect(allElements(root).filter((e) => e.attributes.class === "class-label").map((e) => e.text).sort()).to.deep.equal(
      ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    );
  });

  it("uses equal scales on both axes (distances on the page are distances in the plane), up is positive", () => {
    const points = [0, 0, 3, 0, 0, 1, -2, -1];
    const root = parseSvg(pcaScatterSvg(points, [0, 1, 2, 3]));
    const circles = allElements(root).filter((e) => e.attributes.class === "point");
    const at = new Map<string, XmlElement>(circles.map((c) => [c.attributes.fill, c]));
    const position = (
      label: number,
    ) => [Number(at.get(DIGIT_COLORS[label])!.attributes.cx), Number(at.get(DIGIT_COLORS[label])!.attributes.cy)];
    const [origin, right, up, lowerLeft] = [0, 1, 2, 3].map(position);
    const scale = (right[0] - origin[0]) / 3;
    expect(scale).to.be.above(0);
    expect(origin[1] - up[1]).to.be.closeTo(scale, 0.15); // 1 unit up is `scale` pixels up
    expect(right[1]).to.be.closeTo(origin[1], 0.1);
    expect(origin[0] - lowerLeft[0]).to.be.closeTo(2 * scale, 0.15);
    expect(lowerLeft[1] - origin[1]).to.be.closeTo(scale, 0.15);
  });

  it("keeps numClasses legend entries even when a class has no point, and refuses bad input", () => {
    const root = parseSvg(pcaScatterSvg([0, 0, 1, 1], [0, 0], { numClasses: 10 }));
    expect(allElements(root).filter((e) => e.attributes.class === "legend-entry")).to.have.length(10);
    expect(() => pcaScatterSvg([0, 0, 1], [0, 1])).to.throw("pcaScatterSvg: 3 coordinates for 2 labels (expected 4)");
    expect(() => pcaScatterSvg([0, 0], [1.5])).to.throw("pcaScatterSvg: label 0 is 1.5, not a whole number ≥ 0");
    expect(() => pcaScatterSvg([0, NaN], [1])).to.throw("pcaScatterSvg: point 0 is (0, NaN)");
    expect(() => pcaScatterSvg([0, 0], [3], { numClasses: 2 })).to.throw("pcaScatterSvg: numClasses 2 does not cover the largest label 3");
  });
});

describe("report/embedding-svg: neighbourGridSvg", () => {
  const image = (label: number) => ({ label, href: `data:image/png;base64,AAAA${label}` });
  it("draws every query and its neighbours in order, framed by whether the digit matches, and counts the matches", () => {
    const rows: NeighbourRow[] = [
      { query: image(3), neighbours: [3, 3, 8, 3].map((label, j) => ({ ...image(label), similarity: 0.9 - j / 100 })) },
      { query: image(5), neighbours: [6, 5, 5, 5].map((label, j) => ({ ...image(label), similarity: 0.8 - j / 100 })) },
    ];
    const root = parseSvg(neighbourGridSvg(rows, { title: "grid" }));
    const queries = allElements(root).filter((e) => e.attributes.class === "query");
    expect(queries.map((q) => q.attributes["data-label"])).to.deep.equal(["3", "5"]);
    const neighbours = allElements(root).filter((e) => e.attributes.class === "neighbour");
    expect(neighbours.map((e) => e.attributes["data-label"])).to.deep.equal(["3", "3", "8", "3", "6", "5", "5", "5"]);
    expect(neighbours.map((e) => e.children.find((c) => c.name === "image")!.attributes.href)).to.deep.equal(
      rows.flatMap((r) => r.neighbours.map((n) => n.href)),
    );
    const frames = neighbours.map((e) => e.children.find((c) => c.name === "rect")!.attributes.class);
    expect(frames).to.deep.equal([
      "frame-same",
      "frame-same",
      "frame-other",
      "frame-same",
      "frame-other",
      "frame-same",
      "frame-same",
      "frame-same",
    ]);
    expect(neighbours.map((e) => e.children.find((c) => c.name === "text")!.text)).to.deep.include.members(["8 · 0.88", "6 · 0.80"]);
    const summary = allElements(root).find((e) => e.attributes.class === "summary")!;
    expect(summary.text).to.match(/^6 of 8 neighbours have their query's digit/);
    // Left to right along a row: nearest first.
    const xs = neighbours.slice(0, 4).map((e) => Number(e.children.find((c) => c.name === "image")!.attributes.x));
    expect(xs).to.deep.equal([...xs].sort((a, b) => a - b));
  });

  it("refuses rows with different numbers of neighbours", () => {
    const rows: NeighbourRow[] = [
      { query: image(1), neighbours: [{ ...image(1), similarity: 1 }] },
      { query: image(2), neighbours: [] },
    ];
    expect(() => neighbourGridSvg(rows)).to.throw("neighbourGridSvg: row 1 has 0 neighbours, row 0 has 1");
  });
});
