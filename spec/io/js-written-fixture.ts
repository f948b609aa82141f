/**
 * The JS side of the safetensors interop fixture: a fixed set of tensors written by this project's
 * writer, and a JSON description of them that scripts/fixtures/make_safetensors_fixtures.py
 * (`verify_js_written`) checks bit for bit with plain Python.
 *
 * Regenerate (after a deliberate change to the writer or to the set below):
 *
 *   npm run build:spec && node build/spec/io/js-written-fixture.js
 *   /usr/bin/python3 scripts/fixtures/make_safetensors_fixtures.py      # prints "ok: js-written…"
 *
 * spec/io/safetensors.spec.ts re-creates both files in a temporary folder and asserts they equal
 * the committed ones byte for byte, so the writer cannot drift silently.
 *
 * Writes spec/fixtures/js-written.safetensors and spec/fixtures/js-written.expected.json:
 *   {"generator", "file", "headerLength", "fileSize", "sha256", "metadata": {str: str},
 *    "tensors": {name: {"dtype", "shape", "dataOffsets": [begin, end], "data": [...]}}}
 * (the schema of torch-written.json). float32 values are written as their exact float64 value,
 * −0 as -0.0, so the Python side can compare bit patterns.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../src/tensor/tensor.js";
import { tensor, randn, zeros } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { saveSafetensors } from "../../src/io/safetensors.js";
import { FIXTURE_DIR } from "../optim/helpers.js";

const F32_MAX = 3.4028234663852886e38;
const F64_MAX = Number.MAX_VALUE;

/** The fixed tensors: 0-d, edge values, seeded random matrices, a 3-d tensor, a transposed view, empty tensors, a dotted name. */
export function jsWrittenTensors(): Map<string, Tensor> {
  const generator = new Generator(4000);
  return new Map<string, Tensor>([
    ["scalar_f32", tensor(Math.PI, { dtype: "float32" })],
    ["scalar_f64", tensor(-Math.E, { dtype: "float64" })],
    [
      "edge_f32",
      tensor([0, -0, 2 ** -149, -(2 ** -149), 2 ** -127, 2 ** -126, F32_MAX, -F32_MAX, 1 / 3, 0.1, 65504], { dtype: "float32" }),
    ],
    ["edge_f64", tensor([0, -0, 5e-324, -5e-324, 2 ** -1023, 2 ** -1022, F64_MAX, -F64_MAX, 1 / 3, 0.1, 1e300], { dtype: "float64" })],
    ["matrix_f32", randn([3, 4], generator, { dtype: "float32" })],
    ["matrix_f64", randn([2, 5], generator, { dtype: "float64" })],
    ["cube_f64", tensor(Array.from({ length: 12 }, (_, i) => (i - 5.5) / 8), { shape: [2, 3, 2], dtype: "float64" })],
    // A non-contiguous view: the file must hold its values in row-major order of the view.
    ["transposed_f32", tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float32" }).transpose(0, 1)],
    ["empty_f32", zeros([0], { dtype: "float32" })],
    ["empty_f64", zeros([2, 0], { dtype: "float64" })],
    ["encoder.0.weight", tensor([[0.5, -0.25], [0.125, 1e-8]], { dtype: "float32" })],
  ]);
}

export const JS_WRITTEN_METADATA: Record<string, string> = {
  format: "pt",
  producer: "spec/io/js-written-fixture.ts (contrastive-ts saveSafetensors)",
  method: "simclr",
  hyperparameters: JSON.stringify({ lr: 0.3, temperature: 0.5, betas: [0.9, 0.999] }),
  step: "1234",
  seed: "42",
  unicode: "τ = 0.07 ✓",
};

/** Write js-written.safetensors and js-written.expected.json into `dir`; returns their paths. */
export function writeJsWrittenFixture(dir: string): { safetensorsPath: string; expectedPath: string } {
  const tensors = jsWrittenTensors();
  const safetensorsPath = path.join(dir, "js-written.safetensors");
  saveSafetensors(safetensorsPath, tensors, JS_WRITTEN_METADATA);
  const bytes = fs.readFileSync(safetensorsPath);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: number[] }
  >;
  const description = {
    generator: "spec/io/js-written-fixture.ts (contrastive-ts saveSafetensors)",
    file: "js-written.safetensors",
    headerLength,
    fileSize: bytes.length,
    sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
    metadata: JS_WRITTEN_METADATA,
    tensors: Object.fromEntries(
      Object.entries(header)
        .filter(([name]) => name !== "__metadata__")
        .map((
          [name, info],
        ) => [name, {
          dtype: info.dtype,
          shape: info.shape,
          dataOffsets: info.data_offsets,
          data: Array.from(tensors.get(name)!.toTypedArray()),
        }]),
    ),
  };
  const expectedPath = path.join(dir, "js-written.expected.json");
  fs.writeFileSync(expectedPath, encodeFixtureJson(description, 0) + "\n");
  return { safetensorsPath, expectedPath };
}

/** A number as Python's json would read it back exactly: −0 keeps its sign ("-0.0"); NaN/∞ are refused. */
function encodeNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`encodeFixtureJson: ${value} has no JSON form`);
  return Object.is(value, -0) ? "-0.0" : JSON.stringify(value);
}

function isLeaf(value: unknown): boolean {
  return value === null || ["number", "string", "boolean"].includes(typeof value);
}

function encodeLeaf(value: unknown): string {
  return typeof value === "number" ? encodeNumber(value) : JSON.stringify(value);
}

/** The layout of scripts/fixtures/fixture_json.py: one key per line, lists of leaves on one line. */
function encodeFixtureJson(value: unknown, level: number): string {
  const pad = "  ".repeat(level);
  const inner = "  ".repeat(level + 1);
  if (isLeaf(value)) return encodeLeaf(value);
  if (Array.isArray(value)) {
    if (value.every(isLeaf)) return `[${value.map(encodeLeaf).join(", ")}]`;
    return `[\n${value.map((item) => inner + encodeFixtureJson(item, level + 1)).join(",\n")}\n${pad}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  if (entries.length <= 6 && entries.every(([, v]) => isLeaf(v))) {
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${encodeLeaf(v)}`).join(", ")}}`;
  }
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${encodeFixtureJson(v, level + 1)}`).join(",\n")}\n${pad}}`;
}

// Run directly: regenerate the committed fixture.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { safetensorsPath, expectedPath } = writeJsWrittenFixture(FIXTURE_DIR);
  console.log(`wrote ${safetensorsPath} (${fs.statSync(safetensorsPath).size} bytes) and ${expectedPath}`);
}
