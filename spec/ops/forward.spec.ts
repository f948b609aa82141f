/**
 * Forward values against closed forms and the mathematical properties of each op.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as T from "../../src/index.js";
import { tensor } from "../../src/index.js";
import { flat, numbersClose, shapeArb, valuesArb } from "../helpers/arbitraries.js";

const close = (a: number[], b: number[], tol = 1e-12) => {
  expect(a.length).to.equal(b.length);
  a.forEach((v, i) => expect(numbersClose(v, b[i], tol, tol), `index ${i}: ${v} vs ${b[i]}`).to.equal(true));
};

describe("elementwise forward", () => {
  it("broadcasts by NumPy rules", () => {
    const a = tensor([[1], [2]]); // (2, 1)
    const b = tensor([10, 20, 30]); // (3,)
    expect(a.add(b).toArray()).to.deep.equal([[11, 21, 31], [12, 22, 32]]);
    expect(a.mul(2).toArray()).to.deep.equal([[2], [4]]);
    expect(T.sub(1, a).toArray()).to.deep.equal([[0], [-1]]);
    expect(T.div(a, tensor(4)).toArray()).to.deep.equal([[0.25], [0.5]]);
  });

  it("matches Math for unary ops", () => {
    fc.assert(
      fc.property(valuesArb(6, { min: 0.1, max: 5 }), (values) => {
        const x = tensor(values, { dtype: "float64" });
        close(flat(x.exp()), values.map(Math.exp));
        close(flat(x.log()), values.map(Math.log));
        close(flat(x.sqrt()), values.map(Math.sqrt));
        close(flat(x.tanh()), values.map(Math.tanh));
        close(flat(x.neg().abs()), values);
        close(flat(x.pow(2.5)), values.map((v) => v ** 2.5));
        close(flat(x.sigmoid()), values.map((v) => 1 / (1 + Math.exp(-v))));
      }),
    );
  });

  it("relu, clamp, maximum, minimum", () => {
    const x = tensor([-2, -0.5, 0, 0.5, 2]);
    expect(flat(x.relu())).to.deep.equal([0, 0, 0, 0.5, 2]);
    expect(flat(x.clamp(-1, 1))).to.deep.equal([-1, -0.5, 0, 0.5, 1]);
    expect(flat(x.clamp(null, 0))).to.deep.equal([-2, -0.5, 0, 0, 0]);
    expect(flat(x.maximum(0.25))).to.deep.equal([0.25, 0.25, 0.25, 0.5, 2]);
    expect(flat(x.minimum(tensor([0])))).to.deep.equal([-2, -0.5, 0, 0, 0]);
  });

  it("gelu matches x·Φ(x) at known points, and stays finite and accurate far in the tails", () => {
    const x = tensor([0, 1, -1, 3, -10, 40], { dtype: "float64" });
    const values = flat(x.gelu());
    // Φ(1) = 0.8413447460685429, Φ(3) = 0.9986501019683699, Φ(−10) = 7.619853024160527e-24
    close(values, [0, 0.8413447460685429, -0.15865525393145707, 3 * 0.9986501019683699, -10 * 7.619853024160527e-24, 40], 1e-14);
  });

  it("erf at known points", () => {
    expect(T.erf(0.5)).to.be.closeTo(0.5204998778130465, 4e-16);
    expect(T.erf(2)).to.be.closeTo(0.9953222650189527, 4e-16);
    expect(T.erfc(5)).to.be.closeTo(1.5374597944280349e-12, 1e-26);
    expect(T.erf(-1)).to.be.closeTo(-0.8427007929497149, 4e-16);
  });
});

describe("reductions forward", () => {
  const x = tensor([[1, 5, 3], [4, 2, 6]], { dtype: "float64" });
  it("sum, mean, max, min, argmax along dims and over everything", () => {
    expect(x.sum().item()).to.equal(21);
    expect(x.sum(0).toArray()).to.deep.equal([5, 7, 9]);
    expect(x.sum(1, true).toArray()).to.deep.equal([[9], [12]]);
    expect(x.sum([0, 1]).item()).to.equal(21);
    expect(x.mean(-1).toArray()).to.deep.equal([3, 4]);
    expect(x.max().item()).to.equal(6);
    expect(x.max(1).toArray()).to.deep.equal([5, 6]);
    expect(x.min(0, true).toArray()).to.deep.equal([[1, 2, 3]]);
    expect(x.argmax(1).toArray()).to.deep.equal([1, 2]);
    expect(x.argmax().item()).to.equal(5);
  });
  it("var and std (unbiased by default, as torch)", () => {
    const v = tensor([1, 2, 3, 4], { dtype: "float64" });
    expect(v.var().item()).to.be.closeTo(5 / 3, 1e-15);
    expect(v.var(0, { unbiased: false }).item()).to.be.closeTo(1.25, 1e-15);
    expect(v.std().item()).to.be.closeTo(Math.sqrt(5 / 3), 1e-15);
    expect(v.norm().item()).to.be.closeTo(Math.sqrt(30), 1e-14);
    expect(v.norm(1).item()).to.equal(10);
  });
  it("the gradient of max is split evenly among ties", () => {
    const t = tensor([1, 3, 3], { dtype: "float64", requiresGrad: true });
    t.max().backward();
    expect(flat(t.grad!)).to.deep.equal([0, 0.5, 0.5]);
  });
});

describe("softmax family", () => {
  it("softmax rows sum to 1 and are positive", () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.nat(), (shape, seed) => {
        const x = T.randn(shape, new T.Generator(seed), { dtype: "float64" }).mul(5);
        const dim = shape.length - 1;
        const s = x.softmax(dim);
        flat(s.sum(dim)).forEach((v) => expect(v).to.be.closeTo(1, 1e-12));
        flat(s).forEach((v) => expect(v).to.be.greaterThan(0));
        // logSoftmax = log(softmax); logsumexp is the shift: x − logSoftmax(x)
        close(flat(x.logSoftmax(dim)), flat(s.log()), 1e-10);
        close(flat(x.logsumexp(dim)), flat(x.exp().sum(dim).log()), 1e-12);
      }),
    );
  });

  it("stays finite and exact for inputs of magnitude 1e4 (float32)", () => {
    const x = tensor([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4]]);
    const lse = flat(x.logsumexp(1));
    expect(lse[0]).to.be.closeTo(1e4 + Math.log(1 + Math.exp(-1)), 1e-2);
    expect(lse[1]).to.be.closeTo(-1e4 + Math.log(3), 1e-2);
    flat(x.softmax(1)).forEach((v) => expect(Number.isFinite(v)).to.equal(true));
    flat(x.logSoftmax(1)).forEach((v) => expect(Number.isFinite(v)).to.equal(true));
    const y = tensor([[1e4, -1e4]], { requiresGrad: true });
    y.logSoftmax(1).sum().backward();
    flat(y.grad!).forEach((v) => expect(Number.isFinite(v)).to.equal(true));
  });

  it("logsumexp of all −∞ is −∞, not NaN", () => {
    expect(tensor([-Infinity, -Infinity]).logsumexp(0).item()).to.equal(-Infinity);
  });
});

describe("normalize", () => {
  it("gives unit norms along the dim, and leaves unit vectors unchanged", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (n, d, seed) => {
        const x = T.randn([n, d], new T.Generator(seed), { dtype: "float64" }).mul(3);
        const y = T.normalize(x);
        flat(y.square().sum(1)).forEach((v) => expect(v).to.be.closeTo(1, 1e-12));
        close(flat(T.normalize(y)), flat(y), 1e-15);
        const z = T.normalize(x, { dim: 0, p: 1 });
        flat(z.abs().sum(0)).forEach((v) => expect(v).to.be.closeTo(1, 1e-12));
      }),
    );
  });
  it("is finite for inputs of magnitude 1e4 (and 1e30) in float32, and zero rows give zeros", () => {
    const x = tensor([[1e4, -1e4, 1e4], [1e30, 1e30, 0], [0, 0, 0]], { requiresGrad: true });
    const y = T.normalize(x);
    const values = flat(y);
    values.forEach((v) => expect(Number.isFinite(v)).to.equal(true));
    expect(values[0]).to.be.closeTo(1 / Math.sqrt(3), 1e-6);
    expect(values[3]).to.be.closeTo(Math.SQRT1_2, 1e-6);
    expect(values.slice(6)).to.deep.equal([0, 0, 0]);
    y.sum().backward();
    flat(x.grad!).forEach((v) => expect(Number.isFinite(v)).to.equal(true));
  });
});

describe("matmul forward", () => {
  it("matches the definition, including batched and vector cases", () => {
    const a = tensor([[1, 2], [3, 4], [5, 6]]);
    const b = tensor([[1, 0, 2], [0, 1, 3]]);
    expect(a.matmul(b).toArray()).to.deep.equal([[1, 2, 8], [3, 4, 18], [5, 6, 28]]);
    expect(a.matmul(tensor([1, 1])).toArray()).to.deep.equal([3, 7, 11]);
    expect(tensor([1, 1, 1]).matmul(a).toArray()).to.deep.equal([9, 12]);
    expect(tensor([1, 2]).matmul(tensor([3, 4])).item()).to.equal(11);
    const batched = T.stack([a, a.mul(2)]).matmul(b); // (2, 3, 2) @ (2, 3)
    expect(batched.shape).to.deep.equal([2, 3, 3]);
    expect(batched.select(0, 1).toArray()).to.deep.equal([[2, 4, 16], [6, 8, 36], [10, 12, 56]]);
    // z zᵀ with the transpose as a strided view
    const z = tensor([[1, 2], [3, 4]]);
    expect(z.matmul(z.t()).toArray()).to.deep.equal([[5, 11], [11, 25]]);
  });
});

describe("indexing forward", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  it("cat, stack, indexSelect, gather, where, maskedFill", () => {
    expect(T.cat([x, x.mul(10)], 0).shape).to.deep.equal([4, 3]);
    expect(T.cat([x, tensor([[7], [8]])], 1).toArray()).to.deep.equal([[1, 2, 3, 7], [4, 5, 6, 8]]);
    expect(T.stack([tensor([1, 2]), tensor([3, 4])], 1).toArray()).to.deep.equal([[1, 3], [2, 4]]);
    expect(x.indexSelect(1, [2, 0, 2]).toArray()).to.deep.equal([[3, 1, 3], [6, 4, 6]]);
    expect(x.gather(1, tensor([[2, 0], [1, 1]])).toArray()).to.deep.equal([[3, 1], [5, 5]]);
    expect(T.where(tensor([1, 0, 1]), x, 0).toArray()).to.deep.equal([[1, 0, 3], [4, 0, 6]]);
    expect(x.maskedFill(tensor([[0, 1, 0], [1, 0, 0]]), -1).toArray()).to.deep.equal([[1, -1, 3], [-1, 5, 6]]);
  });
});

describe("crossEntropy and mseLoss forward", () => {
  it("crossEntropy equals −log softmax at the target, with mean/sum/none", () => {
    const logits = tensor([[2, 1, 0], [0, 0, 0]], { dtype: "float64" });
    const expected = [-Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(1) + 1)), Math.log(3)];
    close(flat(T.crossEntropy(logits, [0, 2], { reduction: "none" })), expected);
    expect(T.crossEntropy(logits, [0, 2]).item()).to.be.closeTo((expected[0] + expected[1]) / 2, 1e-15);
    expect(T.crossEntropy(logits, [0, 2], { reduction: "sum" }).item()).to.be.closeTo(expected[0] + expected[1], 1e-15);
  });
  it("uniform logits with label smoothing still give log C", () => {
    expect(T.crossEntropy(T.zeros([2, 4], { dtype: "float64" }), [1, 3], { labelSmoothing: 0.2 }).item()).to.be.closeTo(Math.log(4), 1e-15);
  });
  it("stays finite for logits of magnitude 1e4", () => {
    const loss = T.crossEntropy(tensor([[1e4, -1e4]]), [1]).item();
    expect(loss).to.be.closeTo(2e4, 1);
  });
  it("mseLoss", () => {
    expect(T.mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0])).item()).to.be.closeTo(13 / 3, 1e-6);
  });
});
