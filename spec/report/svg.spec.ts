/**
 * Specs for src/report/svg.ts: both plots are well-formed SVG for any input (checked by the strict
 * parser of ./xml.ts, whose own rejections are tested first), they draw what they say (one path
 * point per step, epoch ticks where the epochs end, the reference line at its value on the
 * losses' scale, one legend entry per line; one cell per matrix entry, colors on the fixed [−1, 1]
 * scale, separators and names of the label blocks), titles are escaped, and a matrix of the wrong
 * size is refused.
 */
import { expect } from "chai";
import fc from "fast-check";
import { heatmapSvg, lossCurveSvg } from "../../src/report/svg.js";
import { allElements, parseSvg, parseXml } from "./xml.js";

/** Characters XML 1.0 allows (titles with others cannot be written as XML at all). */
const xmlText = fc.string({ unit: "grapheme", maxLength: 30 }).filter((s) =>
  !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(s)
);

describe("report/xml (the spec's checker)", () => {
  it("accepts well-formed documents and decodes entities", () => {
    const root = parseXml(
      `<?xml version="1.0"?>\n<svg a="1 &amp; 2" b='&lt;'><g><text>x &gt; y &#955;</text></g><rect/></svg>\n<!-- done -->`,
    );
    expect(root.name).to.equal("svg");
    expect(root.attributes).to.deep.equal({ a: "1 & 2", b: "<" });
    expect(root.children.map((c) => c.name)).to.deep.equal(["g", "rect"]);
    expect(root.children[0].children[0].text).to.equal("x > y λ");
  });

  const malformed: [string, RegExp][] = [
    ["<svg><g></svg>", /<g> closed by <\/svg>/],
    ["<svg>", /never closed/],
    ["<svg a=1/>", /not quoted/],
    ['<svg a="1" a="2"/>', /duplicate attribute/],
    ['<svg a="1"b="2"/>', /separated by white space/],
    ["<svg>&nbsp;</svg>", /unknown entity/],
    ["<svg>fish & chips</svg>", /bare '&'/],
    ['<svg a="x<y"/>', /'<' in the value/],
    ["<svg/><svg/>", /content after the root/],
    ["text<svg/>", /text outside the root/],
    ["<svg>\u0001</svg>", /not allowed in XML/],
    ["", /no root element/],
  ];
  for (const [text, message] of malformed) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseXml(text)).to.throw(message);
    });
  }

  it("parseSvg requires an <svg> root in the SVG namespace with a size", () => {
    expect(() => parseSvg('<html xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')).to.throw(/not <svg>/);
    expect(() => parseSvg('<svg width="1" height="1"/>')).to.throw(/xmlns/);
    expect(() => parseSvg('<svg xmlns="http://www.w3.org/2000/svg" width="0" height="1"/>')).to.throw(/width/);
  });
});

describe("report/svg", () => {
  describe("lossCurveSvg", () => {
    it("is well-formed SVG for any finite losses and any title, with one path point per step", () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 }),
          xmlText,
          fc.integer({ min: 0, max: 7 }),
          (losses, title, stepsPerEpoch) => {
            const svg = lossCurveSvg(losses, { title, stepsPerEpoch });
            expect(svg).to.not.match(/NaN|Infinity/); // no coordinate or tick label is lost to tiny or flat spans
            const root = parseSvg(svg);
            const texts = allElements(root).filter((e) => e.name === "text").map((e) => e.text);
            expect(texts).to.include(title); // escaped in the file, the same text once parsed
            const paths = allElements(root).filter((e) => e.name === "path");
            const stepPath = paths[0].attributes.d;
            expect(stepPath.match(/[ML]/g)?.length ?? 0).to.equal(losses.length);
            expect(stepPath).to.not.match(/NaN|Infinity/);
            // The epoch-mean path appears when at least one whole epoch fits, with one point per epoch.
            const epochs = stepsPerEpoch > 0 ? Math.floor(losses.length / stepsPerEpoch) : 0;
            expect(paths.length).to.equal(epochs > 0 ? 2 : 1);
            if (epochs > 0) expect(paths[1].attributes.d.match(/[ML]/g)!.length).to.equal(epochs);
          },
        ),
        { numRuns: 60 },
      );
    });

    it("maps the losses linearly, lowest near the bottom and highest near the top (5% to spare), step s at s/T of the width", () => {
      const root = parseSvg(lossCurveSvg([3, 1, 2], { width: 300, height: 200 }));
      const points = [...root.children.find((e) => e.name === "path")!.attributes.d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((
        m,
      ) => [Number(m[1]), Number(m[2])]);
      // margins: left 64, right 20, top 56, bottom 48 → plot x ∈ [64, 280], y ∈ [56, 152]; y spans [0.9, 3.1]
      expect(points).to.deep.equal([[136, 60.4], [208, 147.6], [280, 104]]);
      expect(root.attributes.viewBox).to.equal("0 0 300 200");
    });

    it("labels both axes and puts a tick at every epoch boundary, labelled with the epoch", () => {
      const losses = Array.from({ length: 12 }, (_, i) => 5 - i * 0.1);
      const root = parseSvg(lossCurveSvg(losses, { stepsPerEpoch: 4 }));
      const labels = allElements(root).filter((e) => e.attributes.class === "axis-label").map((e) => e.text);
      expect(labels).to.deep.equal(["epoch (12 steps, 4 per epoch)", "loss"]);
      const ticks = allElements(root).filter((e) => e.attributes.class === "epoch-tick");
      expect(ticks).to.have.length(4); // epochs 0, 1, 2, 3
      const stepPoints = [...allElements(root).find((e) => e.attributes.class === "loss-per-step")!.attributes.d.matchAll(/[ML]([\d.]+),/g)]
        .map((m) => Number(m[1]));
      // The tick of epoch e is where step 4e is drawn.
      ticks.slice(1).forEach((tick, e) => expect(Number(tick.attributes.x1)).to.equal(stepPoints[4 * (e + 1) - 1]));
      const tickTexts = allElements(root).filter((e) => e.name === "text" && /^\d+$/.test(e.text)).map((e) => e.text);
      expect(tickTexts).to.include.members(["0", "1", "2", "3"]);
      // Without epochs the x axis is in steps.
      const bySteps = parseSvg(lossCurveSvg(losses));
      expect(allElements(bySteps).filter((e) => e.attributes.class === "axis-label").map((e) => e.text)).to.deep.equal([
        "step (12 in all)",
        "loss",
      ]);
      expect(allElements(bySteps).filter((e) => e.attributes.class === "epoch-tick")).to.have.length(0);
    });

    it("labels at most about ten epochs when there are many, but ticks every boundary", () => {
      const root = parseSvg(lossCurveSvg(new Array(100).fill(1), { stepsPerEpoch: 2 })); // 50 epochs
      expect(allElements(root).filter((e) => e.attributes.class === "epoch-tick")).to.have.length(51);
      const labelled = allElements(root).filter((e) => e.name === "text" && /^\d+$/.test(e.text)).map((e) => Number(e.text));
      expect(labelled.filter((v) => v % 5 === 0 && v <= 50)).to.include.members([0, 5, 10, 50]);
      expect(labelled).to.not.include(7);
    });

    it("draws the reference line at its value on the losses' own scale, with a legend entry for each line", () => {
      const reference = { value: Math.log(2 * 128 - 1), label: "chance: log(2N − 1)" }; // 5.5413 (NT-Xent, N = 128)
      const losses = [5.2, 4.9, 4.1, 3.8, 3.5, 3.6];
      const root = parseSvg(lossCurveSvg(losses, { stepsPerEpoch: 3, reference }));
      const lines = allElements(root).filter((e) => e.attributes.class === "reference");
      expect(lines).to.have.length(1);
      expect(lines[0].attributes.y1).to.equal(lines[0].attributes.y2);
      // The y of a value, from two drawn points: the reference must sit where the scale puts 5.5413.
      const points = [...allElements(root).find((e) => e.attributes.class === "loss-per-step")!.attributes.d.matchAll(
        /[ML]([\d.]+),([\d.]+)/g,
      )].map((m) => Number(m[2]));
      const [high, low] = [points[0], points[4]]; // y of 5.2 and of 3.5
      const expected = high + ((reference.value - 5.2) * (low - high)) / (3.5 - 5.2);
      expect(Number(lines[0].attributes.y1)).to.be.closeTo(expected, 0.15); // coordinates are rounded to 0.1 px
      expect(Number(lines[0].attributes.y1)).to.be.below(high); // above the highest loss on the page
      const legend = allElements(root).filter((e) => e.attributes.class === "legend-entry").map((e) =>
        e.children.find((c) => c.name === "text")!.text
      );
      expect(legend).to.deep.equal(["loss per step", "epoch mean", "chance: log(2N − 1)"]);
      expect(() => lossCurveSvg(losses, { reference: { value: NaN, label: "x" } })).to.throw(
        "lossCurveSvg: the reference line's value must be finite, got NaN",
      );
    });

    it("escapes markup in the title", () => {
      const svg = lossCurveSvg([1, 2], { title: `<script>alert("x")</script> & 'co'` });
      expect(svg).to.not.include("<script>");
      expect(allElements(parseSvg(svg)).some((e) => e.name === "script")).to.equal(false);
    });
  });

  describe("heatmapSvg", () => {
    it("is well-formed SVG with one cell per entry, for any matrix and title", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), xmlText, (rows, cols, title) => {
          const values = Array.from({ length: rows * cols }, (_, k) => Math.sin(k * 1.7) * 1.5); // also outside [−1, 1]
          const root = parseSvg(heatmapSvg(values, rows, cols, { title, cell: 10 }));
          const rects = allElements(root).filter((e) => e.name === "rect");
          expect(rects.length).to.equal(1 + rows * cols + 5); // background, cells, legend
          const cells = rects.slice(1, 1 + rows * cols);
          cells.forEach((cell, k) => {
            expect(Number(cell.attributes.x)).to.equal(20 + (k % cols) * 10);
            expect(Number(cell.attributes.y)).to.equal(36 + Math.floor(k / cols) * 10);
          });
          expect(allElements(root).filter((e) => e.name === "text").map((e) => e.text)).to.include(title);
        }),
        { numRuns: 40 },
      );
    });

    it("colors on a fixed scale: −1 blue, 0 white, +1 red, clamped beyond", () => {
      const root = parseSvg(heatmapSvg([-1, 0, 1, 5, -5, 0.5], 2, 3));
      const fills = root.children.filter((e) => e.name === "rect").slice(1, 7).map((e) => e.attributes.fill);
      expect(fills).to.deep.equal([
        "rgb(40,40,255)",
        "rgb(255,255,255)",
        "rgb(255,40,40)",
        "rgb(255,40,40)",
        "rgb(40,40,255)",
        "rgb(255,148,148)",
      ]);
    });

    it("the colour key reads −1, −0.5, 0, 0.5, 1 with minus signs, not hyphens", () => {
      const root = parseSvg(heatmapSvg([-1, 0, 1, 0.5], 2, 2));
      const texts = allElements(root).filter((e) => e.name === "text").map((e) => e.text);
      expect(texts).to.include.members(["−1", "−0.5", "0", "0.5", "1"]);
      expect(texts.filter((t) => /^-/.test(t ?? ""))).to.deep.equal([]);
    });

    it("with labels: one separator between each two blocks of equal labels, each block named once at its middle", () => {
      const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]; // blocks [0, 3), [3, 5), [5, 9)
      const values = Array.from({ length: 81 }, (_, k) => Math.cos(k));
      const root = parseSvg(
        heatmapSvg(values, 9, 9, { cell: 10, rowLabels: labels, colLabels: labels, rowTitle: "rows", colTitle: "cols" }),
      );
      const cells = allElements(root).filter((e) => e.name === "rect").slice(1, 82);
      const left = Number(cells[0].attributes.x);
      const top = Number(cells[0].attributes.y);
      const separators = allElements(root).filter((e) => e.attributes.class === "separator");
      const horizontal = separators.filter((e) => e.attributes.y1 === e.attributes.y2).map((e) => Number(e.attributes.y1) - top);
      const vertical = separators.filter((e) => e.attributes.x1 === e.attributes.x2).map((e) => Number(e.attributes.x1) - left);
      expect(horizontal).to.deep.equal([30, 50]);
      expect(vertical).to.deep.equal([30, 50]);
      const blockLabels = allElements(root).filter((e) => e.attributes.class === "block-label");
      expect(blockLabels.map((e) => e.text)).to.deep.equal(["0", "1", "2", "0", "1", "2"]);
      // Row names at the blocks' vertical middles (+4 px baseline), column names at their horizontal middles.
      expect(blockLabels.slice(0, 3).map((e) => Number(e.attributes.y) - top - 4)).to.deep.equal([15, 40, 70]);
      expect(blockLabels.slice(3).map((e) => Number(e.attributes.x) - left)).to.deep.equal([15, 40, 70]);
      expect(allElements(root).filter((e) => e.attributes.class === "axis-label").map((e) => e.text)).to.deep.equal(["cols", "rows"]);
      // The cells are still in row-major order, one per entry.
      cells.forEach((cell, k) => {
        expect(Number(cell.attributes.x)).to.equal(left + (k % 9) * 10);
        expect(Number(cell.attributes.y)).to.equal(top + Math.floor(k / 9) * 10);
      });
      expect(() => heatmapSvg(values, 9, 9, { rowLabels: [0, 1] })).to.throw("heatmapSvg: rowLabels has 2 labels for 9 rows");
    });

    it("rejects a matrix whose size is not rows × cols", () => {
      expect(() => heatmapSvg([1, 2, 3], 2, 2)).to.throw("heatmapSvg: 3 values do not form a 2×2 matrix");
      expect(() => heatmapSvg(new Float64Array(6), 2, 2)).to.throw(/6 values do not form a 2×2 matrix/);
      expect(() => heatmapSvg([], 1, 1)).to.throw(/0 values/);
    });
  });
});
