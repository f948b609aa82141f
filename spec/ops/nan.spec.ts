/**
 * NaN in → NaN out, as in PyTorch: one row per op. Each row's expected values were produced by
 * torch 1.13 on the same input (x = [NaN, 1, −1] unless the row says otherwise), e.g.
 *   torch.relu(torch.tensor([nan, 1., -1.]))  →  tensor([nan, 1., 0.])
 * A NaN that an op turns into a number would hide a bug upstream; no op here may do that.
 * Where we are stricter than torch (sign, where/maskedFill), the row says so; see docs/porting.md.
 */
import { expect } from "chai";
import * as T from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

const x = (): Tensor => T.tensor([NaN, 1, -1]);
const image = (): Tensor => T.tensor([[[[1, NaN], [2, 3]]]]); // (1, 1, 2, 2)
const N = NaN;

interface NanRow {
  op: string;
  run: () => Tensor;
  /** torch's output on the same input (NaN where torch gives nan). */
  torch: number[] | number;
}

const rows: NanRow[] = [
  { op: "relu", run: () => T.relu(x()), torch: [N, 1, 0] },
  { op: "gelu", run: () => T.gelu(x()), torch: [N, 0.8413447, -0.1586553] },
  { op: "sigmoid", run: () => T.sigmoid(x()), torch: [N, 0.7310586, 0.2689414] },
  { op: "tanh", run: () => T.tanh(x()), torch: [N, 0.7615942, -0.7615942] },
  { op: "abs", run: () => T.abs(x()), torch: [N, 1, 1] },
  { op: "exp", run: () => T.exp(x()), torch: [N, 2.7182817, 0.3678794] },
  { op: "neg", run: () => T.neg(x()), torch: [N, -1, 1] },
  { op: "square", run: () => T.square(x()), torch: [N, 1, 1] },
  { op: "max", run: () => T.max(x()), torch: N },
  { op: "min", run: () => T.min(x()), torch: N },
  { op: "max (dim)", run: () => T.max(T.tensor([[1, N], [3, 2]]), 1), torch: [N, 3] },
  { op: "argmax", run: () => T.argmax(T.tensor([1, N, 3])), torch: 1 },
  { op: "argmax (dim)", run: () => T.argmax(T.tensor([[1, N], [3, 2]]), 1), torch: [1, 0] },
  { op: "maximum", run: () => T.maximum(x(), T.zeros([3])), torch: [N, 1, 0] },
  { op: "minimum", run: () => T.minimum(T.zeros([3]), x()), torch: [N, 0, -1] },
  { op: "clamp", run: () => T.clamp(x(), -0.5, 0.5), torch: [N, 0.5, -0.5] },
  { op: "clamp (min only)", run: () => T.clamp(x(), 0), torch: [N, 1, 0] },
  { op: "maxPool2d", run: () => T.maxPool2d(image(), 2), torch: [N] },
  { op: "avgPool2d", run: () => T.avgPool2d(image(), 2), torch: [N] },
  { op: "logsumexp", run: () => T.logsumexp(x(), 0), torch: N },
  { op: "softmax", run: () => T.softmax(x(), 0), torch: [N, N, N] },
  { op: "logSoftmax", run: () => T.logSoftmax(x(), 0), torch: [N, N, N] },
  { op: "sum", run: () => T.sum(x()), torch: N },
  { op: "mean", run: () => T.mean(x()), torch: N },
  { op: "var", run: () => T.var(x()), torch: N },
  { op: "norm", run: () => T.norm(x()), torch: N },
  { op: "normalize", run: () => T.normalize(T.tensor([[N, 1]])), torch: [N, N] },
  { op: "matmul", run: () => T.matmul(T.tensor([[N, 1]]), T.tensor([[1], [1]])), torch: [N] },
  { op: "crossEntropy", run: () => T.crossEntropy(T.tensor([[N, 1]]), [0]), torch: N },
  { op: "mseLoss", run: () => T.mseLoss(x(), T.zeros([3])), torch: N },
  // Stricter than torch: torch.sign(nan) is 0 (torch 1.13), which hides the NaN; ours stays NaN.
  { op: "sign", run: () => T.sign(x()), torch: [N, 1, -1] },
];

function flat(t: Tensor): number[] {
  return Array.from(t.toTypedArray());
}

describe("NaN propagates through every op, as in PyTorch", () => {
  for (const row of rows) {
    it(row.op, () => {
      const got = flat(row.run());
      const want = typeof row.torch === "number" ? [row.torch] : row.torch;
      expect(got.length, row.op).to.equal(want.length);
      got.forEach((v, i) => {
        if (Number.isNaN(want[i])) expect(v, `${row.op}[${i}]`).to.be.NaN;
        else expect(v, `${row.op}[${i}]`).to.be.closeTo(want[i], 1e-6);
      });
    });
  }

  // Gradients at a NaN, as torch: y.grad after relu(y).sum().backward() is [1, 1] for y = [nan, 1];
  // after y.max().backward() it is [1, 0] (the NaN is the maximum).
  it("relu passes the gradient at a NaN", () => {
    const y = T.tensor([N, 1], { requiresGrad: true });
    T.relu(y).sum().backward();
    expect(flat(y.grad!)).to.deep.equal([1, 1]);
  });
  it("max sends the gradient to the NaN", () => {
    const y = T.tensor([N, 1], { requiresGrad: true });
    T.max(y).backward();
    expect(flat(y.grad!)).to.deep.equal([1, 0]);
  });

  // Stricter than torch (which takes bool conditions only): a NaN condition is refused.
  it("where and maskedFill refuse a NaN condition, naming the op", () => {
    expect(() => T.where(T.tensor([N, 0]), 1, 2)).to.throw(/^where: the condition contains NaN at flat index 0/);
    expect(() => T.maskedFill(T.zeros([2]), T.tensor([0, N]), 1)).to.throw(/^maskedFill: the mask contains NaN at flat index 1/);
  });
});
