/**
 * The WebAssembly SIMD macro-kernel of the float32 GEMM: its bytes are written here, by TypeScript, with
 * ./emitter.ts (no compiler, no checked-in binary). The driver that blocks and packs is src/ops/gemm-wasm.ts.
 *
 *   C tile (MR×NR, in wasm memory) += packed A panel (MR × kc) · packed B panel (kc × NR)
 *
 * for every tile of an (mPanels·MR) × (nPanels·NR) block of C: one exported function, `macroKernel`.
 *
 * Packed panels (written by the driver, k-major, so the kernel walks both with stride 1):
 *
 *   A panel:  a[i,k] a[i+1,k] … a[i+MR−1,k]   then the same for k+1 …     (MR floats per k)
 *   B panel:  b[k,j] b[k,j+1] … b[k,j+NR−1]   then the same for k+1 …     (NR floats per k)
 *
 * Micro-kernel: the MR×NR tile of C lives in MR·NR/4 f32x4 locals (`acc[r][v]` holds C[r, 4v … 4v+3]),
 * loaded from C before the k loop and stored after it. One k step:
 *
 *   b[v]   = v128.load(B panel + 16v)                  NR/4 vector loads
 *   a      = v128.load32_splat(A panel + 4r)           for each row r: A[r, k] in all four lanes
 *   acc[r][v] = f32x4.add(acc[r][v], f32x4.mul(a, b[v]))
 *
 * So every C element is a float32 running sum in k order, c ← fl(c + fl(a·b)), starting from the C that
 * was there: the same rounding as the naive float32 loop, whatever the blocking (a K block continues
 * the sum where the previous one left it in C), with no FMA (f32x4.mul then f32x4.add are exact IEEE,
 * deterministic on every engine; relaxed-simd's fused multiply-add is not, and needs a flag in Node 20).
 * The k loop is unrolled KU times (memarg offsets instead of pointer bumps), with a one-step loop
 * for the kc mod KU tail. Which MR×NR and KU: measured, docs/performance.md ("The WebAssembly kernel").
 *
 * The module imports its memory as `env.memory` (shared, with a maximum, when asked: the threads
 * proposal's flag) and exports nothing else; it is a few hundred bytes, far below the 4 KB that Chrome
 * allows to compile synchronously on the main thread, so `new WebAssembly.Module` works everywhere.
 *
 * @module
 */
import { encodeModule, FunctionBuilder, type MemoryImport, Op, SimdOp, ValType } from "./emitter.js";

/** A register tile: MR rows × NR columns of C (NR a multiple of 4: one f32x4 per 4 columns), k unrolled KU times. */
export interface GemmTile {
  mr: number;
  nr: number;
  ku: number;
}

/** The tile the GEMM uses: 4×8 (eight f32x4 accumulators), k not unrolled: the fastest measured (docs/performance.md). */
export const GEMM_TILE: GemmTile = { mr: 4, nr: 8, ku: 1 };

/** The exported function: all arguments are i32; pointers and ldcBytes in bytes. */
export type MacroKernel = (
  kc: number,
  mPanels: number,
  nPanels: number,
  aPtr: number,
  bPtr: number,
  cPtr: number,
  ldcBytes: number,
) => void;

/**
 * The module's bytes for `tile`: `macroKernel(kc, mPanels, nPanels, aPtr, bPtr, cPtr, ldcBytes)` runs
 *
 *   for jp < nPanels:  for ip < mPanels:
 *     C[cPtr + ip·MR rows + jp·NR cols] (MR×NR, rows ldcBytes apart) += A panel ip · B panel jp
 *
 * with A panel ip at aPtr + ip·kc·MR·4 and B panel jp at bPtr + jp·kc·NR·4. kc ≥ 0.
 */
export function emitGemmModule(tile: GemmTile, memory: MemoryImport): Uint8Array<ArrayBuffer> {
  const { mr, nr, ku } = tile;
  if (!(mr >= 1 && nr >= 4 && nr % 4 === 0 && ku >= 1 && mr * (nr / 4) <= 32)) {
    throw new RangeError(`emitGemmModule: unsupported tile ${mr}×${nr} (ku ${ku})`);
  }
  const vectors = nr / 4;
  const i32 = ValType.i32;
  const fn = new FunctionBuilder([i32, i32, i32, i32, i32, i32, i32], []);
  const [kc, mPanels, nPanels, aPtr, bPtr, cPtr, ldc] = [0, 1, 2, 3, 4, 5, 6];
  const local = () => fn.local(i32);
  const [aPanelBytes, bPanelBytes, aBlockEnd, bEnd, bPanel, cCol, aPanel, cTile, cTileStep] = Array.from({ length: 9 }, local);
  const [a, b, aMainEnd, aEnd, cRow] = Array.from({ length: 5 }, local);
  const acc = Array.from({ length: mr }, () => Array.from({ length: vectors }, () => fn.local(ValType.v128)));
  const bv = Array.from({ length: vectors }, () => fn.local(ValType.v128));
  const av = fn.local(ValType.v128);
  const vecArg = (offset: number) => FunctionBuilder.memarg(4, offset); // 16-byte aligned v128 access
  const f32Arg = (offset: number) => FunctionBuilder.memarg(2, offset);

  /** `while (counter < end) { body }`: block + loop, the test at the top (the body may run zero times). */
  const whileBelow = (counter: number, end: number, body: () => void) => {
    fn.emit(Op.block, Op.emptyBlockType, Op.loop, Op.emptyBlockType);
    fn.get(counter).get(end).emit(Op.i32GeU, Op.brIf, 1);
    body();
    fn.emit(Op.br, 0, Op.end, Op.end);
  };
  const addTo = (target: number, amount: () => void) => {
    fn.get(target);
    amount();
    fn.emit(Op.i32Add).set(target);
  };
  /** `steps` k steps from a and b, step s reading at byte offsets s·MR·4 and s·NR·4. */
  const kSteps = (steps: number) => {
    for (let s = 0; s < steps; s++) {
      for (let v = 0; v < vectors; v++) fn.get(b).simd(SimdOp.v128Load, ...vecArg((s * nr + 4 * v) * 4)).set(bv[v]);
      for (let r = 0; r < mr; r++) {
        fn.get(a).simd(SimdOp.v128Load32Splat, ...f32Arg((s * mr + r) * 4)).set(av);
        for (let v = 0; v < vectors; v++) {
          fn.get(acc[r][v]).get(av).get(bv[v]).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add).set(acc[r][v]);
        }
      }
    }
    addTo(a, () => fn.i32Const(steps * mr * 4));
    addTo(b, () => fn.i32Const(steps * nr * 4));
  };
  /** Row r of the tile starts at cRow; the caller steps cRow by ldc between rows. */
  const eachTileRow = (perRow: (r: number) => void) => {
    fn.get(cTile).set(cRow);
    for (let r = 0; r < mr; r++) {
      perRow(r);
      if (r < mr - 1) addTo(cRow, () => fn.get(ldc));
    }
  };

  // Panel sizes and loop ends (bytes).
  fn.get(kc).i32Const(mr * 4).emit(Op.i32Mul).set(aPanelBytes);
  fn.get(kc).i32Const(nr * 4).emit(Op.i32Mul).set(bPanelBytes);
  fn.get(aPtr).get(mPanels).get(aPanelBytes).emit(Op.i32Mul, Op.i32Add).set(aBlockEnd);
  fn.get(bPtr).get(nPanels).get(bPanelBytes).emit(Op.i32Mul, Op.i32Add).set(bEnd);
  fn.get(ldc).i32Const(mr).emit(Op.i32Mul).set(cTileStep);
  fn.get(bPtr).set(bPanel);
  fn.get(cPtr).set(cCol);
  whileBelow(bPanel, bEnd, () => {
    fn.get(aPtr).set(aPanel);
    fn.get(cCol).set(cTile);
    whileBelow(aPanel, aBlockEnd, () => {
      eachTileRow((r) => {
        for (let v = 0; v < vectors; v++) fn.get(cRow).simd(SimdOp.v128Load, ...vecArg(16 * v)).set(acc[r][v]);
      });
      fn.get(aPanel).set(a);
      fn.get(bPanel).set(b);
      fn.get(aPanel).get(aPanelBytes).emit(Op.i32Add).set(aEnd);
      // aMainEnd = aEnd − (kc mod KU)·MR·4: the unrolled loop stops there, the one-step loop finishes.
      fn.get(aEnd).get(kc).i32Const(ku).emit(Op.i32RemU).i32Const(mr * 4).emit(Op.i32Mul, Op.i32Sub).set(aMainEnd);
      whileBelow(a, aMainEnd, () => kSteps(ku));
      whileBelow(a, aEnd, () => kSteps(1));
      eachTileRow((r) => {
        for (let v = 0; v < vectors; v++) fn.get(cRow).get(acc[r][v]).simd(SimdOp.v128Store, ...vecArg(16 * v));
      });
      addTo(aPanel, () => fn.get(aPanelBytes));
      addTo(cTile, () => fn.get(cTileStep));
    });
    addTo(bPanel, () => fn.get(bPanelBytes));
    addTo(cCol, () => fn.i32Const(nr * 4));
  });
  return encodeModule(memory, [{ name: "macroKernel", fn }]);
}

/**
 * Whether this engine runs WebAssembly with 128-bit SIMD: a tiny module using v128 validates, and it
 * may also be compiled here. A page whose Content-Security-Policy lacks 'wasm-unsafe-eval' (or a Node
 * `vm` context with `codeGeneration: { wasm: false }`) validates the bytes but refuses to compile them;
 * there products stay on the scalar kernel instead of failing at the first float32 product.
 */
export function wasmSimdSupported(): boolean {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return false;
  try {
    const bytes = emitGemmModule({ mr: 1, nr: 4, ku: 1 }, { module: "env", field: "memory", minPages: 1 });
    if (!WebAssembly.validate(bytes)) return false;
    new WebAssembly.Module(bytes);
    return true;
  } catch {
    return false;
  }
}

/** One instance of the GEMM module over its own memory: the kernel and a Float32Array view of the memory. */
export interface GemmInstance {
  macroKernel: MacroKernel;
  memory: WebAssembly.Memory;
  /** The whole memory as float32 (index = byte address / 4). Re-made by `ensureBytes` when the memory grows. */
  heap: Float32Array;
  /** Grow the memory (if needed) to at least `bytes`; refreshes `heap`. */
  ensureBytes(bytes: number): void;
}

/**
 * Compile `tile`'s module synchronously and instantiate it over a fresh memory of at least `bytes`.
 * A non-shared memory: each thread has its own instance and memory (the pool hands operands over
 * in its own shared buffer; src/ops/gemm-parallel.ts).
 */
export function instantiateGemmKernel(tile: GemmTile, bytes: number): GemmInstance {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  const memory = new WebAssembly.Memory({ initial: pages });
  const module = new WebAssembly.Module(emitGemmModule(tile, { module: "env", field: "memory", minPages: 1 }));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const result: GemmInstance = {
    macroKernel: instance.exports.macroKernel as MacroKernel,
    memory,
    heap: new Float32Array(memory.buffer),
    ensureBytes(needed: number) {
      if (needed > memory.buffer.byteLength) {
        memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
        result.heap = new Float32Array(memory.buffer); // growing detaches the old buffer
      }
    },
  };
  return result;
}
