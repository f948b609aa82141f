/**
 * Bad input fails at the loss, with a message that starts with the loss's name and names the
 * shapes (or dtypes, or values) involved. Each row is the exact message a user will read.
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros, ones } from "../../src/tensor/creation.js";
import {
  infoNCE,
  rawInfoNCE,
  infoNCEFromSimilarities,
  ntXent,
  clipLoss,
  mocoLoss,
  byolLoss,
  similarity,
  pairedSimilarity,
  similarityStats,
  collapseMonitor,
  temperatureSweep,
  gradientNorms,
} from "../../src/losses/index.js";

const f64 = (shape: number[]) => ones(shape, { dtype: "float64" });
const f32 = (shape: number[]) => ones(shape, { dtype: "float32" });
const withValue = (shape: number[], index: number, value: number): Tensor => {
  const t = ones(shape, { dtype: "float64" });
  t.storage.data[index] = value;
  return t;
};

const cases: [string, () => unknown, string][] = [
  // mismatched batch sizes or dims
  ["ntXent batch sizes", () => ntXent(f64([4, 8]), f64([3, 8])), "ntXent: z1 has shape [4, 8] but z2 has shape [3, 8]"],
  ["ntXent dims", () => ntXent(f64([4, 8]), f64([4, 6])), "ntXent: z1 has shape [4, 8] but z2 has shape [4, 6]"],
  ["infoNCE batch sizes", () => infoNCE(f64([4, 8]), f64([5, 8])), "infoNCE: query has shape [4, 8] but positiveKey has shape [5, 8]"],
  [
    "infoNCE negatives dim",
    () => infoNCE(f64([4, 8]), f64([4, 8]), f64([6, 4])),
    "infoNCE: negativeKeys has shape [6, 4] but query has shape [4, 8]: the embedding dims (4 and 8) must match",
  ],
  [
    "clipLoss batch sizes",
    () => clipLoss(f64([4, 8]), f64([6, 8])),
    "clipLoss: imageFeatures has shape [4, 8] but textFeatures has shape [6, 8]",
  ],
  ["mocoLoss key", () => mocoLoss(f64([4, 8]), f64([2, 8]), f64([16, 8])), "mocoLoss: query has shape [4, 8] but key has shape [2, 8]"],
  [
    "mocoLoss queue dim",
    () => mocoLoss(f64([4, 8]), f64([4, 8]), f64([16, 7])),
    "mocoLoss: queue has shape [16, 7] but query has shape [4, 8]: the embedding dims (7 and 8) must match",
  ],
  ["byolLoss shapes", () => byolLoss(f64([4, 8]), f64([4, 9])), "byolLoss: prediction has shape [4, 8] but target has shape [4, 9]"],
  // temperature ≤ 0 or non-finite
  ["ntXent τ = 0", () => ntXent(f64([4, 8]), f64([4, 8]), { temperature: 0 }), "ntXent: temperature must be a finite number > 0, got 0"],
  [
    "infoNCE τ < 0",
    () => infoNCE(f64([4, 8]), f64([4, 8]), null, { temperature: -0.1 }),
    "infoNCE: temperature must be a finite number > 0, got -0.1",
  ],
  [
    "mocoLoss τ = NaN",
    () => mocoLoss(f64([4, 8]), f64([4, 8]), f64([8, 8]), { temperature: NaN }),
    "mocoLoss: temperature must be a finite number > 0, got NaN",
  ],
  [
    "clipLoss τ = ∞",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { temperature: Infinity }),
    "clipLoss: temperature must be a finite number > 0, got Infinity",
  ],
  [
    "clipLoss tensor τ ≤ 0",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { temperature: tensor(0, { dtype: "float64" }) }),
    "clipLoss: temperature must be a finite number > 0, got 0",
  ],
  [
    "clipLoss tensor τ not 0-d",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { temperature: tensor([0.07], { dtype: "float64" }) }),
    "clipLoss: temperature must be a 0-d tensor, got shape [1]",
  ],
  [
    "clipLoss tensor τ dtype",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { temperature: tensor(0.07) }),
    'clipLoss: temperature is float32 but imageFeatures is float64 [4, 8]; convert one with .to("float64")',
  ],
  [
    "clipLoss both",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { temperature: 0.07, logitScale: 2 }),
    "clipLoss: pass temperature or logitScale, not both (logitScale = log(1 / temperature))",
  ],
  [
    "clipLoss logitScale overflow",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { logitScale: 1000 }),
    "clipLoss: logitScale must be a finite number whose exp is finite and > 0, got 1000",
  ],
  [
    "clipLoss logitScale NaN",
    () => clipLoss(f64([4, 8]), f64([4, 8]), { logitScale: tensor(NaN, { dtype: "float64" }) }),
    "clipLoss: logitScale must be a finite number whose exp is finite and > 0, got NaN",
  ],
  // NaN / Infinity in the inputs
  ["ntXent NaN", () => ntXent(withValue([4, 8], 5, NaN), f64([4, 8])), "ntXent: z1 (shape [4, 8]) contains NaN at flat index 5"],
  [
    "infoNCE NaN in negatives",
    () => infoNCE(f64([2, 3]), f64([2, 3]), withValue([4, 3], 11, NaN)),
    "infoNCE: negativeKeys (shape [4, 3]) contains NaN at flat index 11",
  ],
  [
    "mocoLoss NaN in queue",
    () => mocoLoss(f64([2, 3]), f64([2, 3]), withValue([4, 3], 0, NaN)),
    "mocoLoss: queue (shape [4, 3]) contains NaN at flat index 0",
  ],
  [
    "byolLoss Infinity",
    () => byolLoss(f64([2, 3]), withValue([2, 3], 4, -Infinity)),
    "byolLoss: target (shape [2, 3]) contains -Infinity at flat index 4",
  ],
  // empty batch, wrong rank, not a tensor
  ["clipLoss empty", () => clipLoss(f64([0, 8]), f64([0, 8])), "clipLoss: imageFeatures is an empty batch (shape [0, 8])"],
  ["ntXent D = 0", () => ntXent(f64([4, 0]), f64([4, 0])), "ntXent: z1 has embedding dim 0 (shape [4, 0])"],
  [
    "infoNCE options as 3rd argument",
    () => infoNCE(f64([4, 8]), f64([4, 8]), { temperature: 0.2 } as unknown as Tensor),
    "infoNCE: negativeKeys must be a Tensor, or null / undefined for in-batch negatives (options go in the 4th argument)",
  ],
  [
    "infoNCE empty negatives",
    () => infoNCE(f64([4, 8]), f64([4, 8]), f64([0, 8])),
    "infoNCE: negativeKeys is empty (shape [0, 8]); omit it to use the in-batch negatives",
  ],
  [
    "byolLoss rank 1",
    () => byolLoss(f64([8]), f64([8])),
    "byolLoss: prediction must be a batch of embeddings of shape (N, D), got shape [8]",
  ],
  [
    "mocoLoss rank 3",
    () => mocoLoss(f64([4, 8]), f64([4, 8]), f64([2, 8, 8])),
    "mocoLoss: queue must be a batch of embeddings of shape (N, D), got shape [2, 8, 8]",
  ],
  ["ntXent not a tensor", () => ntXent([[1, 2]] as unknown as Tensor, f64([1, 2])), "ntXent: z1 must be a Tensor, got object"],
  // mixed dtypes
  [
    "ntXent dtypes",
    () => ntXent(f32([4, 8]), f64([4, 8])),
    'ntXent: z1 is float32 [4, 8] but z2 is float64 [4, 8]; convert one with .to("float32") or .to("float64")',
  ],
  [
    "mocoLoss dtypes",
    () => mocoLoss(f64([4, 8]), f64([4, 8]), f32([16, 8])),
    'mocoLoss: query is float64 [4, 8] but queue is float32 [16, 8]; convert one with .to("float64") or .to("float32")',
  ],
  [
    "clipLoss dtypes",
    () => clipLoss(f64([4, 8]), f32([4, 8])),
    'clipLoss: imageFeatures is float64 [4, 8] but textFeatures is float32 [4, 8]; convert one with .to("float64") or .to("float32")',
  ],
  // options
  [
    "infoNCE reduction",
    () => infoNCE(f64([4, 8]), f64([4, 8]), null, { reduction: "avg" as "mean" }),
    'infoNCE: reduction must be "mean", "sum" or "none", got "avg"',
  ],
  [
    "infoNCE metric",
    () => infoNCE(f64([4, 8]), f64([4, 8]), null, { metric: "l2" as "dot" }),
    'infoNCE: metric must be "cosine", "dot" or "euclidean", got "l2"',
  ],
  [
    "similarity dims",
    () => similarity(f64([3, 4]), f64([5, 6])),
    "similarity: a has shape [3, 4] but b has shape [5, 6]: the embedding dims (4 and 6) must match",
  ],
  [
    "pairedSimilarity rows",
    () => pairedSimilarity(f64([3, 4]), f64([5, 4])),
    "pairedSimilarity: a has shape [3, 4] but b has shape [5, 4]",
  ],
  [
    "rawInfoNCE shape",
    () => rawInfoNCE(f64([5])),
    "rawInfoNCE: logits must be (N, 1 + M) with N ≥ 1 and the positive in column 0, got shape [5]",
  ],
  [
    "infoNCEFromSimilarities τ",
    () => infoNCEFromSimilarities([0.8, 0.2], 0),
    "infoNCEFromSimilarities: temperature must be a finite number > 0, got 0",
  ],
  // diagnostics
  [
    "similarityStats one row",
    () => similarityStats(f64([1, 4])),
    "similarityStats: need at least 2 embeddings to compare, got shape [1, 4]",
  ],
  [
    "collapseMonitor one row",
    () => collapseMonitor(f64([1, 4])),
    "collapseMonitor: need at least 2 embeddings for a spread, got shape [1, 4]",
  ],
  [
    "collapseMonitor NaN",
    () => collapseMonitor(withValue([3, 4], 2, NaN)),
    "collapseMonitor: z (shape [3, 4]) contains NaN at flat index 2",
  ],
  ["temperatureSweep τ", () => temperatureSweep(() => 0, [0.1, -1]), "temperatureSweep: temperature must be a finite number > 0, got -1"],
  [
    "gradientNorms not a tensor",
    () => gradientNorms([["w", 3 as unknown as Tensor]]),
    'gradientNorms: parameter "w" must be a Tensor, got number',
  ],
];

describe("losses: error messages", () => {
  for (const [what, call, message] of cases) {
    it(`${what}: ${message}`, () => {
      expect(call).to.throw(Error, message);
      try {
        call();
      } catch (error) {
        expect((error as Error).message).to.equal(message);
      }
    });
  }

  it("every loss checks before computing: a bad τ is reported even when the shapes are also wrong", () => {
    expect(() => ntXent(f64([4, 8]), f64([3, 8]), { temperature: 0 })).to.throw(/^ntXent: temperature/);
    expect(() => ntXent(zeros([2, 2], { dtype: "float64" }), zeros([2, 2], { dtype: "float64" }))).to.not.throw();
  });
});
