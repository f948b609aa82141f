/**
 * Version counters (src/tensor/version.ts): one count per buffer, shared by all of its views, bumped
 * by every in-place write the library makes. The tape's use of them (backward refusing a saved
 * tensor that changed) is in spec/autograd/tape.spec.ts; here, that each write site does bump, so
 * that none can slip past the tape, and that what is not an in-place write (op outputs, gradient
 * accumulation) does not.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/index.js";
import { Generator, Tensor, tensor } from "../../src/index.js";
import { mutableStorage, versionOf } from "../../src/tensor/version.js";

const f64 = (values: number[] | number[][], requiresGrad = false) => tensor(values, { dtype: "float64", requiresGrad });

describe("Tensor version counters", () => {
  it("start at 0, go up by one per mutableStorage call, and are what tensor.version reads", () => {
    const t = f64([1, 2, 3]);
    expect(t.version).to.equal(0);
    mutableStorage(t);
    mutableStorage(t);
    expect(t.version).to.equal(2);
    expect(versionOf(t)).to.equal(2);
  });

  it("are shared by every view of a buffer (transpose, reshape, slice, select, expand, detach), not by copies", () => {
    const base = f64([[1, 2, 3], [4, 5, 6]]);
    const views = [base.t(), base.reshape(6), base.slice(1, 1), base.select(0, 1), base.unsqueeze(0).expand(2, 2, 3), base.detach()];
    const copies = [base.clone(), base.contiguous().mul(1), T.Tensor.fromTypedArray(base.toTypedArray(), [2, 3])];
    mutableStorage(views[3]); // a write through one view, at an offset…
    for (const view of [base, ...views]) expect(view.version).to.equal(1); // …is seen through all of them
    for (const copy of copies) expect(copy.version).to.equal(0);
  });

  it("are not bumped by ops (fresh outputs) or by gradient accumulation", () => {
    const x = f64([1, 2], true);
    const y = x.mul(3).exp();
    y.sum().backward();
    x.mul(2).sum().backward(); // accumulates into the existing x.grad
    expect([x.version, y.version, x.grad!.version]).to.deep.equal([0, 0, 0]);
  });
});

describe("Tensor version counters: every in-place write of the library bumps the version", () => {
  const bumps = (tensors: Tensor[], write: () => void): number[] => {
    const before = tensors.map((t) => t.version);
    write();
    return tensors.map((t, i) => t.version - before[i]);
  };

  const withGradient = (values: number[]) => {
    const p = new T.Parameter(f64(values));
    p.grad = f64(values.map((v) => v / 10));
    return p;
  };

  for (
    const [name, build] of [
      ["SGD (and its momentum buffer)", (ps: Tensor[]) => new T.SGD(ps, { lr: 0.1, momentum: 0.9 })],
      ["Adam", (ps: Tensor[]) => new T.Adam(ps, { lr: 0.1 })],
      ["AdamW (amsgrad)", (ps: Tensor[]) => new T.AdamW(ps, { lr: 0.1, amsgrad: true })],
      ["LARS", (ps: Tensor[]) => new T.LARS(ps, { lr: 0.1 })],
    ] as const
  ) {
    it(`${name}.step(): each parameter and each state buffer, once per step`, () => {
      const params = [withGradient([1, -2]), withGradient([3])];
      const optimizer = build(params);
      expect(bumps(params, () => optimizer.step())).to.deep.equal([1, 1]);
      const buffers = [...optimizer.state.values()].flatMap((s) => Object.values(s).filter((v): v is Tensor => v instanceof Tensor));
      expect(buffers.length).to.be.above(0);
      expect(bumps([...params, ...buffers], () => optimizer.step())).to.deep.equal([...params, ...buffers].map(() => 1));
    });
  }

  it("clipGradNorm: the gradients it scales (and none when it leaves them alone)", () => {
    const p = withGradient([30, 40]); // ‖g‖ = 5
    expect(bumps([p.grad!], () => T.clipGradNorm([p], 10))).to.deep.equal([0]);
    expect(bumps([p.grad!], () => T.clipGradNorm([p], 1))).to.deep.equal([1]);
  });

  it("emaUpdate: the target's parameters (and buffers with 'copy' or 'ema'), never the online network's", () => {
    const g = new Generator(0);
    const online = new T.Sequential(new T.Linear(2, 2, { generator: g }), new T.BatchNorm1d(2));
    const target = new T.Sequential(new T.Linear(2, 2, { generator: g }), new T.BatchNorm1d(2));
    const targetParams = [...target.parameters()];
    const targetBuffers = [...target.namedBuffers()].map(([, b]) => b);
    const onlineAll = [...online.parameters(), ...[...online.namedBuffers()].map(([, b]) => b)];
    expect(bumps([...targetParams, ...targetBuffers, ...onlineAll], () => T.emaUpdate(target, online, 0.9))).to.deep.equal([
      ...targetParams.map(() => 1),
      ...targetBuffers.map(() => 0),
      ...onlineAll.map(() => 0),
    ]);
    expect(bumps(targetBuffers, () => T.emaUpdate(target, online, 0.9, { buffers: "ema" }))).to.deep.equal(targetBuffers.map(() => 1));
  });

  it("BatchNorm: the running statistics and the batch count in training, nothing in evaluation", () => {
    const bn = new T.BatchNorm1d(3, { dtype: "float64" });
    const buffers = [bn.runningMean!, bn.runningVar!, bn.numBatchesTracked!];
    const x = T.randn([4, 3], new Generator(1), { dtype: "float64" });
    expect(bumps(buffers, () => bn.forward(x))).to.deep.equal([1, 1, 1]);
    bn.eval();
    expect(bumps(buffers, () => bn.forward(x))).to.deep.equal([0, 0, 0]);
    expect(bumps(buffers, () => bn.resetRunningStats())).to.deep.equal([1, 1, 1]);
  });

  it("init fills: uniform_, normal_, constant_, zeros_, ones_, kaimingUniform_, xavierUniform_", () => {
    const g = new Generator(2);
    const w = T.zeros([3, 4], { dtype: "float64" });
    const fills = [
      () => T.uniform_(w, -1, 1, g),
      () => T.normal_(w, 0, 1, g),
      () => T.constant_(w, 2),
      () => T.zeros_(w),
      () => T.ones_(w),
      () => T.kaimingUniform_(w, { a: Math.sqrt(5) }, g),
      () => T.xavierUniform_(w, 1, g),
    ];
    expect(fills.map((fill) => bumps([w], fill)[0])).to.deep.equal(fills.map(() => 1));
  });

  it("copyInto, module.loadStateDict and loadModule (checkpoint): every tensor they overwrite", () => {
    const g = new Generator(3);
    const source = new T.Linear(3, 2, { generator: g });
    const model = new T.Linear(3, 2, { generator: g });
    const own = [...model.parameters()];
    expect(bumps([model.weight], () => T.copyInto(model.weight, source.weight))).to.deep.equal([1]);
    expect(bumps(own, () => model.loadStateDict(source.stateDict()))).to.deep.equal([1, 1]);
    const dir = mkdtempSync(join(tmpdir(), "version-spec-"));
    try {
      const file = join(dir, "model.safetensors");
      T.saveModule(file, source);
      expect(bumps(own, () => T.loadModule(file, model))).to.deep.equal([1, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Embedding with paddingIdx: the padding row's zeroing, after the normal_ fill", () => {
    const embedding = new T.Embedding(5, 3, { paddingIdx: 0, generator: new Generator(4) });
    expect(embedding.weight.version).to.equal(2);
  });

  it("clampLogitScale_: the scale it clamps", () => {
    const s = f64([7], true);
    expect(bumps([s], () => T.clampLogitScale_(s))).to.deep.equal([1]);
  });

  it("MoCo.enqueue: the queue and its pointer", () => {
    const moco = new T.MoCo({ generator: new Generator(5), queueSize: 8 });
    const keys = T.normalize(T.randn([4, 128], new Generator(6)));
    const pointer = new Map(moco.namedBuffers()).get("queuePointer")!;
    expect(bumps([moco.queue, pointer], () => moco.enqueue(keys))).to.deep.equal([1, 1]);
  });

  it("gradcheck: the inputs it perturbs (and restores)", () => {
    const x = f64([0.5, -1.5], true);
    expect(bumps([x], () => T.gradcheck((t) => t.mul(t), [x]))).to.deep.equal([1]);
  });
});
