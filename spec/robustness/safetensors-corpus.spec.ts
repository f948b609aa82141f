/**
 * safetensors, read as an attack surface: a corpus of malicious files, generated here in a temp
 * folder, each of which must be refused with one short line that names the file and the tensor or
 * field — quickly, and without allocating more than a few MB, however large the file.
 *
 * Budgets, measured after a warm-up call (JIT compiled, file in the page cache)
 * (CORPUS_COSTS=1 prints each file's cost):
 *   time        < 100 ms, best of 3 runs                  (performance.now)
 *   allocation  < 12 MB of JS heap + ArrayBuffers growth  (process.memoryUsage, first run after global.gc())
 * One full GC per file, before the run whose allocation is measured; the two other timed runs
 * follow a minor GC (a scavenge, ~1 ms). A full GC costs 100–200 ms once the whole suite is
 * loaded: with one before each of the 3 runs this was the second slowest spec file. Measuring
 * the allocation of one run right after a full GC is as strict as the minimum of three (any run
 * is ≥ the minimum); "the budgets can fail" below shows that it sees a 16 MB allocation of
 * either kind.
 * The worst cases before this reader was hardened: a 90 MB file with a deeply nested `shape` took
 * 34 s and 4.4 GB, or killed the process; 1.6 million empty tensors in a 95 MB header took 2.4 GB.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { tensor } from "../../src/tensor/creation.js";
import { SAFETENSORS_LIMITS, loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";

const TIME_BUDGET_MS = 100;
const ALLOCATION_BUDGET_BYTES = 12e6;
const { maxDepth, maxEntries, maxValues, maxHeaderBytes, maxNameBytes } = SAFETENSORS_LIMITS;

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "contrastive-ts-corpus-"));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Length field (u64 little-endian) + header bytes + data, as a file in `tmp`. */
function writeRaw(name: string, header: Buffer | string, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): string {
  const headerBytes = typeof header === "string" ? Buffer.from(header, "utf8") : header;
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.length));
  const file = path.join(tmp, name);
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, length);
  fs.writeSync(fd, headerBytes);
  fs.writeSync(fd, data);
  fs.closeSync(fd);
  return file;
}

/** A header given as a JS value (JSON.stringify, so always well-formed JSON). */
function writeHeader(name: string, header: unknown, data: Uint8Array = new Uint8Array(0)): string {
  return writeRaw(name, JSON.stringify(header), data);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function refusalOf(file: string): Error {
  try {
    loadSafetensors(file);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`loadSafetensors accepted '${file}'`);
}

/** The error must be one short line: the prefix with the file's name, then `problem`. */
function expectClearMessage(error: Error, file: string, problem: RegExp): void {
  expect(error.message).to.match(
    new RegExp(`^loadSafetensors: '${escapeRegExp(file)}' is not a valid safetensors file: .*${problem.source}`),
  );
  expect(error.message, "one line").to.not.include("\n");
  expect(error.message.length, `short: ${error.message.slice(0, 300)}`).to.be.below(file.length + 400);
}

interface Cost {
  ms: number;
  allocated: number;
}

/**
 * The cost of `action`, after one unmeasured warm-up run: the allocation of the first measured run
 * (started right after a full GC, so nothing collectable is left to hide a growth), and the best
 * wall time of 3 runs (the other two after a minor GC).
 */
function costOf(action: () => void): Cost {
  action(); // warm-up: JIT compiled, file in the page cache
  let ms = Infinity;
  let allocated = Infinity;
  for (let run = 0; run < 3; run++) {
    if (run === 0) global.gc?.(); // see the file header
    else global.gc?.({ type: "minor" });
    const before = process.memoryUsage();
    const start = performance.now();
    action();
    ms = Math.min(ms, performance.now() - start);
    const after = process.memoryUsage();
    if (run === 0) allocated = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  }
  return { ms, allocated };
}

/** Refused with `problem`, within the time and allocation budgets. */
function expectCheapRefusal(file: string, problem: RegExp): Cost {
  expectClearMessage(refusalOf(file), file, problem); // the message (and the warm-up)
  const best = costOf(() => refusalOf(file));
  if (process.env.CORPUS_COSTS) console.log(`${path.basename(file)}\t${best.ms.toFixed(1)} ms\t${(best.allocated / 1e6).toFixed(2)} MB`);
  expect(best.ms, `${path.basename(file)}: time (ms)`).to.be.below(TIME_BUDGET_MS);
  expect(best.allocated, `${path.basename(file)}: allocation (bytes)`).to.be.below(ALLOCATION_BUDGET_BYTES);
  return best;
}

describe("safetensors corpus: the budgets can fail", () => {
  it("the allocation measurement sees 16 MB of JS objects, and 16 MB of ArrayBuffer, each above the budget", () => {
    const kept: unknown[] = []; // every run's allocation stays alive until the measurement is taken, as a reader's header would
    const jsObjects = costOf(() => {
      const doubles: number[] = []; // a packed JS array of 2 million doubles, 8 bytes each (new Array(2e6) would be sparse)
      for (let i = 0; i < 2e6; i++) doubles.push(0.5);
      kept.push(doubles);
    });
    const arrayBuffer = costOf(() => {
      kept.push(new ArrayBuffer(16e6));
    });
    expect(kept).to.have.length(8); // warm-up + 3 runs, twice
    expect(jsObjects.allocated).to.be.above(ALLOCATION_BUDGET_BYTES);
    expect(arrayBuffer.allocated).to.be.above(ALLOCATION_BUDGET_BYTES);
  });
});

const f32 = (...values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const entry = (shape: unknown, offsets: unknown, dtype: unknown = "F32") => ({ dtype, shape, data_offsets: offsets });

describe("safetensors corpus: nesting bombs are refused before JSON.parse", () => {
  it("a 90 MB file whose shape nests 45 million deep: refused by its header length, before a header byte is read", () => {
    const depth = 45_000_000;
    const head = Buffer.from('{"x":{"dtype":"F32","data_offsets":[0,0],"shape":');
    const header = Buffer.concat([head, Buffer.alloc(depth, "["), Buffer.alloc(depth, "]"), Buffer.from("}}")]);
    const file = writeRaw("deep-shape-90MB.safetensors", header);
    expectCheapRefusal(file, new RegExp(`the header length ${header.length} exceeds the ${SAFETENSORS_LIMITS.maxHeaderBytes}-byte limit`));
  });

  it(`a 2 MB header whose shape nests 1 million deep: refused at depth ${maxDepth + 1}, the tensor named`, () => {
    const depth = 1_000_000;
    const head = Buffer.from('{"x":{"dtype":"F32","data_offsets":[0,0],"shape":');
    const header = Buffer.concat([head, Buffer.alloc(depth, "["), Buffer.alloc(depth, "]"), Buffer.from("}}")]);
    const file = writeRaw("deep-shape-2MB.safetensors", header);
    expectCheapRefusal(file, /tensor 'x', field 'shape': nesting deeper than 8 levels at byte \d+ of the header/);
  });

  it("a 0.2 MB file nested 1e5 deep (used to throw 'Maximum call stack size exceeded' with no file name)", () => {
    const header = `{"x":{"dtype":"F32","data_offsets":[0,0],"shape":${"[".repeat(1e5)}${"]".repeat(1e5)}}}`;
    const file = writeRaw("deep-shape.safetensors", header);
    expectCheapRefusal(file, /tensor 'x', field 'shape': nesting deeper than 8 levels/);
  });

  it("nesting inside __metadata__, with objects", () => {
    const header = `{"__metadata__":{"notes":${'{"a":'.repeat(1e5)}1${"}".repeat(1e5)}}}`;
    const file = writeRaw("deep-metadata.safetensors", header);
    expectCheapRefusal(file, /__metadata__\['notes'\]: nesting deeper than 8 levels/);
  });

  it("brackets, braces and escaped quotes inside strings are text, not nesting: the file loads", () => {
    const tricky = `"[[[[[[[[[[[[{{{{{{{{{{{{ \\" \\\\" ${"[".repeat(100)} \\u0022 ]]]`;
    const name = `w"[[[[[[[[[[\\`;
    const file = writeHeader("tricky-strings.safetensors", { __metadata__: { [tricky]: tricky }, [name]: entry([2], [0, 8]) }, f32(1, 2));
    const { tensors, metadata } = loadSafetensors(file);
    expect(metadata).to.deep.equal({ [tricky]: tricky });
    expect(Array.from(tensors.get(name)!.toTypedArray())).to.deep.equal([1, 2]);
  });

  it(`a near-miss nests ${maxDepth} deep or less and gets the validator's precise message`, () => {
    const file = writeHeader("shape-of-lists.safetensors", { x: entry([[2, 3]], [0, 24]) }, new Uint8Array(24));
    expectCheapRefusal(file, /tensor 'x' has shape \[\[2, 3\]\]; expected a list of non-negative integers \(entry 0 is \[2, 3\]\)/);
  });
});

describe("safetensors corpus: the length field", () => {
  const claims: [string, bigint, number, RegExp][] = [
    [
      "2^40 in a 16-byte file",
      2n ** 40n,
      8,
      /the header length is 1099511627776 bytes but only 8 bytes follow the length field \(truncated\?\)/,
    ],
    ["2^53 + 1 (no exact Number)", 2n ** 53n + 1n, 8, /the header length is 9007199254740993 bytes but only 8 bytes follow/],
    ["2^64 - 1", 2n ** 64n - 1n, 8, /the header length is 18446744073709551615 bytes but only 8 bytes follow/],
    ["beyond the end of the file by one byte", 41n, 40, /the header length is 41 bytes but only 40 bytes follow/],
  ];
  for (const [label, declared, headerBytes, problem] of claims) {
    it(label, () => {
      const file = writeRaw(`claim-${label.replace(/\W+/g, "-")}.safetensors`, Buffer.alloc(headerBytes, " "), new Uint8Array(0), declared);
      expectCheapRefusal(file, problem);
    });
  }

  it(`a header of ${maxHeaderBytes + 8} bytes is refused by its length alone (a sparse file: nothing of it is read)`, () => {
    const file = writeRaw("over-limit.safetensors", Buffer.from("{"), new Uint8Array(0), BigInt(maxHeaderBytes + 8));
    fs.truncateSync(file, 8 + maxHeaderBytes + 8);
    expectCheapRefusal(file, new RegExp(`the header length ${maxHeaderBytes + 8} exceeds the ${maxHeaderBytes}-byte limit`));
  });

  it("files shorter than the length field, and special files", () => {
    for (let size = 0; size < 8; size++) {
      const file = path.join(tmp, `short-${size}.safetensors`);
      fs.writeFileSync(file, Buffer.alloc(size));
      expectClearMessage(refusalOf(file), file, new RegExp(`it is ${size} bytes long, shorter than the 8-byte header length`));
    }
    expect(() => loadSafetensors(tmp)).to.throw(
      new RegExp(`^loadSafetensors: cannot read '${escapeRegExp(tmp)}': it is not a regular file$`),
    );
    if (fs.existsSync("/dev/zero")) {
      expect(() => loadSafetensors("/dev/zero")).to.throw(/^loadSafetensors: cannot read '\/dev\/zero': it is not a regular file$/);
    }
  });
});

describe("safetensors corpus: count bombs are refused during the scan", () => {
  it("1.6 million empty tensors in a 95 MB header: refused by its header length", () => {
    // `{"t0000000":{…},"t0000001":{…},…}`, built as bytes: one entry repeated by Buffer.alloc, then
    // each entry's 7 digits written in place (1.6 million template strings and a join took seconds).
    const count = 1_600_000;
    const piece = Buffer.from(`"t0000000":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},`);
    const header = Buffer.alloc(1 + count * piece.length, piece);
    header.copyWithin(1, 0, header.length - 1); // shift right by one for the opening brace
    header[0] = 0x7b; // {
    header[header.length - 1] = 0x7d; // } replaces the last entry's comma
    for (let i = 0; i < count; i++) {
      const digits = 1 + i * piece.length + 2; // after the brace (or comma), the quote and the t
      for (let d = 6, rest = i; d >= 0; d--, rest = Math.floor(rest / 10)) header[digits + d] = 0x30 + (rest % 10);
    }
    expect(header.subarray(0, 2 * piece.length + 2).toString()).to.equal(
      `{"t0000000":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"t0000001":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"`,
    );
    expect(JSON.parse(header.subarray(header.length - piece.length - 1).toString().replace(/^,/, "{"))).to.have.key("t1599999");
    expect(header.length).to.be.above(95e6);
    const file = writeRaw("empty-tensors-95MB.safetensors", header);
    expectCheapRefusal(file, new RegExp(`the header length ${header.length} exceeds the ${SAFETENSORS_LIMITS.maxHeaderBytes}-byte limit`));
  });

  it(`${maxEntries + 2000} empty tensors in a 0.7 MB header: refused after ${maxEntries} entries`, () => {
    const pieces: string[] = [];
    for (let i = 0; i < maxEntries + 2000; i++) {
      pieces.push(`"t${String(i).padStart(7, "0")}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    }
    const file = writeRaw("empty-tensors.safetensors", Buffer.from(`{${pieces.join(",")}}`));
    expectCheapRefusal(
      file,
      new RegExp(`the header has more than ${maxEntries} entries \\(the reader's limit; byte \\d+ of the header\\)`),
    );
  });

  it(`a shape of half a million zeros: refused after ${maxValues} values, the field named`, () => {
    const header = Buffer.concat([
      Buffer.from('{"x":{"dtype":"F32","data_offsets":[0,0],"shape":[0'),
      Buffer.alloc(1e6, ",0"),
      Buffer.from("]}}"),
    ]);
    const file = writeRaw("long-shape.safetensors", header);
    expectCheapRefusal(file, new RegExp(`tensor 'x', field 'shape': the header holds more than ${maxValues} JSON values`));
  });

  it("a quarter of a million metadata keys: refused after the value limit, __metadata__ named", () => {
    const header = Buffer.concat([Buffer.from('{"__metadata__":{"k":""'), Buffer.alloc(2.5e5 * 7, ',"k":""'), Buffer.from("}}")]);
    const file = writeRaw("metadata-keys.safetensors", header);
    expectCheapRefusal(file, new RegExp(`__metadata__\\['k'\\]: the header holds more than ${maxValues} JSON values`));
  });
});

describe("safetensors corpus: shapes", () => {
  const cases: [string, string, Uint8Array, RegExp][] = [
    [
      "negative",
      '{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x' has shape \[-2\]; expected a list of non-negative integers \(entry 0 is -2\)/,
    ],
    [
      "a fraction",
      '{"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x', field 'shape': the number 2\.5 .*is not an integer/,
    ],
    [
      "2.0, which JSON.parse would turn into 2",
      '{"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x', field 'shape': the number 2\.0 .*is not an integer/,
    ],
    [
      "an exponent",
      '{"x":{"dtype":"F32","shape":[1e400],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x', field 'shape': the number 1e400 .*is not an integer/,
    ],
    [
      "above 2^53",
      '{"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x' has shape \[100000000000000000000\].*\(entry 0 is 100000000000000000000\)/,
    ],
    [
      "a string",
      '{"x":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x' has shape \["2"\].*\(entry 0 is "2"\)/,
    ],
    ["not a list", '{"x":{"dtype":"F32","shape":8,"data_offsets":[0,8]}}', new Uint8Array(8), /tensor 'x' has shape 8; expected a list/],
    ["missing", '{"x":{"dtype":"F32","data_offsets":[0,8]}}', new Uint8Array(8), /tensor 'x' has shape undefined; expected a list/],
    [
      "shape × F32 above 2^53 bytes",
      '{"x":{"dtype":"F32","shape":[67108864,67108864,67108864],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x' of shape \[67108864, 67108864, 67108864\] F32 needs more than 2\^53 bytes/,
    ],
    [
      "shape × F64 above 2^53 bytes, one factor at a time",
      '{"x":{"dtype":"F64","shape":[4503599627370496,4],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /F64 needs more than 2\^53 bytes/,
    ],
    [
      "a product that does not match the bytes",
      '{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}',
      new Uint8Array(8),
      /tensor 'x' of shape \[3\] F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
  ];
  for (const [label, header, data, problem] of cases) {
    it(label, () => expectCheapRefusal(writeRaw(`shape-${label.replace(/\W+/g, "-")}.safetensors`, header, data), problem));
  }
  it("a huge dimension next to a 0 is an empty tensor, not an overflow", () => {
    const file = writeHeader("zero-dim.safetensors", { x: entry([0, 2 ** 52, 2 ** 52], [0, 0]) });
    expect(loadSafetensors(file).tensors.get("x")!.shape).to.deep.equal([0, 2 ** 52, 2 ** 52]);
  });
});

describe("safetensors corpus: data_offsets", () => {
  const eight = new Uint8Array(8);
  const cases: [string, unknown, Uint8Array, RegExp][] = [
    ["out of range", { x: entry([2], [8, 16]) }, eight, /tensor 'x' has data_offsets \[8, 16\] outside the data section of 8 bytes/],
    ["begin after end", { x: entry([0], [8, 0]) }, eight, /tensor 'x' has data_offsets \[8, 0\] outside the data section/],
    [
      "negative",
      { x: entry([2], [-8, 0]) },
      eight,
      /tensor 'x' has data_offsets \[-8, 0\]; expected \[begin, end\], non-negative integers/,
    ],
    ["three numbers", { x: entry([2], [0, 8, 16]) }, eight, /tensor 'x' has data_offsets \[0, 8, 16\]; expected \[begin, end\]/],
    ["strings", { x: entry([2], ["0", "8"]) }, eight, /tensor 'x' has data_offsets \["0", "8"\]; expected \[begin, end\]/],
    ["missing", { x: { dtype: "F32", shape: [2] } }, eight, /tensor 'x' has data_offsets undefined; expected \[begin, end\]/],
    [
      "overlapping",
      { x: entry([2], [0, 8]), y: entry([2], [4, 12]) },
      new Uint8Array(12),
      /tensor 'y' \(data_offsets \[4, 12\]\) overlaps the tensor before it, 'x', which ends at 8/,
    ],
    [
      "the same bytes twice",
      { x: entry([2], [0, 8]), y: entry([2], [0, 8]) },
      eight,
      /overlaps the tensor before it, '[xy]', which ends at 8/,
    ],
    [
      "a hole between two tensors",
      { x: entry([1], [0, 4]), y: entry([1], [8, 12]) },
      new Uint8Array(12),
      /bytes 4 to 8 of the data section belong to no tensor \(a gap before 'y'\)/,
    ],
    ["a hole at the start", { x: entry([1], [4, 8]) }, eight, /bytes 0 to 4 of the data section belong to no tensor \(a gap before 'x'\)/],
    ["bytes after the last tensor", { x: entry([1], [0, 4]) }, eight, /4 bytes after the last tensor belong to no tensor/],
  ];
  for (const [label, header, data, problem] of cases) {
    it(label, () => expectCheapRefusal(writeHeader(`offsets-${label.replace(/\W+/g, "-")}.safetensors`, header, data), problem));
  }
  it("a fraction in data_offsets", () => {
    expectCheapRefusal(
      writeRaw("offsets-fraction.safetensors", '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', eight),
      /tensor 'x', field 'data_offsets': the number 8\.0 .*is not an integer/,
    );
  });
  it("entries listed out of offset order are valid (the format orders by offset, not by header order)", () => {
    const file = writeHeader(
      "unsorted-ok.safetensors",
      { b: entry([1], [4, 8]), empty: entry([0], [4, 4]), a: entry([1], [0, 4]) },
      f32(1, 2),
    );
    const { tensors } = loadSafetensors(file);
    expect([...tensors.keys()]).to.deep.equal(["b", "empty", "a"]);
    expect(Array.from(tensors.get("a")!.toTypedArray())).to.deep.equal([1]);
    expect(Array.from(tensors.get("b")!.toTypedArray())).to.deep.equal([2]);
  });
});

describe("safetensors corpus: dtypes, entries, metadata", () => {
  const eight = new Uint8Array(8);
  const cases: [string, unknown, RegExp][] = [
    ["an unknown dtype", { x: entry([2], [0, 8], "Q7") }, /tensor 'x' has dtype 'Q7', not a safetensors dtype \(supported: F32, F64\)/],
    ["a lowercase dtype", { x: entry([2], [0, 8], "f32") }, /tensor 'x' has dtype 'f32', not a safetensors dtype/],
    ["a dtype that is a number", { x: entry([2], [0, 8], 32) }, /tensor 'x' has dtype 32, not a safetensors dtype/],
    [
      "a format dtype this reader does not support",
      { x: entry([4], [0, 8], "BF16") },
      /tensor 'x' has dtype 'BF16', a safetensors dtype this reader does not support \(supported: F32, F64\)/,
    ],
    ["no dtype", { x: { shape: [2], data_offsets: [0, 8] } }, /tensor 'x' has no dtype/],
    ["an entry that is a list", { x: [1, 2] }, /the entry of tensor 'x' is not an object: \[1, 2\]/],
    ["metadata that is a string", { __metadata__: "pt", x: entry([2], [0, 8]) }, /__metadata__ is "pt", not an object of strings/],
    [
      "a metadata value that is a number",
      { __metadata__: { step: 3 }, x: entry([2], [0, 8]) },
      /__metadata__\['step'\] is not a string: 3/,
    ],
    [
      "a metadata value that is an object",
      { __metadata__: { config: { lr: 1 } }, x: entry([2], [0, 8]) },
      /__metadata__\['config'\] is not a string: \{"lr": 1\}/,
    ],
    ["the header is a list", [1, 2], /the header is not a JSON object \(it starts with "\["\)/],
  ];
  for (const [label, header, problem] of cases) {
    it(label, () => expectCheapRefusal(writeHeader(`entry-${label.replace(/\W+/g, "-")}.safetensors`, header, eight), problem));
  }
  const raw: [string, string, RegExp][] = [
    ["an empty header", "        ", /the 8-byte header is empty; expected a JSON object/],
    [
      "text after the closing brace",
      '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} {}',
      /the header has more after its closing '\}' \(byte 55 of the header\)/,
    ],
    ["a bracket that closes nothing", '{"x":]}  ', /'\]' at byte 5 of the header closes nothing it opened/],
    [
      "a bracket closing a brace",
      '{"x":{"shape":[2}]}',
      /tensor 'x', field 'shape': '\}' at byte 16 of the header closes nothing it opened/,
    ],
    ["invalid JSON", '{"x":{"dtype":"F32",,}}', /the 23-byte header is not valid UTF-8 JSON \(.*\)/],
  ];
  for (const [label, header, problem] of raw) {
    it(label, () => expectCheapRefusal(writeRaw(`raw-${label.replace(/\W+/g, "-")}.safetensors`, header, eight), problem));
  }

  it(`a 1 MB dtype or name is refused after ${maxNameBytes} bytes; a bad value is quoted cut to 100 characters`, () => {
    const huge = "A".repeat(1e6);
    const dtype = writeHeader("huge-dtype.safetensors", { x: entry([2], [0, 8], huge) }, eight);
    expectCheapRefusal(
      dtype,
      new RegExp(
        `tensor 'x', field 'dtype': a string longer than ${maxNameBytes} bytes at byte 14 of the header \\(names and dtypes are short\\)`,
      ),
    );
    const name = writeHeader("huge-name.safetensors", { [huge]: entry([2], [0, 8], "Q7") }, eight);
    expectCheapRefusal(name, new RegExp(`a key longer than ${maxNameBytes} bytes at byte 1 of the header`));
    const long = "A".repeat(maxNameBytes);
    const longDtype = writeHeader("long-dtype.safetensors", { x: entry([2], [0, 8], long) }, eight);
    expectCheapRefusal(longDtype, /tensor 'x' has dtype 'A{100}…', not a safetensors dtype/);
    const longName = writeHeader("long-name.safetensors", { [long]: entry([2], [0, 8], "Q7") }, eight);
    expectCheapRefusal(longName, /tensor 'A{100}…' has dtype 'Q7'/);
    const shape = writeRaw(
      "long-bad-shape.safetensors",
      `{"x":{"dtype":"F32","data_offsets":[0,8],"shape":[${"1,".repeat(1e5)}-1]}}`,
      eight,
    );
    expectCheapRefusal(shape, /tensor 'x' has shape \[1, 1, .*…; expected a list of non-negative integers \(entry 100000 is -1\)/);
  });

  it("a header that is one metadata string up to the header limit, then a bad tensor: still a cheap refusal", () => {
    const notes = "n".repeat(SAFETENSORS_LIMITS.maxHeaderBytes - 200);
    const file = writeHeader("huge-metadata.safetensors", { __metadata__: { notes }, x: entry([2], [0, 8], "Q7") }, eight);
    expectCheapRefusal(file, /tensor 'x' has dtype 'Q7', not a safetensors dtype/);
  });

  it("a long metadata value is not a name: it loads", () => {
    const notes = "n".repeat(4 * maxNameBytes);
    const file = writeHeader("long-metadata.safetensors", { __metadata__: { notes }, x: entry([2], [0, 8]) }, eight);
    expect(loadSafetensors(file).metadata.notes).to.equal(notes);
  });

  it("a tensor named __proto__ is an ordinary tensor", () => {
    const file = writeRaw("proto.safetensors", '{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32(3, 4));
    const { tensors } = loadSafetensors(file);
    expect([...tensors.keys()]).to.deep.equal(["__proto__"]);
    expect(Array.from(tensors.get("__proto__")!.toTypedArray())).to.deep.equal([3, 4]);
  });
});

describe("safetensors corpus: duplicate names are an error, not 'the last one wins'", () => {
  const cases: [string, string, RegExp][] = [
    [
      "two tensors named w",
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      /tensor 'w' appears twice in the header/,
    ],
    [
      "the same name, once escaped",
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      /tensor 'w' appears twice in the header/,
    ],
    [
      "a field given twice",
      '{"w":{"dtype":"F64","dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      /tensor 'w' has the field 'dtype' twice/,
    ],
    [
      "a metadata key given twice",
      '{"__metadata__":{"step":"1","step":"2"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      /__metadata__ has the key 'step' twice/,
    ],
    [
      "__metadata__ twice",
      '{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      /__metadata__ appears twice in the header/,
    ],
  ];
  for (const [label, header, problem] of cases) {
    it(
      label,
      () => expectCheapRefusal(writeRaw(`duplicate-${label.replace(/\W+/g, "-")}.safetensors`, header, new Uint8Array(8)), problem),
    );
  }
});

describe("safetensors corpus: a header that is not UTF-8", () => {
  const cases: [string, number[]][] = [
    ["a stray 0xff", [0xff]],
    ["an overlong '/' (0xc0 0xaf)", [0xc0, 0xaf]],
    ["a lone surrogate (0xed 0xa0 0x80)", [0xed, 0xa0, 0x80]],
    ["a sequence cut short (0xe2 0x82)", [0xe2, 0x82]],
  ];
  for (const [label, bytes] of cases) {
    it(label, () => {
      const header = Buffer.concat([Buffer.from('{"__metadata__":{"a":"'), Buffer.from(bytes), Buffer.from('"}}')]);
      expectCheapRefusal(
        writeRaw(`utf8-${label.replace(/\W+/g, "-")}.safetensors`, header),
        /header is not valid UTF-8 JSON \(it is not UTF-8\)/,
      );
    });
  }
});

describe("safetensors corpus: truncated at every byte", () => {
  it("a file cut anywhere — inside the length, the header, or any tensor — is refused with the right message", () => {
    const whole = path.join(tmp, "whole.safetensors");
    saveSafetensors(whole, {
      a: tensor([1, 2, 3], { dtype: "float64" }),
      b: tensor([[1, 2], [3, 4]], { dtype: "float32" }),
      c: tensor([5], { dtype: "float32" }),
    }, { step: "7" });
    const bytes = fs.readFileSync(whole);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, { data_offsets?: [number, number] }>;
    const cutFile = path.join(tmp, "cut.safetensors");
    for (let cutAt = 0; cutAt < bytes.length; cutAt++) {
      fs.writeFileSync(cutFile, bytes.subarray(0, cutAt));
      let problem: RegExp;
      if (cutAt < 8) problem = new RegExp(`it is ${cutAt} bytes long, shorter than the 8-byte header length \\(truncated\\?\\)`);
      else if (cutAt < 8 + headerLength) {
        problem = new RegExp(
          `the header length is ${headerLength} bytes but only ${cutAt - 8} bytes follow the length field \\(truncated\\?\\)`,
        );
      } else {
        // The first tensor, in header order, that reaches past the cut is the one named.
        const dataLength = cutAt - 8 - headerLength;
        const [name, info] = Object.entries(header).find(([key, value]) => key !== "__metadata__" && value.data_offsets![1] > dataLength)!;
        problem = new RegExp(
          `tensor '${name}' has data_offsets \\[${
            info.data_offsets!.join(", ")
          }\\] outside the data section of ${dataLength} bytes \\(truncated\\?\\)`,
        );
      }
      expectClearMessage(refusalOf(cutFile), cutFile, problem);
    }
    expect(loadSafetensors(whole).metadata).to.deep.equal({ step: "7" });
  });
});

describe("safetensors corpus: the scan reads the header in 1 MiB chunks", () => {
  it("strings, escapes, keys and numbers cut by a chunk boundary at every position scan as one", () => {
    // The tail holds every kind of token; the padding slides it across the boundary at 2^20.
    const tail = (shape: string) => `","t\\\\":"a\\"[{\\\\\\u0041]"},"x":{"dtype":"F32","shape":${shape},"data_offsets":[0,0]}}`;
    const prefix = '{"__metadata__":{"pad":"';
    const boundary = 2 ** 20;
    for (let shift = 0; shift < 110; shift++) {
      const pad = "p".repeat(boundary - prefix.length - shift);
      const good = writeRaw("chunks.safetensors", prefix + pad + tail("[0,123456789]"));
      const { tensors, metadata } = loadSafetensors(good);
      expect(tensors.get("x")!.shape, `shift ${shift}`).to.deep.equal([0, 123456789]);
      expect(metadata, `shift ${shift}`).to.deep.equal({ pad, "t\\": 'a"[{\\A]' });
      const bad = writeRaw("chunks-bad.safetensors", prefix + pad + tail("[0,1234567.5]"));
      expectClearMessage(refusalOf(bad), bad, /tensor 'x', field 'shape': the number 1234567\.5 .*is not an integer/);
    }
  });
});

describe("safetensors corpus: files above 2 GiB", () => {
  it("a tensor that starts past 2^31 is read at its offset (a sparse file, nothing of the first tensor is read)", function() {
    // a: F32 of 2^29 + 2 values = 2^31 + 8 bytes of zeros (a hole in the file); b: 2 values after it.
    const big = 2 ** 29 + 2;
    const header = JSON.stringify({
      __metadata__: { note: "sparse" },
      a: entry([big], [0, 4 * big]),
      b: entry([2], [4 * big, 4 * big + 8]),
    });
    const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
    const file = writeRaw("over-2GiB.safetensors", padded);
    const dataStart = 8 + padded.length;
    fs.truncateSync(file, dataStart + 4 * big);
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, f32(1.5, -2.5), 0, 8, dataStart + 4 * big);
    fs.closeSync(fd);
    const stat = fs.statSync(file);
    if (stat.blocks * 512 > 1e8) {
      fs.rmSync(file);
      this.skip(); // this file system has no sparse files: the test would write 2 GiB to disk
    }
    expect(stat.size).to.be.above(2 ** 31);
    const start = performance.now();
    const { tensors, metadata } = loadSafetensors(file, { names: ["b"] });
    expect(performance.now() - start).to.be.below(TIME_BUDGET_MS);
    expect(metadata).to.deep.equal({ note: "sparse" });
    expect([...tensors.keys()]).to.deep.equal(["b"]);
    expect(Array.from(tensors.get("b")!.toTypedArray())).to.deep.equal([1.5, -2.5]);
    expect(loadSafetensors(file, { names: [] }).tensors.size).to.equal(0);
    expect(() => loadSafetensors(file, { names: ["c"] })).to.throw(
      /^loadSafetensors: '.*over-2GiB\.safetensors' has no tensor 'c' \(it has 2: 'a', 'b'\)$/,
    );
    fs.rmSync(file);
  });
});
