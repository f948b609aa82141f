/**
 * Specs for CLIP zero-shot classification: exact predictions on a hand-built set, prompt
 * ensembling as the renormalized mean of normalized prompts (closed form), and bad inputs.
 */
import { expect } from "chai";
import { tensor } from "../../src/tensor/creation.js";
import { zeroShotAccuracy, zeroShotClassifier, zeroShotPredict } from "../../src/eval/zero-shot.js";
import { matrix } from "./helpers.js";

/** (C, P, D) prompts as a typed array with its shape. */
function prompts(values: number[][][]) {
  return { data: Float64Array.from(values.flat(2)), classes: values.length, prompts: values[0].length, dim: values[0][0].length };
}

describe("eval/zero-shot", () => {
  it("predicts the class with the most similar prompt, exactly, on a hand-built set", () => {
    // Three classes along the axes of R³; one prompt each (length does not matter: cosine).
    const classPrompts = prompts([[[2, 0, 0]], [[0, 5, 0]], [[0, 0, 0.1]]]);
    const images = matrix([[1, 0.2, 0.1], [0.3, 0.9, 0], [0, 0.4, 0.5], [-1, 0, 0.2]]);
    const result = zeroShotAccuracy(images, [0, 1, 2, 2], classPrompts);
    expect(Array.from(result.ensemblePredictions)).to.deep.equal([0, 1, 2, 2]);
    expect(result.ensembleAccuracy).to.equal(1);
    expect(result.singlePromptAccuracy).to.equal(1); // one prompt per class: both rules agree
    expect(zeroShotAccuracy(images, [0, 1, 2, 0], classPrompts).ensembleAccuracy).to.equal(0.75);
    expect([result.classes, result.promptsPerClass]).to.deep.equal([3, 1]);
  });

  it("ensembles prompts as normalize(mean_p normalize(t_cp)): prompt length does not weigh in", () => {
    // Class 0 prompts: (10, 0) and (0, 1): normalized (1, 0), (0, 1), mean (½, ½), renormalized (1/√2, 1/√2).
    // Class 1 prompts: (0, −3) and (−4, 0): (0, −1), (−1, 0) → (−1/√2, −1/√2).
    const classifier = zeroShotClassifier(prompts([[[10, 0], [0, 1]], [[0, -3], [-4, 0]]]));
    const r = Math.SQRT1_2;
    const expected = [r, r, -r, -r];
    for (let k = 0; k < 4; k++) expect(classifier.data[k]).to.be.closeTo(expected[k], 1e-15);
    // Without normalizing first, the mean of (10, 0) and (0, 1) would point along (10, 1), not the diagonal.
    const single = zeroShotClassifier(prompts([[[10, 0], [0, 1]], [[0, -3], [-4, 0]]]), { ensemble: false });
    expect(Array.from(single.data, (v) => v + 0)).to.deep.equal([1, 0, 0, -1]); // + 0 turns −0 into 0
  });

  it("can disagree with the single prompt: the ensemble moves the class direction", () => {
    // Class 0: prompts (1, 0) and (0, 1) → ensemble along the diagonal; class 1: (cos 30°, sin 30°) twice.
    const c30 = Math.cos(Math.PI / 6);
    const classPrompts = prompts([[[1, 0], [0, 1]], [[c30, 0.5], [c30, 0.5]]]);
    const image = matrix([[0.6, 0.8]]); // cos to (1, 0) = 0.6, to (c30, ½) = 0.92, to (1,1)/√2 = 0.99
    const result = zeroShotAccuracy(image, [0], classPrompts);
    expect(result.singlePromptPredictions[0]).to.equal(1);
    expect(result.ensemblePredictions[0]).to.equal(0);
    expect([result.singlePromptAccuracy, result.ensembleAccuracy]).to.deep.equal([0, 1]);
  });

  it("takes a (C, P, D) Tensor and breaks ties toward the smaller class", () => {
    const classPrompts = tensor([[[1, 0]], [[1, 0]]]); // two identical classes
    const result = zeroShotAccuracy(tensor([[1, 1]]), tensor([0]), classPrompts);
    expect(result.ensemblePredictions[0]).to.equal(0);
    expect(Array.from(zeroShotPredict(matrix([[0, 1], [1, 0]]), matrix([[1, 0], [0, 1]])))).to.deep.equal([1, 0]);
  });

  it("rejects mismatched dimensions, labels out of range and prompts that are not (C, P, D)", () => {
    const classPrompts = prompts([[[1, 0]], [[0, 1]]]);
    expect(() => zeroShotAccuracy(matrix([[1, 0, 0]]), [0], classPrompts)).to.throw(
      new RegExp(
        /^zeroShotAccuracy: imageFeatures \[1, 3\] and promptEmbeddings \(as C·P rows\) \[2, 2\] /.source +
          /have different feature dimensions \(3 vs 2\)/.source,
      ),
    );
    expect(() => zeroShotAccuracy(matrix([[1, 0]]), [2], classPrompts)).to.throw(
      /^zeroShotAccuracy: labels\[0\] = 2 is not a whole number in \[0, 2\)/,
    );
    expect(() => zeroShotClassifier(tensor([[1, 0], [0, 1]]))).to.throw(
      /^zeroShotClassifier: promptEmbeddings must be a 3-D tensor \(C classes, P prompts, D\), got shape \[2, 2\]/,
    );
    expect(() => zeroShotClassifier({ data: new Float64Array(4), classes: 2, prompts: 0, dim: 2 })).to.throw(
      /^zeroShotClassifier: promptEmbeddings.prompts must be a positive whole number, got 0/,
    );
    expect(() => zeroShotClassifier({ data: new Float64Array(5), classes: 2, prompts: 1, dim: 2 })).to.throw(
      /^zeroShotClassifier: promptEmbeddings \[2, 1, 2\] has shape \[2, 2\] but its data holds 5 values/,
    );
    expect(() => zeroShotAccuracy(matrix([[NaN, 0]]), [0], classPrompts)).to.throw(
      /^zeroShotAccuracy: imageFeatures \(shape \[1, 2\]\) holds NaN/,
    );
  });
});
