/**
 * Bad input gets a clear error that names the op and what was wrong.
 */
import { expect } from "chai";
import * as T from "../../src/index.js";
import { tensor } from "../../src/index.js";

describe("errors name the op and the shapes, dtypes or values", () => {
  it("incompatible shapes (both in the message)", () => {
    expect(() => T.zeros([2, 3]).add(T.zeros([2]))).to.throw(/^add: shapes \[2, 3\] and \[2\] cannot be broadcast/);
    expect(() => T.zeros([2, 3]).matmul(T.zeros([2, 3]))).to.throw(/^matmul: inner dimensions differ: \[2, 3\] @ \[2, 3\]/);
    expect(() => T.cat([T.zeros([2, 3]), T.zeros([2, 4])], 0)).to.throw(/^cat: tensors\[1\] has shape \[2, 4\]/);
    expect(() => T.mseLoss(T.zeros([2]), T.zeros([3]))).to.throw(/^mseLoss: input \[2\] and target \[3\]/);
  });

  it("mixed dtypes", () => {
    expect(() => T.zeros([2]).mul(T.zeros([2], { dtype: "float64" }))).to.throw(
      /^mul: input is float32 \[2\] but other is float64 \[2\]; convert one with \.to\("float32"\) or \.to\("float64"\)$/,
    );
    expect(() => T.zeros([2, 2]).matmul(T.zeros([2, 2], { dtype: "float64" }))).to.throw(
      /^matmul: left operand is float32 \[2, 2\] but right operand is float64 \[2, 2\]/,
    );
    expect(() => T.cat([T.zeros([2]), T.zeros([2], { dtype: "float64" })])).to.throw(
      /^cat: tensors\[0\] is float32 \[2\] but tensors\[1\] is float64 \[2\]/,
    );
  });

  it("backward on a non-scalar, and on a tensor that needs no grad", () => {
    expect(() => tensor([1, 2], { requiresGrad: true }).mul(2).backward()).to.throw(
      /^backward: grad can be implicitly created only for scalar outputs/,
    );
    expect(() => tensor([1, 2]).sum().backward()).to.throw(/^backward: this tensor does not require grad/);
  });

  it("index out of range", () => {
    expect(() => T.zeros([3, 2]).indexSelect(0, [0, 3])).to.throw(
      /^indexSelect: index 3 at position 1 is out of range for dim 0 of size 3/,
    );
    expect(() => T.zeros([3, 2]).gather(1, tensor([[2]]))).to.throw(/^gather: index 2 at position 0 is out of range/);
    expect(() => T.crossEntropy(T.zeros([2, 3]), [0, 5])).to.throw(
      /^crossEntropy: target 5 at position 1 is out of range for the class dim of size 3/,
    );
    expect(() => T.crossEntropy(T.zeros([2, 3]), [0, 1.5])).to.throw(/^crossEntropy: target 1.5 at position 1 is not an integer/);
  });

  // torch: "index out of range in self", "Target -1 is out of bounds.": no Python-style wrap.
  it("negative indices are refused, not wrapped", () => {
    expect(() => T.zeros([3, 2]).indexSelect(0, [0, -1])).to.throw(
      /^indexSelect: index -1 at position 1 is out of range for dim 0 of size 3 \(valid: 0 to 2\)/,
    );
    expect(() => T.zeros([3, 2]).gather(1, tensor([[-1]]))).to.throw(/^gather: index -1 at position 0 is out of range for dim 1 of size 2/);
    expect(() => T.crossEntropy(T.zeros([2, 3]), [-1, 0])).to.throw(
      /^crossEntropy: target -1 at position 0 is out of range for the class dim of size 3/,
    );
    expect(() => new T.Embedding(3, 2, { generator: new T.Generator(0) }).forward([-1])).to.throw(
      /Embedding: .*index -1 at position 0 is out of range/,
    );
    expect(() => T.zeros([3]).select(0, 3)).to.throw(/^select: index 3 is out of range for dim 0 of size 3/);
    expect(() => T.zeros([3]).sum(1)).to.throw(/^sum: dim 1 is out of range for a tensor with 1 dimension/);
  });

  it("reshape to the wrong size", () => {
    expect(() => T.zeros([2, 3]).reshape(4, 2)).to.throw(
      /^reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) to \[4, 2\] \(8 elements\)/,
    );
    expect(() => T.zeros([2, 3]).reshape(-1, 4)).to.throw(/^reshape: cannot reshape/);
    expect(() => T.zeros([2, 3]).expand([4, 3])).to.throw(/^expand: cannot expand shape \[2, 3\] to \[4, 3\]/);
  });

  it("crossEntropy checks its targets and options", () => {
    expect(() => T.crossEntropy(T.zeros([2, 3]), [0])).to.throw(/^crossEntropy: 1 targets for 2 rows/);
    expect(() => T.crossEntropy(T.zeros([2, 3]), [0, 1.5])).to.throw(/not an integer/);
    expect(() => T.crossEntropy(T.zeros([2, 3]), [0, 1], { reduction: "avg" as "mean" })).to.throw(/reduction must be/);
    expect(() => T.crossEntropy(T.zeros([3]), [0])).to.throw(/logits must be \(N, C\), got shape \[3\]/);
  });

  it("item on a multi-element tensor, and bad creation arguments", () => {
    expect(() => T.zeros([2]).item()).to.throw(/^item: only a one-element tensor/);
    expect(() => T.zeros([-1])).to.throw(/^zeros: invalid shape \[-1\]/);
    expect(() => T.arange(0, 1, 0)).to.throw(/^arange: step must be/);
  });
});
