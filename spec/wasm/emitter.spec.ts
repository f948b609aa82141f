/**
 * The WebAssembly writer (src/wasm/emitter.ts): LEB128 round trips, emitted modules validate, and a tiny
 * emitted SIMD function computes what it should over an imported memory:
 *
 *   y[i] = a · x[i] + y[i]   for i < n (n a multiple of 4), four lanes per step (f32x4.mul then f32x4.add)
 *
 * compared with the same float32 arithmetic in TypeScript (Math.fround after each op), bit for bit.
 */
import { expect } from "chai";
import {
  encodeModule,
  FunctionBuilder,
  Op,
  readSignedLeb128,
  readUnsignedLeb128,
  signedLeb128,
  SimdOp,
  unsignedLeb128,
  ValType,
} from "../../src/wasm/emitter.js";

describe("wasm emitter", () => {
  it("LEB128: known encodings and round trips", () => {
    expect(unsignedLeb128(0)).to.deep.equal([0]);
    expect(unsignedLeb128(127)).to.deep.equal([0x7f]);
    expect(unsignedLeb128(128)).to.deep.equal([0x80, 0x01]);
    expect(unsignedLeb128(624485)).to.deep.equal([0xe5, 0x8e, 0x26]); // the Wikipedia example
    expect(signedLeb128(-1)).to.deep.equal([0x7f]);
    expect(signedLeb128(63)).to.deep.equal([0x3f]);
    expect(signedLeb128(64)).to.deep.equal([0xc0, 0x00]);
    expect(signedLeb128(-123456)).to.deep.equal([0xc0, 0xbb, 0x78]);
    const values = [0, 1, 63, 64, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, 2 ** 32 - 1];
    for (const v of values) expect(readUnsignedLeb128(unsignedLeb128(v))).to.deep.equal({ value: v, length: unsignedLeb128(v).length });
    for (const v of [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(readSignedLeb128(signedLeb128(v)).value).to.equal(v);
    }
    expect(() => unsignedLeb128(-1)).to.throw(/^unsignedLeb128: expected an integer/);
    expect(() => signedLeb128(2 ** 31)).to.throw(/^signedLeb128: expected an i32/);
  });

  it("an empty module and an i32 function validate and run", () => {
    expect(WebAssembly.validate(encodeModule(undefined, []))).to.equal(true);
    const fn = new FunctionBuilder([ValType.i32, ValType.i32], [ValType.i32]);
    fn.get(0).get(1).emit(Op.i32Mul).i32Const(-7).emit(Op.i32Add); // a·b − 7
    const bytes = encodeModule(undefined, [{ name: "f", fn }]);
    expect(WebAssembly.validate(bytes)).to.equal(true);
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f as (a: number, b: number) => number;
    expect(f(6, 9)).to.equal(47);
    expect(f(-3, 100000)).to.equal(-300007);
  });

  it("a wrong opcode is rejected by the validator (the check can fail)", () => {
    const fn = new FunctionBuilder([ValType.i32], [ValType.i32]);
    fn.get(0).emit(Op.f32Add); // f32.add on an i32: type error
    expect(WebAssembly.validate(encodeModule(undefined, [{ name: "f", fn }]))).to.equal(false);
  });

  for (const shared of [false, true]) {
    it(`SIMD axpy over an imported ${shared ? "shared " : ""}memory matches float32 arithmetic bit for bit`, function() {
      if (shared && typeof SharedArrayBuffer === "undefined") this.skip();
      // params: a (f32), x (byte address), y (byte address), n (element count, multiple of 4)
      const fn = new FunctionBuilder([ValType.f32, ValType.i32, ValType.i32, ValType.i32], []);
      const [a, x, y, n] = [0, 1, 2, 3];
      const av = fn.local(ValType.v128);
      const end = fn.local(ValType.i32);
      fn.get(a).simd(SimdOp.f32x4Splat).set(av);
      fn.get(x).get(n).i32Const(2).emit(Op.i32Shl, Op.i32Add).set(end); // end = x + 4n
      fn.emit(Op.block, Op.emptyBlockType, Op.loop, Op.emptyBlockType);
      fn.get(x).get(end).emit(Op.i32LtU, Op.i32Eqz, Op.brIf, 1); // x ≥ end → leave the block
      fn.get(y); // address of the store
      fn.get(av).get(x).simd(SimdOp.v128Load, ...FunctionBuilder.memarg(2, 0)).simd(SimdOp.f32x4Mul);
      fn.get(y).simd(SimdOp.v128Load, ...FunctionBuilder.memarg(2, 0)).simd(SimdOp.f32x4Add);
      fn.simd(SimdOp.v128Store, ...FunctionBuilder.memarg(2, 0));
      fn.get(x).i32Const(16).emit(Op.i32Add).set(x);
      fn.get(y).i32Const(16).emit(Op.i32Add).set(y);
      fn.emit(Op.br, 0, Op.end, Op.end);
      const memory = shared
        ? new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true })
        : new WebAssembly.Memory({ initial: 1 });
      const bytes = encodeModule({ module: "env", field: "memory", minPages: 1, maxPages: shared ? 4 : undefined, shared }, [
        { name: "axpy", fn },
      ]);
      expect(WebAssembly.validate(bytes)).to.equal(true);
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      const axpy = instance.exports.axpy as (a: number, x: number, y: number, n: number) => void;
      const count = 36;
      const view = new Float32Array(memory.buffer);
      const xs = Array.from({ length: count }, (_, i) => Math.fround(Math.sin(i + 1) * 3.7));
      const ys = Array.from({ length: count }, (_, i) => Math.fround(Math.cos(i * 2.3) / 7));
      xs[5] = Infinity;
      ys[9] = NaN;
      ys[11] = -0;
      view.set(xs, 0);
      view.set(ys, 64);
      const alpha = Math.fround(1.3);
      axpy(alpha, 0, 256, count);
      const expected = Float32Array.from(xs, (xi, i) => Math.fround(Math.fround(alpha * xi) + ys[i]));
      expect([...new Float32Array(memory.buffer, 256, count)]).to.deep.equal([...expected]);
      expect(view[64 + count]).to.equal(0); // nothing written past n
    });
  }
});
