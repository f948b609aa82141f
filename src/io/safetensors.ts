/**
 * safetensors files (Node): `saveSafetensors(path, tensors)` and `loadSafetensors(path)`, around the
 * byte-level format of ./safetensors-bytes.ts (the layout, the writer's order, the hostile-input
 * reader, and `serializeSafetensors` / `parseSafetensors` for bytes, which work in a browser too).
 *
 * Writes are atomic: the file is written to `<path>.tmp-<pid>-<n>`, flushed to disk (fsync) and
 * renamed over `path`, so a crash or an error never leaves a half-written file at `path`, and an
 * existing file there stays intact until the new one is complete.
 *
 * Reads never hold the whole file: the reader of ./safetensors-bytes.ts asks for the length, the
 * header, then each tensor, by positioned reads of the open file.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOptions } from "../tensor/options.js";
import {
  readSafetensors,
  safetensorsChunks,
  type ByteSource,
  type LoadSafetensorsOptions,
  type SafetensorsContents,
  type TensorMap,
} from "./safetensors-bytes.js";

export {
  parseSafetensors,
  serializeSafetensors,
  SAFETENSORS_LIMITS,
  type LoadSafetensorsOptions,
  type SafetensorsContents,
  type TensorMap,
} from "./safetensors-bytes.js";

/** One read call moves at most this many bytes (Node refuses single reads above 2^31 − 1). */
const READ_CHUNK_BYTES = 1 << 30;

/**
 * Write `tensors` (any shapes; float32 or float64) and optional string metadata to `filePath`,
 * atomically. Metadata values must be strings (the format says so): JSON-encode structured values,
 * e.g. `{ hyperparameters: JSON.stringify({ lr: 0.1 }) }`.
 * Python: `safetensors.torch.save_file`.
 */
export function saveSafetensors(filePath: string, tensors: TensorMap, metadata?: Record<string, string>): void {
  writeFileAtomic(filePath, safetensorsChunks("saveSafetensors", filePath, tensors, metadata), "saveSafetensors");
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

/** Read and validate a safetensors file: every tensor as a fresh contiguous Tensor, and its metadata. */
export function loadSafetensors(filePath: string, options: LoadSafetensorsOptions = {}): SafetensorsContents {
  checkOptions("loadSafetensors", options, { names: true });
  const cannotRead = (error: unknown): never => {
    throw new Error(`loadSafetensors: cannot read '${filePath}': ${(error as Error).message}`, { cause: error });
  };
  let fd = -1;
  try {
    fd = fs.openSync(filePath, "r");
  } catch (error) {
    cannotRead(error);
  }
  try {
    let size = 0;
    try {
      const stat = fs.fstatSync(fd);
      // A FIFO or a device (/dev/zero, /dev/urandom) has no size to check the header against.
      if (!stat.isFile()) throw new Error("it is not a regular file");
      size = stat.size;
    } catch (error) {
      cannotRead(error);
    }
    return readSafetensors(fileSource(fd, size, filePath), filePath, options);
  } finally {
    fs.closeSync(fd);
  }
}

function fileSource(fd: number, size: number, filePath: string): ByteSource {
  const readInto = (target: Uint8Array, position: number): void => {
    let done = 0;
    while (done < target.byteLength) {
      const length = Math.min(READ_CHUNK_BYTES, target.byteLength - done);
      let got: number;
      try {
        got = fs.readSync(fd, target, done, length, position + done);
      } catch (error) {
        throw new Error(`loadSafetensors: cannot read '${filePath}' at byte ${position + done}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      // fstat said the bytes exist: fewer means the file shrank while being read.
      if (got === 0) {
        throw new Error(
          `loadSafetensors: '${filePath}' ended at byte ${
            position + done
          }, before the ${size} bytes it had when opened (was it changed while being read?)`,
        );
      }
      done += got;
    }
  };
  return {
    size,
    inMemory: false,
    bytesAt: (position, length) => {
      const bytes = Buffer.allocUnsafe(length);
      readInto(bytes, position);
      return bytes;
    },
    readInto,
  };
}
