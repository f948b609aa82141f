/**
 * Specs for the PNG writer: signature, chunk layout and CRCs, pixels recovered by inflating the
 * IDAT, grid layout, atomic writes.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { PNG_SIGNATURE, crc32, encodeGrayscalePng, encodePng, imageGrid, savePng, toBytes } from "../../src/data/png.js";

interface Chunk {
  type: string;
  data: Uint8Array;
  crc: number;
  crcOf: Uint8Array;
}

/** Split a PNG file into its chunks (after the signature). */
function readChunks(file: Uint8Array): Chunk[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const chunks: Chunk[] = [];
  let offset = 8;
  while (offset < file.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...file.subarray(offset + 4, offset + 8));
    chunks.push({
      type,
      data: file.subarray(offset + 8, offset + 8 + length),
      crc: view.getUint32(offset + 8 + length),
      crcOf: file.subarray(offset + 4, offset + 8 + length),
    });
    offset += 12 + length;
  }
  return chunks;
}

describe("data/png", () => {
  const width = 5;
  const height = 3;
  const pixels = Uint8Array.from({ length: width * height }, (_, i) => (i * 17) % 256);

  it("computes the standard CRC-32", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).to.equal(0xcbf43926);
    expect(crc32(new Uint8Array(0))).to.equal(0);
  });

  it("starts with the PNG signature and has IHDR, IDAT, IEND with valid CRCs", () => {
    const file = encodePng(pixels, width, height);
    expect(Array.from(file.subarray(0, 8))).to.deep.equal(Array.from(PNG_SIGNATURE));
    const chunks = readChunks(file);
    expect(chunks.map((c) => c.type)).to.deep.equal(["IHDR", "IDAT", "IEND"]);
    for (const c of chunks) expect(c.crc, c.type).to.equal(crc32(c.crcOf));
    const header = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, 13);
    expect([header.getUint32(0), header.getUint32(4)]).to.deep.equal([width, height]);
    expect(Array.from(chunks[0].data.subarray(8))).to.deep.equal([8, 0, 0, 0, 0]);
  });

  it("stores the pixels: inflating the IDAT gives each row behind a filter byte 0", () => {
    const idat = readChunks(encodePng(pixels, width, height)).find((c) => c.type === "IDAT")!;
    const raw = inflateSync(idat.data);
    expect(raw.length).to.equal(height * (width + 1));
    for (let row = 0; row < height; row++) {
      expect(raw[row * (width + 1)]).to.equal(0);
      expect(Array.from(raw.subarray(row * (width + 1) + 1, (row + 1) * (width + 1)))).to.deep.equal(
        Array.from(pixels.subarray(row * width, (row + 1) * width)),
      );
    }
  });

  it("maps [0, 1] floats to bytes, clamping out-of-range values", () => {
    expect(Array.from(toBytes(Float32Array.from([0, 0.5, 1, -1, 2])))).to.deep.equal([0, 128, 255, 0, 255]);
    const idat = readChunks(encodeGrayscalePng(Float32Array.from([0, 1]), 2, 1)).find((c) => c.type === "IDAT")!;
    expect(Array.from(inflateSync(idat.data))).to.deep.equal([0, 0, 255]);
  });

  it("tiles images into a padded grid", () => {
    // Three 2×2 images valued 0.1, 0.2, 0.3 into 2 rows × 2 columns, padding 1 of value 1.
    const images = Float32Array.from([0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3]);
    const grid = imageGrid(images, 2, 2, { side: 2, padding: 1, paddingValue: 1 });
    expect([grid.width, grid.height]).to.deep.equal([7, 7]);
    const at = (x: number, y: number) => grid.pixels[y * grid.width + x];
    expect(at(0, 0)).to.equal(1);
    expect(at(1, 1)).to.be.closeTo(0.1, 1e-7);
    expect(at(4, 2)).to.be.closeTo(0.2, 1e-7);
    expect(at(2, 5)).to.be.closeTo(0.3, 1e-7);
    expect(at(5, 5)).to.equal(1); // the missing fourth tile
  });

  it("writes files atomically, leaving no temporary file", () => {
    const folder = mkdtempSync(join(tmpdir(), "contrastive-png-"));
    try {
      const path = join(folder, "grid.png");
      savePng(path, Float32Array.from([0, 0.25, 0.5, 1]), 2, 2);
      expect(existsSync(path)).to.equal(true);
      expect(Array.from(readFileSync(path).subarray(0, 8))).to.deep.equal(Array.from(PNG_SIGNATURE));
      expect(readdirSync(folder)).to.deep.equal(["grid.png"]);
      expect(() => savePng(join(folder, "missing", "x.png"), new Float32Array(4), 2, 2)).to.throw();
      expect(readdirSync(folder)).to.deep.equal(["grid.png"]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
