/**
 * CLIP at the method level (src/methods/clip.ts, src/methods/evaluate.ts):
 *  - the stored logit scale s = log(1/τ) starts at log(1/0.07), is learned, and after every
 *    optimizer step is clamped to [0, log 100] (open_clip), so exp(s) ≤ 100 in the next forward;
 *  - evaluateMethod on a tiny trained CLIP returns zero-shot and retrieval numbers in [0, 1]
 *    (retrieval over the distinct captions of the test images), and
 *    its zero-shot predictions are the prompt-ensemble rule applied to the model's own embeddings
 *    (the rule itself is checked exactly on hand-built embeddings in spec/eval/zero-shot.spec.ts).
 */
import { expect } from "chai";
import { Generator } from "../../src/tensor/random.js";
import { CLIP } from "../../src/methods/clip.js";
import { createRun, trainRun } from "../../src/methods/trainer.js";
import { captionTokenizer, zeroShotPrompts, CAPTION_MAX_LENGTH, ZERO_SHOT_TEMPLATES } from "../../src/data/captions.js";
import { cachedTiny, evaluationSubset, tinyConfig } from "./helpers.js";

/** The largest stored value: log 100 rounded to float32 (as open_clip's clamp_ on a float32 tensor). */
const MAX_SCALE = Math.fround(Math.log(100));

describe("methods/clip: the learnable logit scale", () => {
  it("starts at log(1/0.07), is a trainable 0-d parameter without weight decay", () => {
    const clip = new CLIP({ vocabSize: 50, maxLength: 8, generator: new Generator(0) });
    expect(clip.logitScale.item()).to.equal(Math.fround(Math.log(1 / 0.07)));
    expect(clip.logitScale.shape).to.deep.equal([]);
    expect(clip.trainableParameters().map(([name]) => name)).to.include("logitScale");
    const run = createRun(tinyConfig("clip", { epochs: 1 }));
    const scaleGroup = run.optimizer.paramGroups.find((group) => group.params.includes((run.method as CLIP).logitScale))!;
    expect(scaleGroup.weightDecay).to.equal(0);
    expect(new CLIP({ vocabSize: 50, maxLength: 8, initialTemperature: 0.5, generator: new Generator(0) }).logitScale.item()).to.equal(
      Math.fround(Math.log(2)),
    );
  });

  for (const [start, clampedTo] of [[10, MAX_SCALE], [-3, 0]] as const) {
    it(`set to ${start}, it is clamped to ${clampedTo === 0 ? "0" : "log 100"} by the first step and stays in [0, log 100]`, () => {
      const run = createRun(tinyConfig("clip", { epochs: 1 }));
      const clip = run.method as CLIP;
      clip.logitScale.storage.data[clip.logitScale.storage.offset] = start;
      const seen: number[] = [];
      trainRun(run, { onProgress: () => seen.push(clip.logitScale.item()) });
      expect(seen).to.have.length(run.stepsPerEpoch);
      expect(seen[0]).to.equal(clampedTo); // Adam moves s by ≈ lr = 2e-3 per step: far from the bound
      seen.forEach((s) => expect(s).to.be.within(0, MAX_SCALE));
      expect(Math.exp(seen[0])).to.be.at.most(100 * (1 + 1e-7));
    });
  }

  it("is learned: a normal run moves it and the optimizer updates it every step", () => {
    const { run } = cachedTiny("clip");
    const s = (run.method as CLIP).logitScale;
    expect(s.item()).to.not.equal(Math.fround(Math.log(1 / 0.07)));
    expect(s.item()).to.be.within(0, MAX_SCALE);
    expect(run.optimizer.state.get(s)?.step).to.equal(run.state.step);
  });
});

describe("methods/clip: evaluateMethod", () => {
  it("returns zero-shot accuracies and retrieval recalls in [0, 1], above chance after 2 epochs", () => {
    const { evaluation } = cachedTiny("clip");
    const zeroShot = evaluation.zeroShot!;
    expect(zeroShot.classes).to.equal(10);
    expect(zeroShot.promptsPerClass).to.equal(ZERO_SHOT_TEMPLATES.length);
    expect(zeroShot.ensemblePredictions).to.have.length(evaluationSubset().test.count);
    for (const accuracy of [zeroShot.ensembleAccuracy, zeroShot.singlePromptAccuracy]) expect(accuracy).to.be.within(0, 1);
    expect(zeroShot.ensembleAccuracy).to.be.above(0.3); // chance is 0.1 (measured: 0.67)
    const retrieval = evaluation.retrieval!;
    for (const direction of [retrieval.imageToText, retrieval.textToImage]) {
      expect(direction[1]).to.be.within(0, 1);
      expect(direction[5]).to.be.within(direction[1], 1);
    }
    // Retrieval searches the distinct attribute captions of the test images (many images share one).
    expect(retrieval.captions).to.be.within(10, evaluationSubset().test.count);
    expect(retrieval.imageToTextRanks).to.have.length(evaluationSubset().test.count);
    expect(retrieval.textToImageRanks).to.have.length(retrieval.captions);
    expect(evaluation.row.zeroShot).to.equal(zeroShot.ensembleAccuracy);
  });

  it("its zero-shot predictions are argmax_c cos(image, normalize(mean_p prompt_cp)) on the model's embeddings", () => {
    const { run, evaluation } = cachedTiny("clip");
    const clip = run.method as CLIP;
    const test = evaluationSubset().test;
    const prompts = zeroShotPrompts();
    const P = prompts[0].length;
    const text = clip.embedTexts(captionTokenizer().encodeBatch(prompts.flat(), CAPTION_MAX_LENGTH), 10 * P); // (10·P, E), unit rows
    const images = clip.embedImagesJoint(test.images, test.count); // (m, E), unit rows
    const E = text.dim;
    const classVectors = prompts.map((_, c) => {
      const mean = new Float64Array(E);
      for (let p = 0; p < P; p++) for (let e = 0; e < E; e++) mean[e] += text.features[(c * P + p) * E + e] / P;
      const norm = Math.hypot(...mean);
      return mean.map((v) => v / norm);
    });
    const predictions = Array.from({ length: test.count }, (_, i) => {
      const scores = classVectors.map((w) => w.reduce((sum, v, e) => sum + v * images.features[i * E + e], 0));
      return scores.indexOf(Math.max(...scores));
    });
    expect(predictions).to.deep.equal(Array.from(evaluation.zeroShot!.ensemblePredictions));
  });
});
