/**
 * safetensors: the tensor file format of Hugging Face, read and written here without any library,
 * so that a model trained in TypeScript loads in PyTorch (and back).
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"):
 *
 *   bytes 0 … 8         N, an unsigned 64-bit little-endian integer: the length of the header
 *   bytes 8 … 8+N       the header, UTF-8 JSON, padded with spaces to a multiple of 8 bytes:
 *                         { "__metadata__": { string: string },          (optional)
 *                           "<name>": { "dtype": "F32" | "F64",
 *                                       "shape": [d0, d1, …],
 *                                       "data_offsets": [begin, end] }, … }
 *   bytes 8+N …         the data: every tensor's values, row-major, little-endian, back to back;
 *                       offsets are relative to the first data byte, `end` is exclusive, and the
 *                       tensors tile the data section exactly (no gap, no overlap, nothing after)
 *
 * The writer orders tensors by element size (F64 first), then by name — the order of the
 * reference Rust implementation — so every tensor starts at a multiple of its element size, and
 * the same tensors always give the same bytes. Values are copied byte for byte: the round trip is
 * bit-exact for float32 and float64, including −0, subnormals and ±max.
 *
 * Writes are atomic: the file is written to `<path>.tmp-<pid>-<n>`, flushed to disk (fsync) and
 * renamed over `path`, so a crash or an error never leaves a half-written file at `path`, and an
 * existing file there stays intact until the new one is complete.
 *
 * Reads check everything (header length, JSON, dtypes, shapes, offsets) before returning, and every
 * error names the file and what is wrong with it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Tensor, allocate, type DType, type TypedArray } from "../tensor/tensor.js";
import { numel, shapeToString } from "../tensor/shape.js";

export type TensorMap = Map<string, Tensor> | Record<string, Tensor>;

export interface SafetensorsContents {
  /** The tensors, in the order of the file's header. Each is a fresh contiguous tensor. */
  tensors: Map<string, Tensor>;
  /** `__metadata__` (empty when the file has none). */
  metadata: Record<string, string>;
}

/** safetensors dtype names ↔ this project's dtypes. */
const DTYPE_TO_FORMAT: Record<DType, string> = { float32: "F32", float64: "F64" };
const FORMAT_TO_DTYPE: Record<string, DType> = { F32: "float32", F64: "float64" };
const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8 };
/** The dtypes the format defines that this reader does not (it refuses them by name). */
const OTHER_FORMAT_DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64"];
/** The reference implementation refuses headers above 100 MB; so does this one. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- writing ----------------------------------------------------------------------------------

/**
 * Write `tensors` (any shapes; float32 or float64) and optional string metadata to `filePath`,
 * atomically. Metadata values must be strings (the format says so): JSON-encode structured values,
 * e.g. `{ hyperparameters: JSON.stringify({ lr: 0.1 }) }`.
 */
export function saveSafetensors(filePath: string, tensors: TensorMap, metadata?: Record<string, string>): void {
  const op = "saveSafetensors";
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors ?? {});
  for (const [name, t] of entries) {
    if (typeof name !== "string" || name === "") throw new Error(`${op}: '${filePath}': tensor names must be non-empty strings`);
    if (name === "__metadata__") throw new Error(`${op}: '${filePath}': '__metadata__' is reserved by the format and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new Error(`${op}: '${filePath}': '${name}' is not a Tensor`);
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== "object") throw new Error(`${op}: '${filePath}': metadata must be an object of strings`);
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new Error(`${op}: '${filePath}': metadata '${key}' is a ${typeof value}; the format allows only strings, so JSON.stringify it`);
      }
    }
  }

  // Layout: larger elements first, then by name; offsets back to back.
  const ordered = entries.slice().sort(([nameA, a], [nameB, b]) => ITEM_SIZE[b.dtype] - ITEM_SIZE[a.dtype] || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0));
  // The header, serialized entry by entry (a plain object would silently drop a name like "__proto__").
  const headerEntries: [string, string][] = []; // (key, value as JSON text)
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    headerEntries.push(["__metadata__", jsonObject(Object.entries(metadata).map(([key, value]) => [key, JSON.stringify(value)]))]);
  }
  let offset = 0;
  for (const [name, t] of ordered) {
    const byteLength = t.numel() * ITEM_SIZE[t.dtype];
    headerEntries.push([name, JSON.stringify({ dtype: DTYPE_TO_FORMAT[t.dtype], shape: t.shape, data_offsets: [offset, offset + byteLength] })]);
    offset += byteLength;
  }
  const headerJson = Buffer.from(jsonObject(headerEntries), "utf8");
  const paddedLength = Math.ceil(headerJson.length / 8) * 8;
  const headerBlock = Buffer.alloc(8 + paddedLength, 0x20); // spaces
  headerBlock.writeBigUInt64LE(BigInt(paddedLength), 0);
  headerJson.copy(headerBlock, 8);

  // The tensors' bytes are produced one at a time, while the file is being written.
  function* chunks(): Generator<Uint8Array> {
    yield headerBlock;
    for (const [, t] of ordered) yield littleEndianBytes(t);
  }
  writeFileAtomic(filePath, chunks(), op);
}

/** `{"k1":v1,"k2":v2}` from keys and values that are already JSON text (compact, like JSON.stringify). */
function jsonObject(entries: [string, string][]): string {
  return `{${entries.map(([key, jsonValue]) => `${JSON.stringify(key)}:${jsonValue}`).join(",")}}`;
}

/** The values of `t`, row-major, as little-endian bytes (a view of the tensor's own buffer when possible). */
function littleEndianBytes(t: Tensor): Uint8Array {
  const n = t.numel();
  let values: TypedArray;
  if (t.isContiguous()) values = t.storage.data.subarray(t.storage.offset, t.storage.offset + n);
  else values = t.toTypedArray();
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    if (t.dtype === "float64") view.setFloat64(8 * i, values[i], true);
    else view.setFloat32(4 * i, values[i], true);
  }
  return out;
}

let temporaryFileCounter = 0;

/**
 * Write `chunks` to `filePath` atomically: to a temporary file next to it (same directory, so the
 * rename cannot cross file systems), fsync, then rename over `filePath`. If anything fails — the
 * directory does not exist, the disk is full, producing a chunk throws — the temporary file is
 * removed, `filePath` is untouched, and the error names `filePath`.
 */
export function writeFileAtomic(filePath: string, chunks: Iterable<Uint8Array>, op = "writeFileAtomic"): void {
  temporaryFileCounter += 1;
  const temporaryPath = `${filePath}.tmp-${process.pid}-${temporaryFileCounter}`;
  let fd: number | null = null;
  try {
    fd = fs.openSync(temporaryPath, "wx"); // fails rather than overwrite a file of the same name
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += fs.writeSync(fd, chunk, written, chunk.byteLength - written);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temporaryPath, filePath);
  } catch (error) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing: the original error is the one to report
      }
    }
    try {
      fs.unlinkSync(temporaryPath);
    } catch {
      // the temporary file was never created, or is already gone
    }
    throw new Error(`${op}: could not write '${filePath}': ${(error as Error).message}`, { cause: error });
  }
  syncDirectory(path.dirname(filePath));
}

/** Make the rename itself durable (best effort: not every platform can fsync a directory). */
function syncDirectory(directory: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(directory, "r");
    fs.fsyncSync(fd);
  } catch {
    // e.g. Windows; the file's own data is already on disk
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

// ---- reading ----------------------------------------------------------------------------------

/** Read and validate a safetensors file: every tensor as a fresh contiguous Tensor, and its metadata. */
export function loadSafetensors(filePath: string): SafetensorsContents {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (error) {
    throw new Error(`loadSafetensors: cannot read '${filePath}': ${(error as Error).message}`, { cause: error });
  }
  return parseSafetensors(bytes, filePath);
}

/** Parse the bytes of a safetensors file; `source` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, source = "<buffer>"): SafetensorsContents {
  const fail = (problem: string): never => {
    throw new Error(`loadSafetensors: '${source}' is not a valid safetensors file: ${problem}`);
  };
  const size = bytes.byteLength;
  if (size < 8) fail(`it is ${size} bytes long, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(size - 8)) fail(`the header length is ${declared} bytes but only ${size - 8} bytes follow the length field (truncated?)`);
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) fail(`the header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);

  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    header = JSON.parse(text);
  } catch (error) {
    fail(`the ${headerLength}-byte header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail("the header is not a JSON object");

  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  const metadataEntries: [string, string][] = [];
  const layout: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info)) fail("__metadata__ is not an object");
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== "string") fail(`__metadata__['${key}'] is not a string`);
        metadataEntries.push([key, value as string]);
      }
      continue;
    }
    if (info === null || typeof info !== "object" || Array.isArray(info)) fail(`the entry of tensor '${name}' is not an object`);
    const { dtype: format, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof format !== "string") fail(`tensor '${name}' has no dtype`);
    const dtype = FORMAT_TO_DTYPE[format as string];
    if (dtype === undefined) {
      const known = OTHER_FORMAT_DTYPES.includes(format as string) ? "a safetensors dtype this reader does not support" : "not a safetensors dtype";
      fail(`tensor '${name}' has dtype '${String(format)}', ${known} (supported: F32, F64)`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end], non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      fail(`tensor '${name}' has data_offsets [${begin}, ${end}] outside the data section of ${dataLength} bytes (truncated?)`);
    }
    const expectedBytes = numel(shape as number[]) * ITEM_SIZE[dtype];
    if (end - begin !== expectedBytes) {
      fail(`tensor '${name}' of shape ${shapeToString(shape as number[])} ${format} needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    layout.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }

  // The tensors must tile the data section: sorted by offset, each starts where the previous ends.
  const byOffset = layout.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const entry of byOffset) {
    if (entry.begin < cursor) fail(`tensor '${entry.name}' (data_offsets [${entry.begin}, ${entry.end}]) overlaps the tensor before it, which ends at ${cursor}`);
    if (entry.begin > cursor) fail(`bytes ${cursor} to ${entry.begin} of the data section belong to no tensor (a gap before '${entry.name}')`);
    cursor = entry.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor belong to no tensor (the data section is ${dataLength} bytes, the tensors cover ${cursor})`);

  // Everything is valid: copy each tensor's bytes into a fresh, aligned typed array.
  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, begin, end } of layout) {
    const count = numel(shape);
    const values = allocate(dtype, count);
    const source = bytes.subarray(dataStart + begin, dataStart + end);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength).set(source);
    } else {
      const sourceView = new DataView(source.buffer, source.byteOffset, source.byteLength);
      for (let i = 0; i < count; i++) values[i] = dtype === "float64" ? sourceView.getFloat64(8 * i, true) : sourceView.getFloat32(4 * i, true);
    }
    tensors.set(name, Tensor.fromTypedArray(values, shape));
  }
  return { tensors, metadata: Object.fromEntries(metadataEntries) }; // own properties, whatever the keys
}
