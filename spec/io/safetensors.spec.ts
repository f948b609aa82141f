/**
 * safetensors: bit-exact round trips, interop with files written by Python/torch (both directions),
 * atomic writes, and clear errors for every kind of damaged file.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { loadSafetensors, parseSafetensors, saveSafetensors, writeFileAtomic } from "../../src/io/safetensors.js";
import { FIXTURE_DIR, bytesOf, bytesOfValues, readFixture } from "../optim/helpers.js";
import { JS_WRITTEN_METADATA, jsWrittenTensors, writeJsWrittenFixture } from "./js-written-fixture.js";

interface FileDescription {
  headerLength: number;
  fileSize: number;
  sha256: string;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: "F32" | "F64"; shape: number[]; dataOffsets: [number, number]; data: number[] }>;
}

const DTYPE_OF = { F32: "float32", F64: "float64" } as const;

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "contrastive-ts-safetensors-"));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Files in `dir` whose name marks them as a leftover temporary file. */
function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.includes(".tmp-"));
}

/** Check the loaded tensors against a torch-written.json-style description, bit for bit. */
function expectMatchesDescription(
  loaded: { tensors: Map<string, Tensor>; metadata: Record<string, string> },
  description: FileDescription,
): void {
  expect([...loaded.tensors.keys()].sort()).to.deep.equal(Object.keys(description.tensors).sort());
  for (const [name, want] of Object.entries(description.tensors)) {
    const t = loaded.tensors.get(name)!;
    expect(t.dtype, name).to.equal(DTYPE_OF[want.dtype]);
    expect(t.shape, name).to.deep.equal(want.shape);
    expect(bytesOf(t).equals(bytesOfValues(want.data, t.dtype)), `${name} bits`).to.equal(true);
  }
  expect(loaded.metadata).to.deep.equal(description.metadata);
}

describe("safetensors: round trip", () => {
  const dtypeArb = fc.constantFrom<DType>("float32", "float64");
  const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 });
  const valuesArb = (dtype: DType, count: number): fc.Arbitrary<number[]> =>
    fc.array(
      dtype === "float64"
        ? fc.oneof(fc.double(), fc.constantFrom(-0, 5e-324, -5e-324, 2 ** -1022, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity))
        : fc.oneof(fc.float(), fc.constantFrom(-0, 2 ** -149, -(2 ** -149), 2 ** -126, 3.4028234663852886e38, -3.4028234663852886e38)),
      { minLength: count, maxLength: count },
    );
  const entryArb = fc.tuple(dtypeArb, shapeArb).chain(([dtype, shape]) =>
    valuesArb(dtype, shape.reduce((a, b) => a * b, 1)).map((values) => tensor(values, { dtype, shape }))
  );

  it("is bit-exact for random shapes (incl. 0-d and empty) and values (incl. −0, subnormals, ±max, ±∞), float32 and float64", () => {
    const file = path.join(tmp, "roundtrip.safetensors");
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__metadata__"), entryArb, { maxKeys: 5 }),
        (record) => {
          saveSafetensors(file, record);
          const { tensors, metadata } = loadSafetensors(file);
          expect(metadata).to.deep.equal({});
          expect([...tensors.keys()].sort()).to.deep.equal(Object.keys(record).sort());
          for (const [name, t] of Object.entries(record)) {
            const back = tensors.get(name)!;
            expect(back.dtype).to.equal(t.dtype);
            expect(back.shape).to.deep.equal(t.shape);
            expect(bytesOf(back).equals(bytesOf(t))).to.equal(true);
            expect(back.isContiguous()).to.equal(true);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(leftovers(tmp)).to.deep.equal([]);
  });

  it("keeps metadata (unicode, empty strings, JSON-encoded values) and accepts a Map", () => {
    const file = path.join(tmp, "metadata.safetensors");
    const metadata = {
      method: "byol",
      hyperparameters: JSON.stringify({ lr: 0.2, tau: [0.99, 1] }),
      step: "17",
      seed: "0",
      empty: "",
      unicode: "τ₀ → 1 ✓",
      quote: 'a "quoted" \\ value',
    };
    saveSafetensors(file, new Map([["x", tensor([1, 2])]]), metadata);
    const loaded = loadSafetensors(file);
    expect(loaded.metadata).to.deep.equal(metadata);
    expect(JSON.parse(loaded.metadata.hyperparameters)).to.deep.equal({ lr: 0.2, tau: [0.99, 1] });
  });

  it("the header is padded with spaces to a multiple of 8 and tensors are laid out F64 first, then by name", () => {
    const file = path.join(tmp, "layout.safetensors");
    saveSafetensors(file, {
      b: tensor([1], { dtype: "float32" }),
      a: tensor([2], { dtype: "float32" }),
      z: tensor([3], { dtype: "float64" }),
    });
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).to.equal(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
    expect(Object.keys(header)).to.deep.equal(["z", "a", "b"]);
    expect(header.z.data_offsets).to.deep.equal([0, 8]);
    expect(header.a.data_offsets).to.deep.equal([8, 12]);
    expect(bytes.length).to.equal(8 + n + 16);
  });

  it("rejects what the format cannot hold, naming the file", () => {
    const file = path.join(tmp, "refused.safetensors");
    expect(() => saveSafetensors(file, { x: tensor([1]) }, { step: 3 as unknown as string })).to.throw(
      /saveSafetensors: '.*refused\.safetensors': metadata 'step' is a number; .* JSON\.stringify/,
    );
    expect(() => saveSafetensors(file, { __metadata__: tensor([1]) })).to.throw(/'__metadata__' is reserved/);
    expect(() => saveSafetensors(file, { x: [1, 2] as unknown as Tensor })).to.throw(/'x' is not a Tensor/);
    expect(fs.existsSync(file)).to.equal(false);
  });
});

describe("safetensors: interop with Python", () => {
  it("reads spec/fixtures/torch-written.safetensors bit for bit against torch-written.json", () => {
    const description = readFixture<FileDescription>("torch-written.json");
    const loaded = loadSafetensors(path.join(FIXTURE_DIR, "torch-written.safetensors"));
    expectMatchesDescription(loaded, description);
    // −0 stays negative, the float32 subnormal survives.
    const edge = loaded.tensors.get("edge_f32")!.toTypedArray();
    expect(Object.is(edge[1], -0)).to.equal(true);
    expect(edge[2]).to.equal(2 ** -149);
  });

  it("re-writing the torch-written tensors and metadata reproduces that file byte for byte (same layout as the Python writer)", () => {
    const description = readFixture<FileDescription>("torch-written.json");
    const loaded = loadSafetensors(path.join(FIXTURE_DIR, "torch-written.safetensors"));
    const file = path.join(tmp, "torch-rewritten.safetensors");
    saveSafetensors(file, loaded.tensors, loaded.metadata);
    const bytes = fs.readFileSync(file);
    expect(bytes.equals(fs.readFileSync(path.join(FIXTURE_DIR, "torch-written.safetensors")))).to.equal(true);
    expect(crypto.createHash("sha256").update(bytes).digest("hex")).to.equal(description.sha256);
  });

  it("the writer still reproduces the committed spec/fixtures/js-written.safetensors and its expected JSON byte for byte", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "js-written-"));
    const { safetensorsPath, expectedPath } = writeJsWrittenFixture(dir);
    const committed = fs.readFileSync(path.join(FIXTURE_DIR, "js-written.safetensors"));
    expect(
      fs.readFileSync(safetensorsPath).equals(committed),
      "js-written.safetensors differs: regenerate it (see spec/io/js-written-fixture.ts)",
    ).to.equal(true);
    expect(fs.readFileSync(expectedPath, "utf8")).to.equal(fs.readFileSync(path.join(FIXTURE_DIR, "js-written.expected.json"), "utf8"));
  });

  it("the committed js-written file reads back bit for bit as its expected JSON says (incl. the transposed view, row-major)", () => {
    const description = readFixture<FileDescription>("js-written.expected.json");
    const loaded = loadSafetensors(path.join(FIXTURE_DIR, "js-written.safetensors"));
    expectMatchesDescription(loaded, description);
    expect(loaded.metadata).to.deep.equal(JS_WRITTEN_METADATA);
    expect(loaded.tensors.get("transposed_f32")!.toArray()).to.deep.equal([[1, 4], [2, 5], [3, 6]]);
    expect([...loaded.tensors.keys()].sort()).to.deep.equal([...jsWrittenTensors().keys()].sort());
  });
});

describe("safetensors: atomic writes", () => {
  it("writing into a directory that does not exist fails with the path in the error and leaves nothing behind", () => {
    const file = path.join(tmp, "no-such-dir", "model.safetensors");
    expect(() => saveSafetensors(file, { x: tensor([1]) })).to.throw(
      /saveSafetensors: could not write '.*no-such-dir.*model\.safetensors': ENOENT/,
    );
    expect(fs.existsSync(path.dirname(file))).to.equal(false);
    expect(leftovers(tmp)).to.deep.equal([]);
  });

  it("a write that fails half way keeps the old file intact and removes the temporary file", () => {
    const file = path.join(tmp, "keep.safetensors");
    saveSafetensors(file, { x: tensor([1, 2, 3]) }, { version: "1" });
    const old = fs.readFileSync(file);
    // A tensor whose values cannot be produced: the failure happens after the header and 'a' were written.
    class PoisonedTensor extends Tensor {
      override isContiguous(): boolean {
        return false;
      }
      override toTypedArray(): Float32Array {
        throw new Error("disk on fire");
      }
    }
    const poisoned = new PoisonedTensor(tensor([1, 2]).storage);
    expect(() => saveSafetensors(file, { a: tensor([9, 9, 9, 9]), zz: poisoned }, { version: "2" })).to.throw(
      /could not write '.*keep\.safetensors': disk on fire/,
    );
    expect(fs.readFileSync(file).equals(old)).to.equal(true);
    expect(loadSafetensors(file).metadata).to.deep.equal({ version: "1" });
    expect(leftovers(tmp)).to.deep.equal([]);
  });

  it("writeFileAtomic: the temporary file lives next to the target and is renamed over it only when complete", () => {
    const file = path.join(tmp, "atomic.bin");
    fs.writeFileSync(file, "old");
    let seenDuringWrite: string[] = [];
    function* chunks(): Generator<Uint8Array> {
      yield Buffer.from("new ");
      seenDuringWrite = leftovers(tmp);
      expect(fs.readFileSync(file, "utf8")).to.equal("old");
      yield Buffer.from("contents");
    }
    writeFileAtomic(file, chunks());
    expect(seenDuringWrite).to.have.length(1);
    expect(seenDuringWrite[0]).to.match(new RegExp(`^atomic\\.bin\\.tmp-${process.pid}-\\d+$`));
    expect(fs.readFileSync(file, "utf8")).to.equal("new contents");
    expect(leftovers(tmp)).to.deep.equal([]);
  });
});

describe("safetensors: damaged files are refused with an error naming the file and the problem", () => {
  /** A file with this header (any JSON value, padded) followed by `data`. */
  function craft(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): string {
    let text = Buffer.from(rawHeader ?? JSON.stringify(header), "utf8");
    text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(text.length));
    const file = path.join(tmp, name);
    fs.writeFileSync(file, Buffer.concat([length, text, data]));
    return file;
  }
  const eightBytes = new Uint8Array(8);
  const good = { x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };

  it("a well-formed crafted file loads (the crafting helper itself is right)", () => {
    const t = loadSafetensors(craft("ok.safetensors", good, new Uint8Array(new Float32Array([1.5, -2]).buffer))).tensors.get("x")!;
    expect(Array.from(t.toTypedArray())).to.deep.equal([1.5, -2]);
  });

  it("truncated at any offset", () => {
    const source = path.join(FIXTURE_DIR, "torch-written.safetensors");
    const bytes = fs.readFileSync(source);
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const cuts: [number, RegExp][] = [
      [0, /it is 0 bytes long, shorter than the 8-byte header length/],
      [5, /it is 5 bytes long, shorter than the 8-byte header length/],
      [8, /the header length is 600 bytes but only 0 bytes follow/],
      [300, /the header length is 600 bytes but only 292 bytes follow/],
      [headerEnd - 1, /the header length is 600 bytes but only 599 bytes follow/],
      [headerEnd, /.*outside the data section of 0 bytes/],
      [headerEnd + 100, /.*outside the data section of 100 bytes/],
      [bytes.length - 1, /.*outside the data section of 267 bytes/],
    ];
    for (const [cut, message] of cuts) {
      const file = path.join(tmp, `truncated-${cut}.safetensors`);
      fs.writeFileSync(file, bytes.subarray(0, cut));
      expect(() => loadSafetensors(file), `cut at ${cut}`).to.throw(
        Error,
        new RegExp(`loadSafetensors: '.*truncated-${cut}\\.safetensors' is not a valid safetensors file: ` + message.source),
      );
    }
  });

  const cases: [string, () => string, RegExp][] = [
    ["garbage header", () => craft("garbage.safetensors", null, eightBytes, "{not json at all"), /header is not valid UTF-8 JSON/],
    ["header is an array", () => craft("array.safetensors", [1, 2]), /the header is not a JSON object/],
    ["header length beyond 2^53", () => {
      const file = path.join(tmp, "huge.safetensors");
      const bytes = Buffer.alloc(16);
      bytes.writeBigUInt64LE(2n ** 60n);
      fs.writeFileSync(file, bytes);
      return file;
    }, /header length is 1152921504606846976 bytes but only 8 bytes follow/],
    [
      "unknown dtype",
      () => craft("dtype.safetensors", { x: { dtype: "Q7", shape: [2], data_offsets: [0, 8] } }, eightBytes),
      /tensor 'x' has dtype 'Q7', not a safetensors dtype \(supported: F32, F64\)/,
    ],
    [
      "unsupported dtype",
      () => craft("f16.safetensors", { x: { dtype: "F16", shape: [4], data_offsets: [0, 8] } }, eightBytes),
      /dtype 'F16', a safetensors dtype this reader does not support/,
    ],
    [
      "missing dtype",
      () => craft("nodtype.safetensors", { x: { shape: [2], data_offsets: [0, 8] } }, eightBytes),
      /tensor 'x' has no dtype/,
    ],
    [
      "bad shape",
      () => craft("shape.safetensors", { x: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, eightBytes),
      /tensor 'x' has shape \[-2\]/,
    ],
    [
      "shape/size mismatch",
      () => craft("size.safetensors", { x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, eightBytes),
      /tensor 'x' of shape \[3\] F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
    [
      "offsets out of range",
      () => craft("range.safetensors", { x: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, eightBytes),
      /data_offsets \[8, 16\] outside the data section of 8 bytes/,
    ],
    [
      "offsets reversed",
      () => craft("reversed.safetensors", { x: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, eightBytes),
      /data_offsets \[8, 0\] outside/,
    ],
    [
      "offsets malformed",
      () => craft("malformed.safetensors", { x: { dtype: "F32", shape: [2], data_offsets: [0] } }, eightBytes),
      /data_offsets \[0\]; expected \[begin, end\]/,
    ],
    [
      "overlapping tensors",
      () =>
        craft("overlap.safetensors", {
          x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          y: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, new Uint8Array(12)),
      /tensor 'y' \(data_offsets \[4, 12\]\) overlaps the tensor before it, 'x', which ends at 8/,
    ],
    [
      "a gap between tensors",
      () => craft("gap.safetensors", { x: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, eightBytes),
      /bytes 0 to 4 of the data section belong to no tensor/,
    ],
    ["trailing bytes", () => craft("trailing.safetensors", good, new Uint8Array(12)), /4 bytes after the last tensor belong to no tensor/],
    [
      "non-string metadata",
      () => craft("meta.safetensors", { __metadata__: { step: 3 }, ...good }, eightBytes),
      /__metadata__\['step'\] is not a string/,
    ],
    ["a tensor entry that is not an object", () => craft("entry.safetensors", { x: 5 }), /the entry of tensor 'x' is not an object/],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => {
      const file = make();
      expect(() => loadSafetensors(file)).to.throw(
        Error,
        new RegExp(
          `loadSafetensors: '${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}' is not a valid safetensors file: .*` + message.source,
        ),
      );
    });
  }

  it("a file that does not exist", () => {
    expect(() => loadSafetensors(path.join(tmp, "absent.safetensors"))).to.throw(
      /loadSafetensors: cannot read '.*absent\.safetensors': ENOENT/,
    );
  });

  it("invalid UTF-8 bytes in the header", () => {
    expect(() =>
      parseSafetensors(
        Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20])]),
        "bytes.bin",
      )
    ).to.throw(
      /'bytes\.bin' is not a valid safetensors file: the 8-byte header is not valid UTF-8 JSON/,
    );
  });
});
