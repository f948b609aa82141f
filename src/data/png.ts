/**
 * A minimal PNG writer for grayscale images, and a helper that tiles many images into one grid.
 * Enough to look at digits and their augmented views without any image library.
 *
 * A PNG file (RFC 2083 / ISO 15948) is an 8-byte signature followed by chunks:
 *
 *   signature  137 80 78 71 13 10 26 10
 *   chunk      length (4 bytes, big-endian) · type (4 ASCII letters) · data · CRC-32(type ‖ data)
 *
 *   IHDR  width, height (4 bytes each), bit depth 8, color type 0 (grayscale), compression 0,
 *         filter method 0, interlace 0
 *   IDAT  zlib-compressed scanlines: for each row, a filter-type byte (0 = None) and then the
 *         row's `width` bytes, one per pixel, 0 = black … 255 = white
 *   IEND  empty
 *
 * CRC-32 is the one of zlib / Ethernet: polynomial 0xEDB88320 (reflected), initial value and final
 * xor 0xFFFFFFFF. zlib compression comes from `node:zlib`.
 *
 * Files are written atomically: to `FILE.tmp-<pid>` first, then renamed over FILE, so a reader
 * never sees half an image.
 *
 * PyTorch equivalent: `torchvision.utils.save_image(torchvision.utils.make_grid(batch, nrow=cols))`.
 *
 * @module
 */
import { writeFileAtomic } from "../io/safetensors.js";
import { deflateSync } from "node:zlib";
import { IMAGE_SIDE } from "./mnist.js";
import { checkOptions } from "../tensor/options.js";

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE: Uint8Array = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** crcTable[n] = CRC of the byte n, for the byte-at-a-time algorithm. */
const crcTable: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes` (crc32("123456789") = 0xCBF43926). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** One chunk: length · type · data · CRC(type ‖ data). */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) bytes[4 + i] = type.charCodeAt(i);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

/** Encode 8-bit grayscale pixels (height·width, row-major) as a PNG file. */
export function encodePng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (pixels.length !== width * height) throw new Error(`encodePng: expected ${width * height} pixels, got ${pixels.length}`);
  const header = new Uint8Array(13);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, width);
  headerView.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 0; // color type: grayscale
  header[10] = 0; // compression: deflate
  header[11] = 0; // filter method: adaptive (we use filter type 0 on every row)
  header[12] = 0; // no interlace

  const scanlines = new Uint8Array(height * (1 + width));
  for (let row = 0; row < height; row++) {
    scanlines[row * (1 + width)] = 0; // filter type None
    scanlines.set(pixels.subarray(row * width, (row + 1) * width), row * (1 + width) + 1);
  }
  const parts = [PNG_SIGNATURE, chunk("IHDR", header), chunk("IDAT", deflateSync(scanlines)), chunk("IEND", new Uint8Array(0))];
  const file = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    file.set(part, offset);
    offset += part.length;
  }
  return file;
}

/** Map values in [0, 1] to bytes: round(clamp(v) · 255). */
export function toBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    bytes[i] = Math.round((v < 0 ? 0 : v > 1 ? 1 : Number.isNaN(v) ? 0 : v) * 255);
  }
  return bytes;
}

/** Encode a float image with values in [0, 1] (0 = black) as a PNG file. */
export function encodeGrayscalePng(values: Float32Array, width: number, height: number): Uint8Array {
  return encodePng(toBytes(values), width, height);
}

/** Encode a [0, 1] float image and write it atomically as a PNG file. */
export function savePng(path: string, values: Float32Array, width: number, height: number): void {
  // Atomic: a temporary file beside the target, fsynced, then renamed over it (src/io/safetensors.ts).
  writeFileAtomic(path, [encodeGrayscalePng(values, width, height)], "savePng");
}

/** Options of {@link imageGrid}. */
export interface GridOptions {
  /** Side of each (square) image. Default 28. */
  side?: number;
  /** Pixels between tiles and around the border. Default 2. */
  padding?: number;
  /** Value of the padding, in [0, 1]. Default 0.5 (gray, to separate black-background digits). */
  paddingValue?: number;
}

/** A single-channel float image. */
export interface GrayImage {
  /** (height, width) flattened, values in [0, 1]. */
  pixels: Float32Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Tile images into a rows × cols grid, image k at row ⌊k/cols⌋, column k mod cols; missing
 * tiles stay at the padding value.
 *   images: (count, side·side) flat   →   (rows·(side+p) + p) × (cols·(side+p) + p)
 */
export function imageGrid(images: Float32Array, rows: number, cols: number, options: GridOptions = {}): GrayImage {
  checkOptions("imageGrid", options, { side: true, padding: true, paddingValue: true });
  const padding = options.padding ?? 2;
  const paddingValue = options.paddingValue ?? 0.5;
  const side = options.side ?? IMAGE_SIDE;
  const pixelsPerImage = side * side;
  if (images.length % pixelsPerImage !== 0) throw new Error(`imageGrid: ${images.length} values are not whole ${side}×${side} images`);
  const count = Math.min(images.length / pixelsPerImage, rows * cols);
  const width = cols * (side + padding) + padding;
  const height = rows * (side + padding) + padding;
  const pixels = new Float32Array(width * height).fill(paddingValue);
  for (let k = 0; k < count; k++) {
    const top = padding + Math.floor(k / cols) * (side + padding);
    const left = padding + (k % cols) * (side + padding);
    for (let row = 0; row < side; row++) {
      pixels.set(images.subarray(k * pixelsPerImage + row * side, k * pixelsPerImage + (row + 1) * side), (top + row) * width + left);
    }
  }
  return { pixels, width, height };
}
