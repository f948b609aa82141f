/**
 * A small WebAssembly binary writer: enough to emit one module that imports a memory and exports functions
 * made of scalar i32 ops and 128-bit SIMD (f32x4) ops. No external toolchain: the bytes come from this file.
 *
 * Binary format (WebAssembly core spec §5): magic "\0asm", version 1, then sections `id, size, contents`,
 * in id order: type (1), import (2), function (3), export (7), code (10). Integers are LEB128:
 * unsigned for sizes/indices/memarg, signed for i32.const.
 *
 * Opcode numbers are from the spec (§5.4 instructions, SIMD proposal's opcode table); every module this
 * file emits is checked with `WebAssembly.validate` in spec/wasm/emitter.spec.ts.
 *
 * @module
 */

/** Value types (§5.3.1). */
export const ValType = {
  i32: 0x7f, // 32-bit integer
  f32: 0x7d, // 32-bit float
  v128: 0x7b, // 128-bit vector (SIMD)
} as const;

/** Single-byte opcodes (§5.4). */
export const Op = {
  block: 0x02, // block blocktype … end
  loop: 0x03, // loop blocktype … end
  end: 0x0b, // end of block / loop / function body
  br: 0x0c, // br labelidx
  brIf: 0x0d, // br_if labelidx: branch if the i32 on the stack ≠ 0
  localGet: 0x20, // local.get localidx
  localSet: 0x21, // local.set localidx
  localTee: 0x22, // local.tee localidx: set and keep the value
  f32Load: 0x2a, // f32.load memarg
  f32Store: 0x38, // f32.store memarg
  i32Const: 0x41, // i32.const (signed LEB128)
  i32Eqz: 0x45, // i32.eqz
  i32LtU: 0x49, // i32.lt_u
  i32GeU: 0x4f, // i32.ge_u
  i32Add: 0x6a, // i32.add
  i32Sub: 0x6b, // i32.sub
  i32Mul: 0x6c, // i32.mul
  i32RemU: 0x70, // i32.rem_u: unsigned remainder (traps on a zero divisor)
  i32Shl: 0x74, // i32.shl
  f32Add: 0x92, // f32.add
  f32Mul: 0x94, // f32.mul
  simdPrefix: 0xfd, // prefix of every SIMD opcode (followed by an unsigned LEB128 sub-opcode)
  emptyBlockType: 0x40, // blocktype: no result
} as const;

/** SIMD sub-opcodes, written after `Op.simdPrefix` as unsigned LEB128 (SIMD proposal, final opcode table). */
export const SimdOp = {
  v128Load: 0x00, // v128.load memarg: 16 bytes → v128
  v128Load32Splat: 0x09, // v128.load32_splat memarg: one 32-bit lane copied to all four
  v128Store: 0x0b, // v128.store memarg
  f32x4Splat: 0x13, // f32x4.splat: f32 → four lanes
  f32x4ExtractLane: 0x1f, // f32x4.extract_lane laneidx
  f32x4Add: 0xe4, // f32x4.add: lane-wise IEEE add
  f32x4Sub: 0xe5, // f32x4.sub
  f32x4Mul: 0xe6, // f32x4.mul: lane-wise IEEE multiply (no FMA: deterministic rounding)
} as const;

/** Section ids (§5.5.2). */
export const Section = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;

/** Unsigned LEB128: 7 bits per byte, low first, high bit = "more bytes follow". */
export function unsignedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`unsignedLeb128: expected an integer in [0, 2^32), got ${value}`);
  }
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Signed LEB128 (two's complement): stop when the rest is all sign bits and bit 6 of the last byte agrees. */
export function signedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`signedLeb128: expected an i32, got ${value}`);
  }
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7; // arithmetic shift keeps the sign
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** Decode an unsigned LEB128 at `offset`; returns the value and the number of bytes read (the inverse of `unsignedLeb128`). */
export function readUnsignedLeb128(bytes: ArrayLike<number>, offset = 0): { value: number; length: number } {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 128;
    if ((bytes[i] & 0x80) === 0) return { value, length: i - offset + 1 };
  }
  throw new RangeError(`readUnsignedLeb128: truncated at offset ${offset}`);
}

/** Decode a signed LEB128 (32-bit) at `offset` (the inverse of `signedLeb128`). */
export function readSignedLeb128(bytes: ArrayLike<number>, offset = 0): { value: number; length: number } {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i];
    value |= (byte & 0x7f) << shift;
    shift += 7;
    if ((byte & 0x80) === 0) {
      if (shift < 32 && (byte & 0x40) !== 0) value |= -1 << shift; // sign-extend
      return { value, length: i - offset + 1 };
    }
  }
  throw new RangeError(`readSignedLeb128: truncated at offset ${offset}`);
}

/** A UTF-8 name as a vector: length then bytes. */
function name(text: string): number[] {
  const utf8 = [...new TextEncoder().encode(text)];
  return [...unsignedLeb128(utf8.length), ...utf8];
}

/** A vector of encoded items: count then the items. */
function vector(items: number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

/**
 * Builds one function body with a fluent list of instructions. Parameters are locals 0..params-1;
 * `local(type)` declares more and returns its index.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly extraLocals: number[] = [];

  constructor(readonly params: number[], readonly results: number[]) {}

  /** Declare a local of `type` after the parameters; returns its index. */
  local(type: number): number {
    this.extraLocals.push(type);
    return this.params.length + this.extraLocals.length - 1;
  }

  /** Raw bytes (an opcode and its immediates). */
  emit(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  /** local.get i */
  get(index: number): this {
    return this.emit(Op.localGet, ...unsignedLeb128(index));
  }

  /** local.set i */
  set(index: number): this {
    return this.emit(Op.localSet, ...unsignedLeb128(index));
  }

  /** i32.const v */
  i32Const(value: number): this {
    return this.emit(Op.i32Const, ...signedLeb128(value));
  }

  /** A SIMD instruction: 0xfd, LEB128 sub-opcode, then immediates. */
  simd(subOp: number, ...immediates: number[]): this {
    return this.emit(Op.simdPrefix, ...unsignedLeb128(subOp), ...immediates);
  }

  /** memarg = log2(alignment), byte offset added to the address on the stack. */
  static memarg(alignLog2: number, offset: number): number[] {
    return [...unsignedLeb128(alignLog2), ...unsignedLeb128(offset)];
  }

  /** The body as the code section wants it: size, locals (run-length groups), instructions, end. */
  encodeBody(): number[] {
    const groups: number[][] = [];
    for (const type of this.extraLocals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === type) last[0]++;
      else groups.push([1, type]);
    }
    const body = [...vector(groups.map(([count, type]) => [...unsignedLeb128(count), type])), ...this.code, Op.end];
    return [...unsignedLeb128(body.length), ...body];
  }
}

/** Memory import: `module.field`, limits in 64 KiB pages; `shared` needs a maximum (threads proposal, flag 0x03). */
export interface MemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages?: number;
  shared?: boolean;
}

/** Encode a module: one imported memory and the given exported functions (one type per function, for simplicity). */
export function encodeModule(
  memory: MemoryImport | undefined,
  functions: { name: string; fn: FunctionBuilder }[],
): Uint8Array<ArrayBuffer> {
  const section = (id: number, contents: number[]): number[] => [id, ...unsignedLeb128(contents.length), ...contents];
  const types = functions.map(({ fn }) => [0x60, ...vector(fn.params.map((t) => [t])), ...vector(fn.results.map((t) => [t]))]);
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
  bytes.push(...section(Section.type, vector(types)));
  if (memory !== undefined) {
    if (memory.shared === true && memory.maxPages === undefined) throw new Error("encodeModule: a shared memory needs maxPages");
    const limits = memory.maxPages === undefined
      ? [0x00, ...unsignedLeb128(memory.minPages)]
      : [memory.shared === true ? 0x03 : 0x01, ...unsignedLeb128(memory.minPages), ...unsignedLeb128(memory.maxPages)];
    bytes.push(...section(Section.import, vector([[...name(memory.module), ...name(memory.field), 0x02, ...limits]])));
  }
  bytes.push(...section(Section.function, vector(functions.map((_, i) => unsignedLeb128(i)))));
  bytes.push(...section(Section.export, vector(functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb128(i)]))));
  bytes.push(...section(Section.code, vector(functions.map(({ fn }) => fn.encodeBody()))));
  return new Uint8Array(bytes);
}
