/**
 * Every exported function and constructor that takes an options object refuses a key it does not
 * know, naming itself, the key and the valid keys, and suggests the closest key within edit
 * distance 2; and refuses `null` for an option that has a default (undefined is the default).
 *
 * The list of functions is derived from the exports of src/index.ts (spec/robustness/exports.ts),
 * not written here: a function added with an `options` parameter joins this table by itself, and
 * fails it until it calls checkOptions (src/tensor/options.ts) first thing.
 */
import { expect } from "chai";
import * as T from "../../src/index.js";
import { closestKey } from "../../src/tensor/options.js";
import { publicExports, type Export } from "./exports.js";

/** Options that accept null on purpose (as torch accepts None there). */
const NULLABLE: Record<string, readonly string[]> = {
  maxPool2d: ["stride"],
  avgPool2d: ["stride"],
  batchNorm: ["weight", "bias", "runningMean", "runningVar"],
  BatchNorm: ["momentum"],
  BatchNorm1d: ["momentum"],
  BatchNorm2d: ["momentum"],
  Embedding: ["paddingIdx"],
  TransformerEncoder: ["norm"],
};

/** Call `e` with `options` in its options position and undefined everywhere else. */
function callWith(e: Export, options: unknown): unknown {
  const args: unknown[] = new Array(e.optionsIndex + 1).fill(undefined);
  args[e.optionsIndex] = options;
  const callable = e.value as unknown as (...a: unknown[]) => unknown;
  return e.isClass ? Reflect.construct(e.value, args) : callable(...args);
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return "(no error)";
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const withOptions = publicExports().filter((e) => e.optionsIndex >= 0);

describe("robustness: options objects", () => {
  it("the export scan finds the functions that take options (and misses none of the known ones)", () => {
    const names = withOptions.map((e) => e.name);
    expect(names.length).to.be.greaterThan(90);
    for (
      const known of [
        "infoNCE",
        "ntXent",
        "clipLoss",
        "mocoLoss",
        "tiledInfoNCE",
        "tiledClipLoss",
        "Linear",
        "Conv2d",
        "AdamW",
        "SGD",
        "LARS",
        "cosineWithWarmup",
        "normalize",
        "crossEntropy",
        "var",
        "std",
        "maxPool2d",
        "zeros",
        "arange",
        "SimCLR",
        "MoCo",
        "BYOL",
        "CLIP",
        "data.TwoViewLoader",
      ]
    ) {
      expect(names, known).to.include(known);
    }
  });

  describe("an unknown key is refused by name, with the valid keys", () => {
    for (const e of withOptions) {
      const fn = e.name.replace(/^data\./, "");
      it(e.name, () => {
        const message = errorOf(() => callWith(e, { notAnOption: 1 }));
        expect(message).to.match(new RegExp(`^${escape(fn)}: unknown option 'notAnOption' \\((valid: |it takes no options)`));
      });
    }
  });

  describe("null is not the default: refused for every option that has one", () => {
    for (const e of withOptions) {
      const fn = e.name.replace(/^data\./, "");
      it(e.name, () => {
        const valid = /valid: ([^)]*)\)/.exec(errorOf(() => callWith(e, { notAnOption: 1 })))?.[1].split(", ") ?? [];
        const nullable = NULLABLE[fn] ?? [];
        const checked = valid.filter((key) => !nullable.includes(key));
        expect(checked.length + nullable.length, `${fn} has options`).to.be.greaterThan(0);
        for (const key of checked) {
          expect(errorOf(() => callWith(e, { [key]: null })), `${fn} { ${key}: null }`).to.match(
            new RegExp(`^${escape(fn)}: option '${key}' is null`),
          );
        }
      });
    }
  });

  it("an options argument that is not an object is refused", () => {
    expect(() => T.ntXent(T.ones([2, 2]), T.ones([2, 2]), null as never)).to.throw(/^ntXent: options must be an object, got null/);
    expect(() => T.zeros([2], 3 as never)).to.throw(/^zeros: options must be an object, got number/);
  });

  // The misspellings users make, each with the suggestion it gets.
  const typos: Array<[string, () => unknown, string, string | null]> = [
    ["infoNCE", () => T.infoNCE(T.ones([2, 2]), T.ones([2, 2]), null, { temprature: 0.1 } as never), "temprature", "temperature"],
    ["ntXent", () => T.ntXent(T.ones([2, 2]), T.ones([2, 2]), { reduce: "sum" } as never), "reduce", null],
    ["infoNCE", () => T.infoNCE(T.ones([2, 2]), T.ones([2, 2]), null, { reduce: "sum" } as never), "reduce", null],
    ["clipLoss", () => T.clipLoss(T.ones([2, 2]), T.ones([2, 2]), { logit_scale: 2 } as never), "logit_scale", "logitScale"],
    ["tiledInfoNCE", () => T.tiledInfoNCE(T.ones([2, 2]), T.ones([2, 2]), { tilesize: 1 } as never), "tilesize", "tileSize"],
    ["Linear", () => new T.Linear(2, 2, { generator: new T.Generator(0), baias: false } as never), "baias", "bias"],
    ["AdamW", () => new T.AdamW([T.zeros([2], { requiresGrad: true })], { weight_decay: 0.1 } as never), "weight_decay", "weightDecay"],
    ["crossEntropy", () => T.crossEntropy(T.zeros([1, 2]), [0], { label_smoothing: 0.1 } as never), "label_smoothing", "labelSmoothing"],
  ];
  describe("a misspelt key gets the closest valid one", () => {
    for (const [fn, run, key, suggestion] of typos) {
      it(`${fn} { ${key} }`, () => {
        const hint = suggestion === null ? "valid: " : `did you mean '${suggestion}'\\? valid: `;
        expect(run).to.throw(new RegExp(`^${fn}: unknown option '${key}' \\(${hint}`));
      });
    }
  });

  it("closestKey: within edit distance 2 (a swap counts once), case-insensitive, else null", () => {
    expect(closestKey("temprature", ["temperature", "reduction"])).to.equal("temperature");
    expect(closestKey("tmeperature", ["temperature"])).to.equal("temperature");
    expect(closestKey("TILESIZE", ["tileSize"])).to.equal("tileSize");
    expect(closestKey("reduce", ["reduction", "metric"])).to.equal(null);
  });
});
