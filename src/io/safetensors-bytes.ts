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
 * This file works on bytes only (`serializeSafetensors(tensors)` → Uint8Array, `parseSafetensors(bytes)`),
 * so it runs wherever JavaScript does: a browser downloads or uploads a checkpoint as bytes. Files
 * are ./safetensors.ts (Node): `saveSafetensors(path, …)` writes these bytes atomically, and
 * `loadSafetensors(path)` runs the reader below over positioned reads of an open file.
 *
 * Reads treat the bytes as hostile (they may have been downloaded): the length, then the header, then
 * each tensor, read at its offset, never more than has been checked; the header is scanned for
 * nesting and size before it is parsed, and every field is checked before a tensor is allocated (the
 * "reading" section below). Every error is one line naming the file, the tensor or field, and the
 * bad value cut to 100 characters.
 *
 * @module
 */
import { Tensor, allocate, type DType, type TypedArray } from "../tensor/tensor.js";
import { numel, shapeToString } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";

/** Named tensors: a Map or a plain object of name → tensor. */
export type TensorMap = Map<string, Tensor> | Record<string, Tensor>;

/** What {@link loadSafetensors} and {@link parseSafetensors} return: the tensors and the metadata. */
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
const OTHER_FORMAT_DTYPES = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "C64",
  "I64",
  "U64",
];

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- writing ----------------------------------------------------------------------------------

/**
 * The bytes of a safetensors file holding `tensors` (any shapes; float32 or float64) and optional
 * string metadata. Metadata values must be strings (the format says so): JSON-encode structured
 * values, e.g. `{ hyperparameters: JSON.stringify({ lr: 0.1 }) }`. PyTorch: `safetensors.torch.save(tensors, metadata)`.
 */
export function serializeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  return concatBytes([...safetensorsChunks("serializeSafetensors", "<buffer>", tensors, metadata)]);
}

/**
 * The file's bytes in pieces: the header block, then each tensor's values (a view of its own buffer
 * when possible), produced one at a time as they are consumed. Everything is checked first, so an
 * invalid argument throws here, before anything is written. `op` and `filePath` name the caller in
 * errors (`saveSafetensors: 'model.safetensors': …`).
 */
export function safetensorsChunks(
  op: string,
  filePath: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Iterable<Uint8Array> {
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
        throw new Error(
          `${op}: '${filePath}': metadata '${key}' is a ${typeof value}; the format allows only strings, so JSON.stringify it`,
        );
      }
    }
  }

  // Layout: larger elements first, then by name; offsets back to back.
  const ordered = entries.slice().sort(([nameA, a], [nameB, b]) =>
    ITEM_SIZE[b.dtype] - ITEM_SIZE[a.dtype] || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0)
  );
  // The header, serialized entry by entry (a plain object would silently drop a name like "__proto__").
  const headerEntries: [string, string][] = []; // (key, value as JSON text)
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    headerEntries.push(["__metadata__", jsonObject(Object.entries(metadata).map(([key, value]) => [key, JSON.stringify(value)]))]);
  }
  let offset = 0;
  for (const [name, t] of ordered) {
    const byteLength = t.numel() * ITEM_SIZE[t.dtype];
    headerEntries.push([
      name,
      JSON.stringify({ dtype: DTYPE_TO_FORMAT[t.dtype], shape: t.shape, data_offsets: [offset, offset + byteLength] }),
    ]);
    offset += byteLength;
  }
  const headerJson = new TextEncoder().encode(jsonObject(headerEntries));
  const paddedLength = Math.ceil(headerJson.length / 8) * 8;
  const headerBlock = new Uint8Array(8 + paddedLength).fill(0x20); // spaces
  new DataView(headerBlock.buffer).setBigUint64(0, BigInt(paddedLength), true);
  headerBlock.set(headerJson, 8);

  // The tensors' bytes are produced one at a time, while the file is being written.
  function* chunks(): Generator<Uint8Array> {
    yield headerBlock;
    for (const [, t] of ordered) yield littleEndianBytes(t);
  }
  return { [Symbol.iterator]: chunks };
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

// ---- reading ----------------------------------------------------------------------------------
//
// A safetensors file is often downloaded, so the reader treats it as hostile. It reads in this
// order and never holds more than it has checked:
//
//   1. the 8-byte length N (a u64: anything above the bytes that follow, or above the header
//      limit, is refused before a single header byte is read, so 2^64 − 1 is as cheap as 9);
//   2. the header, in 1 MiB chunks, each scanned once, byte by byte, BEFORE any JSON.parse:
//      the scan counts nesting, entries and values and stops at the first limit it crosses, so a
//      bomb costs the bytes up to that point, not the whole header, and JSON.parse only ever
//      sees a header of bounded depth and size (a 1e5-deep `shape` would otherwise overflow the
//      stack, and 1.6 million tiny entries would cost gigabytes of JavaScript objects);
//   3. JSON.parse, then every entry is validated (dtype, shape, offsets, duplicates, tiling);
//   4. only then each requested tensor, straight into its own typed array, by positioned reads
//      at its offset (from a file, ./safetensors.ts, the file is never read whole, so files above
//      2 GiB work: only a single tensor must fit in one typed array).
//
// Why each limit, and what it costs: docs/nn-and-optim.md, "Reading files you did not write".

/**
 * The reader's limits. A valid header needs nesting depth 3 ({ name: { shape: [ … ] } }) and
 * about 10 + rank JSON values per tensor.
 */
export const SAFETENSORS_LIMITS = {
  /**
   * 2 MiB. The whole header is scanned and then parsed (about 8 ms and 4 bytes of memory per byte
   * of header), so this bound is what keeps every verdict, even on a header of one huge metadata
   * string, under 100 ms and ~10 MB. Real headers are far smaller: 10 000 entries (the limit below)
   * take about 1.5 MB, and this library's checkpoints a few kB. (The reference Rust implementation allows 100 MB; a file it reads that
   * has a larger header is refused here, by name, before any header byte is read.)
   */
  maxHeaderBytes: 2 * 1024 * 1024,
  /**
   * 3 is what a valid header needs; 8 leaves room for near-misses (a shape written as [[2, 3]])
   * to reach the validator and get its precise message. The Rust crate's JSON parser stops at
   * 128; anything deeper than 3 is invalid anyway, so a small limit costs nothing.
   */
  maxDepth: 8,
  /**
   * Top-level entries (tensors and `__metadata__`). Models split into files of a few hundred to a
   * few thousand tensors; 10 000 entries parse in tens of milliseconds.
   */
  maxEntries: 10_000,
  /** JSON values in all, keys included: 20 per entry (a tensor of rank r takes 10 + r). */
  maxValues: 200_000,
  /**
   * Bytes of a key, or of a string inside a tensor's entry: names and dtypes are short. Metadata
   * values are exempt (they hold JSON, e.g. an optimizer's state), bounded by the header alone.
   */
  maxNameBytes: 65_536,
} as const;

/** The header is read and scanned in chunks of this size (the scan's only allocation). */
const SCAN_CHUNK_BYTES = 1 << 20;
/** Values and names are quoted in messages cut to this many characters. */
const QUOTE_LIMIT = 100;

/** Options of {@link loadSafetensors} and {@link parseSafetensors}. */
export interface LoadSafetensorsOptions {
  /**
   * Read only these tensors (the header is still validated whole). `[]` reads the metadata alone,
   * without touching the data section. Default: every tensor.
   */
  names?: Iterable<string>;
}

/** Parse the bytes of a safetensors file; `source` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, source = "<buffer>", options: LoadSafetensorsOptions = {}): SafetensorsContents {
  checkOptions("parseSafetensors", options, { names: true });
  return readSafetensors(memorySource(bytes), source, options);
}

/** Where the bytes come from: an open file (positioned reads) or bytes already in memory. */
export interface ByteSource {
  readonly size: number;
  readonly inMemory: boolean;
  /** Bytes [position, position + length): a view when in memory, else freshly read. */
  bytesAt(position: number, length: number): Uint8Array;
  /** Fill `target` with the bytes starting at `position`. */
  readInto(target: Uint8Array, position: number): void;
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    inMemory: true,
    bytesAt: (position, length) => bytes.subarray(position, position + length),
    readInto: (target, position) => target.set(bytes.subarray(position, position + target.byteLength)),
  };
}

/** One tensor of the header, validated. */
interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The reader, over any source of bytes (./safetensors.ts runs it over an open file): checks the
 * length, scans and parses the header, validates every entry, then reads the requested tensors.
 */
export function readSafetensors(source: ByteSource, sourceName: string, options: LoadSafetensorsOptions): SafetensorsContents {
  const fail = (problem: string): never => {
    throw new Error(`loadSafetensors: '${sourceName}' is not a valid safetensors file: ${problem}`);
  };
  const { maxHeaderBytes } = SAFETENSORS_LIMITS;

  // 1. The length. Compared as a BigInt: a u64 above 2^53 has no exact Number.
  const size = source.size;
  if (size < 8) fail(`it is ${size} bytes long, shorter than the 8-byte header length (truncated?)`);
  const lengthBytes = source.bytesAt(0, 8);
  const declared = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(size - 8)) {
    fail(`the header length is ${declared} bytes but only ${size - 8} bytes follow the length field (truncated?)`);
  }
  const headerLength = Number(declared);
  if (headerLength > maxHeaderBytes) fail(`the header length ${headerLength} exceeds the ${maxHeaderBytes}-byte limit`);

  // 2. The header, scanned chunk by chunk before it is parsed.
  const scanner = new HeaderScanner(fail);
  const chunkBytes = source.inMemory ? Math.max(headerLength, 1) : SCAN_CHUNK_BYTES;
  const chunks: Uint8Array[] = [];
  for (let position = 0; position < headerLength; position += chunkBytes) {
    const chunk = source.bytesAt(8 + position, Math.min(chunkBytes, headerLength - position));
    scanner.scan(chunk, position);
    chunks.push(chunk);
  }
  scanner.finish(headerLength);
  const headerBytes = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
  chunks.length = 0;

  // 3. Parse and validate.
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    fail(`the ${headerLength}-byte header is not valid UTF-8 JSON (it is not UTF-8)`);
  }
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    fail(`the ${headerLength}-byte header is not valid UTF-8 JSON (${cut((error as Error).message)})`);
  }
  text = "";
  // The scan saw a '{' first and JSON.parse accepted the rest, so `header` is a plain object.
  checkNoDuplicateKeys(header, scanner, headerBytes, fail);

  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") metadata = validateMetadata(info, fail);
    else entries.push(validateEntry(name, info, dataLength, fail));
  }
  checkTiling(entries, dataLength, fail);

  // 4. The tensors, one positioned read each.
  let wanted = entries;
  if (options.names !== undefined) {
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    wanted = [...new Set(options.names)].map((name) => {
      const entry = byName.get(name);
      if (entry === undefined) {
        const some = entries.slice(0, 5).map((e) => `'${cut(e.name)}'`).join(", ");
        throw new Error(
          `loadSafetensors: '${sourceName}' has no tensor '${cut(name)}' (it has ${entries.length}${
            entries.length > 0 ? `: ${some}${entries.length > 5 ? ", …" : ""}` : ""
          })`,
        );
      }
      return entry;
    });
  }
  const tensors = new Map<string, Tensor>();
  for (const entry of wanted) tensors.set(entry.name, readTensor(source, sourceName, dataStart, entry));
  return { tensors, metadata };
}

/** `value` as short JSON-like text for a message: at most QUOTE_LIMIT characters, then "…". */
function preview(value: unknown): string {
  let text = "";
  // Stops as soon as the text is long enough, so a huge array costs QUOTE_LIMIT, not its size.
  const write = (v: unknown): void => {
    if (text.length > QUOTE_LIMIT) return;
    if (typeof v === "string") text += JSON.stringify(v.length > QUOTE_LIMIT ? v.slice(0, QUOTE_LIMIT) : v);
    else if (typeof v === "number") text += String(v); // String, not JSON: Infinity stays "Infinity"
    else if (Array.isArray(v)) {
      text += "[";
      for (let i = 0; i < v.length && text.length <= QUOTE_LIMIT; i++) {
        if (i > 0) text += ", ";
        write(v[i]);
      }
      text += "]";
    } else if (v !== null && typeof v === "object") {
      text += "{";
      let first = true;
      for (const key in v) {
        if (text.length > QUOTE_LIMIT) break;
        if (!first) text += ", ";
        first = false;
        text += `${JSON.stringify(key.length > QUOTE_LIMIT ? key.slice(0, QUOTE_LIMIT) : key)}: `;
        write((v as Record<string, unknown>)[key]);
      }
      text += "}";
    } else text += String(v);
  };
  write(value);
  return cut(text);
}

/** A name or text cut to QUOTE_LIMIT characters. */
function cut(text: string): string {
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `__metadata__`: an object whose every value is a string (the format says so). */
function validateMetadata(info: unknown, fail: (problem: string) => never): Record<string, string> {
  if (!isPlainObject(info)) fail(`__metadata__ is ${preview(info)}, not an object of strings`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
    if (typeof value !== "string") fail(`__metadata__['${cut(key)}'] is not a string: ${preview(value)}`);
    // defineProperty, not `metadata[key] =`: a key "__proto__" must stay an ordinary entry.
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

/**
 * One tensor entry: a dtype this reader supports, a shape of non-negative safe integers, and
 * data_offsets [begin, end] inside the data section holding exactly
 *   bytes = d0 · d1 · … · itemsize(dtype).
 */
function validateEntry(name: string, info: unknown, dataLength: number, fail: (problem: string) => never): TensorEntry {
  const label = `tensor '${cut(name)}'`;
  if (!isPlainObject(info)) fail(`the entry of ${label} is not an object: ${preview(info)}`);
  const { dtype: format, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (format === undefined) fail(`${label} has no dtype`);
  const dtype = typeof format === "string" ? FORMAT_TO_DTYPE[format] : undefined;
  if (dtype === undefined) {
    const known = typeof format === "string" && OTHER_FORMAT_DTYPES.includes(format)
      ? "a safetensors dtype this reader does not support"
      : "not a safetensors dtype";
    fail(
      `${label} has dtype ${typeof format === "string" ? `'${cut(format)}'` : preview(format)}, ${known} (supported: ${
        Object.keys(FORMAT_TO_DTYPE).join(", ")
      })`,
    );
  }
  const itemSize = ITEM_SIZE[dtype!];
  if (!Array.isArray(shape)) fail(`${label} has shape ${preview(shape)}; expected a list of non-negative integers`);
  const dims = shape as unknown[];
  const badDim = dims.findIndex((d) => !(Number.isSafeInteger(d) && (d as number) >= 0));
  if (badDim >= 0) {
    fail(`${label} has shape ${preview(shape)}; expected a list of non-negative integers (entry ${badDim} is ${preview(dims[badDim])})`);
  }
  // The byte count, refusing to leave the safe integers: [2^40, 2^40] F32 is not 2^82 rounded.
  let byteCount = dims.includes(0) ? 0 : itemSize;
  for (const d of dims as number[]) {
    if (byteCount === 0) break;
    if (byteCount > Number.MAX_SAFE_INTEGER / d) fail(`${label} of shape ${preview(shape)} ${format} needs more than 2^53 bytes`);
    byteCount *= d;
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`${label} has data_offsets ${preview(offsets)}; expected [begin, end], non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataLength) {
    fail(`${label} has data_offsets [${begin}, ${end}] outside the data section of ${dataLength} bytes (truncated?)`);
  }
  if (end - begin !== byteCount) {
    fail(
      `${label} of shape ${shapeToString(dims as number[])} ${format} needs ${byteCount} bytes but data_offsets [${begin}, ${end}] hold ${
        end - begin
      }`,
    );
  }
  return { name, dtype: dtype!, shape: (dims as number[]).slice(), begin, end };
}

/**
 * The tensors must tile the data section, as the reference implementation requires: sorted by
 * (begin, end), each begins where the previous one ends, the first at 0, the last at the end of
 * the file. No overlap (two tensors sharing bytes), no hole, nothing after the last tensor.
 */
function checkTiling(entries: TensorEntry[], dataLength: number, fail: (problem: string) => never): void {
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = "";
  for (const entry of byOffset) {
    if (entry.begin < cursor) {
      fail(
        `tensor '${cut(entry.name)}' (data_offsets [${entry.begin}, ${entry.end}]) overlaps the tensor before it, '${
          cut(previous)
        }', which ends at ${cursor}`,
      );
    }
    if (entry.begin > cursor) {
      fail(`bytes ${cursor} to ${entry.begin} of the data section belong to no tensor (a gap before '${cut(entry.name)}')`);
    }
    cursor = entry.end;
    previous = entry.name;
  }
  if (cursor !== dataLength) {
    fail(
      `${
        dataLength - cursor
      } bytes after the last tensor belong to no tensor (the data section is ${dataLength} bytes, the tensors cover ${cursor})`,
    );
  }
}

/** One tensor's bytes, read at its offset into a fresh typed array (converted on big-endian hosts). */
function readTensor(source: ByteSource, sourceName: string, dataStart: number, { name, dtype, shape, begin, end }: TensorEntry): Tensor {
  const count = numel(shape);
  let values: TypedArray;
  try {
    values = allocate(dtype, count);
  } catch (error) {
    throw new Error(
      `loadSafetensors: '${sourceName}': tensor '${cut(name)}' of shape ${shapeToString(shape)} (${
        end - begin
      } bytes) cannot be allocated: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  source.readInto(bytes, dataStart + begin);
  if (!LITTLE_ENDIAN_HOST) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const little = Array.from(
      { length: count },
      (_, i) => (dtype === "float64" ? view.getFloat64(8 * i, true) : view.getFloat32(4 * i, true)),
    );
    values.set(little);
  }
  return Tensor.fromTypedArray(values, shape);
}

/**
 * JSON.parse keeps the last of two equal keys without a word; a file with two tensors named "w"
 * would load whichever came last. The scan counted the keys at the top level and inside each
 * entry; fewer keys after parsing means equal keys. Only then the header is scanned again to name
 * the first repeated key (keys compared after unescaping: "w" and "\u0077" are the same name).
 */
function checkNoDuplicateKeys(
  header: Record<string, unknown>,
  scanner: HeaderScanner,
  headerBytes: Uint8Array,
  fail: (problem: string) => never,
): void {
  let innerKeys = 0;
  for (const value of Object.values(header)) if (isPlainObject(value)) innerKeys += Object.keys(value).length;
  const topKeys = Object.keys(header).length;
  if (topKeys === scanner.topKeys && innerKeys === scanner.innerKeys) return;

  const decoder = new TextDecoder("utf-8");
  const seenTop = new Set<string>();
  let seenInner = new Set<string>();
  let entryName = "";
  const locate = new HeaderScanner(fail, (depth, start, end) => {
    const key = JSON.parse(`"${decoder.decode(headerBytes.subarray(start, end))}"`) as string;
    if (depth === 1) {
      if (seenTop.has(key)) {
        fail(key === "__metadata__" ? "__metadata__ appears twice in the header" : `tensor '${cut(key)}' appears twice in the header`);
      }
      seenTop.add(key);
      entryName = key;
      seenInner = new Set();
    } else {
      if (seenInner.has(key)) {
        fail(
          entryName === "__metadata__"
            ? `__metadata__ has the key '${cut(key)}' twice`
            : `tensor '${cut(entryName)}' has the field '${cut(key)}' twice`,
        );
      }
      seenInner.add(key);
    }
  });
  locate.scan(headerBytes, 0);
  fail("the header has equal keys"); // not reached: the second scan names them
}

const enum Byte {
  Tab = 0x09,
  LineFeed = 0x0a,
  CarriageReturn = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  Nine = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  OpenBracket = 0x5b,
  Backslash = 0x5c,
  CloseBracket = 0x5d,
  LowerE = 0x65,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
}
const enum Container {
  Object = 1,
  Array = 2,
}

const METADATA_KEY_BYTES = new TextEncoder().encode("__metadata__");

/** The first QUOTE_LIMIT bytes of a key, kept raw and decoded only when a message needs them. */
class KeyBytes {
  readonly bytes = new Uint8Array(QUOTE_LIMIT);
  length = 0;
  truncated = false;

  append(chunk: Uint8Array, from: number, to: number): void {
    // Byte by byte: keys are short, and a subarray per key would cost more than the copy.
    const take = Math.min(to - from, QUOTE_LIMIT - this.length);
    for (let k = 0; k < take; k++) this.bytes[this.length + k] = chunk[from + k];
    if (take > 0) this.length += take;
    if (to - from > take) this.truncated = true;
  }

  copyFrom(other: KeyBytes): void {
    for (let k = 0; k < other.length; k++) this.bytes[k] = other.bytes[k];
    this.length = other.length;
    this.truncated = other.truncated;
  }

  clear(): void {
    this.length = 0;
    this.truncated = false;
  }

  /** Whether the key is exactly these bytes (as written: an escaped "__metadata__" is not). */
  isRaw(expected: Uint8Array): boolean {
    if (this.truncated || this.length !== expected.length) return false;
    for (let k = 0; k < expected.length; k++) if (this.bytes[k] !== expected[k]) return false;
    return true;
  }

  /** The key, unescaped when it is whole ("\u0077" → "w"), else its first bytes and "…". */
  text(): string {
    const raw = new TextDecoder("utf-8").decode(this.bytes.subarray(0, this.length));
    if (this.truncated) return `${raw}…`;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return raw; // a bad escape: JSON.parse will report it
    }
  }
}

/**
 * One pass over the header's bytes, before JSON.parse, that refuses what would make parsing
 * costly: nesting deeper than maxDepth, more than maxEntries top-level entries, more than
 * maxValues values. It tracks only what it needs — whether it is inside a string (a backslash
 * escapes the next byte, so "a\"[" holds no bracket), the open containers (at most maxDepth), and
 * whether the next string is a key — so its memory is constant. It does not check the JSON
 * grammar: JSON.parse does, on a header the scan has bounded. Structural bytes are ASCII and
 * never occur inside a UTF-8 multi-byte sequence, so scanning bytes finds exactly the structure
 * JSON.parse will see. It also refuses numbers written with a fraction or an exponent (2.0, 1e3):
 * shapes and offsets are integers, and JSON.parse would silently turn 2.0 into 2.
 *
 * It names where it stopped: the tensor (or __metadata__) and field being read, and the byte.
 * The loop keeps its state in locals (written back at the end of each chunk): it runs at about
 * a byte per nanosecond, so the 100 MB limit costs ~0.1 s to scan in full.
 */
class HeaderScanner {
  topKeys = 0; // keys of the top-level object: the entries
  innerKeys = 0; // keys of the objects inside it: tensor fields and metadata keys
  private values = 0;
  private depth = 0;
  private readonly containers = new Uint8Array(SAFETENSORS_LIMITS.maxDepth + 1);
  private started = false; // the first '{' was seen
  private closed = false; // the top-level object was closed
  private expectKey = false; // inside an object, after '{' or ',': the next string is a key
  private inString = false;
  private escaped = false;
  private stringIsKey = false;
  private stringIsBounded = false;
  private stringStart = 0;
  private entryIsMetadata = false; // the current depth-1 key is "__metadata__"
  private readonly key = new KeyBytes(); // the key being read (depth 1 or 2)
  private readonly entryName = new KeyBytes(); // the current depth-1 key
  private readonly fieldName = new KeyBytes(); // the current depth-2 key
  private inToken = false; // inside a number or a literal (true, false, null)
  private tokenIsNumber = false;
  private tokenIsInteger = true;
  private tokenText = ""; // the start of a number that runs across two chunks

  constructor(
    private readonly fail: (problem: string) => never,
    /** Called with each key of depth 1 or 2 and its bytes [start, end) (positions in the scanned chunks). */
    private readonly onKey?: (depth: number, start: number, end: number) => void,
  ) {}

  scan(chunk: Uint8Array, base: number): void {
    const { maxDepth, maxEntries, maxValues, maxNameBytes } = SAFETENSORS_LIMITS;
    const containers = this.containers;
    const n = chunk.length;
    let depth = this.depth;
    let values = this.values;
    let expectKey = this.expectKey;
    let inString = this.inString;
    let escaped = this.escaped;
    let inToken = this.inToken;
    let tokenStart = 0; // in this chunk
    // No closures in this function: a local captured by one would live on the heap and slow
    // every access.
    let i = 0;
    while (i < n) {
      if (inString) {
        // Jump to the closing quote; a backslash makes the byte after it ordinary.
        const from = i;
        if (escaped) {
          escaped = false;
          i += 1;
        }
        let c = 0;
        while (i < n) {
          c = chunk[i];
          if (c === Byte.Quote || c === Byte.Backslash) break;
          i += 1;
        }
        if (i < n && c === Byte.Backslash) {
          escaped = true;
          i += 1;
        }
        if (this.stringIsKey) this.key.append(chunk, from, i);
        if (this.stringIsBounded && base + i - this.stringStart > maxNameBytes) {
          this.fail(
            `${this.where(depth)}a ${this.stringIsKey ? "key" : "string"} longer than ${maxNameBytes} bytes at byte ${
              this.stringStart - 1
            } of the header (names and dtypes are short)`,
          );
        }
        if (i >= n || escaped) continue;
        inString = false; // chunk[i] is the closing quote
        if (this.stringIsKey) {
          this.depth = depth;
          this.endKey(base + i);
        }
        i += 1;
        continue;
      }
      const c = chunk[i];
      if (inToken) {
        if (
          c > Byte.Space && c !== Byte.Comma && c !== Byte.CloseBracket && c !== Byte.CloseBrace && c !== Byte.Colon &&
          c !== Byte.OpenBrace && c !== Byte.OpenBracket && c !== Byte.Quote
        ) {
          if (c === Byte.Dot || c === Byte.LowerE || c === Byte.UpperE) this.tokenIsInteger = false;
          i += 1;
          continue;
        }
        inToken = false;
        if (this.tokenIsNumber && !this.tokenIsInteger) {
          const text = cut(this.tokenText + latin1(chunk, tokenStart, i));
          this.fail(
            `${this.where(depth)}the number ${text} (ending at byte ${
              base + i
            } of the header) is not an integer; shapes and data_offsets hold integers`,
          );
        }
        this.tokenText = "";
      }
      if (c === Byte.Space || c === Byte.LineFeed || c === Byte.CarriageReturn || c === Byte.Tab) {
        i += 1;
        continue;
      }
      if (!this.started) {
        if (c !== Byte.OpenBrace) this.fail(`the header is not a JSON object (it starts with ${JSON.stringify(String.fromCharCode(c))})`);
        this.started = true;
      } else if (this.closed) {
        this.fail(`the header has more after its closing '}' (byte ${base + i} of the header)`);
      }
      if (c === Byte.OpenBrace || c === Byte.OpenBracket) {
        if (++values > maxValues) {
          this.fail(
            `${this.where(depth)}the header holds more than ${maxValues} JSON values (the reader's limit; byte ${base + i} of the header)`,
          );
        }
        if (depth === maxDepth) {
          this.fail(
            `${this.where(depth)}nesting deeper than ${maxDepth} levels at byte ${base + i} of the header (a valid header nests 3 deep)`,
          );
        }
        depth += 1;
        containers[depth] = c === Byte.OpenBrace ? Container.Object : Container.Array;
        expectKey = c === Byte.OpenBrace;
      } else if (c === Byte.CloseBrace || c === Byte.CloseBracket) {
        if (depth === 0 || containers[depth] !== (c === Byte.CloseBrace ? Container.Object : Container.Array)) {
          this.fail(`${this.where(depth)}'${String.fromCharCode(c)}' at byte ${base + i} of the header closes nothing it opened`);
        }
        depth -= 1;
        if (depth === 1) this.fieldName.clear();
        if (depth === 0) this.closed = true;
        expectKey = false;
      } else if (c === Byte.Comma) {
        expectKey = containers[depth] === Container.Object;
      } else if (c === Byte.Colon) {
        expectKey = false;
      } else if (c === Byte.Quote) {
        if (++values > maxValues) {
          this.fail(
            `${this.where(depth)}the header holds more than ${maxValues} JSON values (the reader's limit; byte ${base + i} of the header)`,
          );
        }
        inString = true;
        this.stringStart = base + i + 1;
        const isKey = expectKey && containers[depth] === Container.Object;
        this.stringIsKey = isKey && depth <= 2;
        // Keys, and strings inside a tensor's entry, are bounded; metadata values are not.
        this.stringIsBounded = isKey || !(depth >= 2 && this.entryIsMetadata);
        if (this.stringIsKey) {
          this.key.clear();
          if (depth === 1) {
            this.topKeys += 1;
            if (this.topKeys > maxEntries) {
              this.fail(`the header has more than ${maxEntries} entries (the reader's limit; byte ${base + i} of the header)`);
            }
          } else this.innerKeys += 1;
        }
      } else {
        // The first byte of a number or a literal (true, false, null).
        if (++values > maxValues) {
          this.fail(
            `${this.where(depth)}the header holds more than ${maxValues} JSON values (the reader's limit; byte ${base + i} of the header)`,
          );
        }
        inToken = true;
        tokenStart = i;
        this.tokenIsNumber = c === Byte.Minus || (c >= Byte.Zero && c <= Byte.Nine);
        this.tokenIsInteger = true;
      }
      i += 1;
    }
    // A number cut by the chunk's end: keep its first bytes, a message may need them.
    if (inToken && this.tokenIsNumber && this.tokenText.length <= QUOTE_LIMIT) this.tokenText += latin1(chunk, tokenStart, n);
    this.depth = depth;
    this.values = values;
    this.expectKey = expectKey;
    this.inString = inString;
    this.escaped = escaped;
    this.inToken = inToken;
  }

  /** After the last chunk: a number at the very end is checked; an empty header is refused. */
  finish(headerLength: number): void {
    if (this.inToken && this.tokenIsNumber && !this.tokenIsInteger) {
      this.fail(
        `${this.where()}the number ${
          cut(this.tokenText)
        } (ending at byte ${headerLength} of the header) is not an integer; shapes and data_offsets hold integers`,
      );
    }
    if (!this.started) this.fail(`the ${headerLength}-byte header is empty; expected a JSON object`);
  }

  private endKey(end: number): void {
    if (this.depth === 1) {
      this.entryName.copyFrom(this.key);
      this.fieldName.clear();
      this.entryIsMetadata = this.key.isRaw(METADATA_KEY_BYTES);
    } else this.fieldName.copyFrom(this.key);
    if (this.onKey !== undefined) this.onKey(this.depth, this.stringStart, end);
  }

  /** "tensor 'w', field 'shape': " — where the scan is, for messages. */
  private where(depth = this.depth): string {
    if (depth < 2 || this.entryName.length === 0) return "";
    const entry = this.entryName.text();
    const field = this.fieldName.length > 0 ? this.fieldName.text() : "";
    if (entry === "__metadata__") return field !== "" ? `__metadata__['${cut(field)}']: ` : "__metadata__: ";
    return `tensor '${cut(entry)}'${field !== "" ? `, field '${cut(field)}'` : ""}: `;
  }
}

/** Bytes [from, to) of `chunk` as text, one character per byte (numbers and literals are ASCII). */
function latin1(chunk: Uint8Array, from: number, to: number): string {
  let text = "";
  for (let i = from; i < Math.min(to, from + QUOTE_LIMIT + 1); i++) text += String.fromCharCode(chunk[i]);
  return text;
}

/** The chunks joined into one array. */
function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let position = 0;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.byteLength;
  }
  return out;
}
