import { expect } from "chai";
import { groupedRetrievalRecall } from "../../src/eval/retrieval.js";
import { distinctCaptions } from "../../src/methods/evaluate.js";

const matrix = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), rows: rows.length, dim: rows[0].length });

describe("groupedRetrievalRecall (many images share one caption)", () => {
  // Captions: u0 = east, u1 = north, u2 = west. Images 0, 1 have u0; image 2 has u1; image 3 has u2.
  const captions = matrix([[1, 0], [0, 1], [-1, 0]]);
  const captionOfImage = Int32Array.from([0, 0, 1, 2]);

  it("ranks each image's caption among the distinct captions, and each caption's best own image among all images", () => {
    const images = matrix([[1, 0.1], [0.05, 1], [0.1, 1], [-1, 0]]); // image 1 points north although its caption is east
    const result = groupedRetrievalRecall(images, captions, captionOfImage, { ks: [1, 2] });
    expect(Array.from(result.imageToTextRanks)).to.deep.equal([0, 1, 0, 0]);
    // u0's best own image is image 0 (first); u1's own image 2 is behind image 1 (more northern); u2 first.
    expect(Array.from(result.textToImageRanks)).to.deep.equal([0, 1, 0]);
    expect(result.imageToText[1]).to.equal(0.75);
    expect(result.textToImage[1]).to.be.closeTo(2 / 3, 1e-15);
    expect(result.textToImage[2]).to.equal(1);
    expect(result.captions).to.equal(3);
  });

  it("counts ties against the true item", () => {
    const images = matrix([[1, 1], [1, 0], [0, 1], [-1, 0]]); // image 0 is exactly between east and north
    const result = groupedRetrievalRecall(images, captions, captionOfImage);
    expect(result.imageToTextRanks[0]).to.equal(1);
  });

  it("skips captions no image has, and rejects bad indices", () => {
    const images = matrix([[1, 0], [1, 0]]);
    const result = groupedRetrievalRecall(images, captions, Int32Array.from([0, 0]));
    expect(result.captions).to.equal(1);
    expect(() => groupedRetrievalRecall(images, captions, Int32Array.from([0, 3]))).to.throw(
      /groupedRetrievalRecall: image 1 names caption 3/,
    );
    expect(() => groupedRetrievalRecall(images, captions, Int32Array.from([0]))).to.throw(/captionOfImage has 1 entries for 2 images/);
  });

  it("distinctCaptions groups identical token rows", () => {
    const tokens = Int32Array.from([5, 6, 0, 7, 8, 0, 5, 6, 0]);
    const { uniqueTokens, captionOfImage, count } = distinctCaptions(tokens, 3, 3);
    expect(count).to.equal(2);
    expect(Array.from(captionOfImage)).to.deep.equal([0, 1, 0]);
    expect(Array.from(uniqueTokens)).to.deep.equal([5, 6, 0, 7, 8, 0]);
  });
});
