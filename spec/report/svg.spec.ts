/**
 * Specs for src/report/svg.ts: both plots are well-formed SVG for any input (checked by the strict
 * parser of ./xml.ts, whose own rejections are tested first), they draw what they say (one path
 * point per step, one cell per matrix entry, colors on the fixed [−1, 1] scale), titles are
 * escaped, and a matrix of the wrong size is refused.
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
            const root = parseSvg(lossCurveSvg(losses, { title, stepsPerEpoch }));
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

    it("maps the lowest loss to the bottom of the plot and the highest to the top", () => {
      const root = parseSvg(lossCurveSvg([3, 1, 2], { width: 200, height: 100 }));
      const points = [...root.children.find((e) => e.name === "path")!.attributes.d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((
        m,
      ) => [Number(m[1]), Number(m[2])]);
      // margins: left 64, right 20, top 36, bottom 44 → plot x ∈ [64, 180], y ∈ [36, 56]
      expect(points).to.deep.equal([[64, 36], [122, 56], [180, 46]]);
      expect(root.attributes.viewBox).to.equal("0 0 200 100");
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

    it("rejects a matrix whose size is not rows × cols", () => {
      expect(() => heatmapSvg([1, 2, 3], 2, 2)).to.throw("heatmapSvg: 3 values do not form a 2×2 matrix");
      expect(() => heatmapSvg(new Float64Array(6), 2, 2)).to.throw(/6 values do not form a 2×2 matrix/);
      expect(() => heatmapSvg([], 1, 1)).to.throw(/0 values/);
    });
  });
});
