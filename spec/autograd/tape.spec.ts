import { expect } from "chai";
import * as T from "../../src/index.js";
import { tensor, noGrad, Generator } from "../../src/index.js";
import { tapePosition } from "../../src/autograd/tape.js";
import { mutableStorage } from "../../src/tensor/version.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { flat } from "../helpers/arbitraries.js";

describe("autograd tape", () => {
  it("a.add(b).mul(a).sum() differentiates: ∂/∂a = 2a + b, ∂/∂b = a", () => {
    const a = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const b = tensor([4, 5, 6], { dtype: "float64", requiresGrad: true });
    a.add(b).mul(a).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([6, 9, 12]);
    expect(flat(b.grad!)).to.deep.equal([1, 2, 3]);
  });

  it("a tensor used twice receives both contributions", () => {
    const x = tensor(3, { dtype: "float64", requiresGrad: true });
    const y = x.mul(x).add(x); // x² + x
    y.backward();
    expect(x.grad!.item()).to.equal(7);
  });

  it("gradients accumulate across backward calls until reset", () => {
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([6, 6]);
    x.grad = null;
    x.sum().backward();
    expect(flat(x.grad!)).to.deep.equal([1, 1]);
  });

  it("broadcast inputs get gradients summed back to their shape", () => {
    const bias = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const column = tensor([[1], [2]], { dtype: "float64", requiresGrad: true });
    T.zeros([2, 3], { dtype: "float64" }).add(bias).mul(column).sum().backward();
    expect(flat(bias.grad!)).to.deep.equal([3, 3, 3]);
    expect(flat(column.grad!)).to.deep.equal([6, 6]);
  });

  it("the examples of the issue all work and differentiate", () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: "float64", requiresGrad: true });
    a.sum(1, true).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([1, 1, 1, 1]);
    a.grad = null;
    a.transpose(0, 1).matmul(a).sum().backward();
    expect(a.grad).to.not.equal(null);
    const z = T.randn([4, 3], new Generator(0), { dtype: "float64", requiresGrad: true });
    T.logSoftmax(z.matmul(z.transpose(0, 1)).div(0.1), 1).sum().backward();
    expect(z.grad!.shape).to.deep.equal([4, 3]);
  });

  it("noGrad records nothing; detach cuts the graph", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const before = tapePosition();
    const y = noGrad(() => x.mul(2).exp());
    expect(tapePosition()).to.equal(before);
    expect(y.requiresGrad).to.equal(false);
    const z = x.detach().mul(2);
    expect(z.requiresGrad).to.equal(false);
    const w = x.mul(x.detach()).sum(); // d/dx = x (the detached factor is a constant)
    w.backward();
    expect(flat(x.grad!)).to.deep.equal([1, 2]);
  });

  it("backward on a non-scalar needs a gradient; with one, it is a vector–Jacobian product", () => {
    const x = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const y = x.mul(x);
    expect(() => y.backward()).to.throw(/grad can be implicitly created only for scalar outputs; this output has shape \[3\]/);
    y.backward(tensor([1, 0, -1], { dtype: "float64" }));
    expect(flat(x.grad!)).to.deep.equal([2, 0, -6]);
  });

  it("the tape is released after backward; retainGraph keeps it", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward();
    expect(() => loss.backward()).to.throw(/already released/);
    const kept = x.mul(x).sum();
    kept.backward(undefined, { retainGraph: true });
    kept.backward();
  });

  it("thousands of training steps do not grow memory", function() {
    this.timeout(60000);
    const g = new Generator(0);
    const w = T.randn([64, 64], g, { requiresGrad: true });
    const input = T.randn([32, 64], g);
    const step = () => {
      const loss = input.matmul(w).relu().logsumexp(1).mean();
      loss.backward();
      noGrad(() => {
        const d = w.storage.data, gd = w.grad!.storage.data;
        for (let i = 0; i < d.length; i++) d[i] -= 1e-3 * gd[i];
      });
      w.grad = null;
    };
    for (let i = 0; i < 300; i++) step();
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i++) step();
    global.gc?.();
    const after = process.memoryUsage().heapUsed;
    // Each step allocates ~100 kB; a leak of the graph would grow the heap by hundreds of MB.
    expect(after - before).to.be.lessThan(30 * 1024 * 1024);
  });
});

/**
 * A non-leaf tensor used more than once: its gradient is the sum of what every consumer sends back
 * (the multivariable chain rule). The tape adds the contributions in `gradOfOutput` before it runs
 * the producer's rule; a tape that kept only the last contribution would fail every case here.
 * Integer inputs in float64, so the expected values are exact.
 */
describe("autograd tape: an intermediate used more than once gets the sum of its contributions", () => {
  const leaf = (values: number[] | number[][]) => tensor(values, { dtype: "float64", requiresGrad: true });

  it("y = x², z = Σ (y² + 3y):  dz/dx = (2y + 3)·2x = 4x³ + 6x", () => {
    const x = leaf([1, 2, -3]);
    const y = x.mul(x); // non-leaf, used by two ops below
    y.mul(y).add(y.mul(3)).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([1, 2, -3].map((v) => 4 * v ** 3 + 6 * v)); // [10, 44, -126]
  });

  it("one op reading the same non-leaf twice, mul(y, y): d(y²)/dy = 2y, both inputs' shares", () => {
    const x = leaf([1, 2, -3]);
    const y = x.add(1); // y = x + 1, dy/dx = 1
    T.mul(y, y).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([4, 6, -4]); // 2(x + 1)
  });

  it("one op reading the same leaf twice, mul(x, x): d(x²)/dx = 2x", () => {
    const x = leaf([1, 2, -3]);
    T.mul(x, x).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([2, 4, -6]);
  });

  it("four records at different depths read y = 2x: z = Σ (y·y·y + y + exp(0·y)) → dz/dx = 2(3y² + 1)", () => {
    const x = leaf([1, -1, 2]);
    const y = x.mul(2);
    const cube = y.mul(y).mul(y); // y read by two records, the first one twice
    cube.add(y).add(y.mul(0).exp()).sum().backward(); // exp(0·y) = 1: contributes 0, but through a real path
    expect(flat(x.grad!)).to.deep.equal([2, -2, 4].map((v) => 2 * (3 * v * v + 1))); // [26, 26, 98]
  });

  it("contributions in different layouts (a transpose's gradient is a transposed view) add element by element", () => {
    const x = leaf([[1, 2, 3], [4, 5, 6]]); // (2, 3)
    const y = x.mul(x); // (2, 3)
    const w = tensor([[1, 0], [0, 2], [1, 1]], { dtype: "float64" }); // (3, 2)
    // z = Σ_ij (yᵀ)_ij w_ij + Σ y:  ∂z/∂y = wᵀ + 1,  ∂z/∂x = 2x ⊙ (wᵀ + 1)
    y.t().mul(w).sum().add(y.sum()).backward();
    const wT = [[1, 0, 1], [0, 2, 1]];
    const expected = [[1, 2, 3], [4, 5, 6]].flatMap((row, i) => row.map((v, j) => 2 * v * (wT[i][j] + 1)));
    expect(flat(x.grad!)).to.deep.equal(expected); // [4, 4, 12, 8, 30, 24]
  });
});

/**
 * Saved tensors written in place (src/tensor/version.ts): a record notes the version of its inputs
 * and output; backward refuses a rule whose saved tensors have changed since, naming the op, the
 * input and both versions, instead of silently differentiating values the forward never used.
 */
describe("autograd tape: a saved tensor modified in place", () => {
  /** An in-place write, as the library's write sites do it: through mutableStorage. */
  const overwrite = (t: Tensor, value: number) => {
    const { data, offset } = mutableStorage(t);
    data[offset] = value;
  };

  it("throws at backward, naming the op, the input, its shape and both versions", () => {
    const g = new Generator(0);
    const weight = T.randn([4, 8], g, { requiresGrad: true });
    const input = T.randn([2, 4], g);
    const loss = input.matmul(weight).sum(); // matmul saves input 0 (2, 4) and input 1 (4, 8)
    overwrite(weight, 0); // e.g. an optimizer step between forward and backward
    expect(() => loss.backward()).to.throw(
      "backward: input 1 of 'matmul' (shape [4, 8]) was modified in place after it was saved (version 1, saved at version 0); " +
        "clone it before modifying, as MoCo's queue does",
    );
  });

  it("reports the versions as they are: a tensor written before the forward is saved at that version", () => {
    const x = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    overwrite(x, 5); // version 1, before any record
    const loss = x.mul(x).sum();
    overwrite(x, 6); // version 2
    expect(() => loss.backward()).to.throw(
      /input 0 of 'mul' \(shape \[3\]\) was modified in place after it was saved \(version 2, saved at version 1\)/,
    );
  });

  it("checks the output too: exp's rule reads its own output", () => {
    const x = tensor([0, 1], { dtype: "float64", requiresGrad: true });
    const y = x.exp();
    overwrite(y, 100);
    expect(() => y.backward(tensor([1, 1], { dtype: "float64" }))).to.throw(
      /the output of 'exp' \(shape \[2\]\) was modified in place after it was saved \(version 1, saved at version 0\)/,
    );
  });

  it("a write through one view is seen through every other view of the buffer", () => {
    const base = tensor([[1, 2], [3, 4]], { dtype: "float64" });
    const transposed = base.t(); // a view: same buffer
    const row = base.select(0, 1); // another view, at an offset
    const w = tensor([[1, 0], [0, 1]], { dtype: "float64", requiresGrad: true });
    const loss = transposed.matmul(w).sum(); // saves the transposed view
    overwrite(row, -1); // written through a different view of the same buffer
    expect(base.version).to.equal(1);
    expect(transposed.version).to.equal(1);
    expect(base.detach().version).to.equal(1); // detach shares the buffer, so the counter too
    expect(() => loss.backward()).to.throw(/input 0 of 'matmul' \(shape \[2, 2\]\) was modified in place/);
  });

  it("modifying an unrelated tensor, or a clone of the saved one, does not throw; the gradient is right", () => {
    const x = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const constant = tensor([4, 5, 6], { dtype: "float64" });
    const copy = noGrad(() => constant.clone()); // its own buffer
    const loss = x.mul(constant).sum();
    overwrite(copy, 0);
    overwrite(tensor([0], { dtype: "float64" }), 1);
    loss.backward();
    expect(flat(x.grad!)).to.deep.equal([4, 5, 6]);
    expect(constant.version).to.equal(0);
  });

  it("a write after backward is fine (the usual optimizer step); with retainGraph a second backward refuses", () => {
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward(undefined, { retainGraph: true });
    overwrite(x, 0);
    expect(() => loss.backward()).to.throw(/input 0 of 'mul' .* \(version 1, saved at version 0\)/);
  });

  /**
   * MoCo's pattern: the loss reads the queue of negatives; the step then enqueues its keys into the
   * queue, in place, before the trainer calls backward. If the tape saved the queue itself, the
   * rule ∂L/∂q = ḡ · queue would read the new keys. Here the queue goes into the matmul directly
   * (as facebookresearch/moco's einsum does with its already-normalized queue).
   */
  describe("a MoCo-like enqueue into a queue used in the loss, before backward", () => {
    const K = 6, D = 4, N = 2;
    const setup = () => {
      const g = new Generator(3);
      const queue = T.randn([K, D], g); // (K, D) buffer, no gradient
      const query = T.randn([N, D], g, { requiresGrad: true }); // (N, D)
      const keys = T.randn([N, D], g); // (N, D) this step's keys
      const enqueue = () => mutableStorage(queue).data.set(keys.toTypedArray(), 0); // rows 0 … N − 1
      return { queue, query, enqueue };
    };

    it("throws when the loss read the queue itself", () => {
      const { queue, query, enqueue } = setup();
      const loss = query.matmul(queue.t()).logsumexp(1).mean(); // (N, K) logits
      enqueue();
      expect(() => loss.backward()).to.throw(
        "input 1 of 'matmul' (shape [4, 6]) was modified in place after it was saved (version 1, saved at version 0); " +
          "clone it before modifying, as MoCo's queue does",
      );
    });

    it("does not throw when the loss read a clone, and the gradient is the one of the queue before the enqueue", () => {
      const { queue, query, enqueue } = setup();
      const queueBefore = T.Tensor.fromTypedArray(queue.toTypedArray(), [K, D]); // a copy, for the reference
      const negatives = noGrad(() => queue.clone()); // (K, D), its own buffer: what MoCo.trainingLoss does
      const loss = query.matmul(negatives.t()).logsumexp(1).mean();
      enqueue();
      loss.backward();
      expect(queue.version).to.equal(1);
      expect(flat(queue)).to.not.deep.equal(flat(queueBefore)); // the enqueue did change the queue
      const gradient = flat(query.grad!);
      query.grad = null;
      query.matmul(queueBefore.t()).logsumexp(1).mean().backward();
      expect(gradient).to.deep.equal(flat(query.grad!));
    });
  });
});
