/**
 * Bad input, one row per public function × kind of bad input: each row's error must start with the
 * function's name and show the offending value, and no row may return (a NaN or anything else).
 * The kinds: NaN input, out-of-range label or index, a temperature or scale that overflows, a bad
 * shape, a bad seed. (Unknown option keys and null options: options.spec.ts; dtypes: dtypes.spec.ts;
 * NaN through the ops, which propagate it as torch does: spec/ops/nan.spec.ts.)
 */
import { expect } from "chai";
import * as T from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

const g = (): T.Generator => new T.Generator(0);
const embeddings = (rows = 4, dim = 3): Tensor => T.randn([rows, dim], g());
/** (4, 3) embeddings with a NaN at flat index 5. */
const withNaN = (): Tensor => {
  const t = embeddings();
  t.storage.data[5] = NaN;
  return t;
};

type Row = [fn: string, kind: string, run: () => unknown, message: RegExp];

const rows: Row[] = [
  // NaN input: every loss refuses it, naming the argument and where the NaN is.
  ["infoNCE", "NaN input", () => T.infoNCE(withNaN(), embeddings()), /^infoNCE: query \(shape \[4, 3\]\) contains NaN at flat index 5/],
  ["ntXent", "NaN input", () => T.ntXent(embeddings(), withNaN()), /^ntXent: z2 \(shape \[4, 3\]\) contains NaN at flat index 5/],
  [
    "clipLoss",
    "NaN input",
    () => T.clipLoss(withNaN(), embeddings()),
    /^clipLoss: imageFeatures \(shape \[4, 3\]\) contains NaN at flat index 5/,
  ],
  [
    "mocoLoss",
    "NaN input",
    () => T.mocoLoss(embeddings(), embeddings(), withNaN()),
    /^mocoLoss: queue \(shape \[4, 3\]\) contains NaN at flat index 5/,
  ],
  [
    "byolLoss",
    "NaN input",
    () => T.byolLoss(withNaN(), embeddings()),
    /^byolLoss: prediction \(shape \[4, 3\]\) contains NaN at flat index 5/,
  ],
  [
    "tiledInfoNCE",
    "NaN input",
    () => T.tiledInfoNCE(embeddings(), withNaN()),
    /^tiledInfoNCE: key \(shape \[4, 3\]\) contains NaN at flat index 5/,
  ],
  [
    "tiledClipLoss",
    "NaN input",
    () => T.tiledClipLoss(withNaN(), embeddings()),
    /^tiledClipLoss: imageFeatures \(shape \[4, 3\]\) contains NaN at flat index 5/,
  ],
  ["where", "NaN condition", () => T.where(T.tensor([0, NaN]), 1, 2), /^where: the condition contains NaN at flat index 1/],

  // Out-of-range labels and indices (torch: "Target 3 is out of bounds", "index out of range in self").
  [
    "crossEntropy",
    "label ≥ C",
    () => T.crossEntropy(T.zeros([2, 3]), [0, 3]),
    /^crossEntropy: target 3 at position 1 is out of range for the class dim of size 3/,
  ],
  [
    "crossEntropy",
    "negative label",
    () => T.crossEntropy(T.zeros([2, 3]), [-1, 0]),
    /^crossEntropy: target -1 at position 0 is out of range/,
  ],
  [
    "crossEntropy",
    "non-integer label",
    () => T.crossEntropy(T.zeros([2, 3]), T.tensor([0, 0.5])),
    /^crossEntropy: target 0.5 at position 1 is not an integer/,
  ],
  [
    "crossEntropy",
    "NaN label",
    () => T.crossEntropy(T.zeros([2, 3]), [0, NaN]),
    /^crossEntropy: target NaN at position 1 is not an integer/,
  ],
  [
    "indexSelect",
    "negative index",
    () => T.indexSelect(T.zeros([3, 2]), 0, [-1]),
    /^indexSelect: index -1 at position 0 is out of range for dim 0 of size 3/,
  ],
  [
    "indexSelect",
    "index ≥ size",
    () => T.indexSelect(T.zeros([3, 2]), 0, [0, 1, 3]),
    /^indexSelect: index 3 at position 2 is out of range/,
  ],
  [
    "gather",
    "negative index",
    () => T.gather(T.zeros([3, 2]), 1, T.tensor([[0], [-2], [1]])),
    /^gather: index -2 at position 1 is out of range for dim 1 of size 2/,
  ],
  [
    "Embedding",
    "negative index",
    () => new T.Embedding(5, 2, { generator: g() }).forward([1, -1]),
    /^Embedding: .*index -1 at position 1 is out of range/,
  ],
  ["embedding", "index ≥ size", () => T.embedding([7], T.zeros([5, 2]), [1], null), /^embedding: index 7 at position 0 is out of range/],

  // A temperature or scale whose logits overflow float32 (torch: the loss is NaN).
  [
    "infoNCE",
    "τ overflows",
    () => T.infoNCE(embeddings(), embeddings(), null, { temperature: 1e-39 }),
    /^infoNCE: temperature 1e-39 is too small: 1\/τ = 1\.0+\d*e\+39 overflows float32/,
  ],
  ["ntXent", "τ overflows", () => T.ntXent(embeddings(), embeddings(), { temperature: 1e-40 }), /^ntXent: temperature 1e-40 is too small/],
  [
    "mocoLoss",
    "τ overflows",
    () => T.mocoLoss(embeddings(), embeddings(), embeddings(), { temperature: 2e-39 }),
    /^mocoLoss: temperature 2e-39 is too small/,
  ],
  [
    "tiledInfoNCE",
    "τ overflows",
    () => T.tiledInfoNCE(embeddings(), embeddings(), { temperature: 5e-324 }),
    /^tiledInfoNCE: temperature 5e-324 is too small/,
  ],
  [
    "clipLoss",
    "τ overflows",
    () => T.clipLoss(embeddings(), embeddings(), { temperature: 1e-39 }),
    /^clipLoss: temperature 1e-39 is too small/,
  ],
  [
    "clipLoss",
    "exp(logitScale) overflows",
    () => T.clipLoss(embeddings(), embeddings(), { logitScale: 89 }),
    /^clipLoss: logitScale 89 is too large: exp\(s\) = .* overflows float32 .*s ≤ 88\.72/,
  ],
  [
    "tiledClipLoss",
    "exp(logitScale) overflows",
    () => T.tiledClipLoss(embeddings(), embeddings(), { logitScale: T.tensor(100) }),
    /^tiledClipLoss: logitScale 100 is too large/,
  ],
  [
    "temperatureSweep",
    "τ overflows",
    () => T.temperatureSweep({ z1: embeddings(), z2: embeddings() }, [0.1, 1e-39]),
    /^temperatureSweep: temperature 1e-39 is too small/,
  ],

  // Shapes: a number where an array is required, NaN / fractional / negative sizes, absurd sizes.
  ...(["zeros", "ones", "rand", "randn"] as const).flatMap((fn): Row[] => {
    const make = (shape: unknown) => (fn === "rand" || fn === "randn" ? T[fn](shape as number[], g()) : T[fn](shape as number[]));
    return [
      [fn, "number as shape", () => make(3), new RegExp(`^${fn}: shape must be an array of sizes, got the number 3; write \\[3\\]`)],
      [fn, "NaN size", () => make([2, NaN]), new RegExp(`^${fn}: invalid shape \\[2, NaN\\]`)],
      [fn, "fractional size", () => make([2.5]), new RegExp(`^${fn}: invalid shape \\[2\\.5\\]`)],
      [fn, "negative size", () => make([-1]), new RegExp(`^${fn}: invalid shape \\[-1\\]`)],
      [
        fn,
        "absurd size",
        () => make([1e5, 1e5]),
        new RegExp(`^${fn}: shape \\[100000, 100000\\] has 10000000000 elements, more than the 2147483647`),
      ],
    ];
  }),
  ["full", "number as shape", () => T.full(3 as never, 1), /^full: shape must be an array of sizes, got the number 3/],
  ["full", "absurd size", () => T.full([2 ** 16, 2 ** 16], 1), /^full: shape \[65536, 65536\] has 4294967296 elements/],
  ["tensor", "absurd shape", () => T.tensor([1], { shape: [1e6, 1e6] }), /^tensor: shape \[1000000, 1000000\] has 1000000000000 elements/],
  ["eye", "NaN size", () => T.eye(NaN), /^eye: invalid shape \[NaN, NaN\]/],
  ["eye", "absurd size", () => T.eye(1e5), /^eye: shape \[100000, 100000\] has 10000000000 elements/],
  ["arange", "infinite end", () => T.arange(0, Infinity), /^arange: start and end must be finite numbers, got start=0, end=Infinity/],
  ["arange", "NaN end", () => T.arange(NaN), /^arange: start and end must be finite numbers, got start=0, end=NaN/],
  ["arange", "absurd length", () => T.arange(0, 1e12), /^arange: shape \[1000000000000\] has 1000000000000 elements/],
  ["reshape", "NaN size", () => T.reshape(T.zeros([4]), [NaN, 2]), /^reshape: .*NaN/],

  // Seeds (torch.manual_seed(1.5): "expected a long, but got float").
  ["Generator", "fractional seed", () => new T.Generator(1.5), /^Generator: seed must be a whole number in \[0, 2\^53\), got 1\.5/],
  ["Generator", "NaN seed", () => new T.Generator(NaN), /^Generator: seed must be a whole number .*, got NaN/],
  ["Generator", "negative seed", () => new T.Generator(-3), /^Generator: seed must be a whole number .*, got -3/],
  ["Generator", "unsafe seed", () => new T.Generator(2 ** 60), /^Generator: seed must be a whole number .*, got 1152921504606847000/],
  [
    "Generator.manualSeed",
    "fractional seed",
    () => new T.Generator(0).manualSeed(0.5),
    /^Generator\.manualSeed: seed must be a whole number .*, got 0\.5/,
  ],
  ["manualSeed", "negative seed", () => T.manualSeed(-1), /^manualSeed: seed must be a whole number .*, got -1/],
  ["manualSeed", "string seed", () => T.manualSeed("7" as never), /^manualSeed: seed must be a whole number .*, got 7/],
];

describe("robustness: bad inputs are refused by name, with the offending value", () => {
  for (const [fn, kind, run, message] of rows) {
    it(`${fn}: ${kind}`, () => {
      let result: unknown;
      let thrown: Error | undefined;
      try {
        result = run();
      } catch (error) {
        thrown = error as Error;
      }
      const shown = result instanceof T.Tensor ? `a tensor ${JSON.stringify(result.toArray())}` : String(result);
      expect(thrown, `${fn} (${kind}) returned ${shown} instead of throwing`).to.be.instanceOf(Error);
      expect(thrown!.message).to.match(message);
      expect(thrown!.message.split("\n").length, "one short line").to.equal(1);
    });
  }

  it("the largest finite τ-scale is still accepted, and gives a finite loss", () => {
    const z = embeddings();
    expect(Number.isFinite(T.infoNCE(z, z.mul(2), null, { temperature: 3e-38 }).item())).to.equal(true);
    expect(Number.isFinite(T.clipLoss(z, z, { logitScale: 88 }).item())).to.equal(true);
  });
});
