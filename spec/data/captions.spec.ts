/**
 * Specs for captions and the tokenizer: measured attributes behave, captions name the right digit,
 * the tokenizer round-trips, unknown words map to <unk>.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  CAPTION_MAX_LENGTH,
  DIGIT_WORDS,
  HELD_OUT_TEMPLATES,
  PAD_ID,
  SIZE_WORDS,
  SLANT_WORDS,
  THICKNESS_WORDS,
  TRAINING_TEMPLATES,
  UNKNOWN_ID,
  ZERO_SHOT_TEMPLATES,
  buildCaptionTable,
  captionTokenizer,
  captionTokens,
  describeMeasurements,
  fitCaptionThresholds,
  joinWords,
  measureDigit,
  randomCaption,
  renderCaption,
  splitWords,
  zeroShotPrompts,
  type CaptionThresholds,
  type DigitDescription,
} from "../../src/data/captions.js";
import { IMAGE_SIDE } from "../../src/data/mnist.js";
import { loadMnist } from "../../src/data/mnist-package.js";
import { Generator } from "../../src/tensor/random.js";

/** A 28×28 image with ink wherever `inked(x, y)` holds. */
function drawImage(inked: (x: number, y: number) => boolean): Float32Array {
  const image = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
  for (let y = 0; y < IMAGE_SIDE; y++) for (let x = 0; x < IMAGE_SIDE; x++) if (inked(x, y)) image[y * IMAGE_SIDE + x] = 1;
  return image;
}

/** A vertical bar of width `width`, rows 4…23, leaning with shear `shear` (top to the right if > 0). */
function bar(width: number, shear = 0): Float32Array {
  return drawImage((x, y) => {
    if (y < 4 || y > 23) return false;
    const left = Math.round(14 - width / 2 + shear * (13.5 - y));
    return x >= left && x < left + width;
  });
}

/** Descriptions of every combination of attributes, for every digit. */
function allDescriptions(): DigitDescription[] {
  const descriptions: DigitDescription[] = [];
  for (let label = 0; label < 10; label++) {
    for (const thickness of THICKNESS_WORDS) {
      for (const slant of SLANT_WORDS) {
        for (const size of SIZE_WORDS) {
          descriptions.push({ label, word: DIGIT_WORDS[label], numeral: String(label), thickness, slant, size });
        }
      }
    }
  }
  return descriptions;
}

let trainThresholds: CaptionThresholds | null = null;
function thresholds(): CaptionThresholds {
  trainThresholds ??= fitCaptionThresholds(loadMnist().train);
  return trainThresholds;
}

describe("data/captions", () => {
  describe("measured attributes", () => {
    it("a thicker stroke has a larger stroke width and ink mass", () => {
      const widths = [1, 2, 3, 4, 6].map((w) => measureDigit(bar(w)));
      for (let i = 1; i < widths.length; i++) {
        expect(widths[i].strokeWidth).to.be.greaterThan(widths[i - 1].strokeWidth);
        expect(widths[i].inkMass).to.be.greaterThan(widths[i - 1].inkMass);
      }
      // 2·area / perimeter of a 20×3 bar: 2·60 / (2·20 + 2·3) ≈ 2.6 (the estimate, not exactly 3).
      expect(measureDigit(bar(3)).strokeWidth).to.be.within(2.3, 3.3);
    });

    it("the slant sign follows the shear: top right → positive, top left → negative, upright ≈ 0", () => {
      expect(measureDigit(bar(3, 0.4)).slant).to.be.closeTo(0.4, 0.05);
      expect(measureDigit(bar(3, -0.4)).slant).to.be.closeTo(-0.4, 0.05);
      expect(Math.abs(measureDigit(bar(3, 0)).slant)).to.be.below(0.01);
      const t = thresholds();
      const describe7 = (image: Float32Array) => describeMeasurements(measureDigit(image), 7, t).slant;
      expect(describe7(bar(3, 0.4))).to.equal("right-slanted");
      expect(describe7(bar(3, -0.4))).to.equal("left-slanted");
      expect(describe7(bar(3, 0))).to.equal("upright");
    });

    it("measures the bounding box of pixels above 0.5", () => {
      const box = measureDigit(drawImage((x, y) => x >= 5 && x < 12 && y >= 3 && y < 23));
      expect(box.boxWidth).to.equal(7);
      expect(box.boxHeight).to.equal(20);
      expect(measureDigit(new Float32Array(IMAGE_SIDE * IMAGE_SIDE))).to.deep.equal({
        inkMass: 0,
        strokeWidth: 0,
        slant: 0,
        boxHeight: 0,
        boxWidth: 0,
      });
    });

    it("fitted thresholds cut each class's training images into thirds of thickness", () => {
      const { train } = loadMnist();
      const table = buildCaptionTable(train, thresholds());
      for (let label = 0; label < 10; label++) {
        const ofClass = table.descriptions.filter((d) => d.label === label);
        for (const thickness of THICKNESS_WORDS) {
          const share = ofClass.filter((d) => d.thickness === thickness).length / ofClass.length;
          expect(share, `${thickness} share of ${label}`).to.be.within(0.3, 0.37);
        }
        for (const size of SIZE_WORDS) expect(ofClass.filter((d) => d.size === size).length / ofClass.length).to.be.within(0.2, 0.8);
      }
      for (const slant of SLANT_WORDS) {
        expect(table.descriptions.filter((d) => d.slant === slant).length / train.count).to.be.within(0.1, 0.6);
      }
    });
  });

  describe("templates", () => {
    it("every caption names its digit, as a word or a numeral", () => {
      for (const description of allDescriptions()) {
        for (const template of [...TRAINING_TEMPLATES, ...HELD_OUT_TEMPLATES]) {
          const words = splitWords(renderCaption(template, description));
          expect(words.includes(description.word) || words.includes(description.numeral), renderCaption(template, description)).to.equal(
            true,
          );
          for (let other = 0; other < 10; other++) {
            if (other !== description.label) expect(words.includes(DIGIT_WORDS[other]) || words.includes(String(other))).to.equal(false);
          }
        }
      }
    });

    it("captions of real digits name the label", () => {
      const { test } = loadMnist();
      const table = buildCaptionTable(test, thresholds());
      const tokenizer = captionTokenizer();
      for (let i = 0; i < test.count; i += 97) {
        for (let t = 0; t < table.templates.length; t++) {
          const words = splitWords(tokenizer.decode(captionTokens(table, i, t)));
          expect(words.includes(DIGIT_WORDS[test.labels[i]]) || words.includes(String(test.labels[i]))).to.equal(true);
        }
      }
    });

    it("renders placeholders and fixes articles", () => {
      const seven: DigitDescription = { label: 7, word: "seven", numeral: "7", thickness: "thick", slant: "right-slanted", size: "small" };
      expect(renderCaption("a {thickness}, {slant} handwritten {word}", seven)).to.equal("a thick, right-slanted handwritten seven");
      expect(renderCaption("a {slant} {numeral}", { ...seven, slant: "upright" })).to.equal("an upright 7");
      expect(renderCaption("a {numeral}", { word: "eight", numeral: "8" })).to.equal("an 8");
      expect(renderCaption("a {word}", { word: "eight", numeral: "8" })).to.equal("an eight");
      expect(renderCaption("a {word}", { word: "one", numeral: "1" })).to.equal("a one");
      expect(() => renderCaption("a {colour} {word}", seven)).to.throw(/colour/);
    });

    it("keeps held-out templates out of training and uses several distinct templates", () => {
      expect(TRAINING_TEMPLATES.length).to.be.at.least(5);
      expect(HELD_OUT_TEMPLATES.length).to.be.at.least(3);
      for (const template of HELD_OUT_TEMPLATES) expect(TRAINING_TEMPLATES).to.not.include(template);
      const generator = new Generator(0);
      const seven = allDescriptions()[7 * 18];
      const drawn = new Set(Array.from({ length: 200 }, () => randomCaption(seven, generator)));
      expect(drawn.size).to.equal(new Set(TRAINING_TEMPLATES.map((t) => renderCaption(t, seven))).size);
    });

    it("gives several zero-shot prompts per class, each naming only its digit", () => {
      const prompts = zeroShotPrompts();
      expect(prompts).to.have.length(10);
      prompts.forEach((classPrompts, digit) => {
        expect(classPrompts).to.have.length(ZERO_SHOT_TEMPLATES.length);
        expect(classPrompts.length).to.be.at.least(3);
        for (const prompt of classPrompts) {
          const words = splitWords(prompt);
          expect(words.includes(DIGIT_WORDS[digit]) || words.includes(String(digit))).to.equal(true);
        }
      });
    });
  });

  describe("tokenizer", () => {
    const tokenizer = captionTokenizer();

    it("reserves 0 for padding and 1 for unknown words", () => {
      expect(tokenizer.vocabulary[PAD_ID]).to.equal("<pad>");
      expect(tokenizer.vocabulary[UNKNOWN_ID]).to.equal("<unk>");
      expect(tokenizer.vocabSize).to.equal(tokenizer.vocabulary.length);
    });

    it("lowercases, splits punctuation, and pads", () => {
      expect(splitWords("A Thick, left-slanted 7.")).to.deep.equal(["a", "thick", ",", "left", "-", "slanted", "7", "."]);
      const ids = tokenizer.encode("The DIGIT seven", 6);
      expect(ids).to.be.instanceOf(Int32Array);
      expect(Array.from(ids.subarray(3))).to.deep.equal([0, 0, 0]);
      expect(tokenizer.decode(ids)).to.equal("the digit seven");
    });

    it("maps unknown words to <unk>", () => {
      const ids = tokenizer.encode("a purple seven", 5);
      expect(ids[1]).to.equal(UNKNOWN_ID);
      expect(ids[0]).to.not.equal(UNKNOWN_ID);
      expect(tokenizer.decode(ids)).to.equal("a <unk> seven");
    });

    it("truncates text longer than maxLength", () => {
      expect(tokenizer.decode(tokenizer.encode("the digit seven drawn with thin strokes", 3))).to.equal("the digit seven");
    });

    it("round-trips every caption and prompt within CAPTION_MAX_LENGTH, with no unknown token", () => {
      const texts = [
        ...allDescriptions().flatMap((d) => [...TRAINING_TEMPLATES, ...HELD_OUT_TEMPLATES].map((t) => renderCaption(t, d))),
        ...zeroShotPrompts().flat(),
      ];
      for (const text of texts) {
        expect(tokenizer.tokenize(text).length, text).to.be.at.most(CAPTION_MAX_LENGTH);
        const ids = tokenizer.encode(text, CAPTION_MAX_LENGTH);
        expect(Array.from(ids)).to.not.include(UNKNOWN_ID);
        expect(tokenizer.decode(ids)).to.equal(text);
      }
    });

    it("decode then encode gives back any sequence of known tokens (property)", () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 2, max: tokenizer.vocabSize - 1 }), { maxLength: 20 }), (ids) => {
          const encoded = tokenizer.encode(tokenizer.decode(ids), 20);
          const expected = new Int32Array(20);
          expected.set(ids);
          return Array.from(encoded).join() === Array.from(expected).join();
        }),
        { numRuns: 300 },
      );
    });

    it("encode then decode gives back canonical text (property)", () => {
      const words = tokenizer.vocabulary.slice(2);
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 12 }), (tokens) => {
          const text = joinWords(tokens);
          return tokenizer.decode(tokenizer.encode(text, 12)) === text;
        }),
        { numRuns: 300 },
      );
    });
  });
});
