/**
 * Specs for image ↔ text retrieval: known ranks on a toy set, the pessimistic tie rule, and the
 * label-only-captions case where retrieval is meaningless and recall@1 says so.
 */
import { expect } from "chai";
import { recallAtK, retrievalRecall } from "../../src/eval/retrieval.js";
import { matrix } from "./helpers.js";

function at(degrees: number): number[] {
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

describe("eval/retrieval", () => {
  it("gives rank 0 and recall 1 when every caption is its image", () => {
    const pairs = matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const result = retrievalRecall(pairs, pairs);
    expect(Array.from(result.imageToTextRanks)).to.deep.equal([0, 0, 0]);
    expect(result.imageToText).to.deep.equal({ 1: 1, 5: 1 });
    expect(result.textToImage).to.deep.equal({ 1: 1, 5: 1 });
  });

  it("computes known ranks in both directions", () => {
    // Images at 0°, 60°, 120°; captions at 50°, 40°, 130°.
    //   image 0 (0°):   captions at 40° (cos 0.77) > 50° (0.64, its own) → rank 1
    //   image 1 (60°):  own 40° (cos 20° = 0.94) vs 50° (0.98) → rank 1
    //   image 2 (120°): own 130° (0.98) best → rank 0
    //   caption 0 (50°):  images 60° (0.98) > 0° (own, 0.64) → rank 1
    //   caption 1 (40°):  own 60° (0.94) vs 0° (0.77), 120° (0.17) → rank 0
    //   caption 2 (130°): own 120° (0.98) → rank 0
    const images = matrix([at(0), at(60), at(120)]);
    const texts = matrix([at(50), at(40), at(130)]);
    const result = retrievalRecall(images, texts, { ks: [1, 2] });
    expect(Array.from(result.imageToTextRanks)).to.deep.equal([1, 1, 0]);
    expect(Array.from(result.textToImageRanks)).to.deep.equal([1, 0, 0]);
    expect(result.imageToText).to.deep.equal({ 1: 1 / 3, 2: 1 });
    expect(result.textToImage).to.deep.equal({ 1: 2 / 3, 2: 1 });
  });

  it("counts ties against the true item (pessimistic): duplicated captions share a rank ≥ 1", () => {
    const images = matrix([at(0), at(90), at(180)]);
    const texts = matrix([at(10), at(10), at(180)]); // captions 0 and 1 identical
    const result = retrievalRecall(images, texts, { ks: [1] });
    // Image 0: its caption (10°) ties with caption 1 (10°) → rank 1, not 0.
    // Image 1 (90°): captions 0 and 1 tie with its own caption 1 → rank 1.
    expect(Array.from(result.imageToTextRanks)).to.deep.equal([1, 1, 0]);
    expect(result.imageToText[1]).to.equal(1 / 3);
  });

  it("label-only captions: 10 classes × 5 images, one caption per class → recall@1 = 0, recall@5 = 1", () => {
    // Every caption of class c is the same vector, so image i ties with the 4 other captions of
    // its class: rank exactly 4 for everyone (images of a class are slightly different, but all
    // closest to their class caption).
    const images: number[][] = [];
    const texts: number[][] = [];
    for (let c = 0; c < 10; c++) {
      for (let copy = 0; copy < 5; copy++) {
        const caption = Array.from({ length: 10 }, (_, d) => (d === c ? 1 : 0));
        texts.push(caption);
        images.push(caption.map((v, d) => v + 0.01 * ((d + copy) % 3)));
      }
    }
    const result = retrievalRecall(matrix(images), matrix(texts));
    expect(Array.from(result.imageToTextRanks).every((r) => r === 4)).to.equal(true);
    expect(result.imageToText).to.deep.equal({ 1: 0, 5: 1 });
    expect(result.textToImage[5]).to.equal(1); // each caption's image is among the 5 of its class
  });

  it("recallAtK counts ranks below K", () => {
    expect(recallAtK(Int32Array.from([0, 1, 4, 5]), [1, 5, 6])).to.deep.equal({ 1: 0.25, 5: 0.75, 6: 1 });
  });

  it("rejects unpaired or mismatched inputs and bad K", () => {
    expect(() => retrievalRecall(matrix([[1, 0], [0, 1]]), matrix([[1, 0]]))).to.throw(
      /^retrievalRecall: imageFeatures \[2, 2\] and textFeatures \[1, 2\] must have the same number of rows/,
    );
    expect(() => retrievalRecall(matrix([[1, 0]]), matrix([[1, 0, 0]]))).to.throw(
      /^retrievalRecall: imageFeatures \[1, 2\] and textFeatures \[1, 3\] have different feature dimensions/,
    );
    expect(() => retrievalRecall(matrix([[1, 0]]), matrix([[1, 0]]), { ks: [0] })).to.throw(
      /^retrievalRecall: every K in ks must be a positive whole number, got 0/,
    );
    expect(() => retrievalRecall(matrix([[1, 0]]), matrix([[1, 0]]), { ks: [] })).to.throw(/^retrievalRecall: ks is empty/);
  });
});
