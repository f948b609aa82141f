/**
 * Every place that accepts a dtype refuses one it does not support, by the function's name and with
 * the list of supported dtypes, instead of silently computing in float32 (tasks: "flaot64", "int32",
 * "float16", null). One row per function that takes a dtype.
 */
import { expect } from "chai";
import * as T from "../../src/index.js";
import type { DType } from "../../src/index.js";

const g = (): T.Generator => new T.Generator(0);
const bad = (d: string | null) => d as unknown as DType;

const rows: Array<[string, (dtype: DType) => unknown]> = [
  ["tensor", (dtype) => T.tensor([1, 2], { dtype })],
  ["zeros", (dtype) => T.zeros([2], { dtype })],
  ["ones", (dtype) => T.ones([2], { dtype })],
  ["full", (dtype) => T.full([2], 3, { dtype })],
  ["zerosLike", (dtype) => T.zerosLike(T.zeros([2]), { dtype })],
  ["onesLike", (dtype) => T.onesLike(T.zeros([2]), { dtype })],
  ["fullLike", (dtype) => T.fullLike(T.zeros([2]), 3, { dtype })],
  ["eye", (dtype) => T.eye(2, 2, { dtype })],
  ["arange", (dtype) => T.arange(3, undefined, 1, { dtype })],
  ["rand", (dtype) => T.rand([2], g(), { dtype })],
  ["randn", (dtype) => T.randn([2], g(), { dtype })],
  ["to", (dtype) => T.zeros([2]).to(dtype)],
  ["Linear", (dtype) => new T.Linear(2, 3, { generator: g(), dtype })],
  ["Conv2d", (dtype) => new T.Conv2d(1, 2, 3, { generator: g(), dtype })],
  ["Embedding", (dtype) => new T.Embedding(4, 2, { generator: g(), dtype })],
  ["LayerNorm", (dtype) => new T.LayerNorm(4, { dtype })],
  ["BatchNorm1d", (dtype) => new T.BatchNorm1d(4, { dtype })],
  ["BatchNorm2d", (dtype) => new T.BatchNorm2d(4, { dtype })],
  ["MLP", (dtype) => new T.MLP([2, 3], { generator: g(), dtype })],
  ["MultiheadAttention", (dtype) => new T.MultiheadAttention(4, 2, { generator: g(), dtype })],
  ["TransformerEncoderLayer", (dtype) => new T.TransformerEncoderLayer(4, 2, { generator: g(), dtype })],
  ["PatchEmbedding", (dtype) => new T.PatchEmbedding({ imageSize: 4, patchSize: 2, inChannels: 1, embedDim: 4, generator: g(), dtype })],
  [
    "VisionTransformer",
    (dtype) =>
      new T.VisionTransformer({
        imageSize: 4,
        patchSize: 2,
        inChannels: 1,
        embedDim: 4,
        depth: 1,
        numHeads: 2,
        numClasses: 0,
        generator: g(),
        dtype,
      }),
  ],
];

describe("robustness: an unsupported dtype is refused by name, with the supported list", () => {
  for (const [fn, make] of rows) {
    it(fn, () => {
      for (const dtype of ["flaot64", "int32", "float16"]) {
        expect(() => make(bad(dtype)), `${fn} ${dtype}`).to.throw(
          new RegExp(`^${fn}: unknown dtype "${dtype}" \\(supported: float32, float64\\)`),
        );
      }
      // null is not "the default": refused as a null option (checkOptions) or as a dtype (.to)
      expect(() => make(bad(null)), `${fn} null`).to.throw(new RegExp(`^${fn}: (unknown dtype null|option 'dtype' is null)`));
      // and the supported ones still work
      expect(() => make("float64")).not.to.throw();
    });
  }
});
