/**
 * Captions for CLIP on MNIST, and the word tokenizer that turns them into token ids.
 *
 * CLIP (chapter section 7.3) learns from (image, caption) pairs: in a batch of N pairs the i-th
 * image must pick out the i-th caption among N. If every caption only said "the digit 7", all the
 * sevens in a batch would share one caption: the task collapses to 10-way classification (a
 * supervised classifier in disguise), and "find the caption of this very image" (instance
 * retrieval) is impossible. So each caption also describes the image, with attributes measured on
 * its pixels I(x, y) (x = column, y = row, 28×28, ink in [0, 1]):
 *
 *   ink mass      m = Σ I(x, y)
 *   centroid      (c_x, c_y) = Σ I·(x, y) / m
 *   stroke width  w ≈ 2·m / P,  P = Σ |∇I| (perimeter of the ink, as total variation: a stroke of
 *                 length L and width w has area ≈ L·w and perimeter ≈ 2L)
 *   slant         s = −μ11 / μ02,  μ11 = Σ I·(x − c_x)(y − c_y),  μ02 = Σ I·(y − c_y)²
 *                 (the shear x ≈ c_x − s·(y − c_y) that best fits the ink: s > 0 means the top
 *                 leans right, s = tan of the lean angle from vertical; the same moment ratio
 *                 is used to deskew MNIST)
 *   box           height and width of the rows / columns holding a pixel > 0.5
 *
 * and turned into words:
 *
 *   thickness  thin / regular / thick       per-class tertiles of w (fitted on the training split:
 *                                           a "thick 1" is thick for a 1; sevens and fives are
 *                                           drawn with different pens)
 *   slant      left-slanted / upright / right-slanted    |s| ≤ 0.15 (≈ 8.5°) is upright
 *   size       small / large                box area h·w below / at-or-above the class median.
 *                                           (MNIST was size-normalized so that the larger side is
 *                                           20 px: the box height alone is 20 px in most images
 *                                           (docs/data.md has the share), so it cannot tell sizes
 *                                           apart; the area can.)
 *
 * Templates mix these with the digit as a word ("seven") or numeral ("7"). The held-out templates
 * are never used in training: a model that only memorized training sentences does worse on them.
 * Zero-shot classification embeds several class-only prompts per digit and averages them
 * ("prompt ensembling", as in the CLIP paper).
 *
 * PyTorch equivalent of the tokenizer: a word-level `torchtext` vocabulary
 * (`build_vocab_from_iterator(..., specials=["<pad>", "<unk>"])`) with padding to a fixed length;
 * CLIP itself uses a byte-pair-encoding tokenizer with a 49,408-token vocabulary.
 *
 * @module
 */
import { Generator } from "../tensor/random.js";
import { NUM_CLASSES, type Split } from "./mnist.js";
import { checkOptions } from "../tensor/options.js";

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Measuring attributes
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** Numbers measured on one image (see the file header for the formulas). */
export interface DigitMeasurements {
  /** m = Σ I, in pixels of full ink. */
  inkMass: number;
  /** w = 2m / Σ|∇I|, in pixels. */
  strokeWidth: number;
  /** s = −μ11 / μ02: > 0 leans right, < 0 leans left, tan of the lean angle. */
  slant: number;
  /** Rows spanned by pixels > 0.5. */
  boxHeight: number;
  /** Columns spanned by pixels > 0.5. */
  boxWidth: number;
}

/** Pixels above this count as ink when measuring the bounding box. */
export const BOX_INK_THRESHOLD = 0.5;

/** Measure the caption attributes of one square image, (side·side,) in [0, 1]. An empty image gives zeros. */
export function measureDigit(image: Float32Array, side = Math.round(Math.sqrt(image.length))): DigitMeasurements {
  if (side * side !== image.length) throw new Error(`measureDigit: expected ${side}×${side} pixels, got ${image.length}`);
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  let perimeter = 0;
  let top = side;
  let bottom = -1;
  let left = side;
  let right = -1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const value = image[y * side + x];
      mass += value;
      sumX += value * x;
      sumY += value * y;
      // Forward differences, reading 0 past the right / bottom edge so that ink touching the
      // border still has a closed outline.
      const rightValue = x + 1 < side ? image[y * side + x + 1] : 0;
      const belowValue = y + 1 < side ? image[(y + 1) * side + x] : 0;
      perimeter += Math.hypot(rightValue - value, belowValue - value);
      if (value > BOX_INK_THRESHOLD) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  // Ink on the top and left border rows has no "previous" pixel in the forward differences.
  for (let i = 0; i < side; i++) perimeter += image[i] + image[i * side];
  if (mass <= 0) return { inkMass: 0, strokeWidth: 0, slant: 0, boxHeight: 0, boxWidth: 0 };

  const centerX = sumX / mass;
  const centerY = sumY / mass;
  let mu11 = 0;
  let mu02 = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const value = image[y * side + x];
      mu11 += value * (x - centerX) * (y - centerY);
      mu02 += value * (y - centerY) * (y - centerY);
    }
  }
  return {
    inkMass: mass,
    strokeWidth: perimeter > 0 ? (2 * mass) / perimeter : 0,
    slant: mu02 > 0 ? -mu11 / mu02 : 0,
    boxHeight: bottom >= top ? bottom - top + 1 : 0,
    boxWidth: right >= left ? right - left + 1 : 0,
  };
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// From numbers to words
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** How thick a digit's strokes are, relative to its class (terciles of the training split). */
export type Thickness = "thin" | "regular" | "thick";
/** How a digit leans, from its slant (|slant| ≤ {@link UPRIGHT_SLANT_LIMIT} is upright). */
export type SlantWord = "left-slanted" | "upright" | "right-slanted";
/** How much ink a digit has, relative to its class (below or above the class median). */
export type SizeWord = "small" | "large";

/** Every {@link Thickness} word, in order. */
export const THICKNESS_WORDS: readonly Thickness[] = ["thin", "regular", "thick"];
/** Every {@link SlantWord}, in order. */
export const SLANT_WORDS: readonly SlantWord[] = ["left-slanted", "upright", "right-slanted"];
/** Every {@link SizeWord}, in order. */
export const SIZE_WORDS: readonly SizeWord[] = ["small", "large"];
/** The digits' names, "zero" … "nine", by label. */
export const DIGIT_WORDS: readonly string[] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** |slant| at or below this (tan 8.5°) is "upright". */
export const UPRIGHT_SLANT_LIMIT = 0.15;

/** Where the words change, per digit class (arrays indexed by label). */
export interface CaptionThresholds {
  /** strokeWidth < thinBelow[label] → "thin". */
  thinBelow: number[];
  /** strokeWidth > thickAbove[label] → "thick"; in between → "regular". */
  thickAbove: number[];
  /** boxHeight·boxWidth < smallBelow[label] → "small", else "large". */
  smallBelow: number[];
  /** slant < −uprightLimit → "left-slanted", > uprightLimit → "right-slanted". */
  uprightLimit: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between sorted values. */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/**
 * Fit the per-class thresholds on a labelled split (use the training split, and apply the result
 * to the test split too): tertiles of stroke width and the median box area of each class.
 */
export function fitCaptionThresholds(split: Split, numClasses = NUM_CLASSES): CaptionThresholds {
  const widths: number[][] = Array.from({ length: numClasses }, () => []);
  const areas: number[][] = Array.from({ length: numClasses }, () => []);
  const pixels = split.images.length / split.count;
  for (let i = 0; i < split.count; i++) {
    const measured = measureDigit(split.images.subarray(i * pixels, (i + 1) * pixels));
    widths[split.labels[i]].push(measured.strokeWidth);
    areas[split.labels[i]].push(measured.boxHeight * measured.boxWidth);
  }
  return {
    thinBelow: widths.map((w) => quantile(w, 1 / 3)),
    thickAbove: widths.map((w) => quantile(w, 2 / 3)),
    smallBelow: areas.map((a) => quantile(a, 0.5)),
    uprightLimit: UPRIGHT_SLANT_LIMIT,
  };
}

/** Everything a caption template can mention about one image. */
export interface DigitDescription {
  /** The digit 0 … 9. */
  label: number;
  /** "seven" */
  word: string;
  /** "7" */
  numeral: string;
  /** Its stroke thickness word. */
  thickness: Thickness;
  /** Its slant word. */
  slant: SlantWord;
  /** Its size word. */
  size: SizeWord;
}

/** Put measurements into words using `thresholds` for the image's class. */
export function describeMeasurements(measured: DigitMeasurements, label: number, thresholds: CaptionThresholds): DigitDescription {
  if (!(Number.isInteger(label) && label >= 0 && label < DIGIT_WORDS.length)) {
    throw new Error(`describeDigit: label ${label} is not a digit`);
  }
  const thickness: Thickness = measured.strokeWidth < thresholds.thinBelow[label]
    ? "thin"
    : measured.strokeWidth > thresholds.thickAbove[label]
    ? "thick"
    : "regular";
  const slant: SlantWord = measured.slant < -thresholds.uprightLimit
    ? "left-slanted"
    : measured.slant > thresholds.uprightLimit
    ? "right-slanted"
    : "upright";
  const size: SizeWord = measured.boxHeight * measured.boxWidth < thresholds.smallBelow[label] ? "small" : "large";
  return { label, word: DIGIT_WORDS[label], numeral: String(label), thickness, slant, size };
}

/** Measure `image` and describe it. */
export function describeDigit(image: Float32Array, label: number, thresholds: CaptionThresholds): DigitDescription {
  return describeMeasurements(measureDigit(image), label, thresholds);
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Templates
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Caption templates. Placeholders: {word} "seven", {numeral} "7", {thickness}, {slant}, {size}.
 * "a" before a vowel sound becomes "an" when rendered ("an upright 8", but "a one").
 */
export const TRAINING_TEMPLATES: readonly string[] = [
  "the digit {word}",
  "the number {numeral}",
  "a handwritten {word}",
  "a {thickness}, {slant} handwritten {word}",
  "a {size} {slant} {numeral}",
  "a {thickness} {numeral}",
  "a {size}, {thickness} digit {word}",
  "a {slant} {word} drawn with {thickness} strokes",
  "a {size} handwritten {numeral}, {slant} and {thickness}",
];

/** Evaluation-only templates: known words in sentences the model never saw during training. */
export const HELD_OUT_TEMPLATES: readonly string[] = [
  "a {slant}, {size} {word}",
  "the {thickness} number {word}",
  "a {numeral} drawn {slant} with {thickness} strokes",
  "a handwritten digit {numeral}, {size} and {thickness}",
];

/** Class-only prompts for zero-shot classification (one embedding per prompt, averaged per class). */
export const ZERO_SHOT_TEMPLATES: readonly string[] = [
  "the digit {word}",
  "the number {numeral}",
  "a handwritten {word}",
  "a handwritten {numeral}",
  "the digit {numeral}",
  "a {word}",
];

function startsWithVowelSound(word: string): boolean {
  return word !== "one" && /^[aeiou8]/.test(word); // "an eight", "an 8", "an upright", but "a one"
}

/** Fill a template's placeholders from `description` and fix the articles. */
export function renderCaption(template: string, description: DigitDescription | { word: string; numeral: string }): string {
  const fields = description as unknown as Record<string, unknown>;
  const filled = template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = fields[key];
    if (typeof value !== "string") throw new Error(`renderCaption: template "${template}" needs {${key}}, which the description lacks`);
    return value;
  });
  return filled.replace(
    /\b([Aa]) (?=(\S+))/g,
    (whole, article: string, next: string) => startsWithVowelSound(next.toLowerCase()) ? `${article}n ` : whole,
  );
}

/** A caption for `description` from a template drawn uniformly with `generator`. */
export function randomCaption(
  description: DigitDescription,
  generator: Generator,
  templates: readonly string[] = TRAINING_TEMPLATES,
): string {
  return renderCaption(templates[generator.randint(0, templates.length)], description);
}

/** Zero-shot prompts for each class: result[d] holds ZERO_SHOT_TEMPLATES filled with digit d. */
export function zeroShotPrompts(templates: readonly string[] = ZERO_SHOT_TEMPLATES): string[][] {
  return DIGIT_WORDS.map((word, digit) => templates.map((template) => renderCaption(template, { word, numeral: String(digit) })));
}

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Tokenizer
// ────────────────────────────────────────────────────────────────────────────────────────────────

/** The padding token, id {@link PAD_ID}. */
export const PAD_TOKEN = "<pad>";
/** The token of any word outside the vocabulary, id {@link UNKNOWN_ID}. */
export const UNKNOWN_TOKEN = "<unk>";
/** The id of {@link PAD_TOKEN}: 0, what caption rows are padded with. */
export const PAD_ID = 0;
/** The id of {@link UNKNOWN_TOKEN}: 1. */
export const UNKNOWN_ID = 1;

/** Punctuation that attaches to the word before it when decoding ("seven," not "seven ,"). */
const ATTACH_LEFT = new Set([",", ".", "!", "?", ";", ":", ")"]);
/** Punctuation that joins both neighbours ("left-slanted", "it's"). */
const ATTACH_BOTH = new Set(["-", "'", "/"]);
/** Punctuation that attaches to the word after it. */
const ATTACH_RIGHT = new Set(["("]);

/**
 * Split text into tokens: lowercase, then runs of letters/digits are words and every other
 * non-space character is a token of its own.  "A left-slanted 7." → ["a", "left", "-", "slanted", "7", "."]
 */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
}

/** Join tokens back into text, the inverse of `splitWords` on canonical text. */
export function joinWords(tokens: readonly string[]): string {
  let text = "";
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const previous = i > 0 ? tokens[i - 1] : null;
    const needsSpace = previous !== null && !ATTACH_LEFT.has(token) && !ATTACH_BOTH.has(token) && !ATTACH_BOTH.has(previous) &&
      !ATTACH_RIGHT.has(previous);
    text += (needsSpace ? " " : "") + token;
  }
  return text;
}

/**
 * A word-level tokenizer with a fixed vocabulary: id 0 is padding, id 1 stands for any word not
 * in the vocabulary, the others are the vocabulary's words in the order given.
 */
export class Tokenizer {
  /** id → token. */
  readonly vocabulary: readonly string[];
  private readonly ids: Map<string, number>;

  /**
   * A tokenizer for `words`, after the padding and unknown tokens.
   *
   * @param words the vocabulary, after the two special tokens (duplicates ignored).
   */
  constructor(words: readonly string[]) {
    const vocabulary = [PAD_TOKEN, UNKNOWN_TOKEN];
    for (const word of words) if (!vocabulary.includes(word)) vocabulary.push(word);
    this.vocabulary = vocabulary;
    this.ids = new Map(vocabulary.map((token, id) => [token, id]));
  }

  /** The number of ids, special tokens included. */
  get vocabSize(): number {
    return this.vocabulary.length;
  }

  /** Token ids of `text`, unpadded; unknown words map to UNKNOWN_ID. */
  tokenize(text: string): number[] {
    return splitWords(text).map((word) => this.ids.get(word) ?? UNKNOWN_ID);
  }

  /**
   * (maxLength,) token ids, padded with PAD_ID; text longer than maxLength tokens is truncated
   * (use `tokenize(text).length` to check).
   */
  encode(text: string, maxLength: number): Int32Array {
    if (!(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new Error(`Tokenizer.encode: maxLength must be a positive integer, got ${maxLength}`);
    }
    const ids = this.tokenize(text);
    const encoded = new Int32Array(maxLength); // zeros = PAD_ID
    for (let i = 0; i < Math.min(ids.length, maxLength); i++) encoded[i] = ids[i];
    return encoded;
  }

  /** (texts.length, maxLength) token ids, flattened. */
  encodeBatch(texts: readonly string[], maxLength: number): Int32Array {
    const batch = new Int32Array(texts.length * maxLength);
    texts.forEach((text, i) => batch.set(this.encode(text, maxLength), i * maxLength));
    return batch;
  }

  /** Text of `ids`, skipping padding; unknown ids and UNKNOWN_ID read as "<unk>". */
  decode(ids: ArrayLike<number>): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === PAD_ID) continue;
      tokens.push(this.vocabulary[ids[i]] ?? UNKNOWN_TOKEN);
    }
    return joinWords(tokens);
  }
}

/**
 * Every token any template can produce, sorted (so ids are stable when templates are reordered):
 * template words, punctuation, digit words and numerals, attribute words.
 */
export function captionVocabulary(): string[] {
  const tokens = new Set<string>();
  const templates = [...TRAINING_TEMPLATES, ...HELD_OUT_TEMPLATES, ...ZERO_SHOT_TEMPLATES];
  for (const template of templates) for (const token of splitWords(template.replace(/\{\w+\}/g, " "))) tokens.add(token);
  for (const word of [...DIGIT_WORDS, ...THICKNESS_WORDS, ...SLANT_WORDS, ...SIZE_WORDS]) {
    for (const token of splitWords(word)) tokens.add(token);
  }
  for (let digit = 0; digit < NUM_CLASSES; digit++) tokens.add(String(digit));
  tokens.add("an"); // produced by the article rule
  return [...tokens].sort();
}

let cachedTokenizer: Tokenizer | null = null;

/** The tokenizer for every caption and prompt in this file. */
export function captionTokenizer(): Tokenizer {
  cachedTokenizer ??= new Tokenizer(captionVocabulary());
  return cachedTokenizer;
}

/** Token length that fits every caption and prompt of this file: 16. */
export const CAPTION_MAX_LENGTH = 16;

// ────────────────────────────────────────────────────────────────────────────────────────────────
// Captions for a whole split
// ────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Every template rendered for every image of a split, tokenized, so that a loader can pick one
 * per image per epoch without re-measuring.
 *   tokens: (count, templateCount, maxLength) flattened
 */
export interface CaptionTable {
  /** The number of images. */
  count: number;
  /** The caption templates, in id order. */
  templates: readonly string[];
  /** The token length of every rendered caption (padded with {@link PAD_ID}). */
  maxLength: number;
  /** (count, templateCount, maxLength) token ids, flattened. */
  tokens: Int32Array;
  /** What each image's captions say about it, by image. */
  descriptions: DigitDescription[];
}

/** Measure, describe and tokenize a split (thresholds fitted on the training split). */
export function buildCaptionTable(
  split: Split,
  thresholds: CaptionThresholds,
  options: { templates?: readonly string[]; tokenizer?: Tokenizer; maxLength?: number } = {},
): CaptionTable {
  checkOptions("buildCaptionTable", options, { templates: true, tokenizer: true, maxLength: true });
  const templates = options.templates ?? TRAINING_TEMPLATES;
  const tokenizer = options.tokenizer ?? captionTokenizer();
  const maxLength = options.maxLength ?? CAPTION_MAX_LENGTH;
  const pixels = split.images.length / split.count;
  const tokens = new Int32Array(split.count * templates.length * maxLength);
  const descriptions: DigitDescription[] = [];
  for (let i = 0; i < split.count; i++) {
    const description = describeDigit(split.images.subarray(i * pixels, (i + 1) * pixels), split.labels[i], thresholds);
    descriptions.push(description);
    templates.forEach((template, t) =>
      tokens.set(tokenizer.encode(renderCaption(template, description), maxLength), (i * templates.length + t) * maxLength)
    );
  }
  return { count: split.count, templates, maxLength, tokens, descriptions };
}

/** The (maxLength,) token ids of image `index` rendered with template number `template` (a view). */
export function captionTokens(table: CaptionTable, index: number, template: number): Int32Array {
  const start = (index * table.templates.length + template) * table.maxLength;
  return table.tokens.subarray(start, start + table.maxLength);
}
