/**
 * Properties of the optimizers, schedules and EMA that do not need PyTorch: closed forms,
 * endpoints, exclusions, resumability, and the errors a user meets.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros } from "../../src/tensor/creation.js";
import { tapePosition } from "../../src/autograd/tape.js";
import { Parameter } from "../../src/nn/module.js";
import { SGD } from "../../src/optim/sgd.js";
import { Adam, AdamW } from "../../src/optim/adam.js";
import { LARS } from "../../src/optim/lars.js";
import { clipGradNorm } from "../../src/optim/clip.js";
import { LambdaLR, constantMomentum, cosineMomentum, cosineWithWarmup } from "../../src/optim/schedules.js";
import { emaUpdate } from "../../src/optim/ema.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { TinyModule, bytesOf, setValues } from "./helpers.js";

const f64 = (values: number[], shape?: number[]): Tensor => tensor(values, { dtype: "float64", shape: shape ?? [values.length] });

/** A deterministic gradient that depends on the current parameter values (a stand-in for backward). */
function fakeGradients(params: Tensor[], step: number): void {
  for (const [k, p] of params.entries()) {
    const w = p.toTypedArray();
    const g = w.map((value, i) => Math.sin(3 * value + 0.7 * i + k) + 0.1 * step - 0.05 * value);
    p.grad = Tensor.fromTypedArray(g, p.shape);
  }
}

function makeParams(dtype: "float32" | "float64" = "float64"): { weight: Parameter; bias: Parameter; scale: Parameter } {
  return {
    weight: new Parameter(tensor([[0.5, -1.25, 2], [0.75, 0.1, -0.3]], { dtype })),
    bias: new Parameter(tensor([0.2, -0.4], { dtype })),
    scale: new Parameter(tensor([[1.5, -0.5, 0.25]], { dtype })),
  };
}

type Factory = (named: [string, Tensor][]) => Optimizer<{ lr: number }>;
const FACTORIES: Record<string, Factory> = {
  "SGD (momentum, nesterov, weight decay)": (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  "SGD (dampening)": (p) => new SGD(p, { lr: 0.05, momentum: 0.8, dampening: 0.3 }),
  "Adam (amsgrad, L2)": (p) => new Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 0.02, betas: [0.9, 0.5] }),
  AdamW: (p) => new AdamW(p, { lr: 0.01 }),
  LARS: (p) => new LARS(p, { lr: 0.1, weightDecay: 1e-4 }),
};

describe("optimizers: behaviour", () => {
  for (const [label, factory] of Object.entries(FACTORIES)) {
    it(`${label}: stateDict → loadStateDict into a fresh optimizer resumes bit-identically (3 + 2 steps = 5 steps)`, () => {
      const straight = makeParams();
      const straightList = Object.entries(straight) as [string, Tensor][];
      const straightOptimizer = factory(straightList);
      for (let step = 0; step < 5; step++) {
        fakeGradients(straightList.map(([, p]) => p), step);
        straightOptimizer.step();
      }

      const first = makeParams();
      const firstList = Object.entries(first) as [string, Tensor][];
      const firstOptimizer = factory(firstList);
      for (let step = 0; step < 3; step++) {
        fakeGradients(firstList.map(([, p]) => p), step);
        firstOptimizer.step();
      }
      const saved = firstOptimizer.stateDict();
      // Plain data, detached from the live optimizer: running on must not change it.
      const savedBytes = JSON.stringify(
        Object.values(saved.state).map((s) => Object.values(s).map((v) => (v instanceof Tensor ? [...bytesOf(v)] : v))),
      );
      fakeGradients(firstList.map(([, p]) => p), 99);
      firstOptimizer.step();
      expect(
        JSON.stringify(Object.values(saved.state).map((s) => Object.values(s).map((v) => (v instanceof Tensor ? [...bytesOf(v)] : v)))),
      ).to.equal(savedBytes);

      // Resume: fresh parameters with the step-3 values, a fresh optimizer, the saved state.
      const resumed = makeParams();
      const resumedList = Object.entries(resumed) as [string, Tensor][];
      const replay = makeParams();
      const replayList = Object.entries(replay) as [string, Tensor][];
      const replayOptimizer = factory(replayList);
      for (let step = 0; step < 3; step++) {
        fakeGradients(replayList.map(([, p]) => p), step);
        replayOptimizer.step();
      }
      resumedList.forEach(([, p], i) => setValues(p, replayList[i][1].toTypedArray()));
      const resumedOptimizer = factory(resumedList);
      resumedOptimizer.paramGroups[0].lr = 123; // replaced by the saved options, as in PyTorch
      resumedOptimizer.loadStateDict(saved);
      expect(resumedOptimizer.paramGroups[0].lr).to.equal(firstOptimizer.paramGroups[0].lr);
      for (let step = 3; step < 5; step++) {
        fakeGradients(resumedList.map(([, p]) => p), step);
        resumedOptimizer.step();
      }
      resumedList.forEach(([name, p], i) => expect(bytesOf(p).equals(bytesOf(straightList[i][1])), name).to.equal(true));
    });
  }

  it("zeroGrad sets every gradient to null (set_to_none), or to zeros in place with setToNone = false", () => {
    const { weight, bias } = makeParams();
    const optimizer = new SGD([weight, bias], { lr: 0.1 });
    fakeGradients([weight, bias], 0);
    optimizer.zeroGrad();
    expect(weight.grad).to.equal(null);
    expect(bias.grad).to.equal(null);
    fakeGradients([weight], 0);
    optimizer.zeroGrad(false);
    expect(Array.from(weight.grad!.toTypedArray())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(bias.grad).to.equal(null);
  });

  it("step skips parameters without a gradient (no update, no state), records nothing on the tape, and reuses its state buffers", () => {
    const { weight, bias } = makeParams();
    const optimizer = new Adam([weight, bias], { lr: 0.1 });
    const biasBefore = bytesOf(bias);
    const tapeBefore = tapePosition();
    fakeGradients([weight], 0);
    optimizer.step();
    expect(bytesOf(bias).equals(biasBefore)).to.equal(true);
    expect(optimizer.state.has(bias)).to.equal(false);
    const expAvg = optimizer.state.get(weight)!.expAvg;
    fakeGradients([weight], 1);
    optimizer.step();
    expect(optimizer.state.get(weight)!.expAvg).to.equal(expAvg);
    expect(optimizer.state.get(weight)!.step).to.equal(2);
    expect(tapePosition()).to.equal(tapeBefore);
  });

  it("works with autograd: backward → step → zeroGrad decreases a quadratic", () => {
    const w = new Parameter(f64([3, -2]));
    const target = f64([1, 1]);
    const optimizer = new SGD([w], { lr: 0.1, momentum: 0.5 });
    const loss = (): number => w.sub(target).square().sum().item();
    const start = loss();
    for (let i = 0; i < 20; i++) {
      optimizer.zeroGrad();
      w.sub(target).square().sum().backward();
      optimizer.step();
    }
    expect(loss()).to.be.below(start * 1e-3);
  });

  it("param groups: each group keeps its own options, missing ones come from the defaults", () => {
    const { weight, bias } = makeParams();
    const optimizer = new SGD([{ params: [weight] }, { params: [bias], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    expect(optimizer.paramGroups[0].lr).to.equal(0.1);
    expect(optimizer.paramGroups[0].momentum).to.equal(0);
    expect(optimizer.paramGroups[1].lr).to.equal(0.5);
    expect(optimizer.paramGroups[1].momentum).to.equal(0.9);
    const w0 = weight.toTypedArray();
    const b0 = bias.toTypedArray();
    weight.grad = zeros([2, 3], { dtype: "float64" }).add(1);
    bias.grad = zeros([2], { dtype: "float64" }).add(1);
    optimizer.step();
    expect(Array.from(weight.toTypedArray())).to.deep.equal(Array.from(w0).map((v) => v - 0.1 * 1));
    expect(Array.from(bias.toTypedArray())).to.deep.equal(Array.from(b0).map((v) => v - 0.5 * 1));
  });

  it("float32 parameters get float32 state and stay float32", () => {
    const { weight } = makeParams("float32");
    const optimizer = new Adam([weight], { lr: 0.01 });
    fakeGradients([weight], 0);
    optimizer.step();
    expect(weight.storage.data).to.be.instanceOf(Float32Array);
    expect((optimizer.state.get(weight)!.expAvg as Tensor).dtype).to.equal("float32");
  });

  it("rejects bad constructor input with errors that name the problem", () => {
    const { weight, bias } = makeParams();
    expect(() => new SGD([weight], { lr: -1 })).to.throw(/SGD: options: invalid lr -1/);
    expect(() => new SGD([weight], {} as { lr: number })).to.throw(/lr is required/);
    expect(() => new SGD([weight], { lr: 0.1, weight_decay: 0.1 } as unknown as { lr: number })).to.throw(/unknown option 'weight_decay'/);
    expect(() => new SGD([weight], { lr: 0.1, nesterov: true })).to.throw(/nesterov momentum requires a momentum > 0/);
    expect(() => new Adam([weight], { betas: [0.9, 1] })).to.throw(/Adam: options: invalid betas\[1\] 1/);
    expect(() => new SGD([weight, weight], { lr: 0.1 })).to.throw(/appears more than once/);
    expect(() => new SGD([{ params: [weight] }, { params: [weight] }], { lr: 0.1 })).to.throw(/appears more than once/);
    expect(() => new SGD([], { lr: 0.1 })).to.throw(/empty parameter list/);
    expect(() => new SGD(weight as unknown as Tensor[], { lr: 0.1 })).to.throw(/got a single Tensor/);
    expect(() => new SGD([weight.mul(2)], { lr: 0.1 })).to.throw(/non-leaf/);
    expect(() => new SGD([weight.detach().transpose(0, 1)], { lr: 0.1 })).to.throw(/not contiguous/);
    expect(() => new SGD([["w", weight], bias] as unknown as Tensor[], { lr: 0.1 })).to.throw(/mixes named/);
  });

  it("step rejects a gradient of the wrong shape or dtype, naming the parameter", () => {
    const { weight } = makeParams();
    const optimizer = new SGD([["encoder.weight", weight]], { lr: 0.1 });
    weight.grad = zeros([3, 2], { dtype: "float64" });
    expect(() => optimizer.step()).to.throw(/SGD.step: parameter 'encoder.weight' \(shape \[2, 3\]\) has a gradient of shape \[3, 2\]/);
    weight.grad = zeros([2, 3]);
    expect(() => optimizer.step()).to.throw(/float32/);
  });

  it("loadStateDict validates everything first: a bad state dict leaves the optimizer unchanged", () => {
    const { weight, bias } = makeParams();
    const optimizer = new Adam([weight, bias], { lr: 0.01 });
    fakeGradients([weight, bias], 0);
    optimizer.step();
    const before = optimizer.stateDict();
    const other = new Adam([weight], { lr: 0.01 });
    expect(() => optimizer.loadStateDict(other.stateDict())).to.throw(/group 0 has 1 parameters in the state dict, 2 in this optimizer/);
    const wrongShape = optimizer.stateDict();
    wrongShape.state[1].expAvg = zeros([5], { dtype: "float64" });
    wrongShape.paramGroups[0].lr = 42;
    expect(() => optimizer.loadStateDict(wrongShape)).to.throw(/'expAvg' has shape \[5\], the parameter has shape \[2\]/);
    const missing = optimizer.stateDict();
    delete missing.state[0].expAvgSq;
    expect(() => optimizer.loadStateDict(missing)).to.throw(/lacks 'expAvgSq'/);
    const unknownKey = optimizer.stateDict();
    unknownKey.state[0].momentum_buffer = 1;
    expect(() => optimizer.loadStateDict(unknownKey)).to.throw(/unknown key 'momentum_buffer'/);
    expect(optimizer.paramGroups[0].lr).to.equal(0.01);
    expect(bytesOf(optimizer.state.get(bias)!.expAvg as Tensor).equals(bytesOf(before.state[1].expAvg as Tensor))).to.equal(true);
  });
});

describe("LARS exclusion", () => {
  it("excluded parameters (biases: rank < 2 by default) get plain momentum SGD, bit for bit", () => {
    const lars = makeParams();
    const sgd = makeParams();
    const larsOptimizer = new LARS([lars.weight, lars.bias], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
    const sgdOptimizer = new SGD([sgd.bias], { lr: 0.1, momentum: 0.9 });
    const weightBefore = bytesOf(lars.weight);
    for (let step = 0; step < 5; step++) {
      fakeGradients([lars.weight, lars.bias], step);
      sgd.bias.grad = lars.bias.grad;
      larsOptimizer.step();
      sgdOptimizer.step();
      expect(bytesOf(lars.bias).equals(bytesOf(sgd.bias)), `step ${step}`).to.equal(true);
    }
    expect(bytesOf(lars.weight).equals(weightBefore)).to.equal(false);
  });

  it("adapted parameters: the step of the first update is lr·η·‖w‖ in norm (trust ratio), whatever the gradient's scale", () => {
    for (const scale of [1e-3, 1, 1e3]) {
      const w = new Parameter(f64([3, 4, 0, 0], [2, 2])); // ‖w‖ = 5
      const optimizer = new LARS([w], { lr: 0.1, trustCoefficient: 0.001 });
      w.grad = f64([1, -2, 0.5, 2], [2, 2]).mul(scale);
      const before = w.toTypedArray();
      optimizer.step();
      const after = w.toTypedArray();
      const stepNorm = Math.hypot(...Array.from(after).map((v, i) => v - before[i]));
      expect(stepNorm).to.be.closeTo(0.1 * 0.001 * 5, 1e-15);
    }
  });

  it("names decide when given: excluding everything by name makes LARS exactly momentum SGD", () => {
    const lars = makeParams();
    const sgd = makeParams();
    const names = (p: ReturnType<typeof makeParams>): [string, Tensor][] => Object.entries(p);
    const larsOptimizer = new LARS(names(lars), {
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      excludeFromAdaptation: (name) => name !== undefined,
    });
    const sgdOptimizer = new SGD(names(sgd), { lr: 0.1, momentum: 0.9 });
    for (let step = 0; step < 4; step++) {
      fakeGradients(Object.values(lars), step);
      fakeGradients(Object.values(sgd), step);
      larsOptimizer.step();
      sgdOptimizer.step();
    }
    for (const name of ["weight", "bias", "scale"] as const) expect(bytesOf(lars[name]).equals(bytesOf(sgd[name])), name).to.equal(true);
  });

  it("excludeFromWeightDecay can differ from excludeFromAdaptation", () => {
    const withDecay = new Parameter(f64([1, 2]));
    const without = new Parameter(f64([1, 2]));
    const a = new LARS([withDecay], { lr: 0.1, weightDecay: 0.1, excludeFromAdaptation: () => true, excludeFromWeightDecay: () => false });
    const b = new LARS([without], { lr: 0.1, weightDecay: 0.1 });
    withDecay.grad = f64([0.5, 0.5]);
    without.grad = f64([0.5, 0.5]);
    a.step();
    b.step();
    expect(Array.from(withDecay.toTypedArray())).to.deep.equal([1 - 0.1 * (0.5 + 0.1 * 1), 2 - 0.1 * (0.5 + 0.1 * 2)]);
    expect(Array.from(without.toTypedArray())).to.deep.equal([1 - 0.1 * 0.5, 2 - 0.1 * 0.5]);
  });
});

describe("clipGradNorm", () => {
  it("returns the norm before clipping; after clipping the norm is maxNorm/(total + 1e-6)·total; p = ∞ uses the largest |g|", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        (values, maxNorm) => {
          const a = new Parameter(f64(values));
          a.grad = f64(values);
          const b = new Parameter(f64([0]));
          const total = clipGradNorm([a, b], maxNorm);
          const expected = Math.sqrt(values.reduce((s, v) => s + v * v, 0));
          expect(total).to.be.closeTo(expected, 1e-12 * (1 + expected));
          const after = Math.sqrt(Array.from(a.grad.toTypedArray()).reduce((s, v) => s + v * v, 0));
          if (total > maxNorm) expect(after).to.be.closeTo((maxNorm / (total + 1e-6)) * total, 1e-9);
          else expect(Array.from(a.grad.toTypedArray())).to.deep.equal(Array.from(Float64Array.from(values)));
        },
      ),
    );
    const p = new Parameter(f64([3, -4]));
    p.grad = f64([3, -4]);
    expect(clipGradNorm(p, 100, Infinity)).to.equal(4);
    expect(clipGradNorm([], 1)).to.equal(0);
    p.grad = f64([Infinity, 1]);
    expect(() => clipGradNorm([p], 1, 2, { errorIfNonfinite: true })).to.throw(/total norm of order 2 of the gradients is Infinity/);
  });
});

describe("schedules", () => {
  it("cosineMomentum: τ₀ at k = 0, exactly 1 at k = K and after, non-decreasing in between", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 1, noNaN: true }), fc.integer({ min: 1, max: 3000 }), (base, totalSteps) => {
        const tau = cosineMomentum({ base, totalSteps });
        expect(tau(0)).to.equal(base);
        expect(tau(totalSteps)).to.equal(1);
        expect(tau(totalSteps + 10)).to.equal(1);
        let previous = tau(0);
        for (let k = 1; k <= totalSteps; k++) {
          const value = tau(k);
          expect(value).to.be.at.least(previous);
          previous = value;
        }
      }),
      { numRuns: 30 },
    );
    expect(cosineMomentum({ base: 0.99, totalSteps: 100 })(50)).to.be.closeTo(0.995, 1e-15);
  });

  it("constantMomentum is constant; the schedules reject bad options", () => {
    const m = constantMomentum(0.999);
    expect([0, 1, 1e6].map(m)).to.deep.equal([0.999, 0.999, 0.999]);
    expect(() => cosineMomentum({ base: 1.5, totalSteps: 10 })).to.throw(/base must be in \[0, 1\]/);
    expect(() => cosineWithWarmup({ baseLr: 0.1, warmupSteps: 10, totalSteps: 10 })).to.throw(
      /totalSteps must be an integer > warmupSteps/,
    );
    expect(() => cosineWithWarmup({ baseLr: 0.1, warmupSteps: 0, totalSteps: 10 })(-1)).to.throw(/step must be ≥ 0/);
  });

  it("cosineWithWarmup with minLr ends at minLr; without warmup it starts at baseLr", () => {
    const lr = cosineWithWarmup({ baseLr: 1, warmupSteps: 0, totalSteps: 10, minLr: 0.1 });
    expect(lr(0)).to.equal(1);
    expect(lr(10)).to.be.closeTo(0.1, 1e-16);
    expect(lr(5)).to.be.closeTo(0.55, 1e-15);
  });

  it("LambdaLR: multiplies each group's initial lr, remembers it as initialLr, and resumes from its state", () => {
    const { weight, bias } = makeParams();
    const optimizer = new SGD([{ params: [weight] }, { params: [bias], lr: 1 }], { lr: 0.1 });
    const scheduler = new LambdaLR(optimizer, (t) => 1 / (t + 1));
    expect(scheduler.getLastLr()).to.deep.equal([0.1, 1]);
    scheduler.step();
    expect(scheduler.getLastLr()).to.deep.equal([0.1 / 2, 1 / 2]);
    expect(optimizer.paramGroups.map((g) => g.initialLr)).to.deep.equal([0.1, 1]);
    const state = scheduler.stateDict();
    const other = new SGD([{ params: [weight] }, { params: [bias], lr: 1 }], { lr: 0.1 });
    const resumed = new LambdaLR(other, (t) => 1 / (t + 1));
    resumed.loadStateDict(state);
    expect(resumed.getLastLr()).to.deep.equal(scheduler.getLastLr());
    expect(resumed.lastEpoch).to.equal(1);
  });
});

describe("emaUpdate", () => {
  const makePair = (
    target: number[],
    online: number[],
    buffers: { target: number[]; online: number[] } = { target: [0], online: [0] },
  ): [TinyModule, TinyModule] => [
    new TinyModule({ weight: f64(target) }, { runningMean: f64(buffers.target) }, { head: new TinyModule({ bias: f64([target[0]]) }) }),
    new TinyModule({ weight: f64(online) }, { runningMean: f64(buffers.online) }, { head: new TinyModule({ bias: f64([online[0]]) }) }),
  ];

  it("after n updates towards a fixed online network: θ = mⁿ θ₀ + (1 − mⁿ) θ_online", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.integer({ min: 1, max: 40 }),
        (pairs, m, n) => {
          const theta0 = pairs.map(([a]) => a);
          const thetaOnline = pairs.map(([, b]) => b);
          const [target, online] = makePair(theta0, thetaOnline);
          for (let i = 0; i < n; i++) emaUpdate(target, online, m);
          const mn = m ** n;
          const actual = Array.from(target.stateDict().get("weight")!.toTypedArray());
          actual.forEach((value, i) => expect(value).to.be.closeTo(mn * theta0[i] + (1 - mn) * thetaOnline[i], 1e-13 * n * 10));
        },
      ),
    );
  });

  it("updates nested parameters, leaves the online network and all gradients alone, records nothing", () => {
    const [target, online] = makePair([1, 2], [3, 4]);
    const onlineBytes = [...online.stateDict().values()].map(bytesOf);
    const tape = tapePosition();
    emaUpdate(target, online, 0.5);
    expect(Array.from(target.stateDict().get("weight")!.toTypedArray())).to.deep.equal([2, 3]);
    expect(Array.from(target.stateDict().get("head.bias")!.toTypedArray())).to.deep.equal([2]);
    [...online.stateDict().values()].forEach((t, i) => expect(bytesOf(t).equals(onlineBytes[i])).to.equal(true));
    expect(target.parameters().every((p) => p.grad === null)).to.equal(true);
    expect(tapePosition()).to.equal(tape);
    emaUpdate(target, online, 0);
    expect(Array.from(target.stateDict().get("weight")!.toTypedArray())).to.deep.equal([3, 4]);
  });

  it("buffers: kept by default (as MoCo and BYOL), copied or averaged on request", () => {
    const [keepTarget, keepOnline] = makePair([0], [0], { target: [1, 1], online: [3, 5] });
    emaUpdate(keepTarget, keepOnline, 0.5);
    expect(Array.from(keepTarget.stateDict().get("runningMean")!.toTypedArray())).to.deep.equal([1, 1]);
    const [copyTarget, copyOnline] = makePair([0], [0], { target: [1, 1], online: [3, -0] });
    emaUpdate(copyTarget, copyOnline, 0.5, { buffers: "copy" });
    expect(bytesOf(copyTarget.stateDict().get("runningMean")!).equals(bytesOf(f64([3, -0])))).to.equal(true);
    const [emaTarget, emaOnline] = makePair([0], [0], { target: [1, 1], online: [3, 5] });
    emaUpdate(emaTarget, emaOnline, 0.5, { buffers: "ema" });
    expect(Array.from(emaTarget.stateDict().get("runningMean")!.toTypedArray())).to.deep.equal([2, 3]);
  });

  it("rejects modules of different structure, naming the difference, before changing anything", () => {
    const target = new TinyModule({ weight: f64([1, 2]), extra: f64([0]) });
    const online = new TinyModule({ weight: f64([3, 4]) });
    expect(() => emaUpdate(target, online, 0.9)).to.throw(
      /emaUpdate: target and online differ in their parameters: only in target \[extra\], only in online \[\]/,
    );
    const shaped = new TinyModule({ weight: f64([1, 2, 3]) });
    expect(() => emaUpdate(shaped, online, 0.9)).to.throw(/parameters 'weight' is \[3\] float64 in target but \[2\] float64 in online/);
    const shared = new TinyModule({ weight: online.parameters()[0] });
    expect(() => emaUpdate(shared, online, 0.9)).to.throw(/share their storage/);
    expect(() => emaUpdate(online, online, 0.9)).to.throw(/same module/);
    expect(() => emaUpdate(target, online, 1.5)).to.throw(/momentum m must be in \[0, 1\]/);
    const [a, b] = makePair([1], [2], { target: [1], online: [1, 2] });
    const before = bytesOf(a.parameters()[0]);
    expect(() => emaUpdate(a, b, 0.5, { buffers: "ema" })).to.throw(/buffers 'runningMean'/);
    expect(bytesOf(a.parameters()[0]).equals(before)).to.equal(true);
  });
});
