// Type declarations for the parts of scijs `ndarray-ops` the specs use as the reference the plain
// loops of src/tensor/strided.ts are checked against (the package ships none; the library itself no
// longer imports it: its kernels are generated with `new Function`, which a strict CSP refuses).
// Every function writes into its first argument; the arguments may have any strides, including
// stride 0 (a broadcast view), which is how this project broadcasts without copying.
declare module "ndarray-ops" {
  import type { NdArray } from "ndarray";
  type Nd = NdArray<Float32Array | Float64Array>;
  type Binary = (out: Nd, a: Nd, b: Nd) => Nd;
  type BinaryScalar = (out: Nd, a: Nd, scalar: number) => Nd;
  type Unary = (out: Nd, a: Nd) => Nd;
  const ops: {
    assign: Unary;
    assigns: (out: Nd, scalar: number) => Nd;
    add: Binary;
    sub: Binary;
    mul: Binary;
    div: Binary;
    max: Binary;
    min: Binary;
    pow: Binary;
    adds: BinaryScalar;
    subs: BinaryScalar;
    muls: BinaryScalar;
    divs: BinaryScalar;
    maxs: BinaryScalar;
    mins: BinaryScalar;
    pows: BinaryScalar;
    addeq: Unary;
    subeq: Unary;
    muleq: Unary;
    mulseq: (out: Nd, scalar: number) => Nd;
    neg: Unary;
    exp: Unary;
    log: Unary;
    sqrt: Unary;
    abs: Unary;
    sum: (a: Nd) => number;
    sup: (a: Nd) => number;
    inf: (a: Nd) => number;
    equals: (a: Nd, b: Nd) => boolean;
  };
  export default ops;
}
