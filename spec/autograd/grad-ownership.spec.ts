/**
 * The tape keeps a rule's freshly computed gradient as a leaf's `.grad` (and sums into a pending
 * gradient in place) instead of copying, when it can prove that no one else sees the buffer
 * (src/autograd/tape.ts, GradientBuffers). These specs try every way a buffer could be shared and
 * check that no tensor is written behind its holder's back, and that the values stay right.
 */
import { expect } from "chai";
import { cat, tensor, SGD, Tensor } from "../../src/index.js";
import { flat } from "../helpers/arbitraries.js";

const f64 = { dtype: "float64" as const };

describe("autograd: gradient buffers the tape owns", () => {
  it("a kept .grad reference is never written after zeroGrad (set to null): the next backward stores a new buffer", () => {
    const w = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const x = tensor([4, 5, 6], f64);
    const optimizer = new SGD([w], { lr: 0.1 });
    w.mul(x).sum().backward();
    const kept = w.grad!;
    expect(flat(kept)).to.deep.equal([4, 5, 6]);
    optimizer.zeroGrad();
    expect(w.grad).to.equal(null);
    w.mul(x.mul(10)).sum().backward();
    expect(flat(w.grad!)).to.deep.equal([40, 50, 60]);
    expect(flat(kept)).to.deep.equal([4, 5, 6]); // untouched
    expect(w.grad!.storage.data.buffer).to.not.equal(kept.storage.data.buffer);
  });

  it("without zeroGrad the next backward sums into the same .grad in place, as PyTorch (a kept reference sees the sum)", () => {
    const w = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const x = tensor([4, 5, 6], f64);
    w.mul(x).sum().backward();
    const kept = w.grad!;
    w.mul(x).sum().backward();
    expect(w.grad).to.equal(kept);
    expect(flat(kept)).to.deep.equal([8, 10, 12]);
  });

  it("zeroGrad(false) zeroes the .grad in place and the next backward sums into it", () => {
    const w = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const x = tensor([4, 5, 6], f64);
    const optimizer = new SGD([w], { lr: 0.1 });
    w.mul(x).sum().backward();
    const kept = w.grad!;
    optimizer.zeroGrad(false);
    expect(w.grad).to.equal(kept);
    expect(flat(kept)).to.deep.equal([0, 0, 0]);
    w.mul(x).sum().backward();
    expect(flat(kept)).to.deep.equal([4, 5, 6]);
  });

  it("a freshly computed gradient becomes .grad without a copy", () => {
    const w = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const x = tensor([4, 5, 6], f64);
    const loss = w.mul(x).sum(); // mul's rule computes g·x into a new buffer
    const copy = Tensor.prototype.toTypedArray;
    let copies = 0;
    Tensor.prototype.toTypedArray = function(this: Tensor) {
      copies++;
      return copy.call(this);
    };
    try {
      loss.backward();
    } finally {
      Tensor.prototype.toTypedArray = copy;
    }
    expect(copies).to.equal(0);
    expect(flat(w.grad!)).to.deep.equal([4, 5, 6]);
  });

  it("one buffer returned for two inputs (add's rule returns g twice) is copied for each leaf: the two .grads do not alias", () => {
    const a = tensor([1, 2], { ...f64, requiresGrad: true });
    const b = tensor([3, 4], { ...f64, requiresGrad: true });
    const scale = tensor([5, 6], f64);
    a.add(b).mul(scale).sum().backward(); // mul's fresh g·scale reaches add, whose rule returns it for both a and b
    expect(flat(a.grad!)).to.deep.equal([5, 6]);
    expect(flat(b.grad!)).to.deep.equal([5, 6]);
    expect(a.grad!.storage.data.buffer).to.not.equal(b.grad!.storage.data.buffer);
    a.grad!.storage.data[0] = 100;
    expect(flat(b.grad!)).to.deep.equal([5, 6]);
  });

  it("x + x on a leaf: both contributions, summed (the shared buffer is not summed into itself)", () => {
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const scale = tensor([2, 3, 4], f64);
    x.add(x).mul(scale).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([4, 6, 8]);
  });

  it("a non-leaf used three times sums its contributions (in place into the first, which the tape owns)", () => {
    const x = tensor([1, -2, 0.5], { ...f64, requiresGrad: true });
    const h = x.mul(3); // non-leaf
    // loss = Σ h² + Σ h + Σ h·x  ⇒  ∂/∂h = 2h + 1 + x, ∂/∂x = 3(2h + 1 + x) + h
    h.mul(h).sum().add(h.sum()).add(h.mul(x).sum()).backward();
    const expected = [1, -2, 0.5].map((v) => 3 * (2 * 3 * v + 1 + v) + 3 * v);
    expect(flat(x.grad!)).to.deep.equal(expected);
  });

  it("the user's gradient passed through an identity-like rule is copied: .grad does not alias it", () => {
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const c = tensor([10, 20, 30], f64);
    const y = x.add(c); // add's rule returns the upstream gradient itself
    const seed = tensor([7, 8, 9], f64);
    y.backward(seed);
    expect(flat(x.grad!)).to.deep.equal([7, 8, 9]);
    seed.storage.data[0] = -1;
    expect(flat(x.grad!)).to.deep.equal([7, 8, 9]);
    expect(x.grad!.storage.data.buffer).to.not.equal(seed.storage.data.buffer);
  });

  it("a .grad from one backward passed as the seed of another (GradCache) is not taken over by the second's leaves", () => {
    const w = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    // First pass: the gradient of a loss with respect to a detached embedding.
    const embedding = w.mul(2).detach().requiresGrad_();
    embedding.mul(tensor([1, 1, 1], f64)).mul(embedding).sum().backward(); // ∂/∂e = 2e
    const cached = embedding.grad!;
    expect(flat(cached)).to.deep.equal([4, 8, 12]);
    // Second pass: re-forward with the graph, backward with the cached gradient as the seed.
    const again = w.add(tensor([0, 0, 0], f64)); // passes the seed straight through to w
    again.backward(cached);
    expect(flat(w.grad!)).to.deep.equal([4, 8, 12]);
    cached.storage.data[1] = 0;
    expect(flat(w.grad!)).to.deep.equal([4, 8, 12]);
  });

  it("retainGraph: a second backward through the same graph adds the same gradient again, no stale or shared buffer", () => {
    const x = tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const h = x.mul(x); // non-leaf, used twice below
    const loss = h.add(h).sum(); // ∂/∂x = 4x
    loss.backward(undefined, { retainGraph: true });
    const first = w0(x);
    loss.backward();
    expect(first).to.deep.equal([4, 8, 12]);
    expect(flat(x.grad!)).to.deep.equal([8, 16, 24]);
  });

  it("a sliced gradient (a slice of one fresh buffer for each input) is copied, not kept", () => {
    const a = tensor([1, 2], { ...f64, requiresGrad: true });
    const b = tensor([3, 4], { ...f64, requiresGrad: true });
    const both = a.unsqueeze(0).mul(1); // (1, 2) non-leaf
    const stacked = cat([both, b.unsqueeze(0).mul(1)], 0); // (2, 2): cat's rule returns two slices of one gradient
    stacked.mul(tensor([[1, 2], [3, 4]], f64)).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([1, 2]);
    expect(flat(b.grad!)).to.deep.equal([3, 4]);
    a.grad!.storage.data[0] = 50;
    expect(flat(b.grad!)).to.deep.equal([3, 4]);
  });
});

function w0(t: Tensor): number[] {
  return flat(t.grad!);
}
