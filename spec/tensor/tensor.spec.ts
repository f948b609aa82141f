import { expect } from "chai";
import fc from "fast-check";
import * as T from "../../src/index.js";
import { Generator, Tensor, tensor } from "../../src/index.js";
import { flat } from "../helpers/arbitraries.js";

describe("Tensor storage and creation", () => {
  it("creates 0-d, nested and typed-array tensors with the right shape and dtype", () => {
    expect(tensor(3).shape).to.deep.equal([]);
    expect(tensor(3).item()).to.equal(3);
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(m.shape).to.deep.equal([2, 3]);
    expect(m.dtype).to.equal("float32");
    expect(m.toArray()).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    const typed = tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(typed.dtype).to.equal("float64");
    expect(typed.toArray()).to.deep.equal([[1, 2], [3, 4]]);
  });

  it("stores data in an ndarray view over a typed array", () => {
    const m = tensor([[1, 2], [3, 4]], { dtype: "float64" });
    expect(m.storage.data).to.be.instanceOf(Float64Array);
    expect(m.storage.stride).to.deep.equal([2, 1]);
  });

  it("rejects ragged arrays and wrong sizes", () => {
    expect(() => tensor([[1, 2], [3]])).to.throw(/ragged/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).to.throw(/3 values cannot fill shape \[2, 2\]/);
  });

  it("zeros, ones, full, eye, arange", () => {
    expect(flat(T.zeros([2, 2]))).to.deep.equal([0, 0, 0, 0]);
    expect(flat(T.ones([3]))).to.deep.equal([1, 1, 1]);
    expect(flat(T.full([2], 7, { dtype: "float64" }))).to.deep.equal([7, 7]);
    expect(T.eye(2, 3).toArray()).to.deep.equal([[1, 0, 0], [0, 1, 0]]);
    expect(flat(T.arange(5))).to.deep.equal([0, 1, 2, 3, 4]);
    expect(flat(T.arange(1, 2, 0.25, { dtype: "float64" }))).to.deep.equal([1, 1.25, 1.5, 1.75]);
  });

  it("rand and randn are seeded: same seed, same bits; different seed, different values", () => {
    const a = T.randn([4, 5], new Generator(7));
    const b = T.randn([4, 5], new Generator(7));
    const c = T.randn([4, 5], new Generator(8));
    expect(flat(a)).to.deep.equal(flat(b));
    expect(flat(a)).to.not.deep.equal(flat(c));
    const u = T.rand([1000], new Generator(1));
    expect(Math.min(...flat(u))).to.be.at.least(0);
    expect(Math.max(...flat(u))).to.be.lessThan(1);
    // @ts-expect-error a generator is required
    expect(() => T.randn([2])).to.throw(/seeded Generator/);
  });

  it("randn has mean ≈ 0 and std ≈ 1", () => {
    const x = T.randn([20000], new Generator(3), { dtype: "float64" });
    expect(Math.abs(x.mean().item())).to.be.lessThan(0.03);
    expect(Math.abs(x.std().item() - 1)).to.be.lessThan(0.03);
  });

  it("Generator state round trip resumes the exact stream", () => {
    const g = new Generator(42);
    g.normal();
    const state = g.getState();
    const next = [g.normal(), g.random(), g.nextUint32()];
    const h = new Generator(0).setState(state);
    expect([h.normal(), h.random(), h.nextUint32()]).to.deep.equal(next);
  });

  it("randperm is a permutation", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.nat(), (n, seed) => {
        const p = Array.from(new Generator(seed).randperm(n)).sort((x, y) => x - y);
        expect(p).to.deep.equal([...Array(n).keys()]);
      }),
    );
  });

  it("transpose, slice and expand are views (no copy)", () => {
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    const t = m.transpose(0, 1);
    expect(t.storage.data).to.equal(m.storage.data);
    expect(t.storage.stride).to.deep.equal([1, 3]);
    expect(t.toArray()).to.deep.equal([[1, 4], [2, 5], [3, 6]]);
    const e = tensor([1, 2, 3]).expand([2, 3]);
    expect(e.storage.stride).to.deep.equal([0, 1]);
    expect(e.toArray()).to.deep.equal([[1, 2, 3], [1, 2, 3]]);
    const s = m.narrow(1, 1, 2);
    expect(s.storage.data).to.equal(m.storage.data);
    expect(s.toArray()).to.deep.equal([[2, 3], [5, 6]]);
    expect(m.slice(1, undefined, undefined, 2).toArray()).to.deep.equal([[1, 3], [4, 6]]);
    expect(m.select(0, -1).toArray()).to.deep.equal([4, 5, 6]);
  });

  it("toTypedArray of a view is a contiguous row-major copy", () => {
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    const copy = m.t().toTypedArray();
    expect(Array.from(copy)).to.deep.equal([1, 4, 2, 5, 3, 6]);
    copy[0] = 99;
    expect(m.item === undefined).to.equal(false);
    expect(m.toArray()).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
  });

  it("size, numel, dim", () => {
    const x = T.zeros([2, 3, 4]);
    expect(x.size()).to.deep.equal([2, 3, 4]);
    expect(x.size(-1)).to.equal(4);
    expect(x.numel()).to.equal(24);
    expect(x.dim()).to.equal(3);
    expect(x).to.be.instanceOf(Tensor);
  });
});
